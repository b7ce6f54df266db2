"""Shared fixtures: headless matplotlib, the shared real-data folder, the sample report.

The suite runs under pytest-xdist (``-n auto --dist loadfile``): a session fixture is built once
per worker process, so anything expensive that several test files only read (the sample's
quarterly report takes about 20 s of CPU) lives here rather than in each file.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

import iopoutcomes as iop

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


@pytest.fixture(scope="session")
def sample_report() -> iop.QuarterlyReport:
    """The shipped sample's 2026Q2 report with default settings, shared read-only.

    Tests that change settings, the environment (``SOURCE_DATE_EPOCH``) or monkeypatch the
    build must build their own report.
    """
    return iop.quarterly_report(iop.load_sample(), "2026Q2", progress=False)
