"""The README stays a ten-minute read and keeps the commands CI and the benchmarks use."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
MAIN = "python -m pip install -e . && bayescred demo --out demo_output"
TESTS = 'python -m pip install -e ".[dev]" && python -m pytest -q'


def test_readme_is_short():
    assert len(README.splitlines()) < 350


def test_readme_gives_the_two_set_up_commands_and_ci_runs_the_test_command():
    assert f"```bash\n{MAIN}\n```" in README
    assert f"```bash\n{TESTS}\n```" in README
    ci = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    assert TESTS in ci


def test_benchmark_table_markers_sit_in_the_performance_section():
    """benchmarks/run.py --readme README.md rewrites what lies between the markers."""
    start, end = "<!-- benchmark:start -->", "<!-- benchmark:end -->"
    assert README.count(start) == README.count(end) == 1
    section = README.split("\n## Performance\n", 1)[1].split("\n## ", 1)[0]
    assert section.index(start) < section.index(end)


def test_readme_links_exist():
    for path in (
        "benchmarks/README.md",
        "data/README.md",
        "docs/whatif.md",
        "docs/spec.md",
        "notebooks",
        "LICENSE",
    ):
        assert path in README and (REPO / path).exists(), path
