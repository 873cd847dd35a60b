"""Where a command may write: the checks every ``--out`` passes before any work starts.

A fit that runs for minutes and then cannot write its result (a read-only folder, a
folder given as the result file) wastes the run; one that writes over its own spec or
data, or over a file that is not a bayescred result, destroys something.  These checks
run before sampling, and each failure is a one-line :class:`~bayescred.errors.OutputError`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .errors import OutputError

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def check_result_file(
    path: str | Path, inputs: Iterable[str | Path | None] = (), force: bool = False
) -> Path:
    """``path`` checked as the result file a fit will write: not one of the run's
    ``inputs`` (compared as resolved paths), not a folder, in a folder that can be
    written (created if missing), and, where a file is already there, a bayescred
    result (``force`` allows overwriting any other file, never an input)."""
    path = Path(path)
    _not_an_input(path, inputs, "--out")
    if path.is_dir():
        raise OutputError(
            f"--out {path}: is a folder; give the result file's name (e.g. {path / 'result.nc'})"
        )
    if path.exists() or path.is_symlink():
        if not path.is_file():
            raise OutputError(f"--out {path}: exists and is not a regular file")
        if not force and not is_result_file(path):
            raise OutputError(
                f"--out {path}: exists and is not a bayescred result; refusing to overwrite "
                "it (give another name, or --force to overwrite it)"
            )
    _writable_folder(path.parent, f"--out {path}")
    return path


def check_folder(
    path: str | Path, writes: Iterable[str] = (), inputs: Iterable[str | Path | None] = ()
) -> Path:
    """``path`` checked as a folder a command writes the files ``writes`` into: not a
    file, creatable or writable, and none of the files it writes one of the ``inputs``."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"--out {path}: exists and is not a folder; --out needs a folder")
    for name in writes:
        _not_an_input(path / name, inputs, f"--out {path}")
    _writable_folder(path, f"--out {path}")
    return path


def is_result_file(path: str | Path) -> bool:
    """Whether ``path`` is a netCDF file with a bayescred posterior (read as data, never
    followed further than its root group's listing and one attribute's presence)."""
    try:
        with open(path, "rb") as handle:
            if handle.read(len(_HDF5_SIGNATURE)) != _HDF5_SIGNATURE:
                return False
        import netCDF4

        with netCDF4.Dataset(path, mode="r") as ds:
            posterior = ds.groups.get("posterior")
            return posterior is not None and "bayescred_format" in posterior.ncattrs()
    except Exception:  # unreadable in any way: not a result
        return False


def _not_an_input(path: Path, inputs: Iterable[str | Path | None], what: str) -> None:
    target = _resolved(path)
    for item in inputs:
        if item is not None and _resolved(Path(item)) == target:
            raise OutputError(
                f"{what}: {path} is an input of this run ({item}); refusing to overwrite it"
            )


def _resolved(path: Path) -> Path:
    try:
        return path.expanduser().resolve()
    except (OSError, RuntimeError):  # a symlink loop: compare as written
        return path.absolute()


def _writable_folder(folder: Path, what: str) -> None:
    """The nearest existing folder at or above ``folder`` is a folder, and a file can be
    created in it (tried: permissions, read-only file systems and root all answer)."""
    existing = folder if str(folder) else Path(".")
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"{what}: {existing} is not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".bayescred-probe-", dir=existing)
    except OSError as err:
        raise OutputError(
            f"{what}: cannot write into {existing} ({err.strerror or err})"
        ) from None
    os.close(fd)
    os.remove(probe)
