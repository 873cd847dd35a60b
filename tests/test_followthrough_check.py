"""Does credibility predict follow-through?  The statistics of bayescred.followthrough_check
on known answers, then on real fits of simulated data.

One simulated panel (8 units x 8 years, 48 crises, follow-through loading 3 on credibility)
is fitted four times with the same model (static, reputation off, 2 x 300 draws; compiled
once): with its own outcomes (a strong link), with the outcomes shuffled across crises (no
link), flipped (a reversed link), and with a ``kind`` column on its crises.  One more fit
has partial outcomes (the ordered follow-through model), one has reputation on.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import bayescred as bc
from bayescred.checks import Thresholds
from bayescred.followthrough_check import (
    auc,
    calibration_bins,
    delong_interval,
    expected_calibration_error,
    followthrough_check,
    hosmer_lemeshow,
    in_sample_pairs,
    leave_pair_out,
)
from bayescred.loo import relative_ess
from bayescred.psis import psislw
from bayescred.report import write_report
from bayescred.reputation_effects import _nonnegative
from bayescred.safe_text import dumps
from bayescred.simulate import TrueParameters

SPEC = bc.default_spec(dynamics="static", reputation=False)
SHAPE = {"n_units": 8, "n_members": 8, "n_alliances": 1, "n_years": 8, "n_crises": 48}
DRAWS = {"draws": 300, "tune": 300, "chains": 2, "seed": 5, "progress": False}


# ---------------------------------------------------------------------------- statistics


def test_auc_is_the_mann_whitney_statistic(rng):
    scores = np.round(rng.normal(size=80), 1)  # rounded: ties occur and count half
    labels = rng.random(80) < 0.4
    u = stats.mannwhitneyu(scores[labels], scores[~labels]).statistic
    pairs = labels.sum() * (~labels).sum()
    assert auc(in_sample_pairs(scores, labels)) == pytest.approx(u / pairs)


def test_delong_interval_covers_the_true_auc_at_its_level(rng):
    """Scores N(1, 1) for positives and N(0, 1) for negatives: true AUC = Phi(1 / sqrt 2)."""
    truth = stats.norm.cdf(1 / np.sqrt(2))
    covered = 0
    reps = 400
    for _ in range(reps):
        pos, neg = rng.normal(1, 1, 25), rng.normal(0, 1, 35)
        scores = np.concatenate([pos, neg])
        labels = np.r_[np.ones(25, bool), np.zeros(35, bool)]
        low, high = delong_interval(in_sample_pairs(scores, labels), 0.9)
        covered += low <= truth <= high
    # 90% nominal; binomial sd over 400 repetitions is 1.5 points
    assert 0.85 <= covered / reps <= 0.95


def test_leave_pair_out_is_unbiased_where_leave_one_out_is_not(rng):
    """An intercept-only model (P(honour) the same for every crisis, draws from its
    Beta posterior): nothing discriminates, so the AUC must be 0.5.  Leaving one crisis
    out lowers an honoured crisis's P(honour) and raises a violated one's: the AUC of
    leave-one-out P(honour) is 0, perfectly 'reversed'.  Leaving the pair out is not."""
    honored = np.r_[np.ones(30, bool), np.zeros(20, bool)]
    theta = rng.beta(1 + 30, 1 + 20, size=4000)
    p = np.repeat(theta[:, None], 50, axis=1)
    ll = np.where(honored[None, :], np.log(p), np.log1p(-p))
    lw, _ = psislw(-ll.T)
    p_loo = (np.exp(lw) * p.T).sum(axis=1)
    assert auc(in_sample_pairs(p_loo, honored)) == 0.0
    pairs, k = leave_pair_out(p, ll, honored)
    assert auc(pairs) == 0.5
    assert np.all(k < 0.7)


def test_calibration_test_holds_its_level_and_finds_miscalibration(rng):
    """Hosmer-Lemeshow on leave-one-out probabilities (as many degrees of freedom as bins):
    calibrated predictions are rejected about 5% of the time at 0.05; predictions of p
    for outcomes drawn with p**3 nearly always."""
    rejected, found, eces = 0, 0, []
    for _ in range(300):
        p = rng.uniform(0.05, 0.95, 200)
        bins = calibration_bins(p, rng.random(200) < p)
        rejected += hosmer_lemeshow(bins)[2] < 0.05
        eces.append(expected_calibration_error(bins))
        found += hosmer_lemeshow(calibration_bins(p, rng.random(200) < p**3))[2] < 0.05
    assert 0.02 <= rejected / 300 <= 0.09
    assert found / 300 > 0.95
    assert np.mean(eces) < 0.06
    bins = calibration_bins(p, rng.random(200) < p)
    assert len(bins) == 5 and bins.n.sum() == 200 and bins.predicted.is_monotonic_increasing


# ---------------------------------------------------------------------------- real fits


@pytest.fixture(scope="module")
def sim():
    truth = TrueParameters(alpha_followthrough=0.0, loading_followthrough=3.0)
    return bc.simulate(SPEC, truth=truth, seed=3, **SHAPE)


def _fit(sim, crises, spec=SPEC):
    panel = bc.load_panel(sim.observations, crises, sim.units, spec=spec)
    return bc.fit(spec, panel, **DRAWS)


@pytest.fixture(scope="module")
def strong(sim):
    return _fit(sim, sim.crises)


@pytest.fixture(scope="module")
def shuffled(sim):
    outcomes = np.random.default_rng(0).permutation(sim.crises.outcome.to_numpy())
    return _fit(sim, sim.crises.assign(outcome=outcomes))


@pytest.fixture(scope="module")
def flipped(sim):
    swap = {"honored": "violated", "violated": "honored"}
    return _fit(sim, sim.crises.assign(outcome=sim.crises.outcome.map(swap)))


def _graded(report, check):
    return {c.subject: c for c in report.checks if c.check == check}


@pytest.mark.sampling
def test_a_strong_link_is_found_and_does_not_warn(strong):
    report = bc.diagnose(strong, ppc=False)
    found = report.followthrough
    row = found.discrimination.loc["all"]
    assert row.finding == "linked"
    assert row.auc > 0.75 and row.auc_low > 0.5
    assert row.n == 48 and row.n_honored == (strong.panel.crises.outcome == "honored").sum()
    checks = _graded(report, "followthrough_auc")
    assert checks["followthrough"].status == "pass"
    assert checks["followthrough"].value == row.auc_credibility  # what is graded
    # nothing but credibility enters P(honour) here (one kind, no covariates, a positive
    # loading), so the two measures agree
    assert abs(row.auc_credibility - row.auc) < 0.05
    assert row.auc_credibility_in_sample >= row.auc_credibility - 0.05  # optimistic
    assert _graded(report, "followthrough_calibration")["followthrough"].status == "pass"
    # leave-one-out P(honour) lies between the crisis being in and out: honoured crises
    # lose a little, violated ones gain a little
    crises = found.crises
    honoured = crises.honored == 1
    assert (crises.p_loo[honoured] <= crises.p_mean[honoured] + 1e-9).mean() > 0.9
    assert (crises.p_loo[~honoured] >= crises.p_mean[~honoured] - 1e-9).mean() > 0.9


@pytest.mark.sampling
def test_shuffled_outcomes_give_a_weak_link_named_as_such(shuffled):
    report = bc.diagnose(shuffled, ppc=False)
    row = report.followthrough.discrimination.loc["all"]
    assert row.finding == "weak"
    assert row.auc_low <= 0.5 <= row.auc_high
    check = _graded(report, "followthrough_auc")["followthrough"]
    assert check.status == "warn" and "follow-through link WEAK" in check.message
    assert report.verdict in ("warn", "fail")  # never failed by this check
    assert "follow-through link WEAK" in report.text()


@pytest.mark.sampling
def test_a_covariate_that_discriminates_is_not_credited_to_credibility(sim, shuffled):
    """Outcomes unrelated to credibility (shuffled) and a crisis covariate that tracks them:
    the model's P(honour) discriminates well through the covariate, credibility alone
    does not, and the finding (about credibility) is weak, saying which is which."""
    crises = shuffled.panel.crises.sort_values("crisis")
    honoured = (crises.outcome == "honored").to_numpy()
    noise = np.random.default_rng(1).normal(size=len(crises))
    crises = crises.assign(warning_time=2.0 * honoured + noise)[list(sim.crises.columns)
                                                               + ["warning_time"]]
    spec = dataclasses.replace(
        SPEC, follow_through=dataclasses.replace(SPEC.follow_through,
                                                 covariates=("warning_time",)))
    res = _fit(sim, crises, spec)
    report = bc.diagnose(res, ppc=False)
    row = report.followthrough.discrimination.loc["all"]
    assert row.auc > 0.75 and row.auc_low > 0.5  # the whole model: the covariate
    assert row.auc_credibility_low <= 0.5 <= row.auc_credibility_high
    assert row.finding == "weak"
    assert "crisis covariates warning_time" in row.reason
    assert "the rest of the model, not credibility" in row.reason
    check = _graded(report, "followthrough_auc")["followthrough"]
    assert check.status == "warn" and check.value == row.auc_credibility
    assert "credibility alone: cross-validated AUC" in report.text()


@pytest.mark.sampling
def test_flipped_outcomes_give_a_reversed_link(flipped, tmp_path):
    report = bc.diagnose(flipped, ppc=False)
    row = report.followthrough.discrimination.loc["all"]
    # the loading's sign is estimated: the model learns the reversed link, so P(honour)
    # discriminates well (high AUC), while credibility alone (whose sign the signals fix)
    # reads below 0.5; the reversal shows in both and in the loading's posterior
    assert row.auc > 0.75 and row.auc_credibility_high < 0.5
    assert row.finding == "reversed" and "loading_followthrough < 0" in row.reason
    assert "honoured crises had lower credibility" in row.reason
    check = _graded(report, "followthrough_auc")["followthrough"]
    assert check.status == "warn" and "REVERSED" in check.message
    assert all(c.status != "fail" for c in report.checks if c.check.startswith("followthrough"))
    files = write_report(flipped, tmp_path, report=report)
    md = files.markdown.read_text()
    assert "## Follow-through: does credibility predict honouring?" in md
    assert "**reversed**" in md and "| followthrough_auc |" in md
    saved = json.loads(files.diagnostics.read_text())
    assert saved["followthrough"]["finding"] == "reversed"
    assert saved["followthrough"]["discrimination"][0]["auc"] == pytest.approx(row.auc)


@pytest.mark.sampling
def test_too_few_crises_are_not_assessable_rather_than_a_number(strong):
    limits = Thresholds(followthrough_min_crises=100)
    found = followthrough_check(strong, strong.log_likelihood(), relative_ess(strong), limits)
    row = found.discrimination.loc["all"]
    assert row.finding == "not assessable" and np.isnan(row.auc)
    assert "48 crises" in row.reason and found.calibration is None
    report = bc.diagnose(strong, {"followthrough_min_crises": 100}, ppc=False)
    check = _graded(report, "followthrough_auc")["followthrough"]
    assert check.status == "warn" and "NOT ASSESSABLE" in check.message
    saved = json.loads(dumps(report.to_dict()))["followthrough"]  # strict JSON: no NaN
    assert saved["finding"] == "not assessable" and saved["discrimination"][0]["auc"] is None


@pytest.mark.sampling
def test_each_crisis_kind_gets_its_own_auc(sim, strong):
    kinds = np.where(np.arange(len(sim.crises)) % 3 == 0, "dispute", "war")
    kinds[:4] = "naval"  # too few to assess: listed, not warned about
    res = _fit(sim, sim.crises.assign(kind=kinds))
    report = bc.diagnose(res, ppc=False)
    table = report.followthrough.discrimination
    assert table.index[0] == "all" and set(table.index) == {"all", "dispute", "war", "naval"}
    counts = pd.Series(kinds).value_counts()
    for kind in ("dispute", "war", "naval"):
        assert table.loc[kind, "n"] == counts[kind]
    # a kind's AUC is over pairs within that kind: recomputed here from the crises
    crises = report.followthrough.crises
    war = crises[crises.kind == "war"]
    assert table.loc["war", "auc_in_sample"] == pytest.approx(
        auc(in_sample_pairs(war.p_mean.to_numpy(), war.honored.to_numpy())))
    checks = _graded(report, "followthrough_auc")
    assert checks["followthrough[naval]"].status == "info"
    assert table.loc["naval", "finding"] == "not assessable"
    assert checks["followthrough[war]"].status in ("pass", "warn")


@pytest.mark.sampling
def test_partial_outcomes_use_the_ordered_model(sim):
    """With partial outcomes P(honoured) comes from the ordered model's draws; it must
    reproduce the log-likelihood of every crisis (or the link is 'not assessable')."""
    outcome = sim.crises.outcome.copy()
    violated = np.flatnonzero(outcome == "violated")
    outcome.iloc[violated[::3]] = "partial"
    res = _fit(sim, sim.crises.assign(outcome=outcome))
    found = bc.diagnose(res).followthrough  # (the predictive checks run on it too)
    row = found.discrimination.loc["all"]
    assert row.finding == "linked" and row.auc > 0.7
    assert found.crises.honored.sum() == (outcome == "honored").sum()  # partial: not honoured


@pytest.mark.sampling
def test_reputation_effects_and_the_loo_comparison_with_reputation_off(sim, strong):
    """The data carry no reputation effect (simulated with reputation off): the report
    gives the kappas per crisis kind (signed by default, so P(kappa > 0) is the data's
    answer, not the prior's), and the documented comparison by LOO does not prefer
    reputation on."""
    spec = dataclasses.replace(SPEC, reputation=dataclasses.replace(SPEC.reputation,
                                                                   enabled=True))
    on = bc.fit(spec, strong.panel, scales=strong.scales, **DRAWS)
    effects = bc.diagnose(on, ppc=False, loo=False).reputation
    row = effects.table.loc["war"]  # the one kind of these crises
    assert row.p_violation_costlier == pytest.approx(on.prob_violation_costlier("war"))
    assert row.honor_low <= row.kappa_honor <= row.honor_high
    assert row.p_honor_positive < 1.0 and not effects.sign_fixed
    assert bc.diagnose(strong, ppc=False, loo=False).reputation is None
    table = bc.compare({"reputation on": on, "reputation off": strong})
    if table.index[0] == "reputation on":  # ranked first: only within its noise
        ahead_by = table.loc["reputation off", "elpd_diff"]
        assert ahead_by <= 2 * table.loc["reputation off", "dse"] + 1e-9
    assert bool(table.loc["reputation on", "reputation"]) is True


def test_only_a_nonnegative_prior_is_reported_as_fixing_the_sign():
    positive = bc.spec_from_dict({
        "signals": {"x": {"family": "gaussian"}},
        "priors": {"kappa_honor_raw": {"dist": "HalfNormal", "sigma": 1.0}},
    })
    assert _nonnegative(positive, "kappa_honor_raw")
    assert not _nonnegative(SPEC, "kappa_violate_raw")  # the default is signed
