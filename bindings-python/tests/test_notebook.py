"""examples/notebooks/pool.ipynb runs headless (nbclient, a kernel from this interpreter)
and shows the join report as HTML and the pool overview as SVG."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "notebooks" / "pool.ipynb"


def outputs(nb: nbformat.NotebookNode, mime: str) -> list[str]:
    found = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if mime in data:
                found.append(data[mime])
    return found


def test_the_pool_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A kernel spec pointing at this interpreter, so the kernel sees this xenpool build.
    spec = tmp_path / "kernels" / "xenpool-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "xenpool test",
                "language": "python",
            }
        )
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert not outputs(nb, "text/html"), "commit the notebook without outputs"
    NotebookClient(nb, kernel_name="xenpool-test", timeout=120, resources={"metadata": {"path": str(tmp_path)}}).execute()

    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors
    html = outputs(nb, "text/html")
    reports = [h for h in html if "✘" in h]
    assert reports, "the failing join report renders with its marks"
    assert any("HOSTS_NOT_HOMOGENEOUS" in h or "CPU" in h for h in reports)
    svgs = outputs(nb, "image/svg+xml")
    assert len(svgs) == 1 and svgs[0].startswith("<svg")
    assert "★ intel1" in svgs[0] and "intel3" in svgs[0] and "lab-nfs" in svgs[0] and "web" in svgs[0]
