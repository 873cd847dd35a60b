"""Every notebook in notebooks/ runs top to bottom (fast settings: BAYESCRED_FAST=1)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.sampling
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path, monkeypatch, tmp_path):
    monkeypatch.setenv("BAYESCRED_FAST", "1")
    monkeypatch.chdir(tmp_path)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={
        "metadata": {"path": str(tmp_path)}}).execute()
    assert all(c.get("execution_count") for c in nb.cells if c.cell_type == "code")
