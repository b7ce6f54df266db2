"""Report configuration: a validated TOML file with documented defaults.

Every number a quarterly report depends on (definitions, windows, denominators, suppression
threshold, targets, benchmarks, margin, adjustment covariates, site grouping, quarters) is a
setting here, so a report is reproducible from its inputs plus this file, and the file's hash
goes into the reproducibility stamp.

Example ``report.toml`` (every key optional; the values shown are the defaults)::

    [report]
    title = "Quarterly treatment outcome report"
    program = ""
    profile = "funder"            # public | funder | internal
    fiscal_year_start_month = 1   # 1 = calendar quarters; 7 = fiscal year starting in July
    lookback_quarters = 4         # outcome cohort: windows closed in the last 4 quarters
    trend_quarters = 12           # quarters shown on trend / SPC charts (8-12)
    reference_cohort = "inpatient"
    primary_timepoint = "6mo"

    [definition]                  # iopoutcomes.OutcomeDefinition settings
    missing = "using"

    [privacy]
    k = 11                        # counts 1..k-1 are suppressed (CMS rule: no cell of 1-10)
    min_denominator = 30          # rates with fewer cases are not printed (NCHS practice)
    hashes = "auto"               # input-file hashes: full | short (12 hex) | none;
                                  # auto = short in the public profile, full otherwise
    pseudonym_seed = 0            # public site labels are numbered in a random order seeded
                                  # by this number: set a private one so the order cannot
                                  # be replayed by someone who knows the site names

    [targets]
    followup_rate = 0.80          # SAMHSA CSAT GPRA follow-up target

    [comparison]
    margin = 0.10                 # equivalence margin, in proportion units (10 points)
    adjust = []                   # case-mix covariates, e.g. ["age", "sex", "severity"]
    primary = ""                  # "adjusted" | "unadjusted"; default: adjusted when
                                  # covariates are configured (the headline comes from it)

    [sites]
    column = "site"
    groups = {}                   # optional pooling, e.g. {"Site A" = "North"}

    [[benchmarks]]                # default: McCarty et al. 2014, 50-70% abstinence
    name = "..."
    low = 0.5
    high = 0.7
    citation = "..."
    year = 2014

    [input]                       # optional: read the agency's own exports (see
    missing_codes = "gpra"        # iopoutcomes.exports; `iopoutcomes init` writes this part)
    timepoints = ["intake", "discharge", "6mo"]
    [input.episodes]
    files = "admissions.xlsx"
    header_row = 4
    columns = {"Client ID" = "patient_id"}

    [measures]                    # standardized instruments in the follow-ups (PHQ-9, GAD-7,
    bam_version = ""              # BARC-10 found by their item columns); BAM needs its version:
                                  # "likert" (VA BAM-R, items 0-4) or "days" (items 0-30)

    [costs]                       # optional: the "Cost per outcome" section (issue 19); one of
    price_year = 2024             # [costs.units], preset or column; see iopoutcomes.costs
    currency = "USD"
    perspective = "provider"
    includes = "staff, facilities, medication"   # what the costs cover (printed)
    wtp = 0                       # willingness to pay per additional abstinent client (0: none)
    preset = ""                   # literature unit costs, e.g. "datcap_2001" (dated, sourced)
    column = ""                   # or a per-episode cost column, with column_price_year
    [costs.units]                 # or the program's own unit costs by level of care
    IOP = {amount = 95, per = "day", price_year = 2024, source = "program budget FY2024"}

    [[changelog]]                 # optional: definition / instrument changes, printed in the
    date = "2023-01-21"           # methods appendix; a change inside the trend window starts
    version = "2"                 # a new SPC phase (e.g. the new CSAT GPRA tool)
    description = "New CSAT GPRA tool"
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date
from pathlib import Path
from typing import Any, ClassVar, Literal

from ..exceptions import ConfigError, FileReadError

__all__ = ["BenchmarkSetting", "ChangeEntry", "ReportConfig", "load_config"]

Profile = Literal["public", "funder", "internal"]
PROFILES: tuple[str, ...] = ("public", "funder", "internal")


@dataclass(frozen=True)
class BenchmarkSetting:
    """A literature or contract benchmark shown on outcome charts (always with its source)."""

    name: str
    low: float
    high: float
    citation: str
    year: int
    measure: str = "abstinent at first follow-up"


@dataclass(frozen=True)
class ChangeEntry:
    """A definition or instrument change: when (ISO date), the new version, and what changed."""

    date: str
    version: str
    description: str


@dataclass(frozen=True)
class ReportConfig:
    """All settings of a quarterly report (see the module docstring for the TOML layout).

    Examples
    --------
    >>> cfg = ReportConfig.from_dict({"privacy": {"k": 11}, "comparison": {"margin": 0.1}})
    >>> cfg.k, cfg.margin, cfg.profile
    (11, 0.1, 'funder')
    >>> len(cfg.hash())
    64
    """

    title: str = "Quarterly treatment outcome report"
    program: str = ""
    profile: Profile = "funder"
    fiscal_year_start_month: int = 1
    lookback_quarters: int = 4
    trend_quarters: int = 12
    reference_cohort: str = "inpatient"
    primary_timepoint: str = "6mo"
    definition: Mapping[str, Any] = field(default_factory=dict)
    k: int = 11
    min_denominator: int = 30
    followup_target: float = 0.80
    margin: float = 0.10
    adjust: tuple[str, ...] = ()
    site_column: str = "site"
    site_groups: Mapping[str, str] = field(default_factory=dict)
    benchmarks: tuple[BenchmarkSetting, ...] = ()
    changelog: tuple[ChangeEntry, ...] = ()
    input: Mapping[str, Any] = field(default_factory=dict)
    costs: Mapping[str, Any] = field(default_factory=dict)
    input_base: str = ""  # folder of the config file: [input] paths are relative to it
    bam_version: str = ""
    primary_analysis: str = ""
    hashes: str = "auto"
    pseudonym_seed: int = 0

    # TOML section -> {toml key: attribute}
    _LAYOUT: ClassVar[dict[str, dict[str, str]]] = {
        "report": {
            "title": "title",
            "program": "program",
            "profile": "profile",
            "fiscal_year_start_month": "fiscal_year_start_month",
            "lookback_quarters": "lookback_quarters",
            "trend_quarters": "trend_quarters",
            "reference_cohort": "reference_cohort",
            "primary_timepoint": "primary_timepoint",
        },
        "privacy": {
            "k": "k",
            "min_denominator": "min_denominator",
            "hashes": "hashes",
            "pseudonym_seed": "pseudonym_seed",
        },
        "targets": {"followup_rate": "followup_target"},
        "comparison": {"margin": "margin", "adjust": "adjust", "primary": "primary_analysis"},
        "sites": {"column": "site_column", "groups": "site_groups"},
        "measures": {"bam_version": "bam_version"},
    }

    def __post_init__(self) -> None:
        problems: list[str] = []
        if self.profile not in PROFILES:
            problems.append(f"report.profile must be one of {list(PROFILES)}")
        if not 1 <= self.fiscal_year_start_month <= 12:
            problems.append("report.fiscal_year_start_month must be a month number 1..12")
        if not 1 <= self.lookback_quarters <= 12:
            problems.append("report.lookback_quarters must be between 1 and 12")
        if not 2 <= self.trend_quarters <= 40:
            problems.append("report.trend_quarters must be between 2 and 40")
        if not 2 <= self.k <= 100:
            problems.append("privacy.k must be between 2 and 100 (default 11)")
        if self.min_denominator < 1:
            problems.append("privacy.min_denominator must be a positive whole number")
        if self.hashes not in ("auto", "full", "short", "none"):
            problems.append('privacy.hashes must be "auto", "full", "short" or "none"')
        if not 0 < self.followup_target <= 1:
            problems.append("targets.followup_rate must be a proportion in (0, 1]")
        if not 0 < self.margin < 1:
            problems.append("comparison.margin must be a proportion in (0, 1), e.g. 0.10")
        if self.primary_analysis not in ("", "adjusted", "unadjusted"):
            problems.append('comparison.primary must be "adjusted" or "unadjusted"')
        elif self.primary_analysis == "adjusted" and not self.adjust:
            problems.append(
                'comparison.primary = "adjusted" needs case-mix covariates in comparison.adjust'
            )
        for b in self.benchmarks:
            if not 0 <= b.low <= b.high <= 1:
                problems.append(f"benchmark {b.name!r} needs 0 <= low <= high <= 1")
        for c in self.changelog:
            try:
                date.fromisoformat(c.date)
            except ValueError:
                problems.append("each [[changelog]] date must be an ISO date (YYYY-MM-DD)")
        if self.bam_version not in ("", "likert", "days"):
            problems.append(
                'measures.bam_version must be "likert" or "days" (the BAM version your '
                "program uses; the two score differently)"
            )
        if problems:
            raise ConfigError("Invalid report configuration: " + "; ".join(problems) + ".")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "config") -> ReportConfig:
        """Build a config from a parsed TOML mapping, rejecting unknown sections and keys."""
        kwargs: dict[str, Any] = {}
        known_sections = {*cls._LAYOUT, "definition", "benchmarks", "changelog", "input", "costs"}
        for section, content in data.items():
            if section not in known_sections:
                raise ConfigError(
                    f"{source}: unknown section [{section}]. "
                    f"Valid sections: {sorted(known_sections)}."
                )
            if section == "definition":
                if not isinstance(content, Mapping):
                    raise ConfigError(f"{source}: [definition] must be a table of settings.")
                kwargs["definition"] = dict(content)
                continue
            if section == "input":
                from ..exports import ExportInput

                ExportInput.from_dict(content, source=source)  # errors name the setting
                kwargs["input"] = dict(content)
                continue
            if section == "costs":
                from ..costs import CostSettings

                CostSettings.from_mapping(content, source=source)  # errors name the key
                kwargs["costs"] = dict(content)
                continue
            if section == "benchmarks":
                kwargs["benchmarks"] = tuple(_benchmark(b, source) for b in _as_list(content))
                continue
            if section == "changelog":
                kwargs["changelog"] = tuple(_change(c, source) for c in _as_list(content))
                continue
            if not isinstance(content, Mapping):
                raise ConfigError(f"{source}: [{section}] must be a table of key = value lines.")
            layout = cls._LAYOUT[section]
            for key, value in content.items():
                if key not in layout:
                    raise ConfigError(
                        f"{source}: unknown key {key!r} in [{section}]. "
                        f"Valid keys: {sorted(layout)}."
                    )
                kwargs[layout[key]] = _coerce(layout[key], value, f"{section}.{key}", source)
        return cls(**kwargs)

    @property
    def primary(self) -> str:
        """The primary analysis of the cohort comparison: ``comparison.primary`` when set,
        otherwise "adjusted" whenever case-mix covariates are configured, else "unadjusted".

        >>> ReportConfig().primary, ReportConfig(adjust=("age",)).primary
        ('unadjusted', 'adjusted')
        """
        if self.primary_analysis:
            return self.primary_analysis
        return "adjusted" if self.adjust else "unadjusted"

    def to_dict(self) -> dict[str, Any]:
        """The config as plain data (TOML/JSON compatible), used for hashing and the stamp."""
        out = asdict(self)
        out["adjust"] = list(self.adjust)
        out["benchmarks"] = [asdict(b) for b in self.benchmarks]
        out["changelog"] = [asdict(c) for c in self.changelog]
        out["site_groups"] = dict(self.site_groups)
        out["definition"] = dict(self.definition)
        out.pop("input_base")  # where the file lies is not a setting (the hash ignores it)
        if not self.input:
            out.pop("input")
        if not self.costs:
            out.pop("costs")  # configs without costs keep their hash
        else:
            out["costs"] = dict(self.costs)
        return out

    def cost_settings(self) -> Any:
        """The ``[costs]`` table as :class:`~iopoutcomes.costs.CostSettings` (None if absent).

        >>> ReportConfig().cost_settings() is None
        True
        """
        if not self.costs:
            return None
        from ..costs import CostSettings

        return CostSettings.from_mapping(self.costs)

    def export_input(self) -> Any:
        """The ``[input]`` section as :class:`~iopoutcomes.exports.ExportInput` (None if absent).

        Examples
        --------
        >>> ReportConfig().export_input() is None
        True
        """
        if not self.input:
            return None
        from ..exports import ExportInput

        return ExportInput.from_dict(self.input, base_dir=self.input_base or ".")

    def hash(self) -> str:
        """SHA-256 of the canonical JSON form of the settings (stamped on every report)."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()


def _as_list(content: Any) -> list[Any]:
    return list(content) if isinstance(content, list) else [content]


def _benchmark(raw: Any, source: str) -> BenchmarkSetting:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: each [[benchmarks]] entry must be a table.")
    names = {f.name for f in fields(BenchmarkSetting)}
    unknown = set(raw) - names
    if unknown:
        raise ConfigError(
            f"{source}: unknown key(s) {sorted(unknown)} in [[benchmarks]]. Valid: {sorted(names)}."
        )
    try:
        return BenchmarkSetting(
            name=str(raw["name"]),
            low=float(raw["low"]),
            high=float(raw["high"]),
            citation=str(raw["citation"]),
            year=int(raw["year"]),
            measure=str(raw.get("measure", "abstinent at first follow-up")),
        )
    except KeyError as exc:
        raise ConfigError(
            f"{source}: a [[benchmarks]] entry lacks {exc.args[0]!r}; every benchmark needs "
            "name, low, high, citation and year (a benchmark is never shown without its source)."
        ) from None
    except (TypeError, ValueError):
        raise ConfigError(
            f"{source}: [[benchmarks]] low/high must be numbers and year a whole number."
        ) from None


def _change(raw: Any, source: str) -> ChangeEntry:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: each [[changelog]] entry must be a table.")
    names = {f.name for f in fields(ChangeEntry)}
    unknown = set(raw) - names
    missing = names - set(raw)
    if unknown or missing:
        raise ConfigError(
            f"{source}: a [[changelog]] entry needs exactly the keys {sorted(names)}; "
            f"unknown {sorted(unknown)}, missing {sorted(missing)}."
        )
    return ChangeEntry(
        date=str(raw["date"]), version=str(raw["version"]), description=str(raw["description"])
    )


_EXPECTED: dict[str, tuple[type, ...]] = {
    "title": (str,),
    "program": (str,),
    "profile": (str,),
    "fiscal_year_start_month": (int,),
    "lookback_quarters": (int,),
    "trend_quarters": (int,),
    "reference_cohort": (str,),
    "primary_timepoint": (str,),
    "k": (int,),
    "min_denominator": (int,),
    "followup_target": (int, float),
    "margin": (int, float),
    "adjust": (list,),
    "primary_analysis": (str,),
    "site_column": (str,),
    "site_groups": (dict,),
    "bam_version": (str,),
    "hashes": (str,),
    "pseudonym_seed": (int,),
}


def _coerce(attribute: str, value: Any, where: str, source: str) -> Any:
    expected = _EXPECTED[attribute]
    if isinstance(value, bool) or not isinstance(value, expected):
        names = " or ".join(t.__name__ for t in expected)
        raise ConfigError(f"{source}: {where} must be {names}; got {type(value).__name__}.")
    checked: Any = value  # isinstance against a tuple of types narrows to object for mypy
    if attribute == "adjust":
        if not all(isinstance(v, str) for v in checked):
            raise ConfigError(f"{source}: {where} must be a list of column names.")
        return tuple(checked)
    if attribute in ("followup_target", "margin"):
        return float(checked)
    return checked


def load_config(path: str | Path | None) -> ReportConfig:
    """Read and validate a TOML report configuration; ``None`` gives the defaults.

    Raises
    ------
    FileReadError
        The file is missing or unreadable.
    ConfigError
        The TOML is invalid or a setting is unknown or out of range (the message names it).

    Examples
    --------
    >>> load_config(None).k
    11
    """
    if path is None:
        return ReportConfig()
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise FileReadError(f"Report configuration {path.name!r} was not found.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FileReadError(
            f"Report configuration {path.name!r} could not be read as UTF-8 text "
            f"({type(exc).__name__})."
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name}: not valid TOML ({exc}).") from None
    config = ReportConfig.from_dict(data, source=path.name)
    if config.input:
        config = replace(config, input_base=str(path.resolve().parent))
    return config
