"""Build hook: a wheel carries the example panels that ``bayescred demo`` fits.

The repository keeps the example specs in ``models/`` and their panels in ``data/``
(``scripts/build_data.py`` rebuilds ``data/`` byte for byte; the README, the notebooks and
the tests use those paths). A wheel holds only the package, so ``build_py`` copies those
files into ``bayescred/_bundled/models`` and ``bayescred/_bundled/data`` of the build
folder: one copy in git, the same bytes in the wheel. The specs' relative data paths
(``../data/<panel>/...``) hold in both places. ``bayescred.datasets`` looks in
``_bundled`` first and then at the repository root, where an editable install (which
skips the copy) and a checkout find them. Everything else is in ``pyproject.toml``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
BUNDLE = Path("bayescred") / "_bundled"
# what the wheel carries, as globs relative to the repository root
EXAMPLE_FILES = ("models/*.toml", "data/*/*.csv", "data/README.md")


def example_files() -> list[Path]:
    """The repository's example files, relative to its root, sorted."""
    found = {p.relative_to(ROOT) for pattern in EXAMPLE_FILES for p in ROOT.glob(pattern)}
    return sorted(found)


class BuildPyWithExamples(build_py):
    """``build_py`` plus a copy of ``models/`` and ``data/`` into ``bayescred/_bundled``."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads models/ and data/ in place
            return
        files = example_files()
        if not any(f.parts[0] == "models" for f in files):
            raise SystemExit(f"setup.py: no example specs under {ROOT / 'models'}")
        target = Path(self.build_lib) / BUNDLE
        shutil.rmtree(target, ignore_errors=True)  # no stale file from an earlier build
        for rel in files:
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / rel, dest)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = super().get_outputs(include_bytecode)
        if self.editable_mode:
            return outputs
        return outputs + [str(Path(self.build_lib) / BUNDLE / rel) for rel in example_files()]


setup(cmdclass={"build_py": BuildPyWithExamples})
