"""Privacy across the whole report (iopoutcomes.report.disclosure).

The cross-table attack here is written from the published files only (CSV tables and
report.json) and from what every reader knows about the report's definitions (due = in window +
out of window + not conducted; the lookback quarters add up to the cohort totals; the sites add
up to the total; complete-case n <= in window + out of window; ...). It shares no code with the
suppression: it is the outsider's linear program, and every hidden count must keep at least k
feasible values in it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

import iopoutcomes as iop
from iopoutcomes.report.disclosure import control_covariates, site_pseudonyms
from iopoutcomes.report.folder import MARKER, staged_folder

FORMATS = ("html", "xlsx", "csv", "json")


# --- the outsider's attack ----------------------------------------------------------------------


class Attack:
    """Cells of the published tables as LP variables, with identities declared per table type."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.document = json.loads((folder / "report.json").read_text())
        self.k = int(self.document["stamp"]["k"])
        self.names: dict[str, int] = {}
        self.value: list[float | None] = []
        self.eq: list[dict[int, float]] = []
        self.le: list[dict[int, float]] = []
        self.derived: set[int] = set()  # sums the report never prints as a cell of its own

    def table(self, key: str) -> pd.DataFrame | None:
        path = self.folder / f"{key}.csv"
        return pd.read_csv(path, keep_default_na=False, na_values=[""]) if path.exists() else None

    def sum_of(self, name: str, value: Any = None) -> int:
        """A derived sum (printed or blank); checked only for exact small values."""
        j = self.var(name, value)
        self.derived.add(j)
        return j

    def var(self, name: str, value: Any = None) -> int:
        """A count cell; ``value`` None = hidden (published empty)."""
        known = None if value is None or pd.isna(value) else float(value)
        if name not in self.names:
            self.names[name] = len(self.value)
            self.value.append(known)
        elif known is not None:
            j = self.names[name]
            assert self.value[j] in (None, known), f"{name} published twice with two values"
            self.value[j] = known
        return self.names[name]

    def equal(self, left: list[int], right: list[int]) -> None:
        row: dict[int, float] = {}
        for j in left:
            row[j] = row.get(j, 0.0) + 1.0
        for j in right:
            row[j] = row.get(j, 0.0) - 1.0
        self.eq.append(row)

    def at_most(self, left: list[int], right: list[int]) -> None:
        row: dict[int, float] = {}
        for j in left:
            row[j] = row.get(j, 0.0) + 1.0
        for j in right:
            row[j] = row.get(j, 0.0) - 1.0
        self.le.append(row)

    def from_rate(self, count: int, rate: Any, n: Any) -> None:
        """A hidden count next to a published rate and denominator is their product."""
        if self.value[count] is None and not pd.isna(rate) and not pd.isna(n):
            self.value[count] = float(round(float(rate) * float(n)))

    # -- declared identities --------------------------------------------------------------

    def build(self) -> Attack:
        stamp = self.document["stamp"]
        lookback = _quarters(stamp["lookback"])
        flow = self.table("flow_followup")
        parts = ("conducted_in_window", "conducted_out_of_window", "not_conducted")
        if flow is not None:
            for _, r in flow.iterrows():
                g = "All" if r["cohort"] == "All" else r["cohort"]
                due = self.var(f"due|{g}", r["due"])
                cells = [self.var(f"{p}|{g}", r[p]) for p in parts]
                self.equal([due], cells)
                self.from_rate(cells[0], r["rate"], r["due"])
            cohorts = [c for c in flow["cohort"] if c != "All"]
            for p in ("due", *parts):
                self.equal([self.var(f"{p}|All")], [self.var(f"{p}|{c}") for c in cohorts])
        by_cohort = self.table("followup_by_cohort")
        if by_cohort is not None:
            for _, r in by_cohort.iterrows():
                self.var(f"due|{r['cohort']}", r["due"])
                j = self.var(f"conducted_in_window|{r['cohort']}", r["conducted_in_window"])
                self.from_rate(j, r["rate"], r["due"])
        sites = self.table("followup_by_site")
        if sites is not None:
            rows = sites.loc[sites["site"] != "All"]
            for _, r in sites.iterrows():
                g = "All" if r["site"] == "All" else f"site:{r['site']}"
                due, inw = (
                    self.var(f"due|{g}", r["due"]),
                    self.var(f"conducted_in_window|{g}", r["conducted_in_window"]),
                )
                self.at_most([inw], [due])
                self.from_rate(inw, r["rate"], r["due"])
            for p in ("due", "conducted_in_window"):
                self.equal(
                    [self.var(f"{p}|All")], [self.var(f"{p}|site:{s}") for s in rows["site"]]
                )
        quarters = self.table("followup_by_quarter")
        if quarters is not None:
            for _, r in quarters.iterrows():
                due = self.var(f"due|q:{r['quarter']}", r["due"])
                inw = self.var(f"conducted_in_window|q:{r['quarter']}", r["conducted_in_window"])
                self.at_most([inw], [due])
                self.from_rate(inw, r["rate"], r["due"])
            inside = [q for q in quarters["quarter"] if q in lookback]
            for p in ("due", "conducted_in_window"):
                self.equal([self.var(f"{p}|All")], [self.var(f"{p}|q:{q}") for q in inside])
        for kind, n_name, x_name in (
            ("followup", "due", "conducted_in_window"),
            ("abstinence", "abst_n", "abstinent"),
        ):
            trend = self.table(f"trend_{kind}")
            if trend is None:
                continue
            for _, r in trend.iterrows():
                n = self.var(f"{n_name}|q:{r['quarter']}", r["n"])
                x = self.var(f"{x_name}|q:{r['quarter']}", r["n_events"])
                self.at_most([x], [n])
                self.from_rate(x, r["rate"], r["n"])
            if kind == "abstinence":
                inside = [q for q in trend["quarter"] if q in lookback]
                for name in (n_name, x_name):
                    self.equal(
                        [self.var(f"{name}|primary")], [self.var(f"{name}|q:{q}") for q in inside]
                    )
        primary = str(stamp.get("primary_timepoint", "6mo"))
        provisional = str(stamp.get("data_as_of", "")).endswith(str(stamp.get("period")))
        abst = self.table("abstinence")
        if abst is not None:
            for tp, rows in abst.groupby("timepoint"):
                names = []
                for _, r in rows.iterrows():
                    g = f"{tp}|{r['cohort']}"
                    n = self.var(f"abst_n|{g}", r["n"])
                    yes = self.var(f"abstinent|{g}", r["abstinent"])
                    miss = self.var(f"abst_missing|{g}", r["missing"])
                    cc = self.sum_of(f"cc_n|{g}", r["complete_case_n"])
                    self.equal([n], [cc, miss])
                    self.at_most([yes], [cc])
                    self.from_rate(yes, r["rate"], r["n"])
                    self.from_rate(yes, r["complete_case_rate"], r["complete_case_n"])
                    names.append(r["cohort"])
                    if tp == primary:
                        # the outcome cohort is the follow-up cohort: n = due; an observed
                        # outcome needs a completed interview
                        self.equal([n], [self.var(f"due|{r['cohort']}")])
                        self.at_most(
                            [cc],
                            [
                                self.var(f"conducted_in_window|{r['cohort']}"),
                                self.var(f"conducted_out_of_window|{r['cohort']}"),
                            ],
                        )
                if tp == primary:
                    for name in ("abst_n", "abstinent"):
                        self.equal(
                            [self.sum_of(f"{name}|primary")],
                            [self.var(f"{name}|{tp}|{c}") for c in names],
                        )
        ow = self.table("out_of_window")
        if ow is not None:
            for _, r in ow.iterrows():
                tp = r["timepoint"]
                done = self.var(f"completed|{tp}", r["completed"])
                inw = self.var(f"ow_in|{tp}", r["in_window"])
                out = self.var(f"ow_out|{tp}", r["out_of_window"])
                self.equal([done], [inw, out])
                if tp == primary:
                    self.equal([inw], [self.var("conducted_in_window|All")])
                    self.equal([out], [self.var("conducted_out_of_window|All")])
        miss = self.table("missingness")
        if miss is not None:
            for _, r in miss.iterrows():
                n = self.var(f"interviews|{r['item']}", r["interviews"])
                m = self.var(f"item_missing|{r['item']}", r["missing"])
                self.at_most([m], [n])
                self.from_rate(m, r["missing_pct"], r["interviews"])
                if provisional:
                    # the quarter is not over: interviews already done in a window that is
                    # still open are counted here but are not due yet (not in the flow)
                    self.at_most([self.var(f"completed|{primary}")], [n])
                else:
                    self.equal([n], [self.var(f"completed|{primary}")])
        site_table = self.table("sites")
        if site_table is not None:
            n_all = [
                self.var(f"site_n|{s}", v)
                for s, v in zip(site_table["site"], site_table["n"], strict=True)
            ]
            x_all = [
                self.var(f"site_x|{s}", v)
                for s, v in zip(site_table["site"], site_table["n_events"], strict=True)
            ]
            for n, x, rate, den in zip(
                n_all, x_all, site_table["rate"], site_table["n"], strict=True
            ):
                self.at_most([x], [n])
                self.from_rate(x, rate, den)
            self.equal([self.var("abst_n|primary")], n_all)
            self.equal([self.var("abstinent|primary")], x_all)
        rb = self.table("retention_bias")
        if rb is not None:
            for cov, rows in rb.groupby("covariate"):
                if (rows["level"] == "mean").all():
                    r = rows.iloc[0]
                    f = self.var("rb_followed", r["followed_n"])
                    nf = self.var("rb_not_followed", r["not_followed_n"])
                    continue
                f_levels = []
                n_levels = []
                for _, r in rows.iterrows():
                    f_levels.append(self.var(f"rb|{cov}|{r['level']}|f", r["followed_n"]))
                    n_levels.append(self.var(f"rb|{cov}|{r['level']}|n", r["not_followed_n"]))
                self.at_most(f_levels, [self.var("rb_followed")])
                self.at_most(n_levels, [self.var("rb_not_followed")])
            f, nf = self.var("rb_followed"), self.var("rb_not_followed")
            self.equal([f], [self.var("conducted_in_window|All")])
            self.equal([f, nf], [self.var("due|All")])
        milestones = self.table("milestones")
        if milestones is not None:
            for _, r in milestones.iterrows():
                g = f"{r['outcome']}|{r['cohort']}"
                episodes = self.var(f"ms_episodes|{r['cohort']}", r["episodes"])
                known = self.sum_of(f"ms_known|{g}", r["known"])
                met = self.var(f"ms_met|{g}", r["met"])
                self.at_most([known], [episodes])
                self.at_most([met], [known])
                self.from_rate(met, r["rate"], r["known"])
        fq = self.table("flow_quarter")
        if fq is not None:
            cols = [c for c in fq.columns if c not in ("cohort", "suppressed")]
            cohorts = [c for c in fq["cohort"] if c != "Total"]
            for _, r in fq.iterrows():
                for c in cols:
                    self.var(f"fq|{c}|{r['cohort']}", r[c])
            for c in cols:
                self.equal([self.var(f"fq|{c}|Total")], [self.var(f"fq|{c}|{g}") for g in cohorts])
        return self

    # -- the linear program ---------------------------------------------------------------

    def ranges(self) -> pd.DataFrame:
        n = len(self.value)
        hidden = [j for j, v in enumerate(self.value) if v is None]
        bounds = [(1.0, None) if v is None else (v, v) for v in self.value]

        def dense(rows: list[dict[int, float]]) -> np.ndarray | None:
            if not rows:
                return None
            out = np.zeros((len(rows), n))
            for i, row in enumerate(rows):
                for j, c in row.items():
                    out[i, j] = c
            return out

        a_eq, a_ub = dense(self.eq), dense(self.le)
        out = []
        names = {j: name for name, j in self.names.items()}
        # every hidden cell, and every derived sum the files leave blank
        for j in hidden:
            ends = []
            for sign in (1.0, -1.0):
                c = np.zeros(n)
                c[j] = sign
                res = linprog(
                    c,
                    A_eq=a_eq,
                    b_eq=None if a_eq is None else np.zeros(len(a_eq)),
                    A_ub=a_ub,
                    b_ub=None if a_ub is None else np.zeros(len(a_ub)),
                    bounds=bounds,
                    method="highs",
                )
                assert res.status in (0, 3), f"attack LP failed ({res.status}) for {names[j]}"
                ends.append(np.inf if res.status == 3 else sign * res.fun)
            lo, hi = ends
            width = np.inf if not np.isfinite(hi) else np.floor(hi + 1e-7) - np.ceil(lo - 1e-7) + 1
            out.append(
                {
                    "cell": names[j],
                    "lower": lo,
                    "upper": hi,
                    "values": width,
                    "derived": j in self.derived,
                }
            )
        return pd.DataFrame(out, columns=["cell", "lower", "upper", "values", "derived"])

    def disclosed(self) -> pd.DataFrame:
        """Hidden cells narrowed below k values, and blank sums pinned to a small count."""
        r = self.ranges()
        cell = ~r["derived"] & (r["values"] < self.k)
        small_sum = r["derived"] & (r["values"] == 1) & (r["lower"] > 0.5) & (r["lower"] < self.k)
        return r.loc[cell | small_sum]


def _quarters(text: str) -> set[str]:
    found = re.findall(r"(\d{4})Q(\d)", text)
    if len(found) == 1:
        return {f"{found[0][0]}Q{found[0][1]}"}
    (y0, q0), (y1, q1) = found[0], found[-1]
    out = set()
    y, q = int(y0), int(q0)
    while (y, q) <= (int(y1), int(q1)):
        out.add(f"{y}Q{q}")
        y, q = (y + 1, 1) if q == 4 else (y, q + 1)
    return out


# --- reports under attack -----------------------------------------------------------------------


CASES = ["sample_2026Q2", "sample_2026Q3", "sim150", "sim300", "sim600"]


@pytest.fixture(scope="module")
def reports(
    tmp_path_factory: pytest.TempPathFactory, sample_report: iop.QuarterlyReport
) -> dict[str, tuple[Any, Path]]:
    """The sample report (the CLI demo's quarters; 2026Q2 shared from conftest.py) and small
    simulated programs, written to CSV/JSON."""
    out = {}
    built: dict[str, Any] = {
        "sample_2026Q2": sample_report,
        "sample_2026Q3": iop.quarterly_report(iop.load_sample(), "2026Q3", progress=False),
    }
    for n in (150, 300, 600):
        sim = iop.simulate_records(n=n, seed=n)
        built[f"sim{n}"] = iop.quarterly_report(sim, None, progress=False)
    for name, report in built.items():
        folder = tmp_path_factory.mktemp(name)
        report.write(folder, ("csv", "json"))
        out[name] = (report, folder)
    return out


@pytest.fixture(scope="module")
def published(reports: dict[str, tuple[Any, Path]]) -> dict[str, Path]:
    return {name: folder for name, (_, folder) in reports.items()}


@pytest.mark.parametrize("case", CASES)
def test_cross_table_attack_on_published_files(published: dict[str, Path], case: str) -> None:
    attack = Attack(published[case]).build()
    ranges = attack.ranges()
    assert (~ranges["derived"]).sum() > 0, "nothing hidden: the attack would test nothing"
    narrow = attack.disclosed()
    assert narrow.empty, f"hidden counts narrowed below k={attack.k}:\n{narrow.to_string()}"


def _tiles(report: Any) -> dict[str, str]:
    return {kpi.label: kpi.value for kpi in report.sections[1].kpis}


@pytest.mark.parametrize("case", ["sample_2026Q2", "sample_2026Q3"])
def test_headline_tiles_of_the_demo_quarters_are_published(
    reports: dict[str, tuple[Any, Path]], case: str
) -> None:
    # The demo's 6-month out-of-window counts (2026Q2: 8 IOP, 2 inpatient) are small and tie
    # the follow-up flow to the abstinence and interview tables. Their protection costs a few
    # not-conducted / missing / not-abstinent cells; the headline rates' numerators and
    # denominators stay published (the selection hides them only when nothing else works).
    report, folder = reports[case]
    tiles = _tiles(report)
    follow = [v for label, v in tiles.items() if label.endswith("follow-up rate")]
    abstinent = [v for label, v in tiles.items() if label.startswith("Abstinent at")]
    assert len(follow) == 1 and len(abstinent) == 2, tiles
    assert all(re.fullmatch(r"\d+(\.\d)?%", v) for v in follow + abstinent), tiles
    # and the tile is the published count over the published denominator
    flow = pd.read_csv(folder / "flow_followup.csv", keep_default_na=False, na_values=[""])
    total = flow.loc[flow["cohort"] == "All"].iloc[0]
    rate = float(total["conducted_in_window"]) / float(total["due"])
    assert follow[0] == f"{100 * rate:.0f}%" or follow[0] == f"{100 * rate:.1f}%"


def test_demo_2026Q2_headline_counts_by_hand(reports: dict[str, tuple[Any, Path]]) -> None:
    # Counted here from the raw sample files with plain pandas (docs/definitions.md: the 6-month
    # window is days 152..243 after admission, due once it has closed; the headline cohort is the
    # windows closing in the last four quarters, 2025Q3-2026Q2): 231 due, 157 in window
    # (IOP 99/148, inpatient 58/83), 10 out of window (8 + 2: small, hidden).
    samples = Path(__file__).resolve().parents[1] / "data" / "samples"
    if not samples.exists():
        pytest.skip("data/samples/ is absent (installed package)")
    eps = pd.read_csv(samples / "episodes.csv", parse_dates=["admission_date"])
    fu = pd.read_csv(samples / "followups.csv", parse_dates=["assessment_date"])
    fu = fu.loc[fu["timepoint"] == "6mo"].set_index("episode_id")
    close = eps["admission_date"] + pd.Timedelta(days=243)
    due = eps.loc[(close >= "2025-07-01") & (close <= "2026-06-30")].copy()
    day = (due["episode_id"].map(fu["assessment_date"]) - due["admission_date"]).dt.days
    done = due["episode_id"].map(fu["status"]).eq("completed")
    due["in_window"] = done & day.between(152, 243)
    due["out_of_window"] = done & ~due["in_window"]
    hand = due.groupby("cohort")[["in_window", "out_of_window"]].sum()
    hand["due"] = due.groupby("cohort").size()
    assert hand.loc["IOP"].tolist() == [99, 8, 148]  # the figures the comment quotes
    assert hand.loc["inpatient"].tolist() == [58, 2, 83]

    _, folder = reports["sample_2026Q2"]
    flow = pd.read_csv(folder / "flow_followup.csv", keep_default_na=False, na_values=[""])
    flow = flow.set_index("cohort")
    assert flow["due"].tolist() == [148, 83, 231]
    assert flow["conducted_in_window"].tolist() == [99, 58, 157]
    assert flow["conducted_out_of_window"].isna().all()  # 8, 2, 10: small, hidden
    assert flow.loc["All", "rate"] == pytest.approx(157 / 231, abs=1e-12)


def test_attack_finds_the_leaks_of_per_table_suppression(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the attack can fail: with the whole-report audit switched off (each table suppressed on
    # its own, as before), hidden counts of the sample report come back by subtraction across
    # tables (issue 15: out of window = completed - in window, ...)
    from iopoutcomes.report import disclosure

    monkeypatch.setattr(disclosure, "build_controlled", lambda run, k: run(None))
    report = iop.quarterly_report(iop.load_sample(), "2026Q2", progress=False)
    report.write(tmp_path / "old", ("csv", "json"))
    assert not Attack(tmp_path / "old").build().disclosed().empty
    # and the smallest case by hand: 50 due, 45 published, the other part is exactly 5
    mini = Attack(tmp_path / "old")
    due = mini.var("due", 50)
    a, b = mini.var("a", 45), mini.var("b")
    mini.equal([due], [a, b])
    got = mini.ranges()
    assert got["values"].tolist() == [1.0] and got["lower"].tolist() == [5.0]


# --- canaries ----------------------------------------------------------------------------------

RARE = "Canaryrarelevel"
TEXT = "Canaryfreetext"
DOB = "1933-07-09"
NUMBER = 987654.321
IDENT = "CANARYID"
SITE = "CANARYSITE"
FILE = "CANARYFILE"


@pytest.fixture(scope="module")
def canary_folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    records = iop.simulate_records(n=300, seed=11)
    eps = records.episodes.copy()
    n = len(eps)
    rng = np.random.default_rng(5)
    eps["primary_substance"] = eps["primary_substance"].astype(object)
    # canaries on clients of the 6-month outcome cohort (windows closing in 2025Q3-2026Q2), so
    # they reach the retention-bias table
    admitted = pd.to_datetime(eps["admission_date"])
    cohort = eps.index[(admitted >= "2025-01-15") & (admitted <= "2025-06-15")]
    assert len(cohort) > 20
    eps.loc[cohort[7], "primary_substance"] = RARE
    eps["notes"] = [f"{TEXT} {i} lives at {i} Main St" for i in range(n)]
    born = pd.Timestamp("1960-01-01") + pd.to_timedelta(rng.integers(0, 9000, n), unit="D")
    eps["date_of_birth"] = born.strftime("%Y-%m-%d")
    eps.loc[cohort[3], "date_of_birth"] = DOB
    eps["lab_value"] = np.nan
    eps.loc[cohort[5], "lab_value"] = NUMBER
    sites = {s: f"{SITE}-{i}" for i, s in enumerate(sorted(eps["site"].dropna().unique()))}
    eps["site"] = eps["site"].map(sites)
    ids = {e: f"{IDENT}E{i:05d}" for i, e in enumerate(eps["episode_id"].astype(str))}
    pids = {p: f"{IDENT}P{i:05d}" for i, p in enumerate(eps["patient_id"].astype(str).unique())}
    eps["episode_id"] = eps["episode_id"].astype(str).map(ids)
    eps["patient_id"] = eps["patient_id"].astype(str).map(pids)
    fu = records.followups.copy()
    fu["episode_id"] = fu["episode_id"].astype(str).map(ids)
    if "patient_id" in fu:
        fu["patient_id"] = fu["patient_id"].astype(str).map(pids)
    ud = records.use_days.copy()
    if len(ud):
        ud["episode_id"] = ud["episode_id"].astype(str).map(ids)
        if "patient_id" in ud:
            ud["patient_id"] = ud["patient_id"].astype(str).map(pids)
    data = tmp_path_factory.mktemp("canary_data")
    eps.to_csv(data / f"episodes_{FILE}.csv", index=False)
    fu.to_csv(data / f"followups_{FILE}.csv", index=False)
    read = iop.read_records(data / f"episodes_{FILE}.csv", data / f"followups_{FILE}.csv")
    assert {"notes", "date_of_birth", "lab_value"} <= set(read.episodes.columns)
    out = {}
    for profile in ("public", "funder", "internal"):
        config = {
            "report": {"profile": profile},
            "comparison": {"adjust": ["notes", "date_of_birth", "lab_value", "episode_id"]},
        }
        report = iop.quarterly_report(read, None, config=config, progress=False)
        folder = tmp_path_factory.mktemp(f"canary_{profile}")
        report.write(folder, (*FORMATS, "pdf"))
        out[profile] = folder
    return out


def _texts(folder: Path) -> dict[str, str]:
    texts = {}
    for path in sorted(folder.iterdir()):
        if path.suffix in (".html", ".csv", ".json"):
            texts[path.name] = path.read_text(encoding="utf-8")
        elif path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as z:
                texts[path.name] = "".join(
                    z.read(name).decode("utf-8", "replace") for name in z.namelist()
                )
        elif path.suffix == ".pdf" and shutil.which("pdftotext"):
            run = subprocess.run(
                ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
            )
            texts[path.name] = run.stdout
    return texts


@pytest.mark.parametrize("profile", ["public", "funder", "internal"])
def test_canaries_never_published(canary_folders: dict[str, Path], profile: str) -> None:
    texts = _texts(canary_folders[profile])
    assert {"report.html", "report.json", "report.xlsx"} <= set(texts)
    if shutil.which("pdftotext") and (canary_folders[profile] / "report.pdf").exists():
        assert "report.pdf" in texts
    number_forms = ("987654", "987,654", "9.87654e", "9.8765e")
    for name, text in texts.items():
        lowered = text.lower()
        assert RARE.lower() not in lowered, name
        assert TEXT.lower() not in lowered, name
        assert DOB not in text and "1933-07" not in text, name
        assert not any(form in text for form in number_forms), name
        assert IDENT.lower() not in lowered, name
        if profile == "public":
            assert SITE.lower() not in lowered, name
            assert FILE.lower() not in lowered, name


def test_refused_covariates_are_named_with_a_reason(canary_folders: dict[str, Path]) -> None:
    document = json.loads((canary_folders["funder"] / "report.json").read_text())
    text = json.dumps(document)
    assert re.search(
        r"'notes' is left out of the retention-bias table: (free text|identifier)", text
    )
    assert "'episode_id' is left out of the retention-bias table: an identifier" in text
    rb = pd.read_csv(canary_folders["funder"] / "retention_bias.csv")
    assert "notes" not in set(rb["covariate"])
    bands = set(rb.loc[rb["covariate"] == "date_of_birth", "level"])
    assert bands and all(re.fullmatch(r"\d{4}-\d{4}|Other \(pooled\)", b) for b in bands)
    lab = rb.loc[rb["covariate"] == "lab_value"]
    assert len(lab) == 1 and lab["followed_value"].isna().all()  # one client: no mean
    assert lab["not_followed_value"].isna().all()


def test_public_profile_names_tables_and_shortens_hashes(canary_folders: dict[str, Path]) -> None:
    stamp = json.loads((canary_folders["public"] / "report.json").read_text())["stamp"]
    assert set(stamp["input_files"]) == {"episodes", "followups"}
    assert all(len(h) == 12 for h in stamp["input_files"].values())
    funder = json.loads((canary_folders["funder"] / "report.json").read_text())["stamp"]
    assert all(len(h) == 64 for h in funder["input_files"].values())
    sites = pd.read_csv(canary_folders["public"] / "followup_by_site.csv")["site"]
    numbered = sorted(int(s.split()[-1]) for s in sites if re.fullmatch(r"Site \d+", s))
    assert numbered == list(range(1, len(numbered) + 1))  # no gaps


# --- unit checks -------------------------------------------------------------------------------


def test_control_covariates_rules() -> None:
    n = 40
    frame = pd.DataFrame(
        {
            "drug": ["a"] * 20 + ["b"] * 15 + ["rare"] * 5,
            "code": [f"X{i}" for i in range(n)],
            "born": pd.to_datetime(["1950-06-01"] * 25 + ["1972-01-01"] * 14 + ["1933-07-09"]),
            "score": np.arange(n, dtype=float),
            "comment": [f"said {i % 30}" for i in range(n)],  # 30 distinct texts, some repeated
        }
    )
    plan = control_covariates(frame, ["drug", "code", "born", "score", "comment"], k=11)
    assert plan.kinds == {"drug": "categorical", "born": "date bands", "score": "numeric"}
    assert "identifier-like" in plan.refused["code"]
    assert plan.refused["comment"].startswith("free text")
    assert set(plan.frame["drug"]) == {"a", "b", "Other (pooled)"}  # 5 < 11 pooled
    assert set(plan.frame["born"]) == {"1950-1959", "1970-1979", "Other (pooled)"}


def test_site_pseudonyms_random_but_reproducible() -> None:
    names = [f"site {c}" for c in "ABCDEFGH"]
    first = site_pseudonyms(names, seed=1)
    assert first == site_pseudonyms(list(reversed(names)), seed=1)
    orders = {tuple(site_pseudonyms(names, seed=s)[n] for n in names) for s in range(6)}
    assert len(orders) > 1  # the seed changes the order
    alphabetical = tuple(f"Site {i + 1}" for i in range(len(names)))
    assert sum(order == alphabetical for order in orders) <= 1


def test_folder_replaced_as_a_whole(tmp_path: Path) -> None:
    out = tmp_path / "report"
    with staged_folder(out) as stage:
        (stage / "old_table.csv").write_text("1")
        (stage / "report.html").write_text("first")
    with staged_folder(out) as stage:
        (stage / "report.html").write_text("second")
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "report.html"]
    # an interrupted run leaves the previous report complete (and no staging folder behind)
    with pytest.raises(KeyboardInterrupt), staged_folder(out) as stage:
        (stage / "report.html").write_text("third, half written")
        raise KeyboardInterrupt
    assert (out / "report.html").read_text() == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]
    # a folder the report did not write is refused, untouched
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep")
    with pytest.raises(FileExistsError, match="not written by an iopoutcomes report"):
        with staged_folder(foreign):
            pass
    assert (foreign / "notes.txt").read_text() == "keep"


def test_write_removes_files_of_an_earlier_run(tmp_path: Path) -> None:
    records = iop.simulate_records(n=150, seed=150)
    report = iop.quarterly_report(records, None, progress=False)
    out = tmp_path / "out"
    report.write(out, ("csv", "json"))
    (out / "stale_table.csv").write_text("from an earlier run")
    files = report.write(out, ("json",))
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "report.json"]
    assert files["json"] == out / "report.json" and files["json"].exists()


def test_sentences_use_published_numbers(published: dict[str, Path]) -> None:
    for folder in published.values():
        document = json.loads((folder / "report.json").read_text())
        flow = pd.read_csv(folder / "flow_followup.csv", keep_default_na=False, na_values=[""])
        total = flow.loc[flow["cohort"] == "All"].iloc[0]
        text = " ".join(p for s in document["sections"] for p in s["paragraphs"])
        counted = re.findall(r"(\d+) of (\d+) \S+ follow-ups due", text)
        if pd.isna(total["conducted_in_window"]) or pd.isna(total["due"]):
            assert counted == []
        else:
            for x, n in counted:
                assert (int(x), int(n)) == (int(total["conducted_in_window"]), int(total["due"]))


def test_rejected_counts_in_the_paragraph_are_audited(tmp_path: Path) -> None:
    # 3 episode rows and 15 follow-up rows rejected: the per-table rejected counts printed in
    # the data-quality paragraph would give the hidden 3 back, so they are audited as well
    records = iop.simulate_records(n=150, seed=150)
    eps = records.episodes.copy()
    fu = records.followups.copy()
    eps["admission_date"] = eps["admission_date"].astype(str)
    eps.loc[eps.index[:3], "admission_date"] = "not a date"
    fu["assessment_date"] = fu["assessment_date"].astype(str)
    fu.loc[fu.index[:15], "assessment_date"] = "not a date"
    eps.to_csv(tmp_path / "episodes.csv", index=False)
    fu.to_csv(tmp_path / "followups.csv", index=False)
    read = iop.read_records(tmp_path / "episodes.csv", tmp_path / "followups.csv")
    summary = read.summary().set_index("table")
    assert summary.loc["episodes", "rejected"] == 3
    report = iop.quarterly_report(read, None, progress=False)
    text = " ".join(report.sections[-2].paragraphs)
    assert "episodes 150 / — / —" in text
    assert "/ 3." not in text and "/ 3;" not in text
    rejected = report.table("rejected_rows").frame
    assert rejected["rows"].isna().any()
