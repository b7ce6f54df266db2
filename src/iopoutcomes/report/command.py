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
from typing import Any

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
    services: Path | None = None,
    quarter: str | None = None,
    config: Path | None = None,
    profile: str | None = None,
    formats: str = "html,pdf,xlsx,csv,json",
    out: Path,
    demo: bool = False,
    progress: bool = True,
    export_options: dict[str, Any] | None = None,
) -> int:
    """Read the records, build the report and write it; return the exit status.

    Parameters
    ----------
    episodes, followups, use_days, services : path, optional
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
    export_options : dict, optional
        ``[input]`` keys given on the command line (``date_format``, ``encoding``, ``columns``,
        ``codes``, ``timepoints``, ``missing_codes``, ``episode_key``, ``sheet``,
        ``header_row``, ``skip_footer``, ``kind``): the files are then read as raw exports
        (:func:`~iopoutcomes.exports.read_exports`). Without files, a configuration's
        ``[input]`` section names them.

    Returns
    -------
    int
        :data:`EXIT_OK`, :data:`EXIT_INPUT`, :data:`EXIT_AUDIT` or :data:`EXIT_OUTPUT`.
    """
    from ..exceptions import IopOutcomesError, SuppressionAuditError

    try:
        wanted = _formats(formats)
        from .config import load_config

        settings = load_config(config)
        given = {
            "episodes": episodes,
            "followups": followups,
            "use_days": use_days,
            "services": services,
        }
        if export_options and not demo:
            settings = with_cli_input(settings, given, export_options)
        if demo:
            from ..simulate import load_sample

            records = load_sample()
        elif settings.input and (episodes is None or export_options):
            from ..exports import read_exports, require_rows

            records = read_exports(settings.export_input())
            require_rows(records, list(records.read_counts))
        else:
            if episodes is None:
                click.echo(
                    "error: give --episodes (and --followups), a --config with an [input] "
                    "section, or --demo for the sample.",
                    err=True,
                )
                return EXIT_INPUT
            from ..records import read_records

            records = read_records(episodes, followups, use_days, services=services)
        from .build import quarterly_report

        result = quarterly_report(
            records, quarter=quarter, config=settings, profile=profile, progress=progress
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


def with_cli_input(settings: Any, files: dict[str, Path | None], options: dict[str, Any]) -> Any:
    """The configuration with an ``[input]`` section for files and options of the command line.

    Table options (``columns``, ``codes``, ``date_format``, ...) apply to every file given;
    ``columns``/``codes`` may be keyed by table. Settings of the configuration's own
    ``[input]`` section are kept unless the command line sets them.
    """
    import dataclasses

    from ..exports import TABLE_NAMES

    table_keys = ("columns", "codes", "date_format", "encoding", "episode_key", "sheet",
                  "header_row", "skip_footer")  # fmt: skip
    data: dict[str, Any] = {k: dict(v) if isinstance(v, dict) else v
                            for k, v in dict(settings.input).items()}  # fmt: skip
    for key in ("missing_codes", "timepoints", "data_as_of"):
        if options.get(key) is not None:
            data[key] = options[key]
    for table in TABLE_NAMES:
        path = files.get(table)
        part = dict(data.get(table, {}))
        if path is not None:
            part["files"] = str(Path(path).resolve())
        if "files" not in part:
            continue
        for key in table_keys:
            value = options.get(key)
            if value is None:
                continue
            if key in ("columns", "codes") and set(value) <= set(TABLE_NAMES):
                value = value.get(table)
                if value is None:
                    continue
            part[key] = value
        if table == "use_days" and options.get("kind") is not None:
            part["kind"] = options["kind"]
        data[table] = part
    from .config import ReportConfig

    checked = ReportConfig.from_dict({"input": data}, source="command line")
    return dataclasses.replace(
        settings, input=checked.input, input_base=settings.input_base or str(Path.cwd())
    )


def read_json_option(path: Path | None, option: str) -> Any:
    """The JSON object in the file an option names (``--columns-json``), or None.

    A file that cannot be read or holds no JSON object is a
    :class:`~iopoutcomes.exceptions.ParameterError` naming the option and the file (never a
    traceback). ``iopoutcomes read`` uses it too.

    Examples
    --------
    >>> read_json_option(None, "--codes-json") is None
    True
    """
    import json

    from ..exceptions import ParameterError

    if path is None:
        return None
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError:
        raise ParameterError(f"{option}: the file {Path(path).name!r} cannot be read.") from None
    except json.JSONDecodeError as exc:
        raise ParameterError(
            f"{option}: {Path(path).name!r} is not valid JSON (line {exc.lineno})."
        ) from None
    if not isinstance(value, dict):
        raise ParameterError(f"{option}: {Path(path).name!r} must hold a JSON object.")
    return value


def export_options(
    date_format: str | None,
    encoding: str | None,
    columns_json: Path | None,
    codes_json: Path | None,
    timepoints: str | None,
    missing_codes: str | None,
    episode_key: str | None,
    sheet: str | None,
    header_row: int | None,
    skip_footer: int | None,
    kind: str | None,
) -> dict[str, Any]:
    """Collect the export options of ``report``/``check`` (``{}`` when none is given)."""
    out: dict[str, Any] = {
        "date_format": date_format,
        "encoding": encoding,
        "columns": read_json_option(columns_json, "--columns-json"),
        "codes": read_json_option(codes_json, "--codes-json"),
        "timepoints": [t.strip() for t in timepoints.split(",") if t.strip()]
        if timepoints
        else None,
        "missing_codes": [m.strip() for m in missing_codes.split(",") if m.strip()]
        if missing_codes
        else None,
        "episode_key": [k.strip() for k in episode_key.split(",") if k.strip()]
        if episode_key
        else None,
        "sheet": (int(sheet) if sheet.isdigit() else sheet) if sheet else None,
        "header_row": header_row,
        "skip_footer": skip_footer,
        "kind": kind,
    }
    return {k: v for k, v in out.items() if v is not None}


def export_option_decorators(func: Any) -> Any:
    """The command-line twins of the ``[input]`` keys (shared by ``report`` and ``check``)."""
    options = [
        click.option("--date-format", help="strptime format of the export's dates."),
        click.option("--encoding", help="Encoding of CSV exports (e.g. cp1252)."),
        click.option("--columns-json", type=click.Path(path_type=Path),
                     help="JSON: export column -> canonical column (optionally per table)."),
        click.option("--codes-json", type=click.Path(path_type=Path),
                     help="JSON: per column, export value -> canonical value."),
        click.option("--timepoints", help="The program's timepoints, comma-separated."),
        click.option("--missing-codes",
                     help="Codes read as missing, comma-separated; 'gpra' = -7,-8,-9."),
        click.option("--episode-key",
                     help="Export columns that together identify an episode, comma-separated."),
        click.option("--sheet", help="Excel sheet name or 0-based position."),
        click.option("--header-row", type=click.IntRange(min=1),
                     help="Row number of the header as the spreadsheet shows it."),
        click.option("--skip-footer", type=click.IntRange(min=0),
                     help="Footer lines below the data."),
        click.option("--calendar-kind", "kind", type=click.Choice(["daily", "screens"]),
                     help="What the use-days file is: daily records or urine screens."),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


@click.command("report")
@click.option("--episodes", type=click.Path(path_type=Path), help="Episodes file.")
@click.option("--followups", type=click.Path(path_type=Path), help="Follow-ups file.")
@click.option("--use-days", "use_days", type=click.Path(path_type=Path), help="Use-days file.")
@click.option("--services", type=click.Path(path_type=Path), help="Services (encounters) file.")
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
@export_option_decorators
def report(
    episodes: Path | None,
    followups: Path | None,
    use_days: Path | None,
    services: Path | None,
    quarter: str | None,
    config: Path | None,
    profile: str | None,
    formats: str,
    out: Path,
    demo: bool,
    no_progress: bool,
    **export: Any,
) -> None:
    """Write the quarterly outcome report (HTML, PDF, XLSX, CSV, JSON) into --out.

    Exit status: 0 written; 2 bad input or configuration; 3 suppression audit failed (nothing
    written); 4 the output folder could not be written.
    """
    code = run_report(
        episodes=episodes,
        followups=followups,
        use_days=use_days,
        services=services,
        quarter=quarter,
        config=config,
        profile=profile,
        formats=formats,
        out=out,
        demo=demo,
        progress=not no_progress,
        export_options=_cli_export_options(export),
    )
    raise SystemExit(code)


def _cli_export_options(export: dict[str, Any]) -> dict[str, Any]:
    from ..exceptions import IopOutcomesError

    try:
        return export_options(**export)
    except IopOutcomesError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(EXIT_INPUT) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command standalone (until it is registered in ``iopoutcomes.cli``)."""
    try:
        report.main(args=list(argv) if argv is not None else None, standalone_mode=True)
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int | None) else EXIT_INPUT
    return EXIT_OK
