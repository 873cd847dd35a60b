"""Replicating a published follow-through study through the documented contract.

Berkemeier & Fuhrmann (2018) code, for every alliance invoked in a war 1816-2003, whether
the commitment was honoured.  Their file (``../shared/data/raw``, see data/README.md) holds
one row per alliance and war with the treaty's obligation types; it does not hold the
other covariates of the logit they re-estimate (Leeds 2003: changes in capability and
regime since signature), so bayescred is compared with the plain maximum-likelihood logit
of the same covariates on the same rows, not with the paper's table.

The panel is crises only (docs/followthrough.md, "Replicating a published study"):
``crises.csv`` with crisis-level covariates, a spec without ``[signals]``, fitted by
bayescred; the same covariates go into a Newton-Raphson logit.  Checked: the effects'
signs agree where the logit's are clearly nonzero, and bayescred's cross-validated
(leave-pair-out) discrimination of P(honour) is close to the logit's, refitted without
each pair.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize
from scipy.special import expit

import bayescred as bc

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO.parent / "shared" / "data" / "raw" / "berkemeier_fuhrmann_2018.csv"
needs_source = pytest.mark.skipif(
    not SOURCE.is_file(), reason=f"public raw data not available at {SOURCE} (see data/README.md)"
)
# obligation types of the treaty and its size, 0/1 per alliance (ATOP, as the file codes them)
COVARIATES = ["defense", "offense", "neutral", "nonagg", "consul", "multilateral"]
WORLD_WARS = {"WorldWarI": 1914, "WorldWarII": 1939}  # the only war names without a year
SPEC = """\
name = "berkemeier_fuhrmann_2018"
description = "Alliance commitments invoked in wars, 1816-2003 (Berkemeier & Fuhrmann 2018)"
[data]
crises = "crises.csv"
[latent]
dynamics = "static"
[follow_through]
covariates = {covariates}
[reputation]
enabled = false
# one unit per alliance: its baseline and its level are told apart by the prior alone
[priors]
tau = {{ dist = "HalfNormal", sigma = 0.1 }}
[sampler]
draws = 300
tune = 300
chains = 2
seed = 1
target_accept = 0.95
"""


def published_crises(raw: pd.DataFrame, scheme: str = "BF") -> pd.DataFrame:
    """The rows coded under ``scheme`` (``BF`` or ``LLM``) as a crises table: one crisis per
    alliance and war, the alliance as both member and alliance (the file does not say which
    member was obliged), dated to the war's first year, with the covariate columns."""
    coded = raw[(raw[f"honor{scheme}"] == 1) | (raw[f"violate{scheme}"] == 1)]
    year = coded.warname.str.extract(r"(\d{4})")[0].astype(float)
    year = year.fillna(coded.warname.map(WORLD_WARS)).astype(int)
    alliance = "ATOP" + coded.atopid.astype(int).astype(str)
    return pd.DataFrame({
        "crisis": coded.warname + "/" + alliance,
        "year": year,
        "member": alliance,
        "alliance": alliance,
        "outcome": np.where(coded[f"honor{scheme}"] == 1, "honored", "violated"),
        **{name: coded[name].astype(int) for name in COVARIATES},
    })


def logit_mle(x: np.ndarray, y: np.ndarray, start: np.ndarray | None = None):
    """Maximum-likelihood logit with an intercept by Newton-Raphson: (coefficients,
    standard errors from the inverse information)."""
    design = np.column_stack([np.ones(len(x)), x])
    beta = np.zeros(design.shape[1]) if start is None else start.copy()
    for _ in range(100):
        p = expit(design @ beta)
        information = (design * (p * (1 - p))[:, None]).T @ design
        step = np.linalg.solve(information, design.T @ (y - p))
        beta += step
        if np.abs(step).max() < 1e-10:
            break
    return beta, np.sqrt(np.diag(np.linalg.inv(information)))


def logit_leave_pair_out_auc(x: np.ndarray, y: np.ndarray) -> float:
    """The logit's AUC with every (honoured, violated) pair refitted without both and
    compared on the linear predictor (ties half): the same statistic bayescred reports."""
    design = np.column_stack([np.ones(len(x)), x])
    full, _ = logit_mle(x, y)
    wins = []
    for i in np.flatnonzero(y == 1):
        for j in np.flatnonzero(y == 0):
            keep = np.ones(len(y), bool)
            keep[[i, j]] = False
            beta, _ = logit_mle(x[keep], y[keep], full)
            gap = design[i] @ beta - design[j] @ beta
            wins.append(1.0 if gap > 0 else 0.5 if gap == 0 else 0.0)
    return float(np.mean(wins))


def test_the_newton_logit_is_the_maximum_likelihood(rng):
    """Against a general-purpose optimiser on simulated data with known effects."""
    x = rng.normal(size=(300, 3))
    y = (rng.random(300) < expit(0.3 + x @ np.array([1.0, -0.5, 0.0]))).astype(float)
    beta, se = logit_mle(x, y)
    design = np.column_stack([np.ones(300), x])

    def negative_loglik(b):
        eta = design @ b
        return np.sum(np.logaddexp(0, eta) - y * eta)

    found = optimize.minimize(negative_loglik, np.zeros(4), method="BFGS", options={"gtol": 1e-8})
    np.testing.assert_allclose(beta, found.x, atol=1e-4)
    assert np.all(np.abs(beta - [0.3, 1.0, -0.5, 0.0]) < 3 * se)  # the truth, within 3 se


@pytest.fixture(scope="module")
def replication(tmp_path_factory):
    if not SOURCE.is_file():
        pytest.skip(f"public raw data not available at {SOURCE} (see data/README.md)")
    folder = tmp_path_factory.mktemp("berkemeier_fuhrmann")
    crises = published_crises(pd.read_csv(SOURCE))
    crises.to_csv(folder / "crises.csv", index=False)
    listed = "[" + ", ".join(f'"{name}"' for name in COVARIATES) + "]"
    (folder / "spec.toml").write_text(SPEC.format(covariates=listed))
    spec = bc.load_spec(folder / "spec.toml")
    result = bc.fit(spec, progress=False)
    return crises, result, bc.diagnose(result, ppc=False)


@needs_source
@pytest.mark.rawdata
def test_the_panel_holds_the_published_coding(replication):
    """About 50% of invoked commitments honoured under Berkemeier & Fuhrmann's coding
    (their headline figure): 69 of 139 coded rows."""
    crises, result, _ = replication
    assert len(crises) == 139 and crises.crisis.is_unique
    assert (crises.outcome == "honored").sum() == 69
    assert len(result.panel.crises) == 139 and result.panel.signals == []
    llm = published_crises(pd.read_csv(SOURCE), "LLM")  # the other coding in the file
    assert len(llm) == 146 and (llm.outcome == "honored").sum() == 73


@needs_source
@pytest.mark.rawdata
@pytest.mark.sampling
def test_bayescred_agrees_with_the_maximum_likelihood_logit(replication):
    crises, result, report = replication
    x = crises[COVARIATES].to_numpy(float)
    y = (crises.outcome == "honored").to_numpy(float)
    beta, se = logit_mle(x, y)
    clear = np.abs(beta[1:] / se[1:]) > 2  # the logit's clearly nonzero effects
    assert clear.sum() >= 2  # offense, neutral (+) and nonagg (-) on this coding
    draws = result.posterior["beta_followthrough"].sel(crisis_covariate=COVARIATES)
    same_sign = (np.sign(draws) == np.sign(beta[1:])).mean(("chain", "draw")).values
    assert np.all(same_sign[clear] > 0.9), dict(zip(COVARIATES, same_sign))
    # discrimination out of sample: both leave each (honoured, violated) pair out
    logit_auc = logit_leave_pair_out_auc(x, y)
    row = report.followthrough.discrimination.loc["all"]
    assert abs(row.auc - logit_auc) < 0.05, (row.auc, logit_auc)  # measured 0.83 vs 0.83
    assert row.auc_low <= logit_auc <= row.auc_high
