"""Simulation-based calibration (SBC): is a posterior interval as often right as it says?

Datasets are drawn from the prior predictive of the spec's own model (:mod:`.prior_draws`),
each is fitted (:func:`~bayescred.many.fit_many`), and the true value of each parameter
is ranked among its posterior draws.  When the fits are calibrated the ranks are uniform
(Talts et al. 2018).

* Parameters ranked: every *structural* variable of the posterior -- found from the
  posterior itself, not a list of names: scalars and small vectors (at most
  ``MAX_ELEMENTS`` values per draw) without a unit, year or step dimension, and not a
  sampler coordinate (``z_*``) -- each element on its own, plus ``cells`` credibility
  cells (unit-years drawn at random among the active ones).
* Ranks: among ``RANK_DRAWS`` draws thinned evenly from all chains (thinning lowers the
  draws' autocorrelation, which would otherwise make ranks look non-uniform); rank r of
  L draws becomes u = (r + v) / (L + 1) with v ~ Uniform(0, 1), which is exactly
  Uniform(0, 1) under calibration.
* Verdict (the test): the ECDF of u against a 95% *simultaneous* confidence band for the
  ECDF of n uniform values (Säilynoja, Bürkner & Vehtari 2022: ArviZ's
  ``ecdf_confidence_band``, the band ``az.plot_ecdf`` draws): ``uniform`` when the ECDF
  stays inside the band at every evaluation point, ``not uniform`` otherwise.  The band
  is simultaneous per parameter, so a calibrated model still fails ~5% of parameters;
  a failure is a flag to look at the plot, not proof.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import OutputError, SpecError
from .batch import ManyFits, fit_many
from .cluster import connected
from .jobs import Job
from .prior_draws import prior_datasets

CELL_DIMS = {"unit", "year", "step"}  # dimensions of the latent path's variables
MAX_ELEMENTS = 16  # a structural variable has at most this many values per draw
RANK_DRAWS = 100  # posterior draws each true value is ranked among
BAND_PROB = 0.95


@dataclass(frozen=True)
class Calibration:
    """The outcome of :func:`calibrate`: ``ranks`` (one row per dataset and parameter
    element: rank, draws, u, truth), ``verdicts`` (one row per parameter element), the
    fits and the output folder."""

    ranks: pd.DataFrame
    verdicts: pd.DataFrame
    fits: ManyFits
    folder: Path
    rejected: int = 0  # prior draws whose data could not be drawn (see prior_draws)

    def text(self) -> str:
        bad = self.verdicts[self.verdicts.verdict != "uniform"]
        n_ok = int(self.fits.ok.sum())
        lines = [f"simulation-based calibration: {n_ok} of {len(self.fits.table)} fits, "
                 f"{len(self.verdicts)} parameters ranked (95% simultaneous ECDF band)"]
        if self.rejected:
            lines.append(f"{self.rejected} prior draw(s) rejected: their data could not be "
                         "drawn (calibration is of the prior truncated to drawable data)")
        if bad.empty:
            lines.append("every parameter's ranks are uniform")
        for row in bad.itertuples():
            lines.append(f"  not uniform: {row.parameter} (ECDF leaves the band by "
                         f"{row.outside:.3f})")
        return "\n".join(lines)


def calibrate(
    spec,
    fits: int = 100,
    out: str | Path = "calibration",
    client=None,
    *,
    n_units: int = 6,
    n_years: int = 12,
    n_crises: int = 8,
    draws: int = 500,
    tune: int = 500,
    chains: int = 2,
    cells: int = 8,
    seed: int = 0,
    n_workers: int | None = None,
    progress: bool = True,
) -> Calibration:
    """Simulation-based calibration of ``spec``'s model.

    Parameters
    ----------
    spec : ModelSpec or path
        The model (signals, families, dynamics, reputation, covariates, priors).
    fits : int
        Datasets drawn and fitted.
    out : path
        Folder for ``ranks.csv``, ``verdicts.csv``, ``fits.csv``, the ECDF plots
        (``ecdf_parameters.png``, ``ecdf_cells.png``) and the fits (``fits/``); must
        not hold an earlier calibration.
    client : distributed.Client, str or None
        Where to fit (see :func:`~bayescred.many.fit_many`).
    n_units, n_years, n_crises : int
        Shape of the panel each dataset fills (a skeleton drawn by
        :func:`bayescred.simulate`; every unit-year observed).
    draws, tune, chains : int
        Sampler settings of each fit.
    cells : int
        Credibility cells ranked besides the structural parameters.
    seed : int
        Seeds the skeleton, the prior draws, the fits and the ranks' tie-breaking.
    """
    from ..spec import ModelSpec, load_spec

    spec = spec if isinstance(spec, ModelSpec) else load_spec(spec)
    if not isinstance(fits, int) or fits < 2:
        raise SpecError(f"calibrate: fits must be an integer of 2 or more, got {fits!r}")
    spec.with_sampler(draws=draws, tune=tune, chains=chains)  # checked before any work
    folder = _fresh_folder(Path(out))
    # connect first: an unreachable scheduler fails before datasets are drawn
    with connected(client, n_workers=n_workers, chains=chains) as dask_client:
        folder.mkdir(parents=True, exist_ok=True)
        skeleton = _skeleton(spec, n_units, n_years, n_crises, seed)
        scales, datasets = prior_datasets(spec, skeleton, fits, seed=seed)
        overrides = {"draws": draws, "tune": tune, "chains": chains, "scales": scales}
        jobs = [Job(spec, d.panel, seed=seed + i, overrides=overrides, name=f"sbc-{i:04d}")
                for i, d in enumerate(datasets)]
        batch = fit_many(jobs, dask_client, out=folder / "fits", progress=progress)
    rng = np.random.default_rng(seed)
    chosen = _cells(skeleton, cells, rng)
    ranks = rank_table(batch, [d.truth for d in datasets], chosen, rng)
    verdicts = verdict_table(ranks)
    batch.table.to_csv(folder / "fits.csv", index=False)
    ranks.to_csv(folder / "ranks.csv", index=False)
    verdicts.to_csv(folder / "verdicts.csv", index=False)
    if len(ranks):
        plot_ecdfs(ranks[ranks.kind == "parameter"], folder / "ecdf_parameters.png")
        plot_ecdfs(ranks[ranks.kind == "cell"], folder / "ecdf_cells.png")
    return Calibration(ranks, verdicts, batch, folder, datasets[-1].rejected_before)


def _fresh_folder(folder: Path) -> Path:
    if (folder / "ranks.csv").exists() or (folder / "fits").exists():
        raise OutputError(f"{folder}: holds an earlier calibration; choose another folder")
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder}: is a file, not a folder")
    return folder


def _skeleton(spec, n_units: int, n_years: int, n_crises: int, seed: int):
    """The panel shape every dataset fills: units, years, observed cells, crises."""
    from ..panel import load_panel
    from ..simulate import simulate

    sim = simulate(spec, n_units=n_units, n_years=n_years, n_crises=n_crises, seed=seed)
    return load_panel(sim.observations, sim.crises, sim.units, spec=spec)


def _cells(skeleton, n: int, rng) -> list[tuple[int, int]]:
    units, years = np.nonzero(skeleton.active_mask())
    pick = rng.choice(len(units), size=min(n, len(units)), replace=False)
    return sorted(zip(units[pick].tolist(), years[pick].tolist()))


def structural_variables(posterior) -> list[str]:
    """The posterior's structural parameters: scalars and small vectors, without a unit,
    year or step dimension, that are not sampler coordinates (``z_*``)."""
    out = []
    for name, da in posterior.data_vars.items():
        dims = [d for d in da.dims if d not in ("chain", "draw")]
        size = int(np.prod([da.sizes[d] for d in dims])) if dims else 1
        if name.startswith("z_") or set(dims) & CELL_DIMS or size > MAX_ELEMENTS:
            continue
        out.append(name)
    return out


def rank_table(batch: ManyFits, truths: list[dict], cells, rng) -> pd.DataFrame:
    """One row per fitted dataset and parameter element: its rank among thinned draws."""
    import arviz as az

    rows = []
    for i, row in batch.table.iterrows():
        if row.status != "ok":
            continue
        post = az.from_netcdf(row.path).posterior
        truth = truths[i]
        for name in structural_variables(post):
            if name in truth:
                rows += _ranks(post[name], np.asarray(truth[name]), name, "parameter", i, rng)
        cred = post["credibility"]
        for u, t in cells:
            label = f"credibility[{cred.unit.values[u]},{int(cred.year.values[t])}]"
            draws = cred.isel(unit=u, year=t)
            rows += _ranks(draws, np.asarray(truth["credibility"])[u, t], label, "cell", i, rng)
    return pd.DataFrame(rows, columns=["fit", "kind", "parameter", "truth", "rank", "draws",
                                       "u"])


def _ranks(da, truth: np.ndarray, name: str, kind: str, fit: int, rng) -> list[dict]:
    extra = [d for d in da.dims if d not in ("chain", "draw")]
    values = da.transpose("chain", "draw", *extra).values
    values = values.reshape(-1, *values.shape[2:])
    step = max(1, int(np.ceil(len(values) / RANK_DRAWS)))
    values = values[::step]
    flat = values.reshape(len(values), -1)
    truth = np.broadcast_to(truth, values.shape[1:]).ravel()
    labels = _labels(da, extra, name)
    out = []
    for j, label in enumerate(labels):
        rank = int((flat[:, j] < truth[j]).sum())
        u = (rank + rng.random()) / (len(flat) + 1)
        out.append({"fit": fit, "kind": kind, "parameter": label, "truth": float(truth[j]),
                    "rank": rank, "draws": len(flat), "u": u})
    return out


def _labels(da, dims, name: str) -> list[str]:
    if not dims:
        return [name]
    grids = np.meshgrid(*[da[d].values for d in dims], indexing="ij")
    return [f"{name}[{','.join(str(g.ravel()[k]) for g in grids)}]"
            for k in range(grids[0].size)]


def verdict_table(ranks: pd.DataFrame) -> pd.DataFrame:
    """Per parameter element: n, the ECDF's largest distance outside the 95% simultaneous
    band (0 inside), and the verdict."""
    rows = []
    for (kind, name), group in ranks.groupby(["kind", "parameter"], sort=False):
        outside = band_excess(group.u.to_numpy())
        rows.append({"kind": kind, "parameter": name, "n": len(group),
                     "outside": outside, "verdict": "uniform" if outside == 0 else
                     "not uniform"})
    return pd.DataFrame(rows, columns=["kind", "parameter", "n", "outside", "verdict"])


def eval_points(n: int) -> np.ndarray:
    """Where the ECDF of ``n`` values is compared with the band (fixed in advance, as a
    simultaneous band needs)."""
    k = min(n, 100)
    return np.linspace(0, 1, k + 2)[1:-1]


def band_excess(u: np.ndarray, prob: float = BAND_PROB) -> float:
    """How far the ECDF of ``u`` leaves ArviZ's ``prob`` simultaneous band for n uniform
    values (0.0 when inside everywhere)."""
    points = eval_points(len(u))
    lower, upper = _band(len(u), prob)
    ecdf = (np.asarray(u)[:, None] <= points[None, :]).mean(axis=0)
    return float(max(0.0, (lower - ecdf).max(), (ecdf - upper).max()))


@functools.lru_cache(maxsize=32)
def _band(n: int, prob: float) -> tuple[np.ndarray, np.ndarray]:
    """ArviZ's simultaneous ``prob`` band for the ECDF of ``n`` uniform values at
    :func:`eval_points` (an optimisation: computed once per n)."""
    from arviz.stats.ecdf_utils import ecdf_confidence_band

    points = eval_points(n)
    return ecdf_confidence_band(n, points, points, prob=prob, method="optimized")


def plot_ecdfs(ranks: pd.DataFrame, path: Path) -> Path | None:
    """ECDF-difference plots of each parameter's u with ArviZ's 95% simultaneous band."""
    import arviz as az
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from scipy.stats import uniform

    names = list(dict.fromkeys(ranks.parameter))
    if not names:
        return None
    cols = min(4, len(names))
    rows = int(np.ceil(len(names) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False)
    for ax, name in zip(axes.ravel(), names):
        u = ranks.loc[ranks.parameter == name, "u"].to_numpy().copy()  # ArviZ sorts it
        az.plot_ecdf(u, eval_points=eval_points(len(u)), cdf=uniform().cdf, difference=True,
                     confidence_bands="optimized", ci_prob=BAND_PROB, ax=ax)
        ax.set_title(name, fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(names):]:
        ax.set_visible(False)
    fig.suptitle("ECDF of rank fractions minus uniform, with 95% simultaneous band",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
