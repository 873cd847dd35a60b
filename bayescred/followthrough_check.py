"""Does credibility predict follow-through?  Leave-one-out discrimination of credibility
alone and of the model's P(honour), and calibration of P(honour), per crisis and per
crisis kind.

The model says that credibility when a crisis comes predicts whether the commitment is
honoured.  The data can contradict that, and a user should hear it when they do.
:func:`followthrough_check` measures it on a fitted result:

* **P(honour) per draw.**  For binary outcomes it is read from the crisis's own row of the
  pointwise log-likelihood: ``p_s = exp(ll_s)`` for an honoured crisis, ``1 - exp(ll_s)``
  for a violated one, so it holds whatever enters the follow-through model (intercepts per
  kind, crisis covariates).  With ``partial`` outcomes (ordered violated < partial <
  honored) the log-likelihood of a violated or partial crisis does not determine
  P(honoured), so it is computed from the draws of the ordered model (``loading *
  credibility`` against the upper cutpoint) and accepted only where it reproduces the
  stored log-likelihood of every crisis; otherwise the link is reported *not assessable*.
  "Honoured" means outcome ``honored``; ``partial`` counts as not honoured.
* **Leave-one-out P(honour).**  ``p_loo = sum_s w_s p_s / sum_s w_s`` with ``w_s`` the
  Pareto-smoothed importance weights ``1 / p(y_c | draw s)`` of that crisis's own
  log-likelihood (PSIS-LOO, :func:`bayescred.psis.psislw`): what the model predicts for a
  crisis it was not fitted to.  Crises whose Pareto k exceeds the threshold are counted.
* **Discrimination.**  The cross-validated AUC: the share of (honoured, not honoured)
  pairs in which the honoured crisis gets the higher P(honour), ties half, with *both*
  crises of the pair left out (leave-pair-out, Airola et al. 2011; PSIS weights
  ``1 / (p(y_i | s) p(y_j | s))``).  Not the AUC of ``p_loo``: leaving one honoured crisis
  out lowers its own P(honour) through the intercept, so that AUC is biased low
  (measured: 0.32, 90% interval 0.19-0.46, on outcomes shuffled at random, which would
  read as "reversed"); leaving the pair out moves both alike.  Its interval is DeLong's
  (DeLong, DeLong and Clarke-Pearson 1988; normal approximation, clipped to [0, 1]) over
  the crises: uncertainty from having these crises, not posterior uncertainty.  The
  in-sample AUC of the posterior-mean P(honour) is reported beside it (it uses each
  crisis twice and is optimistic).
* **Credibility alone.**  P(honour) holds more than credibility: an intercept per crisis
  kind and the crisis covariates.  With them a high AUC can come from the covariates while
  credibility adds nothing.  So the same leave-pair-out AUC, DeLong interval and in-sample
  AUC are computed for the score ``credibility[u, t]`` of each crisis's unit and year per
  draw (``auc_credibility*``), and *that* is what is graded: the finding is about
  credibility's link, whatever else the model holds.  Credibility's sign is fixed by the
  signals' directions (or, without signals, by the loading's positive prior), so a
  reversed link reads below 0.5 even where the loading has learnt the reversal and
  P(honour) discriminates well.  Where nothing but credibility enters P(honour) (one
  kind, no covariates, a positive loading) the two AUCs agree.  Credibility's AUC needs
  no P(honour): with partial outcomes whose P(honoured) cannot be recovered, it is still
  graded.
* **Calibration.**  Crises sorted by ``p_loo`` into up to 5 equal-count bins (about 10
  crises each at least): mean predicted vs observed honoured share per bin, the expected
  calibration error ``ECE = sum_b n_b / N |observed_b - predicted_b|`` and a
  Hosmer-Lemeshow statistic ``sum_b (O_b - E_b)^2 / (E_b (1 - E_b / n_b))`` with as many
  degrees of freedom as bins (the predictions are out of sample, so none is spent on a
  fit); its p-value is the calibration check.

What is graded (``warn``, never ``fail``; thresholds in :class:`~bayescred.checks.Thresholds`):

====================  =================================================================
finding               rule (defaults)
====================  =================================================================
not assessable        fewer than ``followthrough_min_crises`` (10) crises, or fewer than
                      ``followthrough_min_each`` (3) honoured or not honoured: no
                      number is given
reversed              credibility's AUC interval lies below 0.5, or P(loading < 0) >=
                      ``loading_negative_prob`` (0.9)
weak                  credibility's AUC is below ``followthrough_auc`` (0.6) or its
                      interval includes 0.5
linked (pass)         otherwise
miscalibrated         Hosmer-Lemeshow p-value < ``followthrough_calibration`` (0.05)
====================  =================================================================

A weak or reversed link is a finding about the data, not a broken fit: the posterior is
still the posterior of the model as stated, and refitting will not change it.  So it
warns (credibility, as these signals define it, cannot be read as predicting
follow-through) rather than fails (do not report).  Per crisis kind (a ``kind`` column of
the crises, where the panel has one) the same is measured for each kind with at least
two kinds present; a kind too small to assess is listed for information only.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from .checks import Check, Thresholds
from .errors import ResultError
from .predictive import FOLLOWTHROUGH
from .psis import psislw

HONORED = 2  # outcome code of ``honored`` (bayescred.model.outcome_codes)
MAX_BINS = 5
MAX_PAIRS = 50_000  # pairs compared at most (each is one Pareto smoothing, ~0.3 ms)
PER_BIN = 10  # crises per calibration bin at least, where there are fewer than 50
_LL_TOLERANCE = 1e-3  # float32 storage of the log-likelihood


@dataclass(frozen=True, eq=False)
class FollowThroughCheck:
    """How well credibility discriminates honoured from violated crises.

    Attributes
    ----------
    crises : DataFrame
        One row per crisis: ``crisis, member, alliance, year, kind, honored`` (0/1),
        ``credibility`` (posterior mean), ``p_loo`` (leave-one-out P(honour)), ``p_mean``
        (posterior mean P(honour); both NaN where P(honour) could not be recovered) and
        ``pareto_k``.
    discrimination : DataFrame
        Index ``subject`` (``all``, then each kind where there are several): ``n``,
        ``n_honored``; the whole model's P(honour): ``auc`` (leave-pair-out), ``auc_low``,
        ``auc_high`` (DeLong interval of probability ``prob``), ``auc_in_sample``;
        credibility alone, the same four as ``auc_credibility``, ``auc_credibility_low``,
        ``auc_credibility_high``, ``auc_credibility_in_sample``; ``p_loading_negative``,
        ``finding`` (about credibility's link: ``linked``, ``weak``, ``reversed``, ``not
        assessable``) and ``reason`` (which names both AUCs where they differ in what they
        hold).
    calibration : DataFrame or None
        Bins of ``p_loo``: ``n``, ``predicted`` (mean P(honour)), ``observed`` (honoured
        share); None where not assessable.
    ece, hosmer_lemeshow, hl_df, hl_pvalue : float
        Expected calibration error, the Hosmer-Lemeshow statistic, its degrees of freedom
        and p-value (NaN where not assessable).
    prob : float
        Probability of the AUC intervals.
    n_high_k : int
        Crises whose Pareto k exceeds the threshold (their ``p_loo`` is less reliable).
    share_pairs_high_k : float
        Share of the (honoured, not honoured) pairs whose joint Pareto k exceeds it.
    """

    crises: pd.DataFrame
    discrimination: pd.DataFrame
    calibration: pd.DataFrame | None
    ece: float
    hosmer_lemeshow: float
    hl_df: int
    hl_pvalue: float
    prob: float
    n_high_k: int = 0
    share_pairs_high_k: float = 0.0

    @property
    def finding(self) -> str:
        """The finding for all crises together."""
        return str(self.discrimination.loc["all", "finding"])

    def to_dict(self) -> dict:
        def records(df):
            return None if df is None else df.reset_index().to_dict(orient="records")

        return {
            "finding": self.finding,
            "discrimination": records(self.discrimination),
            "calibration": records(self.calibration),
            "ece": _finite(self.ece),
            "hosmer_lemeshow": _finite(self.hosmer_lemeshow),
            "hl_df": self.hl_df,
            "hl_pvalue": _finite(self.hl_pvalue),
            "prob": self.prob,
            "n_high_k": self.n_high_k,
            "share_pairs_high_k": self.share_pairs_high_k,
        }


def followthrough_check(
    result, log_lik: xr.DataArray, reff: float, limits: Thresholds, prob: float = 0.9
) -> FollowThroughCheck | None:
    """Cross-validated discrimination of credibility and of P(honour), and calibration of
    P(honour) (see the module's text).

    Parameters
    ----------
    result : CredibilityResult
    log_lik : DataArray
        The pointwise log-likelihood, dims ``(chain, draw, obs)``
        (:meth:`CredibilityResult.log_likelihood`).
    reff : float
        Relative efficiency of the draws, for PSIS (:func:`bayescred.loo.relative_ess`).
    limits : Thresholds
    prob : float
        Probability of the AUC intervals.

    Returns
    -------
    FollowThroughCheck, or None when the result has no crises.
    """
    rows = np.flatnonzero(log_lik["signal"].values == FOLLOWTHROUGH)
    if not len(rows):
        return None
    crises = crisis_rows(result, log_lik, rows)
    ll = _samples(log_lik.isel(obs=rows))
    cred = credibility_draws(result, crises)
    try:
        p, unrecoverable = honour_probabilities(result, ll, crises), ""
    except NotRecoverable as exc:
        p, unrecoverable = np.full_like(ll, np.nan), str(exc)
    lw, k = psislw(-ll.T, reff)  # (crisis, sample): weights 1 / p(y_c | draw)
    crises = crises.assign(
        credibility=cred.mean(axis=0), p_loo=(np.exp(lw) * p.T).sum(axis=1),
        p_mean=p.mean(axis=0), pareto_k=k,
    )
    honored = crises.honored.to_numpy().astype(bool)
    (cred_pairs, p_pairs), pair_k = leave_pair_out_scores(
        [cred, None if unrecoverable else p], ll, honored, reff)
    _without_own_evidence(cred_pairs, crises, result.panel.observations, honored)
    negative = _p_loading_negative(result)
    rows = []
    for name, here in _subjects(crises).items():
        within = np.ix_(here[honored], here[~honored])
        rest = _rest_of_model(result, crises[here], unrecoverable)
        rows.append(_discrimination(name, crises[here], cred_pairs[within], p_pairs[within],
                                    negative.get(name, negative.get("all")), rest, limits,
                                    prob))
    table = pd.DataFrame(rows).set_index("subject")
    bins, hl, dof, pval, ece = None, np.nan, 0, np.nan, np.nan
    if table.loc["all", "finding"] != "not assessable" and not unrecoverable:
        bins = calibration_bins(crises.p_loo.to_numpy(), crises.honored.to_numpy())
        ece = expected_calibration_error(bins)
        hl, dof, pval = hosmer_lemeshow(bins)
    compared = pair_k[np.isfinite(pair_k)]
    high_pair_k = float(np.mean(compared > limits.pareto_k)) if compared.size else 0.0
    return FollowThroughCheck(
        crises, table, bins, ece, hl, dof, pval, prob, int((k > limits.pareto_k).sum()),
        high_pair_k,
    )


def _without_own_evidence(cred_pairs, crises, observations, honored) -> None:
    """Leave out of credibility's pairs (NaN) each crisis whose unit has no evidence but
    that crisis: no signal observation and no other crisis.  Left out exactly, such a
    crisis's credibility is the prior's, and pairs of them tie; PSIS leaves a remainder of
    the crisis's own pull, and a pair counts by its sign alone (docs/diagnostics.md)."""
    observed = set(observations["unit_idx"]) if "unit_idx" in observations else set()
    crises_of_unit = crises.unit_idx.value_counts()
    alone = np.array([u not in observed and crises_of_unit[u] == 1 for u in crises.unit_idx])
    if alone.any():
        cred_pairs[alone[honored], :] = np.nan
        cred_pairs[:, alone[~honored]] = np.nan


def _subjects(crises: pd.DataFrame) -> dict[str, np.ndarray]:
    """``all`` crises, then each kind (where there are several): which crises are in it."""
    subjects = {"all": np.ones(len(crises), bool)}
    kinds = crises["kind"].unique()
    if len(kinds) > 1:
        subjects |= {str(kind): (crises["kind"] == kind).to_numpy() for kind in kinds}
    return subjects


# ---------------------------------------------------------------------------- P(honour)


class NotRecoverable(Exception):
    """P(honour) per draw cannot be read from this result (the reason is the message)."""


def crisis_rows(result, log_lik: xr.DataArray, rows: np.ndarray) -> pd.DataFrame:
    """The crises in the order of their log-likelihood rows, with ``kind`` (``war`` where
    the crises carry none) and ``honored`` (1 for outcome ``honored``).

    The log-likelihood lists crises sorted by member, alliance, year and crisis id
    (:func:`bayescred.predictive.observation_rows`); the order is checked against the
    rows' own coordinates."""
    crises = result.panel.crises
    kind = crises["kind"].astype(str) if "kind" in crises else "war"
    table = (
        crises.assign(kind=kind)
        .sort_values(["member", "alliance", "year", "crisis"], kind="stable")
        .reset_index(drop=True)
    )
    for col in ("member", "alliance", "year"):
        if not np.array_equal(table[col].to_numpy(), log_lik[col].values[rows]):
            raise ResultError(
                f"the log-likelihood's crisis rows do not match the result's crises ({col}); "
                "save the result again"
            )
    table["honored"] = (table.outcome.str.lower() == "honored").astype(int)
    return table[["crisis", "member", "alliance", "year", "kind", "outcome", "honored",
                  "unit_idx", "year_idx"]]


def honour_probabilities(result, ll: np.ndarray, crises: pd.DataFrame) -> np.ndarray:
    """P(honoured) per draw and crisis, shape (sample, crisis) (see the module's text).

    Raises
    ------
    NotRecoverable
        With ordered outcomes, when the draws do not reproduce the log-likelihood.
    """
    if not (crises.outcome == "partial").any():  # binary: the row's own likelihood says it
        lik = np.exp(ll)
        return np.where(crises.honored.to_numpy()[None, :] == 1, lik, 1.0 - lik)
    post = result.posterior
    needed = ("loading_followthrough", "cutpoints_followthrough", "credibility")
    missing = [name for name in needed if name not in post]
    if missing or post["loading_followthrough"].ndim != 2:
        raise NotRecoverable(
            "with partial outcomes P(honoured) is computed from loading_followthrough, "
            "cutpoints_followthrough and credibility, and this model's are not of that form"
        )
    cred = _samples(post["credibility"])[:, crises.unit_idx.to_numpy(), crises.year_idx.to_numpy()]
    eta = _samples(post["loading_followthrough"])[:, None] * cred
    cut = _crisis_cutpoints(post["cutpoints_followthrough"], crises)  # (S, crisis, 2)
    upper = stats.logistic.cdf(eta - cut[:, :, 1])  # P(honoured)
    lower = stats.logistic.cdf(eta - cut[:, :, 0])  # P(partial or honoured)
    code = crises.outcome.map({"violated": 0, "partial": 1, "honored": HONORED}).to_numpy()
    implied = np.choose(code[None, :] * np.ones_like(eta, int),
                        [1 - lower, lower - upper, upper])
    with np.errstate(divide="ignore"):
        if not np.allclose(np.log(implied), ll, atol=_LL_TOLERANCE, rtol=_LL_TOLERANCE):
            raise NotRecoverable(
                "with partial outcomes P(honoured) is computed from the ordered model's "
                "draws, and they do not reproduce this result's log-likelihood"
            )
    return upper


def _crisis_cutpoints(cut: xr.DataArray, crises) -> np.ndarray:
    """Each crisis's two cutpoints per draw, (sample, crisis, 2): its kind's where the
    cutpoints are per crisis kind, else the one pair."""
    values = _samples(cut)
    if "crisis_kind" not in cut.dims:
        return np.repeat(values[:, None, :], len(crises), axis=1)
    kinds = list(cut["crisis_kind"].values)
    kind = crises["kind"] if "kind" in crises else np.full(len(crises), "war")
    at = np.array([kinds.index(k) for k in np.asarray(kind)], int)
    axis = [d for d in cut.dims if d not in ("chain", "draw")].index("crisis_kind")
    values = np.take(values, at, axis=1 + axis)  # crisis where the kind was
    return values if axis == 0 else np.moveaxis(values, -1, 1)


def _samples(da: xr.DataArray) -> np.ndarray:
    """Draws as (sample, ...) with chains stacked."""
    values = da.transpose("chain", "draw", ...).values
    return values.reshape(-1, *values.shape[2:]).astype(float)


def _p_loading_negative(result) -> dict[str, float]:
    """P(loading_followthrough < 0): under ``all`` for a scalar loading, per kind where it
    has one extra dimension labelled by kind."""
    post = result.posterior
    if "loading_followthrough" not in post:
        return {}
    loading = post["loading_followthrough"]
    extra = [d for d in loading.dims if d not in ("chain", "draw")]
    if not extra:
        return {"all": float((loading < 0).mean())}
    if len(extra) == 1:
        return {str(label): float((loading.sel({extra[0]: label}) < 0).mean())
                for label in loading[extra[0]].values}
    return {}


def credibility_draws(result, crises: pd.DataFrame) -> np.ndarray:
    """Credibility of each crisis's unit in its year per draw, (sample, crisis): the score
    whose discrimination is graded.  Its sign is fixed by the signals' directions (or, in
    a spec without signals, by the loading's positive prior), so a reversed link shows as
    an AUC below 0.5 whatever the loading learnt."""
    cred = _samples(result.posterior["credibility"])
    return cred[:, crises.unit_idx.to_numpy(int), crises.year_idx.to_numpy(int)]


def _rest_of_model(result, crises: pd.DataFrame, unrecoverable: str) -> str:
    """What P(honour) holds besides credibility for these crises (crisis covariates, the
    intercepts of several kinds), or why it is missing; empty when nothing."""
    if unrecoverable:
        return f"P(honour) not assessed: {unrecoverable}"
    parts = []
    if crises["kind"].nunique() > 1:
        parts.append("an intercept per crisis kind")
    covariates = list(result.spec.follow_through.covariates)
    if covariates:
        parts.append("crisis covariates " + ", ".join(covariates))
    return " and ".join(parts)


# ---------------------------------------------------------------------------- discrimination


def leave_pair_out(
    p: np.ndarray, ll: np.ndarray, honored: np.ndarray, reff: float = 1.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Each (honoured i, not honoured j) pair compared on P(honour) ``p`` (sample, crisis)
    with both left out: :func:`leave_pair_out_scores` with one score."""
    (out,), ks = leave_pair_out_scores([p], ll, honored, reff, seed)
    return out, ks


def leave_pair_out_scores(
    scores: list[np.ndarray | None], ll: np.ndarray, honored: np.ndarray, reff: float = 1.0,
    seed: int = 0,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Each (honoured i, not honoured j) pair compared with both left out, on each score.

    ``scores`` are draws (sample, crisis), e.g. P(honour) or credibility; None gives all-NaN
    comparisons.  With PSIS weights ``1 / (p(y_i | s) p(y_j | s))`` (the pair's joint
    leave-out, computed once for all scores), the pair counts 1 when the leave-pair-out
    mean score of i exceeds that of j, 0.5 on a tie, 0 otherwise.  Both
    are predicted from the same posterior, so leaving the pair out moves both alike, and
    the mean over pairs is an unbiased AUC; the plain leave-one-out AUC is not (leaving an
    honoured crisis out lowers its own P(honour) through the intercept: with outcomes
    unrelated to credibility it sits near 0.3, not 0.5).  Above ``MAX_PAIRS`` pairs, a
    random set of that many (``seed``) is compared and the rest are NaN.

    Returns
    -------
    (comparisons, pareto_k)
        A list of arrays (n honoured, n not honoured), one per score, and the pairs'
        Pareto k, an array of that shape.
    """
    pos, neg = np.flatnonzero(honored), np.flatnonzero(~honored)
    outs = [np.full((len(pos), len(neg)), np.nan) for _ in scores]
    ks = np.full((len(pos), len(neg)), np.nan)
    chosen = np.ones(ks.shape, bool)
    if ks.size > MAX_PAIRS:
        flat = np.random.default_rng(seed).choice(ks.size, MAX_PAIRS, replace=False)
        chosen = np.zeros(ks.size, bool)
        chosen[flat] = True
        chosen = chosen.reshape(ks.shape)
    for a, i in enumerate(pos):
        js = neg[chosen[a]]
        if not len(js):
            continue
        lw, k = psislw(-(ll[:, i][None, :] + ll[:, js].T), reff)
        w = np.exp(lw)
        for score, out in zip(scores, outs, strict=True):
            if score is not None:
                gap = (w * (score[:, i][None, :] - score[:, js].T)).sum(axis=1)
                out[a, chosen[a]] = np.where(gap > 0, 1.0, np.where(gap == 0, 0.5, 0.0))
        ks[a, chosen[a]] = k
    return outs, ks


def in_sample_pairs(scores: np.ndarray, honored: np.ndarray) -> np.ndarray:
    """Each (honoured, not honoured) pair compared on one score each (ties 0.5)."""
    scores, honored = np.asarray(scores, float), np.asarray(honored, bool)
    x, y = scores[honored], scores[~honored]
    return (x[:, None] > y[None, :]) + 0.5 * (x[:, None] == y[None, :])


def auc(pairs: np.ndarray) -> float:
    """Area under the ROC curve from pair comparisons: the share of (honoured, not
    honoured) pairs in which the honoured crisis got the higher P(honour), ties half (the
    Mann-Whitney statistic); uncompared pairs (NaN) are left out."""
    return float(np.nanmean(pairs))


def delong_interval(pairs: np.ndarray, prob: float = 0.9) -> tuple[float, float]:
    """The AUC's central ``prob`` interval by DeLong's variance (DeLong, DeLong and
    Clarke-Pearson 1988) of the pair comparisons, normal approximation, clipped to
    [0, 1]: each honoured crisis's share of pairs won and each other crisis's share lost
    are the structural components."""
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a row with no compared pair
        pos, neg = np.nanmean(pairs, axis=1), np.nanmean(pairs, axis=0)
    pos, neg = pos[np.isfinite(pos)], neg[np.isfinite(neg)]
    var = pos.var(ddof=1) / len(pos) + neg.var(ddof=1) / len(neg)
    area = auc(pairs)
    half = stats.norm.ppf(0.5 + prob / 2) * np.sqrt(var)
    return float(max(0.0, area - half)), float(min(1.0, area + half))


def _discrimination(subject, crises, cred_pairs, p_pairs, p_negative, rest: str,
                    limits: Thresholds, prob) -> dict:
    """One row of the discrimination table: credibility alone (graded) and the whole
    model's P(honour) (reported beside it)."""
    n, honored = len(crises), int(crises.honored.sum())
    p_negative = np.nan if p_negative is None else p_negative
    fewest = min(honored, n - honored)
    if n < limits.followthrough_min_crises or fewest < limits.followthrough_min_each:
        reason = (f"{n} crises, {honored} honoured: at least "
                  f"{limits.followthrough_min_crises:g} crises with "
                  f"{limits.followthrough_min_each:g} of each outcome are needed")
        return _row(subject, crises, _NO_AUC, _NO_AUC, p_negative, "not assessable", reason)
    labels = crises.honored.to_numpy()
    cred = _areas(cred_pairs, crises.credibility.to_numpy(), labels, prob)
    model = _areas(p_pairs, crises.p_mean.to_numpy(), labels, prob)
    if not np.isfinite(cred[0]):
        reason = ("no crisis's commitment has evidence besides that crisis (signals or "
                  "another crisis), so credibility's own link cannot be judged")
        if rest and np.isfinite(model[0]):
            reason += f"; {_model_clause(model, rest, prob)}"
        return _row(subject, crises, model, cred, p_negative, "not assessable", reason)
    finding, reason = _finding(cred, model, rest, p_negative, limits, prob)
    return _row(subject, crises, model, cred, p_negative, finding, reason)


_NO_AUC = (np.nan, np.nan, np.nan, np.nan)


def _areas(pairs, posterior_mean, labels, prob) -> tuple[float, float, float, float]:
    """(cross-validated AUC, interval low, high, in-sample AUC of the posterior mean);
    NaN where the score was not computed."""
    if not np.isfinite(pairs).any():
        return _NO_AUC
    low, high = delong_interval(pairs, prob)
    return auc(pairs), low, high, auc(in_sample_pairs(posterior_mean, labels))


def _finding(cred, model, rest: str, p_negative, limits: Thresholds,
             prob) -> tuple[str, str]:
    """The finding about credibility's own link, and a sentence that says which AUC is
    which (credibility alone; P(honour) of the whole model where it holds more)."""
    area, low, high, _ = cred
    where = (f"credibility alone: cross-validated AUC {area:.2f} ({prob:.0%} interval "
             f"{low:.2f}-{high:.2f})")
    if rest:
        where += f"; {_model_clause(model, rest, prob)}"
    negative = np.isfinite(p_negative) and p_negative >= limits.loading_negative_prob
    loading = (f"P(loading_followthrough < 0) = {p_negative:.2f}: higher credibility goes "
               "with violation")
    if high < 0.5:
        return "reversed", (f"{where}; honoured crises had lower credibility"
                            + (f"; {loading}" if negative else ""))
    if negative:
        return "reversed", f"{loading}; {where}"
    if area < limits.followthrough_auc or low <= 0.5:
        side = " (pointing the wrong way)" if area < 0.5 else ""
        elsewhere = ""
        if rest and np.isfinite(model[0]) and model[0] >= limits.followthrough_auc \
                and model[1] > 0.5:
            elsewhere = "; what tells them apart is the rest of the model, not credibility"
        return "weak", (f"{where}{side}: credibility barely tells honoured from violated "
                        f"crises{elsewhere} (pass: credibility's AUC >= "
                        f"{limits.followthrough_auc:g} with an interval above 0.5)")
    return "linked", where


def _model_clause(model, rest: str, prob) -> str:
    if not np.isfinite(model[0]):
        return rest
    return (f"P(honour) of the whole model (credibility, {rest}): AUC {model[0]:.2f} "
            f"({prob:.0%} interval {model[1]:.2f}-{model[2]:.2f})")


def _row(subject, crises, model, cred, p_negative, finding, reason) -> dict:
    return {
        "subject": subject,
        "n": len(crises),
        "n_honored": int(crises.honored.sum()),
        "auc": model[0],
        "auc_low": model[1],
        "auc_high": model[2],
        "auc_in_sample": model[3],
        "auc_credibility": cred[0],
        "auc_credibility_low": cred[1],
        "auc_credibility_high": cred[2],
        "auc_credibility_in_sample": cred[3],
        "p_loading_negative": p_negative,
        "finding": finding,
        "reason": reason,
    }


# ---------------------------------------------------------------------------- calibration


def calibration_bins(p: np.ndarray, honored: np.ndarray) -> pd.DataFrame:
    """Crises sorted by P(honour) into equal-count bins (up to 5, at least ~10 crises
    each): ``n``, ``predicted`` (mean P(honour)), ``observed`` (honoured share),
    ``p_low``/``p_high`` (the bin's range of P(honour))."""
    order = np.argsort(p, kind="stable")
    n_bins = int(np.clip(len(p) // PER_BIN, 1, MAX_BINS))
    rows = []
    for i, part in enumerate(np.array_split(order, n_bins)):
        rows.append({"bin": i + 1, "n": len(part), "p_low": float(p[part].min()),
                     "p_high": float(p[part].max()), "predicted": float(p[part].mean()),
                     "observed": float(np.mean(honored[part]))})
    return pd.DataFrame(rows).set_index("bin")


def expected_calibration_error(bins: pd.DataFrame) -> float:
    """Mean |observed - predicted| over bins, weighted by their sizes."""
    return float(np.average((bins.observed - bins.predicted).abs(), weights=bins.n))


def hosmer_lemeshow(bins: pd.DataFrame) -> tuple[float, int, float]:
    """Hosmer-Lemeshow statistic, its degrees of freedom (the number of bins: the
    probabilities are leave-one-out, no parameter is fitted to these outcomes) and its
    chi-square p-value."""
    expected = bins.n * bins.predicted
    observed = bins.n * bins.observed
    denom = np.maximum(expected * (1 - bins.predicted), 1e-12)
    stat = float(((observed - expected) ** 2 / denom).sum())
    dof = len(bins)
    return stat, dof, float(stats.chi2.sf(stat, dof))


# ---------------------------------------------------------------------------- checks


def followthrough_checks(found: FollowThroughCheck, limits: Thresholds) -> list[Check]:
    """The graded checks: ``followthrough_auc`` (credibility alone) for all crises and each
    kind, and ``followthrough_calibration`` (of P(honour)).  Weak, reversed and not
    assessable warn (never fail); a kind too small to assess is ``info``."""
    checks = []
    for subject, row in found.discrimination.iterrows():
        label = FOLLOWTHROUGH if subject == "all" else f"{FOLLOWTHROUGH}[{subject}]"
        finding = row.finding
        status = "pass" if finding == "linked" else "warn"
        if finding == "not assessable" and subject != "all":
            status = "info"
        message = next_step = ""
        if status != "pass":
            message = f"follow-through link {finding.upper()} for {_who(subject)}: {row.reason}."
            next_step = _NEXT_STEP[finding]
        checks.append(Check("followthrough_auc", label, float(row.auc_credibility),
                            limits.followthrough_auc, ">=", status, None,
                            ("loading_followthrough",) if message else (), message, next_step))
    if found.calibration is not None:
        pval = found.hl_pvalue
        status = "pass" if pval >= limits.followthrough_calibration else "warn"
        message = ""
        if status == "warn":
            message = (f"P(honour) is miscalibrated: Hosmer-Lemeshow {found.hosmer_lemeshow:.1f} "
                       f"on {found.hl_df} bins (p = {pval:.3f}), expected calibration error "
                       f"{found.ece:.2f}.")
        checks.append(Check("followthrough_calibration", FOLLOWTHROUGH, pval,
                            limits.followthrough_calibration, ">=", status, None,
                            ("alpha_followthrough",) if message else (), message,
                            "read P(honour) as a ranking rather than a probability, and look "
                            "at the calibration table for where it is off" if message else ""))
    return checks


def _who(subject: str) -> str:
    return "all crises" if subject == "all" else f"crises of kind {subject!r}"


_NEXT_STEP = {
    "weak": (
        "do not read credibility as predicting follow-through; see which signals define "
        "credibility (the loadings table) and whether the crises' circumstances, not "
        "credibility, explain honouring"
    ),
    "reversed": (
        "check the signals' directions; if they are right, report the link as reversed "
        "(more credible-looking commitments were honoured less often) and do not use "
        "credibility to forecast follow-through"
    ),
    "not assessable": (
        "the crises are too few to test the follow-through link: do not interpret it, "
        "or add crises"
    ),
}


def _finite(x) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)
