"""Shared fixtures: headless matplotlib, the shared real-data folder, seeded simulated records."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
# ../shared sits beside the project checkout (also in CI); real data is never copied in.
SHARED = Path(os.environ.get("IOPOUTCOMES_SHARED", ROOT.parent / "shared"))
CTN0094 = SHARED / "real" / "ctn0094"
TEDS_CODEBOOK = SHARED / "reference" / "teds_d_codebook"


def require_shared(path: Path) -> Path:
    """Skip (with the reason) when the shared real data or reference folder is absent."""
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared real-data folder sits beside the checkout")
    return path


@pytest.fixture
def ctn0094_dir() -> Path:
    return require_shared(CTN0094)


@pytest.fixture
def teds_codebook_dir() -> Path:
    return require_shared(TEDS_CODEBOOK)
