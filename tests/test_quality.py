"""Code-quality gates run by the test command: ruff (lint and format) and mypy must be clean."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize(
    "command",
    [("ruff", "check", "."), ("ruff", "format", "--check", ".")],
    ids=["ruff-check", "ruff-format"],
)
def test_ruff_clean(command: tuple[str, ...]) -> None:
    if _run("ruff", "--version").returncode != 0:  # the test runs `python -m ruff`, so ask that
        pytest.skip("python -m ruff does not run: install the [test] extra")
    result = _run(*command)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_clean() -> None:
    pytest.importorskip("mypy", reason="mypy is not installed: install the [test] extra")
    result = _run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr
