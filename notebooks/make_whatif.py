"""Writes notebooks/04_whatif.ipynb (source of truth for its cells) and, with --execute,
runs it in place so the committed notebook carries its outputs.

    python notebooks/make_whatif.py --execute            # full settings
    BAYESCRED_FAST=1 python notebooks/make_whatif.py --execute

CI runs the notebook through tests/test_notebooks.py with BAYESCRED_FAST=1.
"""


import nbformat as nbf
from notebook_build import write

md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell

cells = [
    md(
        "# What-if scenarios\n\n"
        "Compare credibility under hypothetical signals and crises with the baseline fit: "
        "*what if a member spends 20% more from next year? what if its troop presence "
        "doubles? what if it reneges in a crisis?* (`bayescred.whatif`; the reference: "
        "`docs/whatif.md`).\n\n"
        "The panel is simulated (12 commitments of 9 members, 30 years, four signals, 40 "
        "crises, reputation on), so spillover through reputation is visible: member M01 "
        "holds commitments in A1 and A2. Set `BAYESCRED_FAST=1` for a quick run (CI does)."
    ),
    code(
        "import os\nimport warnings\n\nimport pandas as pd\n\nimport bayescred as bc\n\n"
        "warnings.filterwarnings('ignore', category=FutureWarning)\n"
        "FAST = bool(os.environ.get('BAYESCRED_FAST'))\n"
        "DRAWS = 200 if FAST else 1000\n"
        "pd.set_option('display.precision', 3)"
    ),
    md("## 1. The baseline fit"),
    code(
        "sim = bc.simulate(bc.default_spec(), n_units=12, n_members=9, n_years=30, "
        "n_crises=40, missing=0.1, seed=2026)\n"
        "panel = bc.load_panel(sim.observations, sim.crises, sim.units, spec=sim.spec)\n"
        "result = bc.fit(sim.spec, panel, draws=DRAWS, tune=DRAWS, chains=2, seed=1, "
        "progress=False)\n"
        "t = result.timing\n"
        "print(f'{len(panel.units)} commitments, {panel.years[0]}-{panel.years[-1]}; '\n"
        "      f'compile {t.compile_s:.1f} s, sampling {t.sample_s:.1f} s')\n"
        "result.parameters().filter(regex=r'^(kappa_|phi_reputation)', axis=0)  # kappas per kind"
    ),
    md(
        "## 2. Forecast: no scenario, five years ahead\n\n"
        "Each posterior draw's latent path is simulated forward (innovations, reputation "
        "decay; seeded). Intervals widen with the horizon."
    ),
    code(
        "fc = bc.forecast(result, 5)\nprint(fc.text())\n"
        "traj = fc.trajectories()\n"
        "traj[(traj.case == 'baseline') & (traj.member == 'M01') & (traj.year >= 2007)]"
        "[['member', 'alliance', 'year', 'mean', 'hdi_low', 'hdi_high', 'forecast']]"
    ),
    code("fig = fc.plot(units=['M01/A1', 'M01/A2', 'M00/A0'])"),
    md(
        "## 3. Three policy scenarios\n\n"
        "Written in Python here; the same scenarios as TOML files are what `bayescred whatif "
        "RESULT.nc SCENARIO.toml --out DIR` reads (see `scenarios/example.toml`).\n\n"
        "* **spending**: M00 raises defence spending 20% from 2010 (the last observed value "
        "carried forward, times 1.2).\n"
        "* **troops**: deployments to M00 in A0 double from 2010.\n"
        "* **reneging**: M01 reneges in a crisis on its A1 commitment in 2011; the "
        "reputation shock reaches its A2 commitment too."
    ),
    code(
        "HORIZON = 4\n"
        "scenarios = {\n"
        "    'spending': bc.Scenario('spending +20%', horizon=HORIZON)\n"
        "        .shift('M00', 'A0', 'spending', '2010-2013', factor=1.2),\n"
        "    'troops': bc.Scenario('troops x2', horizon=HORIZON)\n"
        "        .shift('M00', 'A0', 'troops', '2010-2013', factor=2),\n"
        "    'reneging': bc.Scenario('M01 reneges', horizon=HORIZON)\n"
        "        .crisis('M01', 'A1', 2011, 'violated'),\n"
        "}\n"
        "answers = {key: bc.whatif(result, sc) for key, sc in scenarios.items()}\n"
        "pd.DataFrame({\n"
        "    key: {'engine': a.engine, 'Pareto k': a.pareto_k, 'paired': a.paired,\n"
        "          'seconds': round(a.timings['total_s'], 3)}\n"
        "    for key, a in answers.items()\n"
        "}).T"
    ),
    code("for a in answers.values():\n    print(a.text(), end='\\n\\n')"),
    md(
        "### Side by side\n\n"
        "Mean change in credibility (scenario − baseline, on the baseline's scale) with "
        "P(up), for the commitments the scenarios touch, in the horizon's years."
    ),
    code(
        "rows = []\n"
        "for key, a in answers.items():\n"
        "    c = a.contrast()\n"
        "    c = c[c.member.isin(['M00', 'M01']) & (c.year >= 2010)]\n"
        "    rows.append(c.assign(scenario=key))\n"
        "side = pd.concat(rows).assign(unit=lambda d: d.member + '/' + d.alliance)\n"
        "side.pivot_table(index=['unit', 'year'], columns='scenario', values=['mean', 'p_up'])"
    ),
    md(
        "The reneging scenario's contrast mixes two things: the outcome is *evidence* that "
        "credibility was low when the crisis came, and it *moves* reputation afterwards. "
        "`effect()` isolates the second, paired draw by draw: each draw's path with the "
        "crisis minus the same draw's path without it."
    ),
    code("eff = answers['reneging'].effect()\neff[(eff.member == 'M01') & (eff.year >= 2011)]"),
    code("fig = answers['reneging'].plot(units=['M01/A1', 'M01/A2'])"),
    code("fig = answers['spending'].plot(units=['M00/A0', 'M00/A1'])"),
    md(
        "## 4. Fast and exact\n\n"
        "`fast` reweights the baseline's draws (Pareto-smoothed importance sampling); "
        "`exact` re-conditions the compiled model on the scenario's data and samples "
        "again — no recompilation, only sampling time. `auto` (the default) uses fast "
        "when its Pareto k ≤ 0.7. A change in the data years shows both at work:"
    ),
    code(
        "past = bc.Scenario('spending +20% in 2005-2009')"
        ".shift('M00', 'A0', 'spending', '2005-2009', factor=1.2)\n"
        "fast = bc.whatif(result, past, engine='fast')\n"
        "exact = bc.whatif(result, past, engine='exact')\n"
        "print(fast.reason)\nprint(exact.reason, exact.timings)\n"
        "both = fast.contrast().merge(exact.contrast(), on=['member', 'alliance', 'year'], "
        "suffixes=('_fast', '_exact'))\n"
        "both[(both.member == 'M00') & (both.alliance == 'A0') & (both.year >= 2003)]"
        "[['year', 'mean_fast', 'mean_exact', 'p_up_fast', 'p_up_exact']]"
    ),
    md(
        "## 5. From the command line\n\n"
        "```bash\n"
        "bayescred whatif result.nc scenarios/example.toml --out whatif_output "
        "[--engine auto|fast|exact]\n"
        "```\n"
        "writes `contrast.csv` (member, alliance, year, mean, sd, hdi_low, hdi_high, p_up), "
        "`trajectories.csv`, `whatif.json` (engine, why, Pareto k, timings) and "
        "`whatif.png`."
    ),
    code(
        "import json, subprocess, sys, tempfile\n"
        "from pathlib import Path\n\n"
        "with tempfile.TemporaryDirectory() as folder:  # removed afterwards\n"
        "    tmp = Path(folder)\n"
        "    result.save(tmp / 'result.nc')\n"
        "    (tmp / 'reneging.toml').write_text(scenarios['reneging'].to_toml())\n"
        "    run = subprocess.run([sys.executable, '-m', 'bayescred.cli', 'whatif', "
        "str(tmp / 'result.nc'), str(tmp / 'reneging.toml'), '--out', str(tmp / 'out')], "
        "capture_output=True, text=True)\n"
        "    print(run.stderr)\n"
        "    info = json.loads((tmp / 'out' / 'whatif.json').read_text())\n"
        "{k: info[k] for k in ('engine', 'pareto_k', 'paired', 'timings')}"
    ),
]


if __name__ == "__main__":
    write(cells, "04_whatif.ipynb", __doc__)
