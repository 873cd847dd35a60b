"""One function per picture; each returns its matplotlib figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .results import DEFAULT_PROB, CredibilityResult

_MARKERS = {
    "honored": ("^", "tab:green"),
    "violated": ("v", "tab:red"),
    "partial": ("o", "tab:orange"),
}


def trajectories(
    result: CredibilityResult,
    units: list[str] | None = None,
    prob: float = DEFAULT_PROB,
    max_units: int = 12,
    ncols: int = 4,
):
    """Credibility over time per unit: posterior mean, HDI band and crisis markers.

    Parameters
    ----------
    units : list of str, optional
        Unit labels (``"MEMBER/ALLIANCE"``) or members to show; by default the first
        ``max_units`` units.
    """
    table = result.credibility(prob)
    table["unit"] = table.member + "/" + table.alliance
    labels = list(dict.fromkeys(table.unit))
    if units:
        labels = [u for u in labels if u in units or u.split("/")[0] in units]
    labels = labels[:max_units]
    nrows = int(np.ceil(len(labels) / ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(3.2 * ncols, 2.4 * nrows), sharex=True, sharey=True, squeeze=False
    )
    crises = result.panel.crises.assign(unit=lambda c: c.member + "/" + c.alliance)
    for ax, label in zip(axes.flat, labels):
        rows = table[table.unit == label]
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
    fig.supylabel(f"credibility (standardised; {int(prob * 100)}% HDI)")
    fig.suptitle(result.spec.name)
    fig.tight_layout()
    return fig
