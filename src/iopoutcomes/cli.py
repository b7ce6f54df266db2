"""Command-line interface: ``iopoutcomes validate | simulate | report | init | check``.

The CLI is thin: each command parses its options, calls the public API and prints. Errors the
library raises on purpose (:class:`~iopoutcomes.IopOutcomesError`) become one line
``error: ...`` on stderr and exit status 2, without a traceback; unexpected exceptions keep
an unexpected exception (a bug) becomes one line naming the command and the exception's type
(never its message, which may quote data) with exit status 1; ``iopoutcomes --debug ...``
shows its traceback instead. Exit status:

* 0: the command ran (``validate`` also when rows were rejected: they are reported);
* 1: ``validate --fail-on-reject`` found rejected rows, or ``--strict`` stopped at one; or an
  unexpected internal error;
* 2: a file or option problem (missing/unreadable file, missing column, bad option);
* 3: ``report``: the suppression audit failed (a small cell could be recovered), nothing written;
* 4: ``report``: the output folder could not be written.

Adding a command: define a function decorated with ``@cli.command()`` and
``@handle_errors`` (in that order), import what it needs inside the function (so
``iopoutcomes --help`` stays fast), and print with :func:`click.echo`.

Examples
--------
>>> from click.testing import CliRunner
>>> result = CliRunner().invoke(cli, ["--version"])
>>> result.output.startswith("iopoutcomes, version")
True
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__
from .exceptions import IopOutcomesError, ParameterError, RowValidationError

__all__ = [
    "EXIT_FILE_PROBLEM",
    "EXIT_INTERNAL",
    "EXIT_REJECTED",
    "cli",
    "handle_errors",
    "main",
]

EXIT_REJECTED = 1
"""Exit status when rows were rejected and the user asked to fail on that."""

EXIT_FILE_PROBLEM = 2
"""Exit status for file and option problems (also click's status for usage errors)."""

TABLE_PREFIXES: dict[str, tuple[str, ...]] = {
    "episodes": ("episode",),
    "followups": ("followup", "follow_up", "follow-up"),
    "use_days": ("use_day", "use-day", "useday"),
    "services": ("service", "encounter"),
}
"""A file belongs to a table when its name (lower case) starts with one of these prefixes."""

READABLE_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq", ".xlsx", ".xlsm", ".xls")

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(func: F) -> F:
    """Map the library's own errors to a one-line message on stderr and an exit status.

    ``RowValidationError`` (``--strict``) exits with :data:`EXIT_REJECTED`; every other
    :class:`~iopoutcomes.IopOutcomesError` with :data:`EXIT_FILE_PROBLEM`.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RowValidationError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_REJECTED)
        except IopOutcomesError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_FILE_PROBLEM)

    return wrapper  # type: ignore[return-value]


EXIT_INTERNAL = 1
"""Exit status when an unexpected exception (a bug) reached the command line."""

REPORT_BUGS = "please report it (the command you ran and the message, never your data)"


class _BoundaryGroup(click.Group):
    """The command group that turns any escaping exception into one line and exit status 1.

    A traceback can quote values from the records (a ``KeyError`` names the key, a pandas error
    the cell), so without ``--debug`` only the command and the exception's type are printed.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Abort, click.exceptions.Exit):
            raise
        except Exception as exc:
            if ctx.params.get("debug"):
                raise
            step = ctx.invoked_subcommand or "iopoutcomes"
            click.echo(
                f"error: iopoutcomes {step} stopped on an unexpected internal error "
                f"({type(exc).__name__}); this is a bug: {REPORT_BUGS}. Run again with "
                "--debug (iopoutcomes --debug ...) to see the traceback.",
                err=True,
            )
            sys.exit(EXIT_INTERNAL)


@click.group(cls=_BoundaryGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="iopoutcomes")
@click.option(
    "--debug",
    is_flag=True,
    help="Show the full traceback of an unexpected error (it may quote values from your data).",
)
def cli(debug: bool) -> None:
    """Treatment-outcomes analytics for IOP and inpatient substance-use programs."""
    from ._epoch import source_date

    try:
        source_date()  # a bad SOURCE_DATE_EPOCH is refused before any work, not after it
    except IopOutcomesError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_FILE_PROBLEM)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line (the ``iopoutcomes`` console script) and return the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (without the program name); ``sys.argv[1:]`` when not given.

    Returns
    -------
    int
        Exit status (see the module docstring).

    Examples
    --------
    >>> main(["--version"])  # doctest: +ELLIPSIS
    iopoutcomes, version ...
    0
    """
    try:
        cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="iopoutcomes",
            standalone_mode=True,
        )
    except SystemExit as exc:
        code = exc.code
        if code is None:
            return 0
        return code if isinstance(code, int) else EXIT_REJECTED
    return 0


# --- validate ------------------------------------------------------------------------------


def _table_of(path: Path) -> str | None:
    name = path.name.lower()
    for table, prefixes in TABLE_PREFIXES.items():
        if name.startswith(prefixes):
            return table
    return None


def collect_tables(files: Sequence[Path], explicit: dict[str, Path | None]) -> dict[str, Path]:
    """Assign files (or the readable files of folders) to tables by name.

    Parameters
    ----------
    files : sequence of Path
        Files and/or folders. In a folder, files whose names start with ``episodes``,
        ``followups``, ``use_days`` or ``services`` (or ``encounters``) are used and other
        files ignored; a file given by name must start with one of them.
    explicit : dict
        Table -> path given with ``--episodes/--followups/--use-days/--services`` (wins over
        names).

    Returns
    -------
    dict
        Table -> path; always has ``"episodes"``.

    Raises
    ------
    ParameterError
        A named file matches no table, two files match one table, or no episodes file.

    Examples
    --------
    >>> from pathlib import Path
    >>> collect_tables([Path("episodes_2025Q3.csv"), Path("followups.csv")], {})
    {'episodes': PosixPath('episodes_2025Q3.csv'), 'followups': PosixPath('followups.csv')}
    """
    found: dict[str, list[Path]] = {t: [] for t in TABLE_PREFIXES}
    for path in files:
        if path.is_dir():
            for child in sorted(path.iterdir()):
                table = _table_of(child)
                if table and child.is_file() and child.name.lower().endswith(READABLE_SUFFIXES):
                    found[table].append(child)
            continue
        table = _table_of(path)
        if table is None:
            raise ParameterError(
                f"Cannot tell which table {path.name!r} holds: file names must start with "
                "episodes, followups, use_days or services, or give the file with --episodes, "
                "--followups, --use-days or --services."
            )
        found[table].append(path)
    chosen: dict[str, Path] = {}
    for table, paths in found.items():
        if explicit.get(table) is not None:
            chosen[table] = Path(str(explicit[table]))
        elif len(paths) > 1:
            raise ParameterError(
                f"{len(paths)} files look like the {table} table "
                f"({', '.join(p.name for p in paths)}); give one with --{table.replace('_', '-')}."
            )
        elif paths:
            chosen[table] = paths[0]
    if "episodes" not in chosen:
        raise ParameterError(
            "No episodes file: give a folder holding episodes.csv (or .parquet/.xlsx), a file "
            "whose name starts with 'episodes', or --episodes PATH."
        )
    return {t: chosen[t] for t in TABLE_PREFIXES if t in chosen}


@cli.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--episodes", type=click.Path(path_type=Path), help="Episodes file.")
@click.option("--followups", type=click.Path(path_type=Path), help="Follow-ups file.")
@click.option("--use-days", "use_days", type=click.Path(path_type=Path), help="Use-days file.")
@click.option("--services", type=click.Path(path_type=Path), help="Services (encounters) file.")
@click.option("--date-format", help="strptime format of the dates (default ISO %Y-%m-%d).")
@click.option("--timepoints", help="Declared timepoint labels, comma-separated.")
@click.option("--encoding", default="utf-8", show_default=True, help="Encoding of CSV files.")
@click.option(
    "--columns-json",
    type=click.Path(path_type=Path),
    help="JSON file mapping source column names to canonical ones (read_records columns=).",
)
@click.option(
    "--codes-json",
    type=click.Path(path_type=Path),
    help="JSON file mapping source values to canonical ones per column (codes=).",
)
@click.option("--data-as-of", help="Date the data are complete up to (YYYY-MM-DD).")
@click.option("--strict", is_flag=True, help="Stop at the first rejected row (exit 1).")
@click.option("--fail-on-reject", is_flag=True, help="Exit 1 when any row is rejected.")
@click.option(
    "--rejected-out",
    type=click.Path(path_type=Path),
    help="Write the rejected rows (table, row number, column, reason; no values) to this CSV.",
)
@handle_errors
def validate(
    files: tuple[Path, ...],
    episodes: Path | None,
    followups: Path | None,
    use_days: Path | None,
    services: Path | None,
    date_format: str | None,
    timepoints: str | None,
    encoding: str,
    columns_json: Path | None,
    codes_json: Path | None,
    data_as_of: str | None,
    strict: bool,
    fail_on_reject: bool,
    rejected_out: Path | None,
) -> None:
    """Read and validate FILES (files or folders): counts per table and rejection reasons.

    Tables are recognised by file name (episodes*, followups*, use_days*, services*) or given
    with --episodes/--followups/--use-days/--services. Rows that do not fit the canonical format are counted
    by reason, never printed.
    """
    from .records import read_records
    from .schema import REJECTION_REASONS

    tables = collect_tables(
        files,
        {"episodes": episodes, "followups": followups, "use_days": use_days, "services": services},
    )
    labels = None
    if timepoints is not None:
        labels = [t.strip() for t in timepoints.split(",") if t.strip()]
    recs = read_records(
        tables["episodes"],
        tables.get("followups"),
        tables.get("use_days"),
        services=tables.get("services"),
        columns=read_json_option(columns_json, "--columns-json"),
        codes=read_json_option(codes_json, "--codes-json"),
        strict=strict,
        date_format=date_format,
        timepoints=labels,
        data_as_of=data_as_of,
        encoding=encoding,
    )
    summary = recs.summary()
    click.echo(recs._header())
    click.echo(summary.to_string(index=False))
    counts = recs.rejection_counts()
    if len(counts):
        click.echo("")
        click.echo("Rejected rows by reason:")
        width = max(len(str(r)) for r in counts["reason"])
        for row in counts.itertuples(index=False):
            click.echo(
                f"  {row.table:<10} {row.reason:<{width}} {row.count:>8,}  "
                f"{REJECTION_REASONS.get(str(row.reason), '')}"
            )
    as_of = "none" if recs.data_as_of is None else f"{recs.data_as_of:%Y-%m-%d}"
    click.echo("")
    click.echo(f"Data as of {as_of}; timepoints {', '.join(recs.timepoints)}.")
    if rejected_out is not None:
        Path(rejected_out).parent.mkdir(parents=True, exist_ok=True)
        recs.rejected.to_csv(rejected_out, index=False, lineterminator="\n")
        click.echo(f"Rejected rows written to {Path(rejected_out).name}.")
    if fail_on_reject and len(recs.rejected):
        click.echo(f"error: rows rejected: {len(recs.rejected):,} (--fail-on-reject).", err=True)
        sys.exit(EXIT_REJECTED)


# --- simulate ------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--n",
    "n",
    type=click.IntRange(min=1),
    default=2000,
    show_default=True,
    help="Number of treatment episodes.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option(
    "--instruments/--no-instruments",
    default=True,
    show_default=True,
    help="Add PHQ-9, GAD-7, BARC-10 and BAM item columns to the follow-ups (their own random "
    "stream: every other column is the same either way).",
)
@click.option(
    "--services",
    is_flag=True,
    help="Add a services table with step-down transitions after residential and inpatient "
    "discharges (its own random stream: the other files are the same, but episodes gain "
    "death_date).",
)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Output folder.")
@handle_errors
def simulate(n: int, seed: int, instruments: bool, services: bool, out: Path) -> None:
    """Write simulated IOP vs inpatient records with known truth as canonical CSV files.

    The same N and SEED always give byte-identical files.
    """
    from .simulate import simulate_records

    recs = simulate_records(n=n, seed=seed, instruments=instruments, services=services)
    written = recs.to_csv(out)
    for table, path in written.items():
        rows = len(getattr(recs, table))
        click.echo(f"{path.name}: {rows:,} rows")
    click.echo(f"Wrote {len(written)} files to {out}.")


# --- init / check (a guided first run on an agency's own exports) ---------------------------


@cli.command("init")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True, help="TOML file to write.")
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
@handle_errors
def init_command(files: tuple[Path, ...], out: Path, force: bool) -> None:
    """Propose a configuration for EXPORT FILES: headers, mapping, value codes.

    Prints counts only (never a value of an identifier or date column) and writes --out with
    every guess commented and every value it could not map listed.
    """
    from .proposal import propose_input

    if Path(out).exists() and not force:
        raise ParameterError(f"--out: {Path(out).name!r} exists; use --force to overwrite it.")
    proposal = propose_input(list(files))
    click.echo(proposal.describe())
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(proposal.to_toml(), encoding="utf-8")
    click.echo("")
    click.echo(
        f"Wrote {Path(out).name}: review the lines marked GUESS and UNMAPPED, then run "
        f"`iopoutcomes check --config {Path(out).name}`."
    )


@cli.command("check")
@click.option("--config", type=click.Path(path_type=Path), required=True, help="TOML file.")
@click.option("--data-as-of", help="Date the data are complete up to (YYYY-MM-DD).")
@click.option(
    "--rejected-out",
    type=click.Path(path_type=Path),
    help="Write the rejected rows (file, row number, column, reason; no values) to this CSV.",
)
@handle_errors
def check_command(config: Path, data_as_of: str | None, rejected_out: Path | None) -> None:
    """Show what --config's [input] would read, accept and reject per table (no report)."""
    from .exports import read_exports
    from .report.config import load_config
    from .report.program import check_program, program_definition
    from .schema import EXPORT_REJECTION_REASONS, REJECTION_REASONS

    settings = load_config(config)
    inp = settings.export_input()
    if inp is None:
        raise ParameterError(
            f"--config: {Path(config).name!r} has no [input] section; `iopoutcomes init` "
            "proposes one."
        )
    recs = read_exports(inp, data_as_of=data_as_of)
    click.echo(recs.summary().to_string(index=False))
    counts = recs.rejection_counts()
    meaning = {**REJECTION_REASONS, **EXPORT_REJECTION_REASONS}
    if len(counts):
        click.echo("")
        click.echo("Rejected rows by reason:")
        for row in counts.itertuples(index=False):
            click.echo(
                f"  {row.table:<10} {row.reason:<28} {row.count:>8,}  "
                f"{meaning.get(str(row.reason), '')}"
            )
    for remark in recs.remarks:
        click.echo(f"note: {remark}")
    from .definitions import OutcomeDefinition

    definition = program_definition(settings, OutcomeDefinition.from_dict(settings.definition))
    check_program(recs, definition, settings, None)
    click.echo("")
    click.echo(
        f"Timepoints {', '.join(definition.timepoints)}; calendar {definition.calendar}; data "
        f"as of {'none' if recs.data_as_of is None else f'{recs.data_as_of:%Y-%m-%d}'}."
    )
    if rejected_out is not None:
        Path(rejected_out).parent.mkdir(parents=True, exist_ok=True)
        recs.rejected.to_csv(rejected_out, index=False, lineterminator="\n")
        click.echo(f"Rejected rows written to {Path(rejected_out).name}.")


# --- report --------------------------------------------------------------------------------

# The command lives in iopoutcomes.report.command (it maps the report's own errors, including
# the suppression audit, to the exit statuses above); importing it only imports click.
from .report.command import read_json_option  # noqa: E402
from .report.command import report as _report  # noqa: E402

cli.add_command(_report)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
