"""Write a report folder as a whole: staged in a fresh folder, then moved into place.

A report is written into a new temporary folder next to the destination; only when every file
is written is the previous folder moved aside and the new one renamed into its place (the old
one is then deleted). So a run that fails or is interrupted while writing leaves the previous
report complete, and files of an earlier run that the new run does not write (a table that is
no longer published, a format no longer asked for) do not survive next to the new ones. A
folder that is not empty and was not written by a report run is refused, never overwritten.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> root = Path(tempfile.mkdtemp())
>>> with staged_folder(root / "out") as stage:
...     _ = (stage / "a.csv").write_text("x")
>>> sorted(p.name for p in (root / "out").iterdir())
['.iopoutcomes-report', 'a.csv']
>>> with staged_folder(root / "out") as stage:
...     _ = (stage / "b.csv").write_text("y")
>>> sorted(p.name for p in (root / "out").iterdir())  # a.csv of the earlier run is gone
['.iopoutcomes-report', 'b.csv']
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["MARKER", "staged_folder"]

MARKER = ".iopoutcomes-report"
"""The file that marks a folder as written by a report run (and so replaceable)."""


@contextlib.contextmanager
def staged_folder(final: str | Path) -> Iterator[Path]:
    """Yield a fresh folder to write into; on success it replaces ``final`` as a whole.

    Raises
    ------
    FileExistsError
        ``final`` is a file, or a non-empty folder without the report marker (not written by
        a report run): nothing is written or removed.
    """
    final = Path(final)
    if final.exists() and not final.is_dir():
        raise FileExistsError(
            errno.EEXIST, "the output path is a file, not a folder; give a folder path"
        )
    if final.is_dir() and any(final.iterdir()) and not (final / MARKER).is_file():
        raise FileExistsError(
            errno.EEXIST,
            "the output folder is not empty and was not written by an iopoutcomes report; "
            "give a new or empty folder (a report replaces its folder as a whole)",
        )
    final.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent))
    try:
        yield stage
        (stage / MARKER).write_text(
            "Written by iopoutcomes: this folder is replaced as a whole by the next report run.\n",
            encoding="utf-8",
        )
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    previous: Path | None = None
    if final.exists():
        previous = Path(
            tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".previous", dir=final.parent)
        )
        previous.rmdir()
        os.rename(final, previous)
    try:
        os.rename(stage, final)
    except BaseException:
        if previous is not None:  # put the previous report back
            os.rename(previous, final)
        shutil.rmtree(stage, ignore_errors=True)
        raise
    if previous is not None:
        shutil.rmtree(previous, ignore_errors=True)
