"""Write a fit's report to a folder: diagnostics.json, credibility.csv, plots, report.md.

>>> from bayescred.report import write_report
>>> files = write_report(result, "report/")                       # doctest: +SKIP
>>> files.report.verdict                                          # doctest: +SKIP
'pass'

What ``write_report`` writes into ``out``:

* ``diagnostics.json``: ``verdict``, the thresholds, every check (value, threshold, rule,
  status, message, next step), convergence per variable, sampler figures, posterior
  predictive checks, LOO per signal, the follow-through check (cross-validated AUC and
  calibration of P(honour)) and the reputation effects;
* ``credibility.csv``: ``member, alliance, year, mean, sd, hdi_low, hdi_high``;
* ``signals.csv``: loadings and informativeness per signal;
* PNG plots: ``trajectories``, ``forest``, ``loadings``, ``ppc``, ``rank_trace``,
  ``energy`` (those the result has the data for);
* ``report.md``: all of the above tied together, for reading or converting to HTML, with
  sections on follow-through (does credibility predict honouring?) and reputation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from . import plots
from .diagnostics import DiagnosticReport, Thresholds, diagnose
from .errors import ResultError
from .information import signal_information
from .results import CredibilityResult, interval_prob
from .runtime import stage
from .safe_text import dumps, markdown, plural

PLOT_TITLES = {
    "trajectories": "Credibility over time (▲ honoured, ▼ violated crises)",
    "pillars": "Pillars ([dimensions]) and overall credibility",
    "forest": "Units in one year",
    "loadings": "Signal loadings and informativeness",
    "ppc": "Posterior predictive checks per signal",
    "rank_trace": "Trace and rank plots of the worst-mixing quantities",
    "energy": "Energy (E-BFMI)",
}


@dataclass(frozen=True, eq=False)
class ReportFiles:
    """What :func:`write_report` wrote, and the report it is built on."""

    directory: Path
    diagnostics: Path
    credibility: Path
    signals: Path
    markdown: Path
    plots: dict[str, Path] = field(default_factory=dict)
    report: DiagnosticReport | None = field(default=None, repr=False)

    def all(self) -> list[Path]:
        return [self.diagnostics, self.credibility, self.signals, *self.plots.values(),
                self.markdown]


def write_report(
    result: CredibilityResult,
    out: str | Path,
    *,
    report: DiagnosticReport | None = None,
    thresholds: Thresholds | dict | None = None,
    hdi_prob: float | None = None,
    year: int | None = None,
    source: str | None = None,
    prob: float | None = None,
    units: list[str] | None = None,
) -> ReportFiles:
    """Diagnose ``result`` (unless ``report`` is given) and write the report into ``out``.

    Parameters
    ----------
    result : CredibilityResult
    out : path
        Folder to write into (created if needed; existing report files are replaced).
    report : DiagnosticReport, optional
        A report already computed by :func:`~bayescred.diagnostics.diagnose`.
    thresholds : Thresholds or dict, optional
        Passed to :func:`~bayescred.diagnostics.diagnose`.
    hdi_prob : float, optional
        HDI probability of the credibility table and plots (default 0.9; ``prob`` is its
        deprecated name).
    year : int, optional
        Year of the forest plot (default: the last).
    source : str, optional
        Where the result came from (a file name), recorded in the report.
    units : list of str, optional
        Units (``MEMBER/ALLIANCE``) or members to draw in ``trajectories.png`` (default:
        12, those with the most crises and the largest movements first).
    """
    prob = interval_prob(hdi_prob, prob, "write_report")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ResultError(f"{out}: exists and is not a folder; --out needs a folder")
    if units:  # an unknown unit fails before the (slow) checks
        plots.select_units(list(result.panel.unit_labels), units)
    out.mkdir(parents=True, exist_ok=True)
    report = report or diagnose(result, thresholds)
    stage("report: signal information and the credibility table")
    info = signal_information(result, prob)
    credibility = out / "credibility.csv"
    result.credibility(prob).to_csv(credibility, index=False, lineterminator="\n")
    if "pillar" in result.posterior:  # [dimensions]: each pillar per unit-year
        result.pillars(prob).to_csv(out / "pillars.csv", index=False, lineterminator="\n")
    signals = out / "signals.csv"
    info.reset_index().to_csv(signals, index=False, lineterminator="\n")
    written = _plots(result, report, out, prob, year, units)
    diagnostics = out / "diagnostics.json"
    payload = {**_about(result, source), **report.to_dict()}
    diagnostics.write_text(dumps(payload, indent=2) + "\n")
    markdown = out / "report.md"
    markdown.write_text(_markdown(result, report, info, written, prob, source))
    return ReportFiles(out, diagnostics, credibility, signals, markdown, written, report)


def _plots(
    result, report, out: Path, prob: float, year: int | None, units: list[str] | None = None
) -> dict[str, Path]:
    makers = {
        "trajectories": lambda: plots.trajectories(result, units, hdi_prob=prob,
                                                   max_units=48 if units else 12),
        "pillars": (
            (lambda: plots.pillars(result, units, hdi_prob=prob))
            if "pillar" in result.posterior else None
        ),
        "forest": lambda: plots.forest(result, year=year, hdi_prob=prob),
        "loadings": lambda: plots.loadings(result, prob),
        "ppc": (lambda: plots.ppc(report)) if report.predictive is not None else None,
        "rank_trace": lambda: plots.rank_trace(result),
        "energy": (lambda: plots.energy(result)) if _has_energy(result) else None,
    }
    written = {}
    stage(f"report: drawing {', '.join(n for n, m in makers.items() if m is not None)}")
    for name, make in makers.items():
        if make is None:
            continue
        fig = make()
        path = out / f"{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written[name] = path
    return written


def _has_energy(result: CredibilityResult) -> bool:
    idata = result.idata
    return "sample_stats" in idata.groups() and "energy" in idata.sample_stats


def _about(result: CredibilityResult, source: str | None) -> dict:
    panel, sampler = result.panel, result.spec.sampler
    return {
        "model": result.spec.name,
        "result_file": source,
        "partial": None if result.partial is None else result.partial.text(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "data": {
            "units": len(panel.units),
            "years": [int(panel.years[0]), int(panel.years[-1])],
            "signals": list(panel.signals),
            "observations": len(panel.observations),
            "crises": len(panel.crises),
        },
        "spec": {
            "dynamics": result.spec.latent.dynamics,
            "reputation": result.spec.reputation.enabled,
            "families": {k: v.family for k, v in result.spec.signals.items()},
        },
        "fit": {
            "backend": sampler.backend,
            "chains": result.idata.posterior.sizes["chain"],
            "draws": result.idata.posterior.sizes["draw"],
            "compile_s": result.timing.compile_s,
            "sample_s": result.timing.sample_s,
        },
        "versions": result.versions,
    }


# ---------------------------------------------------------------------------- markdown


def markdown_table(df: pd.DataFrame, digits: int = 4) -> str:
    """A DataFrame as a GitHub-flavoured markdown table (index included if named)."""
    if df.index.name is not None:
        df = df.reset_index()

    def cell(v) -> str:
        if isinstance(v, float):
            if not math.isfinite(v):
                return ""
            return f"{v:.0f}" if abs(v) >= 1000 else f"{v:.{digits}g}"
        return str(v).replace("|", "\\|")

    head = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(False)]
    return "\n".join([head, rule, *body])


_VERDICT = {
    "pass": "every check passed: the estimates can be reported.",
    "warn": "usable with care: read the warnings below before reporting.",
    "fail": "do not report these estimates yet: follow the next steps below and refit.",
}


def _sampler_line(result, report: DiagnosticReport) -> str:
    post = result.idata.posterior
    approx = report.sampler.get("approximation")
    if approx is None:
        return (f"{result.spec.sampler.backend}, {post.sizes['chain']} chains × "
                f"{post.sizes['draw']} draws")
    return (f"**approximate** ({approx['algorithm']}, {approx['iterations']} iterations, "
            f"Pareto k {approx['pareto_k']:.2f}), {post.sizes['draw']} independent draws: "
            "for exploring, not for estimates to report")


def _partial_lines(result) -> list[str]:
    if result.partial is None:
        return []
    return [f"- **{result.partial.text()}**: not the posterior the spec asks for; refit it"]


def _followthrough_lines(found) -> list[str]:
    """Does credibility predict follow-through? (:mod:`bayescred.followthrough_check`)"""
    if found is None:
        return []
    table = found.discrimination.drop(columns="reason")
    lines = [
        "## Follow-through: does credibility predict honouring?",
        "",
        f"**{found.finding}** — {markdown(found.discrimination.loc['all', 'reason'])}.",
        "",
        "`auc`: cross-validated (leave-pair-out) share of (honoured, not honoured) crisis "
        "pairs in which the honoured one had the higher P(honour) of the whole model (kind "
        "intercepts and crisis covariates included); 0.5 is chance, below 0.5 reversed. "
        f"`auc_low`–`auc_high`: its {found.prob:.0%} DeLong interval over crises. "
        "`auc_in_sample`: the same of the posterior-mean P(honour) (optimistic). "
        "`auc_credibility*`: the same four for credibility alone — the finding is about "
        "these, so that covariates that discriminate are not credited to credibility. "
        "A weak or reversed link warns, it does not fail: it is what the data say, and a "
        "refit will not change it.",
        "",
        markdown_table(table),
        "",
    ]
    if found.n_high_k or found.share_pairs_high_k:
        lines += [
            f"Pareto k > 0.7 for {found.n_high_k} crises left out one at a time and "
            f"{found.share_pairs_high_k:.0%} of the pairs: for those the importance-sampling "
            "estimate is approximate (K-fold cross-validation would be exact).",
            "",
        ]
    if found.calibration is not None:
        lines += [
            "Calibration of leave-one-out P(honour), crises in bins of predicted P(honour): "
            f"expected calibration error {found.ece:.2f}, Hosmer-Lemeshow "
            f"{found.hosmer_lemeshow:.1f} on {found.hl_df} bins (p = {found.hl_pvalue:.3f}).",
            "",
            markdown_table(found.calibration),
            "",
        ]
    return lines


def _reputation_lines(effects) -> list[str]:
    """The kappas and how to test "no reputation effect" (:mod:`bayescred.reputation_effects`)."""
    if effects is None:
        return []
    lines = [
        "## Reputation",
        "",
        "How much an honoured crisis raises (`kappa_honor`) and a violated one lowers "
        "(`kappa_violate`) the member's reputation, on credibility's scale (with pillars: "
        "on their common level's, which moves every pillar), with "
        f"{effects.prob:.0%} HDIs; `p_violation_costlier` = P(kappa_violate > kappa_honor).",
        "",
        markdown_table(effects.table),
        "",
    ]
    reversed_kinds = effects.table.index[effects.table["p_violation_costlier"] < 0.05]
    for kind in reversed_kinds:  # an area expert would not believe these: say so
        p = effects.table.loc[kind, "p_violation_costlier"]
        lines += [
            f"Caution, kind `{kind}`: reneging moves reputation *up* against honouring "
            f"(P(kappa_violate > kappa_honor) = {p:.3f}), which no account of reputation "
            "predicts. Read it as the kappas absorbing something else that moves with the "
            "crises (with static levels, reputation is the only thing that moves a path), "
            "not as a reputation effect.",
            "",
        ]
    if effects.sign_fixed:
        lines += [
            "The kappas' prior admits no negative value, so P(kappa > 0) is 1 by "
            "construction and says nothing about whether there is an effect. To ask the "
            "data, fit the same spec with `[reputation] enabled = false` and compare the "
            "two by LOO (`bc.compare`; see docs/diagnostics.md).",
            "",
        ]
    return lines


def _markdown(result, report: DiagnosticReport, info, written, prob, source) -> str:
    panel = result.panel
    lines = [
        f"# bayescred report: {markdown(result.spec.name)}",
        "",
        f"**Verdict: {report.verdict.upper()}** — {_VERDICT[report.verdict]}",
        "",
        f"- result: `{source or 'in memory'}`; dynamics `{result.spec.latent.dynamics}`, "
        f"reputation {'on' if result.spec.reputation.enabled else 'off'}",
        f"- data: {len(panel.units)} units × {len(panel.years)} years "
        f"({panel.years[0]}–{panel.years[-1]}), {len(panel.observations)} observations of "
        f"{len(panel.signals)} signals, {plural(len(panel.crises), 'crisis', 'crises')}",
        f"- sampler: {_sampler_line(result, report)}; compile "
        f"{result.timing.compile_s:.1f} s, sampling {result.timing.sample_s:.1f} s",
        *_partial_lines(result),
        "",
        "## Checks",
        "",
        markdown_table(report.summary().set_index("check")),
        "",
    ]
    problems = report.text().splitlines()[1:]
    if problems:
        lines += ["### What to do", "", *[f"- {p.strip()}" for p in problems], ""]
    lines += [
        "Thresholds (pass / fail; warn in between): "
        + ", ".join(f"`{k}` = {v:g}" for k, v in vars(report.thresholds).items())
        + ". R-hat and ESS are checked on credibility (active unit-years) and the "
        "structural parameters; internal variables are listed for information only.",
        "",
        "## Convergence per variable",
        "",
        markdown_table(report.convergence),
        "",
    ]
    if report.ppc is not None:
        lines += [
            "## Posterior predictive checks",
            "",
            "p-values P(T(y_rep) ≥ T(y)) of the mean and sd; coverage = share of observed "
            f"values inside their central {report.thresholds.coverage_prob:.0%} predictive "
            "interval (data scale).",
            "",
            markdown_table(report.ppc),
            "",
        ]
    if report.loo is not None:
        lines += [
            "## LOO (PSIS) per signal",
            "",
            "Pareto k: good ≤ 0.5 < ok ≤ "
            f"{report.thresholds.pareto_k:g} < bad ≤ 1 < very bad.",
            "",
            markdown_table(report.loo),
            "",
        ]
    lines += _followthrough_lines(report.followthrough)
    lines += _reputation_lines(report.reputation)
    lines += [
        "## Signals: loadings and informativeness",
        "",
        "`information`: Fisher information about credibility in one observation; "
        "`sd_one_obs` = 1/√information; `share`: of all the information (`signals.csv`).",
        "",
        markdown_table(info),
        "",
        "## Credibility",
        "",
        f"`credibility.csv`: one row per unit-year (active years), posterior mean, sd and "
        f"{prob:.0%} HDI. First rows:",
        "",
        markdown_table(result.credibility(prob).head(8)),
        "",
        "## Figures",
        "",
    ]
    for name, path in written.items():
        lines += [f"### {PLOT_TITLES[name]}", "", f"![{name}]({path.name})", ""]
    return "\n".join(lines)
