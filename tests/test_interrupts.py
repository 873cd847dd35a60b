"""No lost or corrupted results: an interrupted `bayescred fit` (SIGINT, SIGTERM) leaves
the existing result byte for byte, exits 130/143 with one line and leaves no temporary
files; --out never overwrites an input or a non-result, and an unwritable --out fails
before sampling."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from result_files import save_made_up
from typer.testing import CliRunner

from bayescred.cli import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cli(args, tmpdir: Path, **kwargs):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmpdir)}
    env.pop("BAYESCRED_DEBUG", None)
    return subprocess.Popen(
        [sys.executable, "-m", "bayescred.cli", *map(str, args)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs,
    )


def one_error_line(output: str, *fragments):
    """One line of error; the stage notices (``bayescred: sampling ...``) that may come
    before it are information, not errors."""
    assert "Traceback" not in output, output
    lines = [line for line in output.strip().splitlines()
             if not (line.startswith("bayescred: ") and "internal error" not in line)]
    assert len(lines) == 1, output
    for fragment in fragments:
        assert fragment in output, output


@pytest.fixture
def panel(tmp_path, small_sim):
    spec = small_sim.save(tmp_path / "panel")
    result = save_made_up(spec, tmp_path / "result.nc")
    return spec, result


@pytest.mark.sampling
@pytest.mark.parametrize(
    ("sig", "status", "on_disk"),
    [(signal.SIGINT, 130, False), (signal.SIGTERM, 143, False), (signal.SIGTERM, 143, True)],
    ids=["SIGINT", "SIGTERM", "SIGTERM, trace on disk"],
)
def test_an_interrupted_fit_writes_nothing_and_leaves_nothing(
    panel, tmp_path, monkeypatch, sig, status, on_disk
):
    """In memory nutpie returns the draws so far (counted in the message); a trace too
    large for memory goes through a zarr store in TMPDIR (BAYESCRED_TRACE_IN_MEMORY_MB=0
    forces it), which must stop as quickly and be removed."""
    spec, result = panel
    before = digest(result)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    warm = cli(["fit", spec, "--out", tmp_path / "warm.nc", "--draws", 20, "--tune", 50,
                "--chains", 1, "--predictive-draws", 0], tmpdir)
    assert warm.wait(timeout=600) == 0, warm.stderr.read()  # the kernel's cache is warm
    if on_disk:
        monkeypatch.setenv("BAYESCRED_TRACE_IN_MEMORY_MB", "0")
    run = cli(["fit", spec, "--out", result, "--draws", 300_000, "--chains", 2], tmpdir)
    time.sleep(15)  # imports, model, preconditioner: sampling by now (or still before)
    assert run.poll() is None, "the fit ended before it was interrupted"
    start = time.monotonic()
    run.send_signal(sig)
    _, err = run.communicate(timeout=120)
    assert run.returncode == status, err
    assert time.monotonic() - start < 30, "the fit took too long to stop"
    if on_disk:  # the store's draws are discarded, not read back
        one_error_line(err, "interrupted; nothing written")
    else:
        one_error_line(err, "interrupted after", "of 600000 draws; nothing written")
    assert digest(result) == before
    assert not list(tmp_path.glob("*.nc.tmp"))
    assert not list(tmpdir.iterdir()), list(tmpdir.iterdir())  # trace, numba helpers


@pytest.mark.sampling
def test_save_partial_writes_a_file_marked_partial(panel, tmp_path):
    import bayescred as bc

    spec, _ = panel
    out = tmp_path / "partial.nc"
    run = cli(["fit", spec, "--out", out, "--draws", 300_000, "--chains", 2,
               "--save-partial", "--no-log-likelihood", "--predictive-draws", 0], tmp_path)
    time.sleep(20)
    run.send_signal(signal.SIGINT)
    _, err = run.communicate(timeout=300)
    assert run.returncode == 130, err
    one_error_line(err, "interrupted after")
    if out.exists():  # interrupted while sampling (not before: then there are no draws)
        assert "marked as a partial result" in err
        assert bc.load(out).partial is not None
    else:
        assert "nothing written" in err


@pytest.mark.parametrize("which", ["spec", "observations.csv", "crises.csv", "units.csv"])
def test_out_onto_an_input_is_refused(panel, which):
    spec, _ = panel
    target = spec if which == "spec" else spec.parent / which
    before = digest(target)
    res = runner.invoke(app, ["fit", str(spec), "--out", str(target), "--force"])
    assert res.exit_code == 2
    one_error_line(res.output, "input of this run")
    assert digest(target) == before


def test_out_onto_an_input_through_another_path_is_refused(panel, tmp_path):
    spec, _ = panel
    link = tmp_path / "alias"
    link.symlink_to(spec.parent)
    res = runner.invoke(app, ["fit", str(spec), "--out", str(link / "observations.csv")])
    assert res.exit_code == 2
    one_error_line(res.output, "input of this run")


def test_out_onto_a_file_that_is_not_a_result_is_refused_unless_forced(panel):
    spec, _ = panel
    target = spec.parent / "truth.csv"
    before = digest(target)
    res = runner.invoke(app, ["fit", str(spec), "--out", str(target)])
    assert res.exit_code == 2
    one_error_line(res.output, "not a bayescred result", "--force")
    assert digest(target) == before


def test_out_as_a_folder_is_refused(panel, tmp_path):
    spec, _ = panel
    res = runner.invoke(app, ["fit", str(spec), "--out", str(tmp_path)])
    assert res.exit_code == 2
    one_error_line(res.output, "is a folder")


def unwritable(tmp_path: Path) -> Path:
    """A folder this process cannot write into (root ignores permissions: /proc)."""
    if os.geteuid() == 0:
        return Path("/proc")
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


def test_an_unwritable_out_fails_before_sampling(panel, tmp_path):
    spec, _ = panel
    start = time.perf_counter()
    run = cli(["fit", spec, "--out", unwritable(tmp_path) / "r.nc", "--draws", 10**6],
              tmp_path)
    _, err = run.communicate(timeout=120)
    seconds = time.perf_counter() - start
    assert run.returncode == 2
    one_error_line(err, "cannot write into")
    assert seconds < 30  # a million draws would take minutes: it never started


@pytest.mark.parametrize("command", ["report", "whatif"])
def test_folder_outputs_are_checked_first(panel, tmp_path, command):
    _, result = panel
    extra = ["--horizon", "2"] if command == "whatif" else []
    res = runner.invoke(app, [command, str(result), "--out", str(result), *extra])
    assert res.exit_code == 2
    one_error_line(res.output, "not a folder")
    res = runner.invoke(
        app, [command, str(result), "--out", str(unwritable(tmp_path) / "x"), *extra]
    )
    assert res.exit_code == 2
    one_error_line(res.output, "cannot write into")


def test_simulate_into_a_file_is_refused(tmp_path):
    target = tmp_path / "file"
    target.write_text("keep")
    res = runner.invoke(app, ["simulate", "--out", str(target)])
    assert res.exit_code == 2
    one_error_line(res.output, "not a folder")
    assert target.read_text() == "keep"
