"""Writes notebooks/01_quickstart.ipynb (source of truth for its cells); execute with
`python -m pytest tests/test_notebooks.py` or nbclient."""

import nbformat as nbf
from notebook_build import write

cells = [
    nbf.v4.new_markdown_cell(
        "# bayescred quickstart\n\nSimulate a panel with known truth, fit the credibility "
        "model, read the estimates and plot trajectories with intervals. Set "
        "`BAYESCRED_FAST=1` for a quick run (CI does)."
    ),
    nbf.v4.new_code_cell(
        "import os\nimport numpy as np\nimport bayescred as bc\nfrom bayescred import plots\n\n"
        "FAST = bool(os.environ.get('BAYESCRED_FAST'))\n"
        "DRAWS = 150 if FAST else 500"
    ),
    nbf.v4.new_markdown_cell(
        "## 1. A panel in the data contract\n\n12 commitments (9 members, so some members "
        "hold two) over 30 years, four signals, 40 crises, 10% of cells missing."
    ),
    nbf.v4.new_code_cell(
        "sim = bc.simulate(bc.default_spec(), n_units=12, n_members=9, n_years=30, "
        "n_crises=40, missing=0.1, seed=2026)\n"
        "panel = bc.load_panel(sim.observations, sim.crises, sim.units, spec=sim.spec)\n"
        "sim.observations.head()"
    ),
    nbf.v4.new_code_cell("sim.crises.outcome.value_counts()"),
    nbf.v4.new_markdown_cell("## 2. Fit (nutpie)"),
    nbf.v4.new_code_cell(
        "result = bc.fit(sim.spec, panel, draws=DRAWS, tune=DRAWS, chains=2, seed=1, "
        "progress=False)\nresult.timing"
    ),
    nbf.v4.new_markdown_cell("## 3. Estimates: credibility table and structural parameters"),
    nbf.v4.new_code_cell("table = result.credibility()\ntable.head(8)"),
    nbf.v4.new_code_cell(
        "result.parameters().filter(regex=r'^kappa_', axis=0)  # one row per crisis kind"
    ),
    nbf.v4.new_code_cell(
        "print('P(reneging costs more than honouring pays) =', "
        "round(result.prob_violation_costlier(), 3))\n"
        "print('true kappa_honor, kappa_violate:', round(sim.params['kappa_honor'], 3), "
        "round(sim.params['kappa_violate'], 3))"
    ),
    nbf.v4.new_markdown_cell("## 4. Recovery: posterior means against the truth"),
    nbf.v4.new_code_cell(
        "both = table.merge(sim.truth, on=['member', 'alliance', 'year'])\n"
        "print('correlation with the truth:', round(np.corrcoef(both['mean'], "
        "both['credibility'])[0, 1], 3))"
    ),
    nbf.v4.new_markdown_cell(
        "## 5. Trajectories with 90% intervals (▲ honoured, ▼ violated crises)"
    ),
    nbf.v4.new_code_cell("fig = plots.trajectories(result, max_units=8)"),
    nbf.v4.new_markdown_cell(
        "## 6. Save and load; the file is ArviZ's\n\nA saved result is an ArviZ "
        "InferenceData in netCDF with the groups ArviZ expects (posterior, sample_stats, "
        "observed_data, posterior_predictive, log_likelihood, constant_data): ArviZ's own "
        "functions read it without bayescred, with alliances labelled."
    ),
    nbf.v4.new_code_cell(
        "import arviz as az\n\n"
        "path = result.save('quickstart_result.nc')\nagain = bc.load(path)\n"
        "assert again.credibility().equals(result.credibility())\n"
        "idata = az.from_netcdf(path)\n"
        "print(idata.groups())\n"
        "print(az.loo(idata))\n"
        "az.summary(idata, var_names=['mu_alliance', 'kappa_honor', 'kappa_violate'], "
        "kind='stats')"
    ),
    nbf.v4.new_code_cell(
        "az.plot_ppc(idata, num_pp_samples=50, figsize=(10, 3.5));\nos.remove(path)"
    ),
]
cells += [
    nbf.v4.new_markdown_cell(
        "## 7. Exploring fast: the approximate mode\n\n`sampler='advi'` fits a Gaussian "
        "approximation to the same posterior in seconds (mean-field, except along each "
        "unit's path, where it keeps the year-to-year dependence). It is for iterating "
        "on a spec; the estimates you report come from NUTS. Here its credibility means "
        "against the NUTS fit above, in NUTS posterior sds."
    ),
    nbf.v4.new_code_cell(
        "from bayescred.diagnostics import quick_check\n\n"
        "approx = bc.fit(sim.spec, panel, sampler='advi', seed=1, progress=False)\n"
        "print(approx.timing)\nprint(quick_check(approx))\n"
        "both = table.merge(approx.credibility(), on=['member', 'alliance', 'year'], "
        "suffixes=('_nuts', '_advi'))\n"
        "gap = (both.mean_advi - both.mean_nuts).abs() / both.sd_nuts\n"
        "print(f'|ADVI - NUTS| / sd: mean {gap.mean():.3f}, 95% {gap.quantile(0.95):.3f}, "
        "max {gap.max():.3f}; sd ratio (median) {(both.sd_advi / both.sd_nuts).median():.2f}')"
    ),
    nbf.v4.new_code_cell(
        "import matplotlib.pyplot as plt\n\n"
        "fig, ax = plt.subplots(figsize=(4.5, 4.5))\n"
        "ax.errorbar(both.mean_nuts, both.mean_advi, xerr=both.sd_nuts, yerr=both.sd_advi, "
        "fmt='.', ms=3, alpha=0.4, elinewidth=0.5)\n"
        "lim = [both.mean_nuts.min() - 0.5, both.mean_nuts.max() + 0.5]\n"
        "ax.plot(lim, lim, 'k--', lw=0.8)\n"
        "ax.set(xlabel='NUTS posterior mean (± sd)', ylabel='ADVI mean (± sd)', "
        "title='Credibility, every unit-year');"
    ),
]

if __name__ == "__main__":
    write(cells, "01_quickstart.ipynb", __doc__)
