"""Command line: thin wrappers that parse, call the Python API and report.

Every bad input ends with a one-line ``error: ...`` message naming the file, column, row
or key, exit status 2 and no result file (results are written atomically, only after a
successful fit).  Anything unexpected ends as one line too, ``bayescred: internal error:
<type>: <message>`` (exit 2).  Set ``BAYESCRED_DEBUG=1`` to see full tracebacks.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from .errors import BayescredError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Bayesian measurement of alliance credibility.",
    pretty_exceptions_enable=False,
)

Draws = Annotated[int | None, typer.Option(help="Posterior draws per chain.")]
Tune = Annotated[
    int | None,
    typer.Option(help="Tuning (warm-up) draws per chain [default: 600 for nutpie, else 1000]."),
]
Chains = Annotated[int | None, typer.Option(help="Number of chains.")]
Seed = Annotated[int | None, typer.Option(help="Random seed (same seed, same draws).")]
Sampler = Annotated[
    str | None,
    typer.Option(
        help="NUTS engine: nutpie (default), pymc or numpyro; or advi, a fast approximation "
        "for exploring (seconds; not for inference you report)."
    ),
]

TargetAccept = Annotated[
    float | None,
    typer.Option(
        help="NUTS's target acceptance rate in (0, 1) (default: the spec's, 0.8); raise it "
        "(e.g. 0.95) when a fit reports divergences."
    ),
]


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _guard(func):
    """Turn package errors into a short message and exit 2; an interrupt (Ctrl-C,
    SIGTERM: ``runtime.stop_signals``) into one line and exit 130 or 143, after ``finally``
    blocks and exit hooks have removed temporary files and stopped helper processes; and
    anything unexpected (a bug, or an input no check foresaw) into one line ``bayescred:
    internal error: ...``, exit 2: never a traceback, unless ``BAYESCRED_DEBUG=1``."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from .runtime import stop_signals

        with stop_signals() as received:
            try:
                return func(*args, **kwargs)
            except BayescredError as exc:
                if os.environ.get("BAYESCRED_DEBUG"):
                    raise
                _fail(_one_line(str(exc)))
            except KeyboardInterrupt:
                _stopped(received, "interrupted")
            except (typer.Exit, typer.Abort):  # typer's (click's) own ways out
                raise
            except BaseException as exc:  # Rust panics (pyo3) derive from BaseException
                if isinstance(exc, SystemExit | GeneratorExit):
                    raise
                if os.environ.get("BAYESCRED_DEBUG"):
                    raise
                message = _one_line(str(exc)) or "(no message)"
                typer.echo(
                    f"bayescred: internal error: {type(exc).__name__}: {message} "
                    "(set BAYESCRED_DEBUG=1 for the traceback)",
                    err=True,
                )
                raise typer.Exit(2) from None

    return wrapper


def _one_line(text: str) -> str:
    """A message on one line (a multi-line one joined with "; ")."""
    return "; ".join(line.strip() for line in text.strip().splitlines() if line.strip())


def _stopped(received: list[int], message: str) -> None:
    """Say ``message`` (one line) and exit with the stopping signal's status."""
    import signal

    from .runtime import STOP_SIGNALS

    typer.echo(message, err=True)
    raise typer.Exit(STOP_SIGNALS.get(received[0] if received else signal.SIGINT, 130))


def _say(text: str) -> None:
    typer.echo(text, err=True)


def _version(value: bool) -> None:
    if value:
        from . import __version__

        typer.echo(f"bayescred {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True,
                     help="Print bayescred's version and exit."),
    ] = False,
) -> None:
    """Bayesian measurement of alliance credibility."""
    from .runtime import show_stages

    show_stages()  # one line per long stage on stderr (compiling, ADVI, checks, plots)


@app.command()
@_guard
def fit(
    spec: Annotated[Path, typer.Argument(help="Model spec (TOML).")],
    out: Annotated[Path, typer.Option("--out", help="Result file to write (netCDF).")],
    draws: Draws = None,
    tune: Tune = None,
    chains: Chains = None,
    seed: Seed = None,
    sampler: Sampler = None,
    target_accept: TargetAccept = None,
    precondition: Annotated[
        bool | None,
        typer.Option(
            "--precondition/--no-precondition",
            help="nutpie: sample through an ADVI fit of the posterior (default: the spec's, "
            "on unless it says otherwise).",
        ),
    ] = None,
    log_likelihood: Annotated[
        bool | None,
        typer.Option(
            "--log-likelihood/--no-log-likelihood",
            help="Save the pointwise log-likelihood (for az.loo / az.compare on the file; "
            "draws x observations x 8 bytes). Default: the spec's [output] log_likelihood, "
            "on unless it says otherwise; switch off for huge panels.",
        ),
    ] = None,
    predictive_draws: Annotated[
        int | None,
        typer.Option(
            help="Posterior predictive draws to save for az.plot_ppc (thinned evenly; 0: "
            "none). Default: the spec's [output] predictive_draws, 500.",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Overwrite OUT even when it is not a bayescred result (never an input).",
        ),
    ] = False,
    save_partial: Annotated[
        bool,
        typer.Option(
            "--save-partial",
            help="When interrupted (Ctrl-C, SIGTERM) while sampling, write the draws so "
            "far to OUT, marked as a partial result (default: nothing is written).",
        ),
    ] = False,
) -> None:
    """Fit SPEC and write the posterior to OUT (netCDF, readable by ArviZ as it is).

    Interrupted (Ctrl-C: exit 130, SIGTERM: exit 143), it writes nothing unless
    --save-partial; OUT is never overwritten by anything but a whole result."""
    from .destinations import check_result_file
    from .runtime import stop_signals
    from .spec import load_spec

    if predictive_draws is not None and predictive_draws < 0:
        _fail(f"--predictive-draws must be 0 or more, got {predictive_draws}")
    model_spec = load_spec(spec).with_sampler(
        draws=draws, tune=tune, chains=chains, seed=seed, backend=sampler,
        precondition=precondition, target_accept=target_accept,
    ).with_output(log_likelihood=log_likelihood, predictive_draws=predictive_draws)
    from .panel import read_panel

    inputs = [spec, *(model_spec.path(key) for key in ("observations", "crises", "units"))]
    check_result_file(out, inputs, force=force)  # before minutes of sampling
    panel = read_panel(model_spec)  # bad data fail here, before anything is compiled
    requested = model_spec.sampler.chains * model_spec.sampler.draws
    result = None
    with stop_signals() as received:
        try:
            _start_compiling(model_spec)
            fit_model = _import_fit()
            result = fit_model(model_spec, panel)
            if received or result.partial is not None:
                _fit_stopped(result, out, received, requested, save_partial)
            for note in result.panel.notes:
                _say(f"note: {note}")
            result.save(out)
        except KeyboardInterrupt:
            if result is None:  # stopped before nutpie returned any draws
                _stopped(received, "interrupted; nothing written")
            drawn = _drawn(result, requested)
            _stopped(received, f"interrupted after {drawn} of {requested} draws; nothing written")
    _summary(result)
    _say(f"wrote {out}")


def _fit_stopped(result, out: Path, received: list[int], requested: int, keep: bool) -> None:
    """A fit that was interrupted, or returned fewer draws than asked for: write nothing
    (or, with --save-partial, the draws it has, marked partial) and exit."""
    drawn = _drawn(result, requested)
    what = f"interrupted after {drawn} of {requested} draws" if received else (
        f"the sampler returned {drawn} of {requested} draws"
    )
    if not keep or result.posterior.sizes.get("draw", 0) == 0:
        hint = "" if received or keep else " (--save-partial keeps them, marked partial)"
        if not received:
            _fail(f"{what}; nothing written{hint}")
        _stopped(received, f"{what}; nothing written")
    result.save(out, partial=True)
    marked = ", marked as a partial result" if result.partial is not None else ""
    message = f"{what}; wrote {out}{marked}"
    if not received:
        _say(message)
        raise typer.Exit(1)
    _stopped(received, message)


def _drawn(result, requested: int) -> int:
    return requested if result.partial is None else result.partial.drawn


def _start_compiling(spec) -> None:
    """Cold, numba compiles the kernel for ~25 s: start it in other processes before the
    imports (~6 s) and the model build, which then overlap it (nutpie and advi use it)."""
    if spec.sampler.uses_kernel:
        from .kernel.build import start_compiling
        from .runtime import trace_in_memory_limit

        trace_in_memory_limit()  # a bad setting fails here, before the compile notice
        start_compiling()


def _import_fit():
    """``bayescred.api.fit``, imported with the garbage collector paused (PyMC, PyTensor,
    ArviZ: ~1.3 s of the ~5 s; ``runtime.collector_paused``); what the imports created
    then stays out of later collections for the rest of the command (``gc.freeze``)."""
    import gc

    from .runtime import collector_paused

    with collector_paused():
        from .api import fit
    gc.freeze()
    return fit


def _summary(result) -> None:
    from .diagnostics import quick_check
    from .safe_text import plain, plural

    t = result.timing
    _say(
        f"{plain(result.spec.name)}: {len(result.panel.units)} units x "
        f"{len(result.panel.years)} years, {len(result.panel.observations)} observations, "
        f"{plural(len(result.panel.crises), 'crisis', 'crises')}; "
        f"compile {t.compile_s:.1f} s{' (cached)' if t.cached else ''}, "
        f"sampling {t.sample_s:.1f} s"
    )
    _say(quick_check(result))


@app.command()
@_guard
def simulate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the panel into.")],
    units: Annotated[int, typer.Option(help="Number of units (commitments).")] = 20,
    members: Annotated[int | None, typer.Option(help="Number of members (<= units).")] = None,
    alliances: Annotated[int, typer.Option(help="Number of alliances.")] = 3,
    years: Annotated[int, typer.Option(help="Number of years.")] = 40,
    crises: Annotated[int, typer.Option(help="Number of crises.")] = 60,
    missing: Annotated[float, typer.Option(help="Share of cells missing at random.")] = 0.0,
    dynamics: Annotated[str, typer.Option(help="static, random_walk or ar1.")] = "random_walk",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Simulate a panel (observations, crises, units, truth) and a spec that fits it."""
    from .simulate import default_spec
    from .simulate import simulate as draw

    if not 0 <= missing < 1:
        _fail(f"--missing must lie in [0, 1), got {missing}")
    least = {"--units": (units, 1), "--alliances": (alliances, 1), "--years": (years, 1),
             "--crises": (crises, 0), "--seed": (seed, 0)}
    if members is not None:
        least["--members"] = (members, 1)
    for flag, (value, low) in least.items():
        if value < low:
            _fail(f"{flag} must be {low} or more, got {value}")
    from .destinations import check_folder

    check_folder(out)
    sim = draw(
        default_spec(dynamics=dynamics),
        n_units=units,
        n_members=members,
        n_alliances=alliances,
        n_years=years,
        n_crises=crises,
        missing=missing,
        seed=seed,
    )
    spec_path = sim.save(out)
    _say(f"wrote {out}/observations.csv, crises.csv, units.csv, truth.csv, truth.json")
    _say(f"fit it with: bayescred fit {spec_path} --out {out}/result.nc")


@app.command()
@_guard
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for the demo's outputs.")] = Path(
        "demo_output"
    ),
    example: Annotated[
        str,
        typer.Option(
            help="A bundled example (us_alliances, wars_1816_2003) or 'simulated' "
            "(a small simulated panel, seconds)."
        ),
    ] = "us_alliances",
    draws: Draws = None,
    tune: Tune = None,
    chains: Chains = None,
    target_accept: TargetAccept = None,
) -> None:
    """Fit an example end to end; write result.nc and its report (credibility.csv,
    trajectories.png, report.md, diagnostics.json, more plots) into OUT."""
    from .destinations import check_folder

    check_folder(out)
    panel, spec = _demo_example(example, out)
    spec = spec.with_sampler(target_accept=target_accept)
    _start_compiling(spec)
    fit_model = _import_fit()
    from .report import write_report

    result = fit_model(spec, panel, draws=draws, tune=tune, chains=chains)
    out.mkdir(parents=True, exist_ok=True)
    result.save(out / "result.nc")
    _summary(result)
    files = write_report(result, out, source=f"bayescred demo --example {example}")
    _report_summary(files.report)  # the same verdict lines as `bayescred report`
    _say(
        f"wrote {out}/result.nc, {files.credibility.name} (credibility per unit-year with "
        f"90% intervals), {files.markdown.name}, {files.diagnostics.name}, "
        + ", ".join(p.name for p in files.plots.values())
    )


@app.command()
@_guard
def report(
    result: Annotated[Path, typer.Argument(help="Result file written by `bayescred fit`.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the report into.")],
    year: Annotated[
        int | None, typer.Option(help="Year of the forest plot (default: last).")
    ] = None,
    prob: Annotated[float | None, typer.Option(help="Interval probability (default 0.9).")] = None,
    strict: Annotated[
        bool, typer.Option(help="Exit with status 1 when the verdict is 'fail'.")
    ] = False,
    units: Annotated[
        str | None,
        typer.Option(
            help="Units to draw in trajectories.png, comma-separated: MEMBER/ALLIANCE or a "
            "member (all its units), e.g. 'DEU/NATO,FRA'. Default: 12, those with the most "
            "crises and the largest movements first."
        ),
    ] = None,
) -> None:
    """Diagnose RESULT; write diagnostics.json, credibility.csv, plots and report.md to OUT."""
    from .report import write_report
    from .results import DEFAULT_PROB, CredibilityResult

    prob = DEFAULT_PROB if prob is None else prob
    if not 0 < prob < 1:
        _fail(f"--prob must lie in (0, 1), got {prob}")
    from .destinations import check_folder

    check_folder(out, _REPORT_FILES, inputs=[result])
    fitted = CredibilityResult.load(result)
    chosen = [u.strip() for u in units.split(",") if u.strip()] if units else None
    _partial_note(fitted, result)
    files = write_report(
        fitted, out, hdi_prob=prob, year=year, source=str(result), units=chosen
    )
    _report_summary(files.report)
    _say(f"wrote {out}/: " + ", ".join(p.name for p in files.all()))
    if strict and files.report.verdict == "fail":
        raise typer.Exit(1)


# what `report` and `whatif` write into their --out folders (none may be an input)
_REPORT_FILES = (
    "diagnostics.json", "credibility.csv", "signals.csv", "report.md", "trajectories.png",
    "forest.png", "loadings.png", "ppc.png", "rank_trace.png", "energy.png",
)
_WHATIF_FILES = ("contrast.csv", "trajectories.csv", "whatif.json", "whatif.png")


def _partial_note(fitted, path: Path) -> None:
    if fitted.partial is not None:
        _say(f"note: {path} is a {fitted.partial.text()}, not the posterior its spec asks for")


def _report_summary(report) -> None:
    """The verdict and one line per kind of check, then what to do (terminal)."""
    table = report.summary()
    _say(f"verdict: {report.verdict.upper()}")
    width = max(len(str(c)) for c in table.check)
    who = max(len(str(w)) for w in table.worst)
    for row in table.itertuples(index=False):
        value = "n/a" if row.value is None or row.value != row.value else f"{row.value:.4g}"
        _say(
            f"  {row.check:<{width}}  {row.status:<4}  worst {row.worst:<{who}}  "
            f"{value:>9}  (pass {row.threshold})"
        )
    for line in report.text().splitlines()[1:]:
        _say(line)


def _demo_example(example: str, out: Path):
    """The demo's panel and spec: a simulated panel (kept in OUT/data) or a bundled one."""
    if example != "simulated":
        from .datasets import load_example

        return load_example(example)
    from .panel import read_panel
    from .simulate import default_spec
    from .simulate import simulate as draw

    spec = default_spec(draws=500, tune=500, chains=2, seed=2026)
    sim = draw(spec, n_units=12, n_members=9, n_years=30, n_crises=40, missing=0.1, seed=2026)
    spec_path = sim.save(out / "data")
    from .spec import load_spec

    spec = load_spec(spec_path)
    return read_panel(spec), spec


Scheduler = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="Address of a running Dask scheduler (tcp://host:8786) to fit on; by default "
        "a local cluster sized to this machine.",
    ),
]


@app.command()
@_guard
def whatif(
    result: Annotated[Path, typer.Argument(help="Result file (netCDF) written by `fit`.")],
    scenarios: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Scenario file(s) (TOML); several are answered side by side on Dask, each "
            "into OUT/<file stem>/. Omit them, with --horizon, for a forecast."
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", help="Folder for contrast.csv, whatif.json, whatif.png.")
    ] = Path("whatif_output"),
    engine: Annotated[
        str, typer.Option(help="auto (fast when its Pareto k <= 0.7, else exact), fast, exact.")
    ] = "auto",
    horizon: Annotated[
        int | None, typer.Option(help="Years beyond the data (overrides the scenario's).")
    ] = None,
    seed: Seed = None,
    scheduler: Scheduler = None,
) -> None:
    """Compare credibility under SCENARIO with the fitted RESULT; write OUT/contrast.csv,
    OUT/trajectories.csv, OUT/whatif.json and OUT/whatif.png."""
    if not scenarios and horizon is None:
        _fail("give a SCENARIO file, or --horizon N for a forecast with no scenario")
    if scenarios and len(scenarios) > 1:
        _whatif_many(result, scenarios, out, engine, horizon, seed, scheduler)
        return
    scenario = scenarios[0] if scenarios else None
    from .destinations import check_folder
    from .results import CredibilityResult
    from .runtime import interactive
    from .scenario import Scenario, load_scenario
    from .whatif import whatif as run_whatif

    check_folder(out, _WHATIF_FILES, inputs=[result, scenario])
    plan = load_scenario(scenario) if scenario is not None else Scenario(name="forecast")
    fitted = CredibilityResult.load(result)
    _partial_note(fitted, result)
    answer = run_whatif(
        fitted, plan, engine=engine, horizon=horizon, seed=seed, progress=interactive()
    )
    paths = answer.save(out)  # the PNG is drawn in this process
    t = answer.timings
    timing = f"{t['total_s']:.2f} s"
    if "sample_s" in t:
        cached = " (cached)" if t.get("compile_cached") else ""
        timing += (
            f"; re-fit: compile {t['compile_s']:.1f} s{cached}, sampling {t['sample_s']:.1f} s"
        )
    _say(answer.text())
    _say(f"engine: {answer.engine} — {answer.reason}; {timing}")
    _say(f"wrote {out}/" + ", ".join(Path(p).name for p in paths))


@app.command()
@_guard
def serve(
    result: Annotated[Path, typer.Argument(help="Result file (netCDF) written by `fit`.")],
    port: Annotated[int, typer.Option(help="Port of the page.")] = 8050,
    host: Annotated[
        str, typer.Option(help="Address to listen on (this machine only, unless told).")
    ] = "127.0.0.1",
) -> None:
    """Explore what-if scenarios on RESULT in a local web page (needs the `serve` extra);
    docs/explorer.md."""
    from .explorer import serve as run_server

    run_server(result, host=host, port=port, say=_say)


def _whatif_many(result, scenarios, out, engine, horizon, seed, scheduler) -> None:
    from .destinations import check_folder
    from .many.sweeps import whatif_many
    from .runtime import interactive

    for scenario in scenarios:
        check_folder(out / scenario.stem, _WHATIF_FILES, inputs=[result, *scenarios])
    table = whatif_many(result, scenarios, out, scheduler, engine=engine, horizon=horizon,
                        seed=seed, progress=interactive())
    for row in table.itertuples():
        if row.status == "ok":
            _say(f"{row.scenario}: engine {row.engine}, largest change of credibility "
                 f"{row.largest_change:.3f}, {row.seconds:.1f} s -> {row.folder}")
        else:
            _say(f"{row.scenario}: failed: {row.error}")
    if (table.status != "ok").any():
        raise typer.Exit(1)


@app.command()
@_guard
def calibrate(
    spec: Annotated[Path, typer.Argument(help="Model spec (TOML) whose model is calibrated.")],
    fits: Annotated[int, typer.Option("--fits", help="Datasets to draw and fit.")] = 100,
    out: Annotated[
        Path, typer.Option("--out", help="Folder for ranks, verdicts, ECDF plots and fits.")
    ] = Path("calibration"),
    scheduler: Scheduler = None,
    units: Annotated[int, typer.Option(help="Units of each simulated panel.")] = 6,
    years: Annotated[int, typer.Option(help="Years of each simulated panel.")] = 12,
    crises: Annotated[int, typer.Option(help="Crises of each simulated panel.")] = 8,
    draws: Annotated[int, typer.Option(help="Posterior draws per chain of each fit.")] = 500,
    tune: Annotated[int, typer.Option(help="Tuning draws per chain of each fit.")] = 500,
    chains: Annotated[int, typer.Option(help="Chains of each fit.")] = 2,
    seed: Annotated[int, typer.Option(help="Seed of the datasets, fits and ranks.")] = 0,
    workers: Annotated[
        int | None, typer.Option(help="Workers of the local cluster (default: cores / chains).")
    ] = None,
) -> None:
    """Simulation-based calibration: fit datasets drawn from the prior predictive of SPEC's
    model and test each parameter's ranks for uniformity (see docs/many.md)."""
    from .many.calibrate import calibrate as run_calibrate
    from .runtime import interactive

    found = run_calibrate(
        spec, fits, out, scheduler, n_units=units, n_years=years, n_crises=crises,
        draws=draws, tune=tune, chains=chains, seed=seed, n_workers=workers,
        progress=interactive(),
    )
    _say(found.text())
    _say(f"wrote {out}/ranks.csv, verdicts.csv, fits.csv, ecdf_parameters.png, "
         "ecdf_cells.png and fits/")


@app.command()
@_guard
def kfold(
    results: Annotated[
        list[Path],
        typer.Argument(help="Result file(s) fitted to the same data; several are compared."),
    ],
    k: Annotated[int, typer.Option("--k", help="Number of folds.")] = 10,
    by: Annotated[str, typer.Option(help="Hold out whole units, years or cells.")] = "unit",
    scheduler: Scheduler = None,
    seed: Annotated[int, typer.Option(help="Seed of the folds and refits.")] = 0,
    workers: Annotated[
        int | None, typer.Option(help="Workers of the local cluster (default: cores / chains).")
    ] = None,
    draws: Annotated[int | None, typer.Option(help="Draws per chain of each refit "
                                              "[default: the result's].")] = None,
    tune: Annotated[int | None, typer.Option(help="Tuning draws of each refit.")] = None,
    chains: Annotated[int | None, typer.Option(help="Chains of each refit.")] = None,
) -> None:
    """K-fold cross-validation by refitting on Dask; with several RESULTS, az.compare."""
    from .many.kfold import kfold as run_kfold
    from .results import CredibilityResult
    from .runtime import interactive

    fitted = {path.stem: CredibilityResult.load(path) for path in results}
    scores = {name: run_kfold(r, k, by, scheduler, seed=seed, n_workers=workers,
                              progress=interactive(), draws=draws, tune=tune, chains=chains)
              for name, r in fitted.items()}
    for name, score in scores.items():
        _say(f"{name}: {score}")
    if len(scores) > 1:
        import arviz as az

        _say(az.compare(scores).to_string())


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
