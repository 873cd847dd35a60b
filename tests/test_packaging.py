"""Packaging: declared dependencies equal what the code imports; license and bundle.

The imports are read from the source (``ast``), so a new import in any module of
``bayescred/`` (subpackages included) fails here until ``pyproject.toml`` declares it, and
a declared package nothing imports fails until it is removed. Imports guarded by
``except ImportError`` are optional and belong to an extra (``jax``). The building and
installing of a wheel is checked by ``.ci/wheel_demo.py`` (CI, after the tests).
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]

# Declared distributions that the code reaches by name, not by import: xarray's I/O
# engines (``engine="h5netcdf"``; results are read and written through them).
BY_NAME = {"h5netcdf": "xarray engine", "netcdf4": "xarray engine"}
# Import names whose distribution is named otherwise, for when it is not installed here
# (``importlib.metadata.packages_distributions`` answers for the installed ones).
DISTRIBUTION_OF = {"netCDF4": "netcdf4", "jax": "jax", "numpyro": "numpyro"}


def normalise(name: str) -> str:
    """PEP 503 normalised distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    return normalise(re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement).group())


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    names = {getattr(k, "id", getattr(k, "attr", None)) for k in kinds if k is not None}
    return bool(names & {"ImportError", "ModuleNotFoundError"})


def imports(folder: Path) -> dict[str, dict[str, set[str]]]:
    """Top-level third-party modules imported under ``folder``: {"required" | "optional":
    {module: files}}. Optional: every import of it sits in a ``try`` whose handlers catch
    ImportError. Relative imports, the standard library and ``bayescred`` are left out."""
    found: dict[str, dict[str, set[str]]] = {"required": {}, "optional": {}}
    for path in sorted(folder.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        guarded = {
            id(node)
            for block in ast.walk(tree)
            if isinstance(block, ast.Try) and any(map(_catches_import_error, block.handlers))
            for stmt in block.body
            for node in ast.walk(stmt)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules = [node.module]
            elif (  # importlib.import_module("name")
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and not str(node.args[0].value).startswith(".")
            ):
                modules = [str(node.args[0].value)]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top in sys.stdlib_module_names or top in ("__future__", "bayescred"):
                    continue
                kind = "optional" if id(node) in guarded else "required"
                found[kind].setdefault(top, set()).add(str(path.relative_to(REPO)))
    for module in found["required"]:  # imported unguarded anywhere: required
        found["optional"].pop(module, None)
    return found


def distribution(module: str) -> str:
    installed = metadata.packages_distributions().get(module)
    return normalise(installed[0] if installed else DISTRIBUTION_OF.get(module, module))


def engines_named(folder: Path) -> set[str]:
    """The ``engine="..."`` keyword strings passed to xarray's readers and writers."""
    names = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.keyword) and node.arg == "engine":
                if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                    names.add(normalise(node.value.value))
    return names


FOUND = imports(REPO / "bayescred")
DECLARED = {requirement_name(r): r for r in PROJECT["dependencies"]}
EXTRAS = {
    extra: {requirement_name(r) for r in reqs}
    for extra, reqs in PROJECT["optional-dependencies"].items()
}


def test_declared_dependencies_are_the_imported_ones():
    imported = {distribution(m): files for m, files in FOUND["required"].items()}
    undeclared = {d: sorted(f) for d, f in imported.items() if d not in DECLARED}
    unused = sorted(set(DECLARED) - set(imported) - set(BY_NAME))
    assert not undeclared, f"imported by bayescred/ but not in [project] dependencies: {undeclared}"
    assert not unused, f"declared in [project] dependencies but imported nowhere: {unused}"


def test_engines_named_in_the_code_are_declared():
    xarray_engines = engines_named(REPO / "bayescred") - {"auto", "fast", "exact"}
    assert xarray_engines <= set(BY_NAME), xarray_engines - set(BY_NAME)
    assert set(BY_NAME) <= set(DECLARED)


def test_optional_imports_belong_to_an_extra():
    in_extras = set().union(*EXTRAS.values())
    optional = {distribution(m): sorted(f) for m, f in FOUND["optional"].items()}
    stray = {d: f for d, f in optional.items() if d not in in_extras and d not in DECLARED}
    assert not stray, f"optional imports that no extra declares: {stray}"
    assert "jax" in optional, "the finder lost the guarded `import jax` of the numpyro sampler"


def test_tests_import_only_declared_packages():
    """The test suite needs the package's dependencies and the dev extra, nothing else
    (modules of the repository's own folders, e.g. benchmarks/, are not packages)."""
    local = {p.stem for d in ("benchmarks", "scripts", "tests") for p in (REPO / d).glob("*.py")}
    found = imports(REPO / "tests")
    allowed = set(DECLARED) | EXTRAS["dev"] | EXTRAS["jax"]
    stray = {
        distribution(m): sorted(f)
        for m, f in found["required"].items()
        if m not in local and distribution(m) not in allowed
    }
    assert not stray, f"tests import packages outside the dependencies and [dev]: {stray}"


@pytest.mark.parametrize("name", sorted(DECLARED))
def test_installed_version_is_in_the_declared_range(name):
    """What the tests run on lies inside the range declared: the ranges are the tested ones."""
    from packaging.requirements import Requirement

    requirement = Requirement(DECLARED[name])
    try:
        version = metadata.version(requirement.name)
    except metadata.PackageNotFoundError:
        pytest.fail(f"{requirement.name} is declared but not installed")
    assert requirement.specifier.contains(version, prereleases=True), (
        f"{requirement.name} {version} is outside the declared {requirement.specifier}"
    )


def test_private_api_dependencies_have_upper_bounds():
    """nutpie's private fields and numba's private cache API: tested releases only."""
    from packaging.requirements import Requirement

    for name in ("nutpie", "numba", "llvmlite"):
        specifier = Requirement(DECLARED[name]).specifier
        assert any(s.operator in ("<", "<=", "==", "~=") for s in specifier), (name, specifier)


def test_license_metadata():
    assert PROJECT["license"] == "MIT"  # an SPDX expression, not the deprecated table
    assert PROJECT["license-files"] == ["LICENSE"]
    text = (REPO / "LICENSE").read_text()
    assert text.startswith("MIT License") and "2026 bayescred developers" in text
    assert not any("License ::" in c for c in PROJECT.get("classifiers", []))
    setuptools = next(r for r in PYPROJECT["build-system"]["requires"] if "setuptools" in r)
    assert ">=77" in setuptools  # the first setuptools that reads license-files (PEP 639)


def test_no_build_artefacts_are_tracked():
    import subprocess

    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=False
    ).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout")
    bad = [f for f in tracked if f.endswith((".whl", ".tar.gz", ".egg", ".pyc", ".so"))]
    bad += [f for f in tracked if f.startswith(("build/", "dist/", "bayescred/_bundled/"))]
    assert not bad, bad


def test_bundled_examples_follow_the_repository():
    """setup.py bundles exactly what bayescred.datasets looks for, from models/ and data/."""
    source = (REPO / "setup.py").read_text()
    assert "cmdclass" in source
    tree = ast.parse(source)
    patterns = next(
        ast.literal_eval(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and any(getattr(t, "id", None) == "EXAMPLE_FILES" for t in node.targets)
    )
    files = {p.relative_to(REPO) for g in patterns for p in REPO.glob(g)}
    specs = {p.relative_to(REPO) for p in (REPO / "models").glob("*.toml")}
    assert specs and specs <= files
    for spec_file in specs:  # every data file a spec names is bundled, at the same place
        data = tomllib.loads((REPO / spec_file).read_text()).get("data", {})
        for rel in data.values():
            target = ((REPO / spec_file).parent / rel).resolve().relative_to(REPO)
            assert target in files, (spec_file, target)
    from bayescred import datasets

    assert datasets._models_dirs()[0].parts[-2:] == ("_bundled", "models")
