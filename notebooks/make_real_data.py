"""Writes notebooks/02_real_data.ipynb (source of truth for its cells) and, with --execute,
runs it in place so the committed notebook carries its outputs.

    python notebooks/make_real_data.py --execute            # the specs' sampler settings
    BAYESCRED_FAST=1 python notebooks/make_real_data.py --execute

CI runs the notebook through tests/test_notebooks.py with BAYESCRED_FAST=1.
"""

import argparse
from pathlib import Path

import nbformat as nbf

HERE = Path(__file__).resolve().parent

cells = [
    nbf.v4.new_markdown_cell(
        "# Real data: US alliances (1954–2012) and alliance commitments in wars (1816–2003)\n\n"
        "Both panels are built from public datasets by `scripts/build_data.py` (sources, "
        "transformations and citations in `data/README.md`). This notebook fits each, reads "
        "the headline estimates, plots NATO members' credibility with intervals and asks what "
        "the war data say about **κ_honor vs κ_violate**. Set `BAYESCRED_FAST=1` for a quick "
        "run (CI does: fewer draws, so intervals are rougher and convergence figures weaker "
        "than with the specs' own settings)."
    ),
    nbf.v4.new_code_cell(
        "import os\n"
        "import matplotlib.pyplot as plt\n"
        "import numpy as np\n"
        "import pandas as pd\n"
        "import bayescred as bc\n"
        "from bayescred import datasets, plots\n"
        "from bayescred.diagnostics import quick_check\n\n"
        "FAST = bool(os.environ.get('BAYESCRED_FAST'))\n"
        "SETTINGS = dict(draws=200, tune=200) if FAST else {}  # else: each spec's [sampler]"
    ),
    nbf.v4.new_markdown_cell(
        "## 1. US alliances\n\nUnits are (ally, US treaty) commitments: NATO members, Japan, "
        "South Korea, the Philippines, Australia and New Zealand (ANZUS), Taiwan, Pakistan. "
        "Four signals: US troops stationed in the ally (negative binomial), the ally's "
        "military spending per head relative to the US's (lognormal), UNGA agreement with "
        "the US (beta) and the share of US multinational exercises the ally joined "
        "(binomial, 1980–2010)."
    ),
    nbf.v4.new_code_cell(
        "panel, spec = datasets.load_example('us_alliances')\n"
        "print(len(panel.units), 'units,', len(panel.years), 'years,', "
        "len(panel.observations), 'observations,', len(panel.crises), 'crises')\n"
        "panel.observations.groupby('signal').size()"
    ),
    nbf.v4.new_markdown_cell(
        "### Do the signals share one factor?\n\nThe model is a one-factor measurement "
        "model: it works when the signals move together. Correlations on the link scale, "
        "between allies (unit means) and within an ally over time:"
    ),
    nbf.v4.new_code_cell(
        "obs = panel.observations.copy()\n"
        "link = {'troops': lambda v, n: np.log1p(v), 'spending': lambda v, n: np.log(v),\n"
        "        'un_votes': lambda v, n: np.log(v / (1 - v)),\n"
        "        'exercises': lambda v, n: np.log1p(v)}\n"
        "obs['z'] = [link[s](v, n) for s, v, n in zip(obs.signal, obs.value, obs.trials)]\n"
        "wide = obs.pivot_table(index=['member', 'alliance', 'year'], columns='signal', "
        "values='z')\n"
        "between = wide.groupby(level=[0, 1]).mean().corr()\n"
        "within = (wide - wide.groupby(level=[0, 1]).transform('mean')).corr()\n"
        "pairs = [(a, b) for i, a in enumerate(wide.columns) for b in wide.columns[i + 1:]]\n"
        "pd.DataFrame({'between allies': [between.loc[a, b] for a, b in pairs],\n"
        "              'within an ally': [within.loc[a, b] for a, b in pairs]},\n"
        "             index=[f'{a}-{b}' for a, b in pairs]).round(2)"
    ),
    nbf.v4.new_markdown_cell(
        "Between allies they agree; within an ally over time they hardly do. With noise "
        "scales free to reach zero, a yearly random walk can then reproduce one smooth "
        "signal exactly and the chains split between signals, so `models/us_alliances.toml` "
        "puts a floor under each signal's noise (see its comments and `data/README.md`). "
        "The fit below uses that spec."
    ),
    nbf.v4.new_code_cell(
        "us = bc.fit(spec, panel, progress=False, **SETTINGS)\n"
        "print(us.timing)\nprint(quick_check(us))"
    ),
    nbf.v4.new_markdown_cell("### Headline estimates: most and least credible commitments in 2012"),
    nbf.v4.new_code_cell(
        "table = us.credibility()\n"
        "last = table[table.year == 2012].sort_values('mean', ascending=False)\n"
        "last.head(5)"
    ),
    nbf.v4.new_code_cell("last.tail(5)"),
    nbf.v4.new_markdown_cell(
        "How much each signal weighs: loadings (credibility sd → signal's link scale) and "
        "the noise parameters."
    ),
    nbf.v4.new_code_cell(
        "us.parameters().loc[lambda d: d.index.str.startswith("
        "('loading', 'sigma', 'dispersion', 'precision'))]"
    ),
    nbf.v4.new_markdown_cell(
        "### NATO members' credibility over time (posterior mean and 90% interval)"
    ),
    nbf.v4.new_code_cell(
        "fig, ax = plt.subplots(figsize=(9, 4))\n"
        "for member in ['DEU', 'GBR', 'TUR', 'NOR']:\n"
        "    rows = table[(table.member == member) & (table.alliance == 'NATO')]\n"
        "    ax.plot(rows.year, rows['mean'], label=member)\n"
        "    ax.fill_between(rows.year, rows.hdi_low, rows.hdi_high, alpha=0.15)\n"
        "ax.set_xlabel('year'); ax.set_ylabel('credibility (standardised)')\n"
        "ax.set_title('NATO members, 90% intervals'); ax.legend(ncol=4)\n"
        "fig.tight_layout()"
    ),
    nbf.v4.new_code_cell(
        "fig = plots.forest(us, year=1985)"
    ),
    nbf.v4.new_markdown_cell(
        "## 2. Alliance commitments invoked in wars, 1816–2003\n\nUnits are (member, ATOP "
        "alliance) commitments of the great powers; signals from COW NMC; 65 wars invoked a "
        "commitment, coded honoured or violated by Berkemeier & Fuhrmann (2018). Reputation "
        "is shared by all of a member's commitments, so this is where κ_honor and κ_violate "
        "are learned."
    ),
    nbf.v4.new_code_cell(
        "wpanel, wspec = datasets.load_example('wars_1816_2003')\n"
        "print(len(wpanel.units), 'units,', len(wpanel.years), 'years,', "
        "len(wpanel.observations), 'observations,', len(wpanel.crises), 'crises')\n"
        "wpanel.crises.outcome.value_counts()"
    ),
    nbf.v4.new_code_cell(
        "wars = bc.fit(wspec, wpanel, progress=False, **SETTINGS)\n"
        "print(wars.timing)\nprint(quick_check(wars))"
    ),
    nbf.v4.new_markdown_cell("### What do the wars imply for κ_honor vs κ_violate?"),
    nbf.v4.new_code_cell(
        "wars.parameters().filter(regex=r'^(kappa_|phi_reputation)', axis=0)  # kappas per kind"
    ),
    nbf.v4.new_code_cell(
        "post = wars.idata.posterior\n"
        "fig, ax = plt.subplots(figsize=(7, 3.5))\n"
        "for name in ('kappa_honor', 'kappa_violate'):\n"
        "    ax.hist(post[name].values.ravel(), bins=50, alpha=0.6, density=True, label=name)\n"
        "ax.set_xlabel('reputation shift per crisis (credibility sd)'); ax.legend()\n"
        "fig.tight_layout()\n"
        "print('P(kappa_violate > kappa_honor) =', round(wars.prob_violation_costlier(), 3))"
    ),
    nbf.v4.new_markdown_cell(
        "Read this with the data's limits in mind (see `data/README.md`): 65 invoked "
        "commitments over two centuries, capability signals only (no deployments or votes "
        "before 1946), and outcomes coded by one team. `models/wars_1816_2003_llm.toml` fits "
        "the Leeds–Long–Mitchell coding for comparison."
    ),
]

nb = nbf.v4.new_notebook(cells=cells)
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
TARGET = HERE / "02_real_data.ipynb"

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--execute", action="store_true", help="run the notebook in place")
    args = ap.parse_args()
    if args.execute:
        from nbclient import NotebookClient

        NotebookClient(
            nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}
        ).execute()
    nbf.write(nb, TARGET)
    print(f"wrote {TARGET}")
