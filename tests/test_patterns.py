"""Tests for iopoutcomes.patterns: pattern definitions on hand-built words, the registry and
weekly words from generic Records. Every expected value is worked out by hand in the comments."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from iopoutcomes import patterns
from iopoutcomes.exceptions import ParameterError, SchemaError
from iopoutcomes.patterns import (
    encode_words,
    pattern_definitions,
    pattern_outcomes,
    register_pattern_definition,
    weekly_patterns,
)
from iopoutcomes.records import Records

BUILTIN = (
    "lee2018_relapse",
    "ctn0094_relapse",
    "kosten1993_abstinence",
    "ling1998_abstinence",
    "fiellin2006_negative_weeks",
    "schottenfeld2008_longest_abstinence",
    "schottenfeld2005_longest_abstinence",
    "krupitsky2011_abstinence",
    "mokri2016_first_use",
)


def run(words: list[str], name: str) -> pd.DataFrame:
    return pattern_outcomes(pd.Series(words), [name])


# --- relapse definitions ------------------------------------------------------------------------


def test_lee2018_relapse_hand_built() -> None:
    words = ["++++", "--o*++-", "+++-++++", "-------", "oo", "", "o+++-", "+-+-ooo+"]
    out = run(words, "lee2018_relapse")
    # "++++": weeks 1-2 ignored, a run must start at s >= 3 and weeks 3..6 do not exist ->
    #   censored at n - 3 = 1.  "--o*++-": o and * are use -> weeks 3-6 "o*++" -> 3.
    # "+++-++++": weeks 5-8 -> 5.  "-------": censored at 7 - 3 = 4.  "oo", "": n < 3 -> 0.
    # "o+++-": from week 3 only "++-" -> censored 5 - 3 = 2.  "+-+-ooo+": weeks 5-8 -> 5.
    assert out["lee2018_relapse_time"].tolist() == [1, 3, 5, 4, 0, 0, 2, 5]
    assert out["lee2018_relapse_event"].tolist() == [0, 1, 1, 0, 0, 0, 0, 1]
    assert str(out["lee2018_relapse_time"].dtype) == "Int64"


def test_ctn0094_relapse_has_no_grace() -> None:
    words = ["++++", "--o*++-", "+++-++++", "-------", "oo", "", "o+++-", "+-+-ooo+"]
    out = run(words, "ctn0094_relapse")
    # same words from week 1: "++++" -> 1; "o+++-" -> weeks 1-4 "o+++" -> 1; the rest as above
    assert out["ctn0094_relapse_time"].tolist() == [1, 3, 5, 4, 0, 0, 1, 5]
    assert out["ctn0094_relapse_event"].tolist() == [1, 1, 1, 0, 0, 0, 1, 1]


# --- abstinence definitions ---------------------------------------------------------------------


def test_kosten_and_ling_read_the_word_unrecoded() -> None:
    words = ["--o-", "-*--", "+---+", "--", "", "----", "---o---", "+----"]
    kosten = run(words, "kosten1993_abstinence")["kosten1993_abstinence"].tolist()
    ling = run(words, "ling1998_abstinence")["ling1998_abstinence"].tolist()
    # 3 consecutive '-' (o and * break a run): only "+---+", "----", "---o---", "+----"
    assert kosten == [False, False, True, False, False, True, True, True]
    # 4 consecutive '-': "----" and "+----" ("---o---" has two runs of 3)
    assert ling == [False, False, False, False, False, True, False, True]
    assert str(run(words, "ling1998_abstinence")["ling1998_abstinence"].dtype) == "boolean"


def test_fiellin_counts_negative_weeks() -> None:
    out = run(["-o-*-+", "", "ooo", "*-*"], "fiellin2006_negative_weeks")
    assert out["fiellin2006_negative_weeks"].tolist() == [3, 0, 0, 1]


def test_schottenfeld_2008_and_2005_differ_on_o() -> None:
    words = ["--o---*--", "o-o-o-", "+*", "", "-o-+--o--"]
    s2008 = run(words, "schottenfeld2008_longest_abstinence").iloc[:, 0].tolist()
    s2005 = run(words, "schottenfeld2005_longest_abstinence").iloc[:, 0].tolist()
    # 2008 (o as use): runs of '-' -> 3, 1, 0, 0, 2
    assert s2008 == [3, 1, 0, 0, 2]
    # 2005 (o deleted): "-----*--" -> 5; "---" -> 3; "+*" -> 0; "" -> 0; "--+----" -> 4
    assert s2005 == [5, 3, 0, 0, 4]


def test_krupitsky_window_is_clipped() -> None:
    words = [
        "++++-----------+",
        "----",
        "++++--",
        "++++-o---",
        "++++----------*",
        "+---------------",
    ]
    out = run(words, "krupitsky2011_abstinence")["krupitsky2011_abstinence"].tolist()
    # 1: weeks 5-15 all '-' (week 16 '+' is outside) -> True.  2: shorter than 5 weeks -> empty
    # window -> False.  3: window clipped to weeks 5-6 "--" -> True.  4: week 6 'o' -> False.
    # 5: week 15 '*' -> False.  6: week 1 '+' is outside the window -> True.
    assert out == [True, False, True, False, False, True]


def test_mokri_first_use_time() -> None:
    out = run(["--o+", "---", "", "*", "-+"], "mokri2016_first_use")
    # first use week with o and * as use: 3 ("o"), censored at n = 3, empty -> 0, 1, 2
    assert out["mokri2016_first_use_time"].tolist() == [3, 3, 0, 1, 2]
    assert out["mokri2016_first_use_event"].tolist() == [1, 0, 0, 1, 1]


# --- words: symbols, baseline prefix, NA, index -----------------------------------------------


def test_baseline_prefix_is_stripped() -> None:
    out = pattern_outcomes(
        pd.Series(["__--++++", "--++++"]), ["lee2018_relapse", "mokri2016_first_use"]
    )
    # the prefix is not part of the analysis: both rows give the same answer (week 3)
    assert out.iloc[0].tolist() == out.iloc[1].tolist() == [3, 1, 3, 1]
    w = encode_words(pd.Series(["__+-", "_"]))
    assert w.lengths.tolist() == [2, 0]
    assert w.codes.tolist() == [[1, 2], [0, 0]]


@pytest.mark.parametrize("word", ["+x-", "+-O", "+ -", "+–"])
def test_unknown_symbols_raise_naming_allowed(word: str) -> None:
    with pytest.raises(ParameterError, match=re.escape("+ - o * _")):
        pattern_outcomes(pd.Series(["--", word]))


def test_baseline_after_study_week_raises() -> None:
    with pytest.raises(ParameterError, match="leading prefix"):
        pattern_outcomes(pd.Series(["-_-"]))


def test_non_text_words_raise() -> None:
    with pytest.raises(ParameterError, match="strings"):
        pattern_outcomes(pd.Series(["--", 3], dtype=object))
    with pytest.raises(ParameterError, match="Series"):
        pattern_outcomes(["--"])  # type: ignore[arg-type]


def test_missing_word_gives_na_and_index_is_kept() -> None:
    words = pd.Series(["----", None, "++++"], index=["z", "a", "m"], dtype="str")
    out = pattern_outcomes(words)
    assert out.index.tolist() == ["z", "a", "m"]
    assert out.loc["a"].isna().all()
    assert out.loc["z", "ling1998_abstinence"] is np.True_ or out.loc["z", "ling1998_abstinence"]
    assert out.loc["m", "ctn0094_relapse_time"] == 1


def test_all_definitions_columns_in_order() -> None:
    out = pattern_outcomes(pd.Series(["-+"]))
    expected = [c for name in BUILTIN for c in patterns._REGISTRY[name].columns]
    assert list(out.columns) == expected
    assert expected[:2] == ["lee2018_relapse_time", "lee2018_relapse_event"]


def test_unknown_definition_lists_registered() -> None:
    with pytest.raises(ParameterError, match="lee2018_relapse"):
        pattern_outcomes(pd.Series(["-"]), ["nope"])


# --- independent check: a plain per-word reference on random words -----------------------------


def _reference(word: str) -> dict[str, object]:
    use = word.replace("o", "+").replace("*", "+")
    n = len(word)

    def first_run(text: str, start: int) -> int:
        i = text.find("++++", start - 1)
        return i + 1 if i >= 0 else 0

    lee, ctn = first_run(use, 3), first_run(use, 1)
    runs08 = [len(m) for m in re.findall("-+", word)] or [0]
    runs05 = [len(m) for m in re.findall("-+", word.replace("o", ""))] or [0]
    window = word[4:15]
    first_use = re.search("[+o*]", word)
    return {
        "lee2018_relapse_time": lee or max(n - 3, 0),
        "lee2018_relapse_event": int(lee > 0),
        "ctn0094_relapse_time": ctn or max(n - 3, 0),
        "ctn0094_relapse_event": int(ctn > 0),
        "kosten1993_abstinence": "---" in word,
        "ling1998_abstinence": "----" in word,
        "fiellin2006_negative_weeks": word.count("-"),
        "schottenfeld2008_longest_abstinence": max(runs08),
        "schottenfeld2005_longest_abstinence": max(runs05),
        "krupitsky2011_abstinence": len(window) > 0 and set(window) == {"-"},
        "mokri2016_first_use_time": first_use.start() + 1 if first_use else n,
        "mokri2016_first_use_event": int(first_use is not None),
    }


def test_matches_plain_reference_on_random_words() -> None:
    rng = np.random.default_rng(20240611)
    lengths = rng.integers(0, 30, size=600)
    alphabet = np.array(list("+-o*"))
    # weights give long '-' and '+' runs as well as mixed words
    words = ["".join(rng.choice(alphabet, size=k, p=[0.3, 0.5, 0.15, 0.05])) for k in lengths]
    got = pattern_outcomes(pd.Series(words))
    expected = pd.DataFrame([_reference(w) for w in words])
    for col in expected.columns:
        assert got[col].astype(object).tolist() == expected[col].tolist(), col


# --- registry -----------------------------------------------------------------------------------


@pytest.fixture
def clean_registry():
    before = dict(patterns._REGISTRY)
    yield
    patterns._REGISTRY.clear()
    patterns._REGISTRY.update(before)


def test_pattern_definitions_documents_each_builtin() -> None:
    table = pattern_definitions().set_index("name")
    assert set(BUILTIN) <= set(table.index)
    assert (table.loc[list(BUILTIN), "citation"].str.len() > 40).all()
    assert table.loc["lee2018_relapse", "citation"].startswith("Lee JD")
    assert "Lancet. 2018" in table.loc["lee2018_relapse", "citation"]
    assert table.loc["lee2018_relapse", "window"].startswith("weeks 3-n")
    assert table.loc["krupitsky2011_abstinence", "window"] == "weeks 5-15"
    assert "deleted" in table.loc["schottenfeld2005_longest_abstinence", "recoding"]
    assert "unrecoded" in table.loc["kosten1993_abstinence", "recoding"]
    assert table.loc["mokri2016_first_use", "columns"] == (
        "mokri2016_first_use_time, mokri2016_first_use_event"
    )


def test_register_user_definition(clean_registry: None) -> None:
    def late_use(w: patterns.WordArray) -> dict[str, np.ndarray]:
        # any use in weeks 3-4, o and * as use
        window = w.window(3, 4)
        return {"late_use": (w.use() & window).any(axis=1)}

    d = register_pattern_definition(
        "late_use", late_use, citation="test", window="weeks 3-4", recoding="o, * as use"
    )
    assert d.citation == "test"
    assert d.columns == ("late_use",)
    assert "late_use" in set(pattern_definitions()["name"])
    out = pattern_outcomes(
        pd.Series(["--o", "---", "-", "--+-"]), ["late_use", "fiellin2006_negative_weeks"]
    )
    assert out["late_use"].tolist() == [True, False, False, True]
    assert out["fiellin2006_negative_weeks"].tolist() == [2, 3, 1, 3]
    with pytest.raises(ParameterError, match="already exists"):
        register_pattern_definition("late_use", late_use)
    register_pattern_definition("late_use", late_use, columns=["late_use"], overwrite=True)


def test_misbehaving_user_definition(clean_registry: None) -> None:
    register_pattern_definition("wrong_column", lambda w: {"other": w.lengths})
    with pytest.raises(SchemaError, match="did not return"):
        pattern_outcomes(pd.Series(["-"]), ["wrong_column"])
    register_pattern_definition("wrong_length", lambda w: {"wrong_length": np.zeros(5)})
    with pytest.raises(SchemaError, match="expected one per word"):
        pattern_outcomes(pd.Series(["-"]), ["wrong_length"])
    with pytest.raises(ParameterError, match="callable"):
        register_pattern_definition("x", 3)  # type: ignore[arg-type]


# --- weekly words from generic Records ---------------------------------------------------------


def _records(use: pd.DataFrame, ids: tuple[str, ...] = ("e1", "e2", "e3")) -> Records:
    episodes = pd.DataFrame({"episode_id": list(ids), "patient_id": [f"p{i}" for i in ids]})
    return Records(episodes, pd.DataFrame(), use, pd.DataFrame(columns=["table"]), {})


def test_generic_weekly_patterns_rules() -> None:
    use = pd.DataFrame(
        {
            "episode_id": ["e1", "e1", "e1", "e1", "e1", "e2", "e2", "e2", "x9"],
            "day": [0, 6, 7, 7, 20, -3, 15, 30, 1],
            "used": [0, 0, 1, 0, 1, 1, 0, 1, 1],
            "substance": [
                "opioid",
                "opioid",
                "opioid",
                "alcohol",
                "opioid",
                "opioid",
                "opioid",
                "alcohol",
                "opioid",
            ],
            "source": ["uds", "uds", "uds", "uds", "uds", "uds", "uds", "self_report", "uds"],
        }
    )
    words = weekly_patterns(_records(use))
    assert words.name == "pattern" and words.index.name == "episode_id"
    assert words.index.tolist() == ["e1", "e2", "e3"]
    # e1: week 1 = days 0-6 negatives -> '-'; day 7: one row used, one not -> the day is
    #   positive (any use that day) -> week 2 '+'; week 3 day 20 '+'.
    # e2: day -3 ignored; day 15 negative -> week 3 '-'; the self-report row (day 30) is not
    #   read but sets the last day -> 5 weeks.  e3: no rows -> "".  x9 is not an episode.
    assert words.tolist() == ["-++", "oo-oo", ""]
    assert weekly_patterns(_records(use), weeks=4).tolist() == ["-++o", "oo-o", "oooo"]
    # all sources: e2 day 30 (used) -> week 5 '+'
    assert weekly_patterns(_records(use), source=None).tolist()[1] == "oo-o+"
    # substances: only alcohol rows -> e1 day 7 negative -> week 2 '-'
    assert weekly_patterns(_records(use), substances=["alcohol"]).tolist()[0] == "o-o"


def test_generic_mixed_week_and_no_source_column() -> None:
    use = pd.DataFrame({"episode_id": ["e1", "e1", "e1"], "day": [1, 3, 9], "used": [1, 0, 0]})
    # no source column: every row is read; week 1 has a positive and a negative day -> '*'
    assert weekly_patterns(_records(use, ("e1",))).tolist() == ["*-"]


def test_generic_words_feed_pattern_outcomes() -> None:
    use = pd.DataFrame(
        {"episode_id": ["e1"] * 6, "day": [1, 8, 15, 22, 29, 36], "used": [0, 0, 1, 1, 1, 1]}
    )
    words = weekly_patterns(_records(use, ("e1",)))
    out = pattern_outcomes(words, ["lee2018_relapse"])
    assert words.tolist() == ["--++++"]
    assert out.loc["e1"].tolist() == [3, 1]


def test_weeks_must_be_non_negative_integer() -> None:
    use = pd.DataFrame({"episode_id": ["e1"], "day": [1], "used": [1]})
    with pytest.raises(ParameterError, match="weeks"):
        weekly_patterns(_records(use, ("e1",)), weeks=-1)


def test_a_declared_backbone_replaces_the_generic_weeks() -> None:
    # issue 13: the engine never asks where records came from; a reader declares its study-week
    # backbone in records.options (or the caller passes one). Counts worked by hand:
    # e1: week 1 positive only '+', week 2 negative only '-', week 3 both '*'; e2: 2 weeks, none
    import dataclasses

    counts = patterns.WeekCounts(
        episode_ids=pd.Index(["e1", "e2"]),
        positive=np.array([[2, 0, 1], [0, 0, 0]]),
        negative=np.array([[0, 3, 1], [0, 0, 0]]),
        lengths=np.array([3, 2]),
    )
    seen: list[object] = []

    def backbone(records: object, substances: object) -> patterns.WeekCounts:
        seen.append(substances)
        return counts

    use = pd.DataFrame({"episode_id": ["e1"], "day": [0], "used": [1], "source": ["uds"]})
    plain = _records(use, ("e1", "e2"))
    assert weekly_patterns(plain).tolist() == ["+", ""]  # generic: days since admission
    expected = ["+-*", "oo"]
    assert weekly_patterns(plain, backbone=backbone).tolist() == expected
    declared = dataclasses.replace(plain, options={"weekly_backbone": backbone})
    assert weekly_patterns(declared, substances=["Opioid"]).tolist() == expected
    assert seen == [None, ["Opioid"]]  # substances reach the backbone
    # the provenance label alone selects nothing
    labelled = dataclasses.replace(plain, provenance="ctn0094")
    assert weekly_patterns(labelled).tolist() == ["+", ""]


def test_pattern_citation_old_names_warn() -> None:
    # `reference` names a comparison's reference group everywhere else (docs/conventions.md)
    with pytest.warns(DeprecationWarning, match="'reference' is deprecated; use 'citation'"):
        d = register_pattern_definition(
            "old_name_use",
            lambda w: {"old_name_use": w.use().any(axis=1)},
            reference="x",
            overwrite=True,
        )
    with pytest.warns(DeprecationWarning, match="'reference' is deprecated; use 'citation'"):
        assert d.reference == "x" == d.citation
    assert "citation" in pattern_definitions().columns
