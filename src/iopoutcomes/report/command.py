"""The ``iopoutcomes report`` command: :func:`run_report` and the click command :data:`report`.

Exit status (documented in ``docs/report.md``):

* 0: the report was written;
* 2: bad input or configuration (missing/unreadable file, missing column, invalid TOML or
  setting, unknown quarter or format, no data for the quarter);
* 3: the suppression audit failed (a small cell could be recovered): nothing is written;
* 4: the output folder could not be written.

Errors are one line on stderr (``error: ...``), never a traceback.

Examples
--------
>>> from click.testing import CliRunner
>>> result = CliRunner().invoke(report, ["--format", "docx", "--demo", "--out", "x"])
>>> result.exit_code, "unknown format" in result.output
(2, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

__all__ = [
    "EXIT_AUDIT",
    "EXIT_INPUT",
    "EXIT_OK",
    "EXIT_OUTPUT",
    "report",
    "run_report",
]

EXIT_OK = 0
EXIT_INPUT = 2
EXIT_AUDIT = 3
EXIT_OUTPUT = 4


def _formats(text: str) -> list[str]:
    from .writers import FORMATS

    wanted = [f.strip().lower() for f in text.split(",") if f.strip()]
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown or not wanted:
        from ..exceptions import ParameterError

        raise ParameterError(
            f"unknown format {unknown or text!r} in --format; choose from {', '.join(FORMATS)}."
        )
    return wanted


def run_report(
    *,
    episodes: Path | None = None,
    followups: Path | None = None,
    use_days: Path | None = None,
    quarter: str | None = None,
    config: Path | None = None,
    profile: str | None = None,
    formats: str = "html,pdf,xlsx,csv,json",
    out: Path,
    demo: bool = False,
    progress: bool = True,
) -> int:
    """Read the records, build the report and write it; return the exit status.

    Parameters
    ----------
    episodes, followups, use_days : path, optional
        Input files (``read_records``); ``episodes`` is required unless ``demo``.
    quarter : str, optional
        ``2026Q3``; default: the last complete quarter at the data-as-of date.
    config : path, optional
        TOML report configuration.
    profile : {"public", "funder", "internal"}, optional
        Overrides the configuration's profile.
    formats : str
        Comma-separated formats.
    out : path
        Output folder.
    demo : bool
        Use the shipped sample (``load_sample``) instead of files.
    progress : bool
        Progress bar on stderr (only on a terminal).

    Returns
    -------
    int
        :data:`EXIT_OK`, :data:`EXIT_INPUT`, :data:`EXIT_AUDIT` or :data:`EXIT_OUTPUT`.
    """
    from ..exceptions import IopOutcomesError, SuppressionAuditError

    try:
        wanted = _formats(formats)
        if demo:
            from ..simulate import load_sample

            records = load_sample()
        else:
            if episodes is None:
                click.echo(
                    "error: give --episodes (and --followups) or --demo for the sample.", err=True
                )
                return EXIT_INPUT
            from ..records import read_records

            records = read_records(episodes, followups, use_days)
        from .build import quarterly_report

        result = quarterly_report(
            records, quarter=quarter, config=config, profile=profile, progress=progress
        )
    except SuppressionAuditError as exc:
        click.echo(f"error: suppression audit failed, no report written: {exc}", err=True)
        return EXIT_AUDIT
    except IopOutcomesError as exc:
        click.echo(f"error: {exc}", err=True)
        return EXIT_INPUT
    try:
        files = result.write(out, wanted)
    except OSError as exc:
        click.echo(
            f"error: could not write the report to {out} ({type(exc).__name__}: "
            f"{exc.strerror or 'write failed'}).",
            err=True,
        )
        return EXIT_OUTPUT
    period = result.quarter or "all episodes (study-day data)"
    click.echo(
        f"Quarterly report for {period} ({result.profile} profile): {len(result.tables)} tables, "
        f"{result.n_suppressed} cells suppressed."
    )
    for name in ("html", "pdf", "xlsx", "json"):
        if name in files:
            click.echo(f"  {files[name]}")
    n_csv = sum(1 for k in files if k.startswith("csv/"))
    if n_csv:
        click.echo(f"  {n_csv} CSV files in {Path(out)}")
    for name, why in files.skipped.items():
        click.echo(f"  {name} not written: {why}")
    for note in result.omitted:
        click.echo(f"  note: {note}")
    return EXIT_OK


@click.command("report")
@click.option("--episodes", type=click.Path(path_type=Path), help="Episodes file.")
@click.option("--followups", type=click.Path(path_type=Path), help="Follow-ups file.")
@click.option("--use-days", "use_days", type=click.Path(path_type=Path), help="Use-days file.")
@click.option("--quarter", help="Reporting quarter, e.g. 2026Q3 (default: last complete one).")
@click.option("--config", type=click.Path(path_type=Path), help="TOML report configuration.")
@click.option(
    "--profile",
    type=click.Choice(["public", "funder", "internal"]),
    help="Audience profile (overrides the configuration).",
)
@click.option(
    "--format",
    "formats",
    default="html,pdf,xlsx,csv,json",
    show_default=True,
    help="Comma-separated output formats.",
)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Output folder.")
@click.option("--demo", is_flag=True, help="Run on the shipped sample (load_sample()).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def report(
    episodes: Path | None,
    followups: Path | None,
    use_days: Path | None,
    quarter: str | None,
    config: Path | None,
    profile: str | None,
    formats: str,
    out: Path,
    demo: bool,
    no_progress: bool,
) -> None:
    """Write the quarterly outcome report (HTML, PDF, XLSX, CSV, JSON) into --out.

    Exit status: 0 written; 2 bad input or configuration; 3 suppression audit failed (nothing
    written); 4 the output folder could not be written.
    """
    code = run_report(
        episodes=episodes,
        followups=followups,
        use_days=use_days,
        quarter=quarter,
        config=config,
        profile=profile,
        formats=formats,
        out=out,
        demo=demo,
        progress=not no_progress,
    )
    raise SystemExit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command standalone (until it is registered in ``iopoutcomes.cli``)."""
    try:
        report.main(args=list(argv) if argv is not None else None, standalone_mode=True)
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int | None) else EXIT_INPUT
    return EXIT_OK
