"""One function per picture; each returns its matplotlib figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.ticker import NullFormatter

from .families import FAMILIES
from .results import CredibilityResult, interval_prob
from .safe_text import plain

_MARKERS = {
    "honored": ("^", "tab:green"),
    "violated": ("v", "tab:red"),
    "partial": ("o", "tab:orange"),
}


def trajectories(
    result: CredibilityResult,
    units: list[str] | None = None,
    hdi_prob: float | None = None,
    max_units: int = 12,
    ncols: int = 4,
    *,
    prob: float | None = None,
):
    """Credibility over time per unit: posterior mean, HDI band and crisis markers.

    Parameters
    ----------
    units : list of str, optional
        Unit labels (``"MEMBER/ALLIANCE"``) or members to show, in this order; by default
        ``max_units`` units, those with the most crises first, then those whose credibility
        moves most (:func:`unit_order`).  The title says how many of how many are shown.
    hdi_prob : float, optional
        Probability of the HDI band (default 0.9); ``prob`` is its deprecated name.

    Raises
    ------
    DataError
        If a name in ``units`` is neither a unit nor a member of the result.
    """
    prob = interval_prob(hdi_prob, prob, "trajectories")
    table = result.credibility(prob)
    table["unit"] = table.member + "/" + table.alliance
    crises = result.panel.crises.assign(unit=lambda c: c.member + "/" + c.alliance)
    ranked = unit_order(table, crises)
    labels = select_units(ranked, units) if units else ranked
    labels = labels[:max_units]
    ncols = max(1, min(ncols, len(labels)))
    nrows = int(np.ceil(len(labels) / ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(3.2 * ncols + 0.6, 2.4 * nrows + 1.0), sharex=True,
        sharey=True, squeeze=False,
    )
    for ax, label in zip(axes.flat, labels):
        rows = table[table.unit == label]
        if len(rows) == 1:  # one active year: a point with its interval, not an empty line
            ax.errorbar(rows.year, rows["mean"],
                        yerr=[rows["mean"] - rows.hdi_low, rows.hdi_high - rows["mean"]],
                        fmt="o", ms=4, capsize=2)
        else:
            ax.fill_between(rows.year, rows.hdi_low, rows.hdi_high, alpha=0.3, lw=0)
            ax.plot(rows.year, rows["mean"], lw=1.5)
        for outcome, (marker, colour) in _MARKERS.items():
            hits = crises[(crises.unit == label) & (crises.outcome == outcome)]
            hit_rows = rows.set_index("year").reindex(hits.year)
            ax.scatter(hits.year, hit_rows["mean"], marker=marker, color=colour, zorder=3,
                       label=outcome)
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_title(label, fontsize=9)
    for ax in list(axes.flat)[len(labels):]:
        ax.set_visible(False)
    handles = {}
    for ax in axes.flat:
        for handle, name in zip(*ax.get_legend_handles_labels()):
            if hasattr(handle, "get_offsets") and len(handle.get_offsets()):
                handles.setdefault(name, handle)
    if handles:
        fig.legend(handles.values(), [f"crisis {k}" for k in handles], loc="upper right",
                   ncol=len(handles), fontsize=8, frameon=False)
    fig.supylabel(f"credibility (standardised; {int(prob * 100)}% HDI)", fontsize=9)
    how = "chosen" if units else "most crises, then largest movement, first"
    fig.suptitle(f"{plain_text(result.spec.name)}: {len(labels)} of {len(ranked)} units "
                 f"shown ({how})", fontsize=10)
    fig.tight_layout()
    return fig


def pillars(
    result: CredibilityResult,
    units: list[str] | None = None,
    hdi_prob: float | None = None,
    max_units: int = 6,
    ncols: int = 3,
):
    """Each pillar ([dimensions]) over time per unit, with overall credibility: posterior
    means, the pillars' HDI bands and crisis markers (on overall credibility).  Units as in
    :func:`trajectories`."""
    prob = interval_prob(hdi_prob, None, "pillars")
    table = result.pillars(prob)
    table["unit"] = table.member + "/" + table.alliance
    overall = result.credibility(prob)
    overall["unit"] = overall.member + "/" + overall.alliance
    crises = result.panel.crises.assign(unit=lambda c: c.member + "/" + c.alliance)
    ranked = unit_order(overall, crises)
    labels = (select_units(ranked, units) if units else ranked)[:max_units]
    ncols = max(1, min(ncols, len(labels)))
    nrows = int(np.ceil(len(labels) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.6 * ncols + 0.6, 2.6 * nrows + 1.0),
                             sharex=True, sharey=True, squeeze=False)  # fmt: skip
    for ax, label in zip(axes.flat, labels):
        for name in table.dimension.unique():
            rows = table[(table.unit == label) & (table.dimension == name)]
            line = ax.plot(rows.year, rows["mean"], lw=1.2, label=name)[0]
            ax.fill_between(rows.year, rows.hdi_low, rows.hdi_high, alpha=0.15, lw=0,
                            color=line.get_color())  # fmt: skip
        rows = overall[overall.unit == label]
        ax.plot(rows.year, rows["mean"], color="black", lw=1.8, label="overall")
        for outcome, (marker, colour) in _MARKERS.items():
            hits = crises[(crises.unit == label) & (crises.outcome == outcome)]
            at = rows.set_index("year").reindex(hits.year)
            ax.scatter(hits.year, at["mean"], marker=marker, color=colour, s=14, zorder=3)
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_title(label, fontsize=9)
    for ax in list(axes.flat)[len(labels):]:
        ax.set_visible(False)
    handles, names = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="upper right", ncol=len(names), fontsize=8, frameon=False)
    fig.supylabel(f"credibility scale ({int(prob * 100)}% HDI for pillars)", fontsize=9)
    fig.suptitle(f"{plain_text(result.spec.name)}: pillars and overall credibility, "
                 f"{len(labels)} of {len(ranked)} units", fontsize=10)  # fmt: skip
    fig.tight_layout()
    return fig


def unit_order(table, crises) -> list[str]:
    """Unit labels, those with the most crises first, then by how far their posterior
    mean credibility moves over their active years (largest first), then by label."""
    spans = table.groupby("unit")["mean"].agg(lambda m: float(m.max() - m.min()))
    counts = crises.groupby("unit").size() if len(crises) else {}
    key = {u: (-int(counts.get(u, 0)), -spans[u], u) for u in spans.index}
    return sorted(key, key=key.__getitem__)


def select_units(labels: list[str], chosen: list[str]) -> list[str]:
    """The units named in ``chosen`` (a unit label ``MEMBER/ALLIANCE`` or a member, which
    stands for all its units), in the order given; a name matching none is a DataError."""
    picked: list[str] = []
    for name in chosen:
        hits = [u for u in labels if u == name or u.split("/")[0] == name]
        if not hits:
            from .errors import DataError

            shown = ", ".join(sorted(labels)[:10]) + (", ..." if len(labels) > 10 else "")
            raise DataError(f"unit {name!r}: no such unit or member (units: {shown})")
        picked += [u for u in hits if u not in picked]
    return picked


def plain_text(text: str) -> str:
    """``text`` safe for a figure title: no control characters, and matplotlib's maths
    markup ($...$) shown as written."""
    return plain(text).replace("$", r"\$")


def forest(
    result: CredibilityResult,
    year: int | None = None,
    hdi_prob: float | None = None,
    max_units: int = 60,
    *,
    prob: float | None = None,
):
    """Credibility of every unit in one year (default: the last), sorted, with intervals.

    Only units with evidence around that year (active) are shown; colours mark alliances.
    ``hdi_prob``: probability of the intervals (default 0.9; ``prob`` is its deprecated name).
    """
    prob = interval_prob(hdi_prob, prob, "forest")
    table = result.credibility(prob)
    years = sorted(table.year.unique())
    year = int(years[-1] if year is None else year)
    if year not in years:
        from .errors import DataError

        raise DataError(f"year {year} has no active unit; years run {years[0]}-{years[-1]}")
    rows = table[table.year == year].sort_values("mean").tail(max_units)
    labels = (rows.member + "/" + rows.alliance).to_list()
    alliances = sorted(rows.alliance.unique())
    colours = {a: plt.cm.tab10(i % 10) for i, a in enumerate(alliances)}
    fig, ax = plt.subplots(figsize=(6, 1.0 + 0.25 * len(rows)))
    y = np.arange(len(rows))
    for alliance in alliances:
        here = (rows.alliance == alliance).to_numpy()
        ax.hlines(y[here], rows.hdi_low[here], rows.hdi_high[here], color=colours[alliance],
                  lw=2, label=alliance)
        ax.plot(rows["mean"][here], y[here], "o", color=colours[alliance], ms=4)
    ax.set_yticks(y, labels, fontsize=8)
    ax.axvline(0, color="grey", lw=0.5)
    ax.set_xlabel(f"credibility in {year} (standardised; {int(prob * 100)}% HDI)")
    ax.legend(title="alliance", fontsize=8, loc="lower right")
    ax.set_title(f"{plain_text(result.spec.name)}: units in {year}")
    fig.tight_layout()
    return fig


def loadings(
    result: CredibilityResult, hdi_prob: float | None = None, *, prob: float | None = None
):
    """Signal loadings (with HDI) and informativeness: the Fisher information about
    credibility in one observation, and each signal's share of all the information.
    ``hdi_prob``: probability of the loadings' HDI (default 0.9; ``prob``: deprecated)."""
    from .information import signal_information

    prob = interval_prob(hdi_prob, prob, "loadings")
    info = signal_information(result, prob)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 0.8 + 0.5 * len(info)), sharey=True)
    y = np.arange(len(info))
    left.hlines(y, info.loading_low, info.loading_high, lw=2)
    left.plot(info.loading, y, "o")
    left.set_yticks(y, [f"{s} ({f})" for s, f in zip(info.index, info.family)])
    left.set_xlabel(f"loading ({int(prob * 100)}% HDI)")
    left.axvline(0, color="grey", lw=0.5)
    right.barh(y, info.information, color="tab:purple", alpha=0.7)
    for yi, (val, sd, share) in enumerate(zip(info.information, info.sd_one_obs, info.share)):
        right.text(val, yi, f"  ±{sd:.2f} sd, {share:.1%} of total", va="center", fontsize=8)
    right.set_xlabel("information per observation (1 / sd²)")
    right.set_xlim(0, info.information.max() * 1.8)
    left.invert_yaxis()
    fig.suptitle(f"{plain_text(result.spec.name)}: what each signal says about credibility")
    fig.tight_layout()
    return fig


def ppc(source, signals: list[str] | None = None, n_draws: int = 40, ncols: int = 3,
        seed: int = 0):
    """Posterior predictive check per signal: the observed values' empirical CDF against
    those of ``n_draws`` replicated data sets (follow-through: the share honoured).

    ``source`` is a :class:`~bayescred.diagnostics.DiagnosticReport` (reuses its draws) or
    a :class:`CredibilityResult` (draws them).
    """
    from .diagnostics import DiagnosticReport, families, ppc_summary
    from .predictive import posterior_predictive

    if isinstance(source, DiagnosticReport) and source.predictive is not None:
        result, pred, table = source.result, source.predictive, source.ppc
    else:
        result = source.result if isinstance(source, DiagnosticReport) else source
        pred = posterior_predictive(result, seed=seed)
        table = ppc_summary(pred, families(result))
    labels = [s for s in dict.fromkeys(pred.signal.values) if not signals or s in signals]
    draws = pred.stack(sample=("chain", "draw")).transpose("sample", "obs").values
    pick = np.random.default_rng(seed).choice(len(draws), min(n_draws, len(draws)), False)
    nrows = int(np.ceil(len(labels) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4 * ncols, 3 * nrows), squeeze=False)
    for ax, label in zip(axes.flat, labels):
        here = pred.signal.values == label
        y, rep = pred["value"].values[here], draws[:, here]
        row = table.loc[label]
        if label in result.spec.signals:
            for r in rep[pick]:
                ax.ecdf(r, color="tab:blue", alpha=0.15, lw=0.8)
            ax.ecdf(y, color="black", lw=1.8, label="observed")
            if row.family in FAMILIES and FAMILIES[row.family].skewed and y.min() >= 0:
                ax.set_xscale("symlog" if y.min() == 0 else "log")
                ax.xaxis.set_minor_formatter(NullFormatter())
            title = f"{label} ({row.family})\np(mean)={row.ppp_mean:.2f}"
            if np.isfinite(row.ppp_sd):
                title += f", p(sd)={row.ppp_sd:.2f}, cover={row.coverage:.0%}"
        else:
            ax.hist(rep.mean(axis=1), bins=20, color="tab:blue", alpha=0.5,
                    label="replicated")
            ax.axvline(y.mean(), color="black", lw=1.8, label="observed")
            ax.set_xlabel("share honoured" if y.max() <= 1 else "mean outcome code")
            title = f"follow-through ({int(here.sum())} crises)\np(mean)={row.ppp_mean:.2f}"
        ax.set_title(title, fontsize=9)
    for ax in list(axes.flat)[len(labels):]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=8, loc="lower right")
    fig.suptitle("posterior predictive checks (black: observed; blue: replicated)")
    fig.tight_layout()
    return fig


def rank_trace(result: CredibilityResult, n: int = 4):
    """Per-chain densities and rank plots of the ``n`` worst-mixing quantities (highest
    R-hat among credibility and the structural parameters), drawn by ArviZ
    (``az.plot_trace(kind="rank_bars")``).  Well-mixed chains give overlapping densities
    and flat rank histograms."""
    import arviz as az

    from .diagnostics import worst_mixing

    post = result.idata.posterior
    series = {}
    for name, sel in worst_mixing(result, n):
        da = post[name]
        for dim, key in sel.items():
            da = da.sel({dim: key}) if dim in da.indexes else da.isel({dim: key})
        label = name + ("[" + ", ".join(str(v) for v in sel.values()) + "]" if sel else "")
        series[label] = da.drop_vars([c for c in da.coords if c not in ("chain", "draw")])
    axes = az.plot_trace(
        xr.Dataset(series),
        kind="rank_bars",
        compact=False,
        figsize=(10, 2.2 * len(series)),
        backend_kwargs={"layout": "constrained"},
    )
    fig = np.asarray(axes).ravel()[0].figure
    fig.suptitle("worst-mixing quantities (one colour per chain)")
    return fig


def energy(result: CredibilityResult):
    """Marginal energy against energy transitions (``az.plot_energy``), with E-BFMI per
    chain (:func:`bayescred.convergence.e_bfmi`).  When the transition distribution is
    much narrower than the marginal, NUTS explores slowly."""
    import arviz as az

    from .convergence import e_bfmi

    energy = result.idata.sample_stats["energy"]
    bfmi = e_bfmi(energy)
    # each chain's energies less their mean: the same picture, without ArviZ's loss of
    # precision far from zero (see e_bfmi)
    centred = az.InferenceData(sample_stats=(energy - energy.mean("draw")).to_dataset())
    ax = az.plot_energy(centred, figsize=(6, 3.5), fill_alpha=(0.5, 0.5), bfmi=False)
    ax.set_title(
        "energy; E-BFMI per chain: " + ", ".join(f"{b:.2f}" for b in bfmi), fontsize=10
    )
    fig = ax.figure
    fig.tight_layout()
    return fig
