"""The README's notebook example runs as written (from the repository root), and its quickstart
has exactly the two commands .ci/run relies on."""

from __future__ import annotations

import os
import re
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_python_example_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert blocks, "README has no python example"
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {}
    try:
        exec(
            compile(blocks[0], "README.md", "exec"), namespace
        )  # our own README, nothing untrusted
    finally:
        plt.close("all")
    assert "equivalence" in str(namespace["cmp"].narrative())  # type: ignore[attr-defined]


def test_quickstart_has_two_commands_and_ci_runs_the_test_one() -> None:
    quickstart = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```bash\n(.*?)```", quickstart, flags=re.S)
    commands = [line for line in block.splitlines() if line and not line.startswith("#")]
    assert len(commands) == 2
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1] in ci
    assert os.access(ROOT / ".ci" / "run", os.X_OK)
