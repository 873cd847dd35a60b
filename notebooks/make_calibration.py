"""Writes notebooks/05_calibration.ipynb (source of truth for its cells) and, with
--execute, runs it in place so the committed notebook carries its outputs.

    python notebooks/make_calibration.py --execute            # full settings
    BAYESCRED_FAST=1 python notebooks/make_calibration.py --execute

CI runs the notebook through tests/test_notebooks.py with BAYESCRED_FAST=1.
"""


import nbformat as nbf
from notebook_build import write

md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell

cells = [
    md(
        "# Calibration and cross-validation\n\n"
        "Do 90% intervals contain the truth 90% of the time? *Simulation-based "
        "calibration* answers it: draw datasets from the prior predictive of the model, "
        "fit each, and rank each true parameter among its posterior draws; calibrated "
        "fits give uniform ranks. Then: K-fold cross-validation to compare two variants "
        "out of sample, and a prior-sensitivity sweep. Every step is many fits, run on a "
        "Dask `LocalCluster` (`docs/many.md`). Set `BAYESCRED_FAST=1` for a quick run "
        "(CI does): a handful of fits, which shows the plumbing, not a verdict."
    ),
    code(
        "import os\nimport tempfile\nimport warnings\nfrom pathlib import Path\n\n"
        "import arviz as az\nimport pandas as pd\nfrom IPython.display import Image\n\n"
        "import bayescred as bc\n\n"
        "warnings.filterwarnings('ignore', category=FutureWarning)\n"
        "warnings.filterwarnings('ignore', message='PyTensor could not link to a BLAS')\n"
        "FAST = bool(os.environ.get('BAYESCRED_FAST'))\n"
        "FITS = 6 if FAST else 100\n"
        "DRAWS = 100 if FAST else 500\n"
        "SHAPE = dict(n_units=3, n_years=6, n_crises=3) if FAST else "
        "dict(n_units=6, n_years=12, n_crises=8)\n"
        "WORK = Path(tempfile.mkdtemp(prefix='bayescred-nb05-'))\n"
        "pd.set_option('display.precision', 3)"
    ),
    md(
        "## 1. Simulation-based calibration of the default model\n\n"
        "Four signals (negative binomial, lognormal, binomial, Poisson), random-walk "
        "credibility, crisis-driven reputation. `bayescred calibrate SPEC --fits N --out "
        "DIR` does the same from the command line."
    ),
    code(
        "cal = bc.calibrate(bc.default_spec(), fits=FITS, out=WORK / 'sbc', draws=DRAWS, "
        "tune=DRAWS, chains=2, progress=False, **SHAPE)\n"
        "print(cal.text())\n"
        "cal.fits.table[['name', 'status', 'max_rhat', 'divergences', 'wall_s']].describe()"
    ),
    code("cal.verdicts"),
    md(
        "Each panel: the ECDF of the rank fractions minus the uniform CDF, with ArviZ's "
        "95% simultaneous band. Inside the band everywhere: `uniform`."
    ),
    code("Image(filename=str(cal.folder / 'ecdf_parameters.png'))"),
    code("Image(filename=str(cal.folder / 'ecdf_cells.png'))"),
    md(
        "## 2. K-fold cross-validation of two variants\n\n"
        "Random-walk against static credibility on one simulated panel, holding out whole "
        "years; `az.compare` takes the results as it takes PSIS-LOO."
    ),
    code(
        "sim = bc.simulate(bc.default_spec(), n_units=5, n_years=10, n_crises=6, seed=11)\n"
        "panel = bc.load_panel(sim.observations, sim.crises, sim.units, spec=sim.spec)\n"
        "kw = dict(draws=DRAWS, tune=DRAWS, chains=2, seed=1, progress=False)\n"
        "walk = bc.fit(bc.default_spec(), panel, **kw)\n"
        "static = bc.fit(bc.default_spec(dynamics='static'), panel, **kw)\n"
        "k = 2 if FAST else 5\n"
        "scores = {name: bc.kfold(r, k=k, by='year', progress=False, "
        "out=WORK / f'kfold-{name}')\n"
        "          for name, r in {'random_walk': walk, 'static': static}.items()}\n"
        "print(scores['random_walk'])\n"
        "az.compare(scores)"
    ),
    md(
        "## 3. Prior sensitivity\n\n"
        "The same panel under a tight prior on the cost of reneging: which conclusions "
        "move?"
    ),
    code(
        "tight = {'kappa_violate_raw': {'dist': 'HalfNormal', 'sigma': 0.05}}\n"
        "found = bc.prior_sensitivity(bc.default_spec(), panel, {'tight_kappa': tight}, "
        "progress=False, out=WORK / 'priors', draws=DRAWS, tune=DRAWS, chains=2)\n"
        "found.table[found.table.variant == 'tight_kappa']"
    ),
]


if __name__ == "__main__":
    write(cells, "05_calibration.ipynb", __doc__, timeout=3600)
