"""The services table of read_records (issue 17): typing, wordings, codes=, rejections.

Messy inputs are built from a known canonical truth (``truth_services``): each test spoils or
re-words it the way EHR exports do and checks that reading gives the truth back, or rejects
exactly the spoiled rows with the documented reason and the source row number.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import iopoutcomes as iop
from iopoutcomes import schema
from iopoutcomes.records import REJECTION_PRECEDENCE, Records, canonical_dtypes, read_records

SECRET = "ZZSECRET42"  # a canary identifier: it must never appear in messages or rejected rows


def episodes_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "patient_id": ["p1", "p2"],
            "episode_id": ["e1", "e2"],
            "cohort": ["inpatient", "IOP"],
            "admission_date": ["2024-03-01", "2024-03-05"],
            "level_of_care": ["inpatient", "IOP"],
            "discharge_date": ["2024-03-12", ""],
            "death_date": ["", ""],
        }
    )


def truth_services() -> pd.DataFrame:
    """The canonical services every messy variant below must read back as."""
    return pd.DataFrame(
        {
            "patient_id": ["p1", "p1", "p1", "p9", "p9", "p2"],
            "service_date": pd.to_datetime(
                ["2024-03-01", "2024-03-12", "2024-03-15", "2024-04-02", "2024-04-20", "2024-03-05"]
            ),
            "service_type": [
                "inpatient",
                "pharmacotherapy",
                "iop",
                "residential",
                "peer_support",
                "outpatient",
            ],
            "end_date": pd.to_datetime(["2024-03-12", None, None, "2024-04-18", None, None]),
            "sud_diagnosis": ["principal", "principal", "secondary", "principal", None, "none"],
            "provider_id": ["H01", "H01", "C07", "R02", None, "C07"],
            "medication": [None, "buprenorphine", None, None, None, None],
        }
    ).astype(
        {
            c: "string"
            for c in ("patient_id", "service_type", "sud_diagnosis", "provider_id", "medication")
        }
    )


def services_text() -> pd.DataFrame:
    """The truth as clean text, as a CSV holds it."""
    out = truth_services().astype(object)
    for col in ("service_date", "end_date"):
        out[col] = truth_services()[col].dt.strftime("%Y-%m-%d").fillna("")
    return out.fillna("")


def assert_balanced(recs: Records) -> None:
    summary = recs.summary()
    assert (summary["accepted"] + summary["rejected"] == summary["read"]).all()
    assert not recs.rejected.duplicated(["table", "row"]).any()


def canonical(recs: Records) -> pd.DataFrame:
    return recs.services[list(canonical_dtypes("services"))]


def expected() -> pd.DataFrame:
    want = truth_services().assign(service_code=pd.Series([pd.NA] * 6, dtype="string"))
    return want.astype(canonical_dtypes("services"))


# --- typed canonical output ---------------------------------------------------------------


def test_clean_services_read_as_the_truth() -> None:
    recs = read_records(episodes_frame(), services=services_text())
    assert recs.rejected.empty
    pd.testing.assert_frame_equal(canonical(recs), expected())
    assert recs.summary().set_index("table").loc["services", "read"] == 6


def test_services_absent_is_an_empty_canonical_table() -> None:
    recs = read_records(episodes_frame())
    assert len(recs.services) == 0
    assert dict(recs.services.dtypes) == canonical_dtypes("services")
    assert "services" not in recs.summary()["table"].tolist()


def test_canonical_dtypes_of_services_and_death_date() -> None:
    dtypes = canonical_dtypes("services")
    assert list(dtypes) == list(schema.SERVICES.names)
    assert dtypes["service_date"] == "datetime64[ns]"
    assert dtypes["service_type"] == pd.StringDtype()
    assert canonical_dtypes("episodes")["death_date"] == "datetime64[ns]"


def test_messy_export_reads_back_the_truth() -> None:
    """EHR names and wordings, US dates, padding and a GPRA missing code, all mapped."""
    messy = pd.DataFrame(
        {
            "Client ID": ["p1", " p1", "p1 ", "p9", "p9", "p2"],
            "Svc Date": [
                "03/01/2024",
                "03/12/2024",
                "03/15/2024",
                "04/02/2024",
                "04/20/2024",
                "03/05/2024",
            ],
            "Service": [
                "Inpatient Tx",
                "MAT - Buprenorphine",
                "Intensive Outpatient",
                "Residential Tx",
                "Peer Recovery Support",
                "Outpatient Counseling",
            ],
            "Discharge": ["03/12/2024", "", "", "04/18/2024", "", ""],
            "Dx Position": ["Primary", "PRINCIPAL", "Secondary Diagnosis", "primary", "-9", "No"],
            "Rendering": ["H01", "H01", "C07", "R02", "", "C07"],
            "Drug": ["", "MAT - Buprenorphine", "", "", "", ""],
            "Payer": ["medicaid"] * 6,  # any other column is carried through
        }
    )
    columns = {
        "Client ID": "patient_id",
        "Svc Date": "service_date",
        "Service": "service_type",
        "Discharge": "end_date",
        "Dx Position": "sud_diagnosis",
        "Rendering": "provider_id",
        "Drug": "medication",
    }
    recs = read_records(
        episodes_frame().assign(
            admission_date=["03/01/2024", "03/05/2024"], discharge_date=["03/12/2024", ""]
        ),
        services=messy,
        columns=columns,
        codes={"services": {"sud_diagnosis": {-9: None}}},
        date_format="%m/%d/%Y",
    )
    assert recs.rejected.empty
    pd.testing.assert_frame_equal(canonical(recs), expected())
    assert recs.services["Payer"].tolist() == ["medicaid"] * 6


@pytest.mark.parametrize(
    ("column", "wording", "value"),
    [
        ("service_type", "INTENSIVE-OUTPATIENT", "iop"),
        ("service_type", "intensive outpatient program", "iop"),
        ("service_type", "Residential Tx", "residential"),
        ("service_type", "Peer_Support", "peer_support"),
        ("service_type", "peer support", "peer_support"),
        ("service_type", "ER Visit", "ed"),
        ("service_type", "Telemedicine", "telehealth"),
        ("service_type", "Withdrawal Management", "detox"),
        ("service_type", "Partial Hospitalization", "php"),
        ("service_type", "MOUD", "pharmacotherapy"),
        ("service_type", "Hospice Care", "hospice"),
        ("medication", "Vivitrol", "naltrexone_er"),
        ("medication", "Suboxone", "buprenorphine"),
        ("medication", "naltrexone oral", "naltrexone_oral"),
        ("medication", "Campral", "acamprosate"),
        ("sud_diagnosis", "Primary Diagnosis", "principal"),
    ],
)
def test_known_wordings(column: str, wording: str, value: str) -> None:
    frame = services_text()
    frame.loc[0, column] = wording
    recs = read_records(episodes_frame(), services=frame)
    assert recs.rejected.empty
    assert recs.services.loc[0, column] == value


def test_plain_naltrexone_is_not_guessed_but_can_be_mapped() -> None:
    frame = services_text()
    frame.loc[1, "medication"] = "Naltrexone"
    assert read_records(episodes_frame(), services=frame).rejected["reason"].tolist() == [
        "unknown_medication"
    ]
    recs = read_records(
        episodes_frame(), services=frame, codes={"medication": {"Naltrexone": "naltrexone_oral"}}
    )
    assert recs.services.loc[1, "medication"] == "naltrexone_oral"


def test_services_need_no_episode_and_are_not_matched() -> None:
    recs = read_records(episodes_frame(), services=services_text())
    assert "p9" in recs.services["patient_id"].tolist()  # p9 has no episode
    assert "episode_id" not in recs.services.columns


def test_death_date_typed_and_checked() -> None:
    eps = episodes_frame()
    eps.loc[0, "death_date"] = "2024-03-20"
    eps.loc[1, "death_date"] = "2024-03-04"  # the day before admission
    recs = read_records(eps)
    assert recs.episodes["death_date"].tolist() == [pd.Timestamp("2024-03-20")]
    assert recs.rejected[["row", "column", "reason"]].to_dict("records") == [
        {"row": 2, "column": "death_date", "reason": "death_before_admission"}
    ]
    eps.loc[1, "death_date"] = "2024-03-05"  # on the admission day: allowed
    assert read_records(eps).rejected.empty


# --- rejections -----------------------------------------------------------------------------

SERVICE_REJECTIONS = [
    # (column, row index, value, reason)
    ("patient_id", 2, "", "missing_required_value"),
    ("service_date", 0, "", "missing_required_value"),
    ("service_type", 4, "", "missing_required_value"),
    ("provider_id", 2, "C\x0707", "control_character"),
    ("service_date", 3, "2024-02-30", "unparseable_date"),
    ("service_date", 3, "04/02/2024", "unparseable_date"),
    ("end_date", 0, "1850-03-12", "date_out_of_range"),
    ("service_type", 5, "counselling session", "unknown_service_type"),
    ("sud_diagnosis", 1, "maybe", "unknown_sud_diagnosis"),
    ("medication", 1, "aspirin", "unknown_medication"),
    ("end_date", 3, "2024-04-01", "end_before_service_date"),
]


@pytest.mark.parametrize("kind", ["DataFrame", "csv"])
@pytest.mark.parametrize(("column", "index", "value", "reason"), SERVICE_REJECTIONS)
def test_each_services_rejection_reason(
    tmp_path: Path, kind: str, column: str, index: int, value: str, reason: str
) -> None:
    frame = services_text()
    frame.loc[index, column] = value
    source: Any = frame
    if kind == "csv":
        source = tmp_path / "services.csv"
        frame.to_csv(source, index=False)
    recs = read_records(episodes_frame(), services=source)
    rej = recs.rejected
    assert rej[["table", "row", "column", "reason"]].to_dict("records") == [
        {"table": "services", "row": index + 1, "column": column, "reason": reason}
    ]
    assert set(rej["source"]) == {"DataFrame" if kind == "DataFrame" else "services.csv"}
    keep = [i for i in range(6) if i != index]
    pd.testing.assert_frame_equal(canonical(recs), expected().iloc[keep].reset_index(drop=True))
    assert_balanced(recs)


def test_every_new_reason_is_documented_and_in_precedence() -> None:
    new = (
        "unknown_service_code",
        "unknown_service_type",
        "unknown_sud_diagnosis",
        "unknown_medication",
        "end_before_service_date",
        "death_before_admission",
    )
    for reason in new:
        assert reason in schema.REJECTION_REASONS
        assert reason in REJECTION_PRECEDENCE
    # a code that is not mapped is the root cause of a missing type: it is named first
    order = list(REJECTION_PRECEDENCE)
    assert order.index("unknown_service_code") < order.index("unknown_service_type")


def test_first_reason_wins_on_a_row_with_several_problems() -> None:
    frame = services_text()
    frame.loc[3, "medication"] = "aspirin"  # unknown_medication
    frame.loc[3, "end_date"] = "2024-04-01"  # end_before_service_date (later in precedence)
    frame.loc[3, "service_type"] = "nonsense"  # unknown_service_type (earlier)
    rej = read_records(episodes_frame(), services=frame).rejected
    assert rej["reason"].tolist() == ["unknown_service_type"]


def test_missing_required_column_names_the_fix() -> None:
    frame = services_text().rename(columns={"service_date": "Svc Date"})
    with pytest.raises(iop.MissingColumnError, match="service_date") as info:
        read_records(episodes_frame(), services=frame)
    assert "columns=" in str(info.value)
    assert "services" in str(info.value)


def test_empty_services_file_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "services.csv"
    path.write_text("patient_id,service_date,service_type\n", encoding="utf-8")
    with pytest.raises(iop.EmptyFileError, match="services"):
        read_records(episodes_frame(), services=path)


def test_canary_identifiers_never_in_messages(tmp_path: Path) -> None:
    frame = services_text()
    frame.loc[0, "patient_id"] = SECRET
    frame.loc[0, "service_type"] = SECRET
    frame.loc[1, "service_date"] = SECRET
    frame.loc[2, "medication"] = SECRET
    frame.loc[3, "service_code"] = SECRET
    frame.loc[4, "provider_id"] = SECRET + "\x01"
    recs = read_records(episodes_frame(), services=frame, codes={"service_code": {"H0015": "iop"}})
    assert len(recs.rejected) == 5
    text = recs.rejected.to_csv() + repr(recs) + recs._repr_html_()
    assert SECRET not in text
    with pytest.raises(iop.RowValidationError) as info:
        read_records(episodes_frame(), services=frame, strict=True)
    assert SECRET not in str(info.value)
    path = tmp_path / "services.csv"
    frame.drop(columns="service_type").to_csv(path, index=False)
    with pytest.raises(iop.MissingColumnError) as missing:
        read_records(episodes_frame(), services=path)
    assert SECRET not in str(missing.value)


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(st.text(max_size=8), min_size=1, max_size=8))
def test_arbitrary_text_in_every_column_is_rejected_or_accepted(values: list[str]) -> None:
    frame = pd.DataFrame({c: values for c in schema.SERVICES.names})
    recs = read_records(episodes_frame(), services=frame, codes={"service_code": {"A": "iop"}})
    assert_balanced(recs)
    assert recs.read_counts["services"] == len(values)
    assert len(recs.services) + int((recs.rejected["table"] == "services").sum()) == len(values)


# --- codes= for billing codes -----------------------------------------------------------------


def coded_services() -> pd.DataFrame:
    frame = services_text()
    frame["service_code"] = ["0100", "J0572", "H0015", "H0019", "H0038", ""]
    return frame


CODE_MAP = {
    "0100": "inpatient",
    "J0572": "pharmacotherapy",
    "H0015": "IOP",
    "H0019": "residential",
    "H0038": "peer_support",
}


def test_service_code_mapping_derives_the_type() -> None:
    frame = coded_services().drop(columns="service_type")
    frame.loc[5, "service_code"] = "99213"
    recs = read_records(
        episodes_frame(), services=frame, codes={"service_code": {**CODE_MAP, 99213: "outpatient"}}
    )
    assert recs.rejected.empty
    got = canonical(recs)
    pd.testing.assert_series_equal(got["service_type"], expected()["service_type"])
    assert got["service_code"].tolist() == ["0100", "J0572", "H0015", "H0019", "H0038", "99213"]


def test_code_wins_and_rows_without_code_keep_their_type() -> None:
    frame = coded_services()
    frame.loc[2, "service_type"] = "outpatient"  # the code says iop: the mapping decides
    recs = read_records(episodes_frame(), services=frame, codes={"service_code": CODE_MAP})
    assert recs.rejected.empty
    assert recs.services["service_type"].tolist() == expected()["service_type"].tolist()


def test_unmapped_code_is_rejected() -> None:
    frame = coded_services()
    frame.loc[1, "service_code"] = "Z9999"
    recs = read_records(episodes_frame(), services=frame, codes={"service_code": CODE_MAP})
    assert recs.rejected[["row", "column", "reason"]].to_dict("records") == [
        {"row": 2, "column": "service_code", "reason": "unknown_service_code"}
    ]
    assert_balanced(recs)
    # without a mapping a code is a label carried as given
    plain = read_records(episodes_frame(), services=frame)
    assert plain.rejected.empty
    assert plain.services.loc[1, "service_code"] == "Z9999"


def test_no_code_and_no_type_is_missing_required_value() -> None:
    frame = coded_services().drop(columns="service_type")
    recs = read_records(episodes_frame(), services=frame, codes={"service_code": CODE_MAP})
    assert recs.rejected[["row", "column", "reason"]].to_dict("records") == [
        {"row": 6, "column": "service_type", "reason": "missing_required_value"}
    ]


def test_service_code_mapping_from_a_csv(tmp_path: Path) -> None:
    mapping = tmp_path / "codes.csv"
    pd.DataFrame({"code": list(CODE_MAP), "type": list(CODE_MAP.values())}).to_csv(
        mapping, index=False
    )
    frame = coded_services()
    recs = read_records(episodes_frame(), services=frame, codes={"service_code": mapping})
    assert recs.rejected.empty
    assert recs.services["service_type"].tolist() == expected()["service_type"].tolist()
    # keyed by table, as a string path, the same
    keyed = read_records(
        episodes_frame(), services=frame, codes={"services": {"service_code": str(mapping)}}
    )
    pd.testing.assert_frame_equal(keyed.services, recs.services)


def test_bad_service_code_mappings(tmp_path: Path) -> None:
    with pytest.raises(iop.ParameterError, match="not service types"):
        read_records(
            episodes_frame(),
            services=coded_services(),
            codes={"service_code": {"H0015": "intensive"}},
        )
    three = tmp_path / "three.csv"
    three.write_text("code,type,note\nH0015,iop,x\n", encoding="utf-8")
    with pytest.raises(iop.SchemaError, match="two"):
        read_records(episodes_frame(), services=coded_services(), codes={"service_code": three})
    with pytest.raises(iop.FileReadError, match="could not be read"):
        read_records(
            episodes_frame(),
            services=coded_services(),
            codes={"service_code": tmp_path / "missing.csv"},
        )
    with pytest.raises(iop.ParameterError, match="service_code"):
        read_records(episodes_frame(), services=coded_services(), codes={"service_code": 3})


def test_service_code_mapping_touches_no_other_table() -> None:
    eps = episodes_frame().assign(service_code=["H0015", "X"])  # a covariate of that name
    recs = read_records(eps, services=coded_services(), codes={"service_code": CODE_MAP})
    assert recs.episodes["service_code"].tolist() == ["H0015", "X"]


# --- files, hashes, round trip --------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
def test_service_files_read_like_dataframes(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"services.{fmt}"
    frame = services_text()
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_excel(path, index=False)
    recs = read_records(episodes_frame(), services=path)
    assert recs.rejected.empty
    pd.testing.assert_frame_equal(canonical(recs), expected())
    assert recs.sources["services"] == f"services.{fmt}"
    assert recs.file_hashes["services"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_to_csv_round_trip(tmp_path: Path) -> None:
    recs = read_records(episodes_frame(), services=services_text())
    paths = recs.to_csv(tmp_path)
    assert set(paths) == {"episodes", "services"}
    back = read_records(paths["episodes"], services=paths["services"])
    pd.testing.assert_frame_equal(back.services, recs.services)


def test_services_dates_count_towards_data_as_of() -> None:
    recs = read_records(episodes_frame(), services=services_text())
    assert recs.data_as_of == pd.Timestamp("2024-04-20")  # the last service date


def test_service_date_column_as_typed_datetimes() -> None:
    frame = truth_services()
    recs = read_records(episodes_frame(), services=frame)
    assert recs.rejected.empty
    pd.testing.assert_frame_equal(canonical(recs), expected())
    assert np.array_equal(
        frame["service_date"].to_numpy(), recs.services["service_date"].to_numpy()
    )


# --- raw exports ([input.services]) and the command line ---------------------------------------


def write_export(folder: Path) -> None:
    """An EHR encounter export: two title rows, US dates, wordings, a GPRA code, a footer."""
    (folder / "adm.csv").write_text(
        "Client,Admit,Discharge,Program,Level\n"
        "p1,03/01/2024,03/12/2024,inpatient,inpatient\n"
        "p2,03/05/2024,,IOP,IOP\n",
        encoding="utf-8",
    )
    (folder / "encounters.csv").write_text(
        "Encounter listing FY2024\n"
        "Run by: billing\n"
        "Client ID,DOS,Service,Discharge,Dx,Rendering,Drug,Proc\n"
        "p1,03/01/2024,Inpatient Tx,03/12/2024,Primary,H01,,0100\n"
        "p1,03/12/2024,MAT - Buprenorphine,,Primary,H01,MAT - Buprenorphine,J0572\n"
        "p1,03/15/2024,Intensive Outpatient,,Secondary Diagnosis,C07,,\n"
        "p9,04/02/2024,Residential Tx,04/18/2024,primary,R02,,\n"
        "p9,04/20/2024,Peer Recovery Support,,-9,,,\n"
        "p2,03/05/2024,Outpatient Counseling,,No,C07,,\n"
        "p2,13/05/2024,Outpatient Counseling,,No,C07,,\n"
        "p2,03/06/2024,Group Therapy,,No,C07,,Z9999\n"
        "Total rows: 8\n",
        encoding="utf-8",
    )
    (folder / "codes.csv").write_text(
        "code,service type\n0100,inpatient\nJ0572,pharmacotherapy\n", encoding="utf-8"
    )


EXPORT_SETTINGS: dict[str, Any] = {
    "missing_codes": "gpra",
    "date_format": "%m/%d/%Y",
    "episodes": {
        "files": "adm.csv",
        "columns": {
            "Client": "patient_id",
            "Admit": "admission_date",
            "Discharge": "discharge_date",
            "Program": "cohort",
            "Level": "level_of_care",
        },
        "episode_key": ["Client", "Admit"],
    },
    "services": {
        "files": "encounters.csv",
        "header_row": 3,
        "skip_footer": 1,
        "columns": {
            "Client ID": "patient_id",
            "DOS": "service_date",
            "Service": "service_type",
            "Discharge": "end_date",
            "Dx": "sud_diagnosis",
            "Rendering": "provider_id",
            "Drug": "medication",
            "Proc": "service_code",
        },
        "codes": {"service_code": "codes.csv"},
    },
}


def test_read_exports_services_with_title_rows_and_footer(tmp_path: Path) -> None:
    write_export(tmp_path)
    recs = iop.read_exports(EXPORT_SETTINGS, base_dir=tmp_path)
    got = canonical(recs).drop(columns="service_code")
    pd.testing.assert_frame_equal(got, expected().drop(columns="service_code"))
    # rows as the spreadsheet numbers them: header on row 3, data from row 4
    assert recs.rejected[["table", "source", "row", "column", "reason"]].to_dict("records") == [
        {
            "table": "services",
            "source": "encounters.csv",
            "row": 10,
            "column": "service_date",
            "reason": "unparseable_date",
        },
        {
            "table": "services",
            "source": "encounters.csv",
            "row": 11,
            "column": "service_code",
            "reason": "unknown_service_code",
        },
    ]
    assert recs.read_counts["services"] == 8  # the footer is no data row
    assert (
        recs.file_hashes["services"]
        == hashlib.sha256((tmp_path / "encounters.csv").read_bytes()).hexdigest()
    )
    assert_balanced(recs)


def test_validate_command_reads_services(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from iopoutcomes.cli import cli

    episodes_frame().to_csv(tmp_path / "episodes.csv", index=False)
    frame = services_text()
    frame.loc[2, "service_type"] = SECRET
    frame.to_csv(tmp_path / "services.csv", index=False)
    result = CliRunner().invoke(cli, ["validate", str(tmp_path)])
    assert result.exit_code == 0, result.stderr
    assert "services.csv" in result.stdout
    assert "unknown_service_type" in result.stdout
    assert SECRET not in result.stdout + result.stderr
    other = tmp_path / "other"
    other.mkdir()
    frame.to_csv(other / "visits.csv", index=False)
    named = CliRunner().invoke(
        cli,
        [
            "validate",
            "--episodes",
            str(tmp_path / "episodes.csv"),
            "--services",
            str(other / "visits.csv"),
            "--fail-on-reject",
        ],
    )
    assert named.exit_code == 1
    assert "visits.csv" in named.stdout


def test_simulate_command_writes_services_that_validate_reads_back(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from iopoutcomes.cli import cli

    result = CliRunner().invoke(
        cli, ["simulate", "--n", "120", "--seed", "3", "--no-instruments", "--services",
              "--out", str(tmp_path)]
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "services.csv").exists()
    recs = read_records(tmp_path / "episodes.csv", services=tmp_path / "services.csv")
    assert recs.rejected.empty
    want = iop.simulate_records(n=120, seed=3, services=True).services
    pd.testing.assert_frame_equal(recs.services, want)
    checked = CliRunner().invoke(cli, ["validate", str(tmp_path), "--fail-on-reject"])
    assert checked.exit_code == 0, checked.stderr
    assert "services.csv" in checked.stdout
