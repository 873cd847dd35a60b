"""What every notebooks/make_*.py does with its cells: build the notebook, run it in place
with ``--execute`` (so the committed notebook carries its outputs), and write it."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import nbformat as nbf

HERE = Path(__file__).resolve().parent


def write(cells: list, name: str, doc: str | None, timeout: int = 1800,
          scratch: bool = False) -> None:  # fmt: skip
    """Write ``notebooks/{name}`` from ``cells``; ``--execute`` runs it first, in this
    folder, or in a temporary one when ``scratch`` (files it writes are not kept)."""
    ap = argparse.ArgumentParser(description=doc)
    ap.add_argument("--execute", action="store_true", help="run the notebook in place")
    args = ap.parse_args()
    nb = nbf.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}  # fmt: skip
    if args.execute:
        from nbclient import NotebookClient

        with tempfile.TemporaryDirectory() as tmp:
            folder = tmp if scratch else str(HERE)
            NotebookClient(nb, timeout=timeout, kernel_name="python3",
                           resources={"metadata": {"path": folder}}).execute()  # fmt: skip
    target = HERE / name
    nbf.write(nb, target)
    print(f"wrote {target}")
