"""Every pooling story in examples/python runs standalone against the simulator: exit code
0 and the line that shows the story's outcome."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "python"

#: script → a line its output must contain (a regular expression).
EXPECTED = {
    "create_pool.py": r"^pool lab-pool: 3 hosts \(intel1, intel2, intel3\)$",
    "validate_and_join.py": r"^intel3 joined: 2 hosts$(?s:.*)^amd1 refused: REFUSED$",
    "heterogeneous_join.py": r"^forced join done: intel-old, intel1, intel2$",
    "eject.py": r"^ejected intel3; evacuated web; web now on intel[12]$",
    "bond_repair.py": r"^drift on intel-old:(?s:.*)^bonds consistent: True$",
    "nfs_sr.py": r"^SR lab-nfs: type nfs, shared True, plugged on 3/3 hosts$",
    "xenmotion.py": r"^moved: \[\['web', 'intel2'\]\]; web is Running on intel2$",
    "ha_failover.py": r"^new coordinator: intel[23]$(?s:.*)^db runs again on intel[23]$",
}


def test_every_example_is_tested() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_example_runs(script: str) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"{script} failed:\n{done.stdout}\n{done.stderr}"
    assert re.search(EXPECTED[script], done.stdout, re.MULTILINE), f"{script} printed:\n{done.stdout}"
