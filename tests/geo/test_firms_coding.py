"""Confidence codings detected from the column's values and the product; date-only files flagged."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from geo.firms import ConfidenceCodingError, detect_confidence_coding, map_confidence, read_detections

VIIRS = ("latitude,longitude,bright_ti4,scan,track,acq_date,acq_time,satellite,instrument,confidence,version,"
         "bright_ti5,frp,daynight\n")
MODIS = ("latitude,longitude,brightness,scan,track,acq_date,acq_time,satellite,instrument,confidence,version,"
         "bright_t31,frp,daynight\n")


def _viirs(confs: list[str], *, header: str = VIIRS) -> str:
    return header + "".join(f"-1.7,114.8,330,0.4,0.4,2023-09-14,0542,N,VIIRS,{c},2.0NRT,297,4.2,D\n" for c in confs)


def _read(text: str, **kw: object) -> tuple[object, pd.DataFrame, list]:
    stream = read_detections(io.StringIO(text), **kw)  # type: ignore[arg-type]
    chunks = list(stream)
    frame = pd.concat([c.frame for c in chunks], ignore_index=True)
    return stream, frame, [r for c in chunks for r in c.rejects]


@pytest.mark.parametrize(
    ("values", "fmt", "instruments", "coding"),
    [
        (["0", "29", "30", "80", "100"], "modis", [], "modis_percent"),
        (["0", "1", "2"], "modis", [], "modis_percent"),  # MODIS 0-2 % is percent, all low
        (["l", "n", "h"], "viirs", [], "viirs_letters"),
        (["L", "N"], "generic", [], "viirs_letters"),
        (["0", "1", "2"], "viirs", [], "viirs_numeric"),
        (["0", "2"], "generic", ["VIIRS"], "viirs_numeric"),
        (["0", "1", "2"], "generic", [" MODIS ", None, ""], "modis_percent"),  # the instrument says percent
        (["low", "nominal", "high"], "viirs", [], "class_words"),
        (["tinggi", "l", "sedang"], "generic", [], "class_words"),
        (["45", "90"], "generic", [], "modis_percent"),
        ([None, " "], "viirs", [], "none"),
    ],
)
def test_codings_detected(values: list, fmt: str, instruments: list, coding: str) -> None:
    assert detect_confidence_coding(values=values, fmt=fmt, instruments=instruments) == coding


@pytest.mark.parametrize(
    ("values", "fmt", "instruments", "reason"),
    [
        (["l", "85"], "viirs", [], "mixes numbers and words"),
        (["x", "n"], "viirs", [], "Unknown confidence value(s): x"),
        (["h", "n"], "modis", [], "MODIS file codes confidence 0-100"),
        (["150", "20"], "modis", [], "outside 0-100"),
        (["-5"], "generic", [], "outside 0-100"),
        (["45", "90"], "viirs", [], "VIIRS file codes confidence as l/n/h or 0/1/2"),
        (["0", "1", "2"], "generic", [], "MODIS percent or VIIRS classes"),
    ],
)
def test_unknown_codings_refused_with_reason(values: list, fmt: str, instruments: list, reason: str) -> None:
    with pytest.raises(ConfidenceCodingError) as err:
        detect_confidence_coding(values=values, fmt=fmt, instruments=instruments)
    assert reason in err.value.message_en
    assert err.value.field == "confidence"
    assert err.value.message_id and err.value.message_id != err.value.message_en  # the Indonesian half as well


def test_one_mapped_scale() -> None:
    assert map_confidence(["0", "29.9", "30", "79", "80", "100", "101"], coding="modis_percent") == [
        "low", "low", "nominal", "nominal", "high", "high", None]
    assert map_confidence(["0", "1", "2", "3"], coding="viirs_numeric") == ["low", "nominal", "high", None]
    assert map_confidence(["l", "N", "h", "x"], coding="viirs_letters") == ["low", "nominal", "high", None]
    assert map_confidence(["Rendah", "sedang", "HIGH", "n"], coding="class_words") == [
        "low", "nominal", "high", "nominal"]
    assert map_confidence(["", None], coding="viirs_letters") == [None, None]
    # A number in a letter or word coding does not fit it (a rejected row), whatever the number.
    assert map_confidence(["1", "85"], coding="viirs_letters") == [None, None]
    assert map_confidence(["2", "high"], coding="class_words") == [None, "high"]


def test_viirs_numeric_file_read_as_classes() -> None:
    stream, frame, rejects = _read(_viirs(["0", "1", "2", "1"]))
    assert rejects == []
    assert stream.confidence_coding == "viirs_numeric"  # type: ignore[attr-defined]
    assert frame["confidence"].astype(str).tolist() == ["low", "nominal", "high", "nominal"]
    assert frame["confidence_raw"].tolist() == ["0", "1", "2", "1"]


def test_unknown_coding_refuses_the_file_at_the_first_block() -> None:
    stream = read_detections(io.StringIO(_viirs(["n", "maybe", "h"])))
    with pytest.raises(ConfidenceCodingError) as err, stream:
        next(iter(stream))
    assert "maybe" in str(err.value)


def test_later_values_outside_the_decided_coding_are_rejected_rows() -> None:
    # The first block decides l/n/h; a later "85" does not fit and is a rejected line, the rest is read.
    stream, frame, rejects = _read(_viirs(["n", "h", "l", "85", "n"]), chunk_rows=3)
    assert stream.confidence_coding == "viirs_letters"  # type: ignore[attr-defined]
    assert len(frame) == 4
    assert rejects == [(5, "confidence tidak sesuai pengkodean berkas / confidence does not fit the file's coding")]


def test_firms_file_without_acq_time_is_date_only() -> None:
    header = MODIS.replace("acq_time,", "")
    text = header + "-1.7,114.8,320,1,1,2023-09-14,Terra,MODIS,85,6.1NRT,297,8.1,D\n"
    stream, frame, rejects = _read(text)
    assert rejects == []
    assert frame["date_only"].tolist() == [True]
    assert frame["acq_time_utc"].iloc[0] == pd.Timestamp("2023-09-14", tz="UTC")
    assert stream.date_only_rows == 1  # type: ignore[attr-defined]
    assert stream.confidence_coding == "modis_percent"  # type: ignore[attr-defined]


def test_timed_rows_are_not_date_only() -> None:
    _, frame, _ = _read(_viirs(["n"]))
    assert frame["date_only"].tolist() == [False]


def test_refusals_name_the_first_eight_values_and_say_when_there_are_more() -> None:
    """The refusal is what the user reads to fix the file: the values it names must be the file's own."""
    known = "MODIS 0-100, VIIRS l/n/h, VIIRS 0/1/2, low/nominal/high, rendah/sedang/tinggi"
    with pytest.raises(ConfidenceCodingError) as err:
        detect_confidence_coding(values=[str(i) for i in range(1, 9)] + ["l"], fmt="viirs")
    assert err.value.message_en == ("The confidence column mixes numbers and words (1, 2, 3, 4, 5, 6, 7, 8 ...); "
                                    "it fits no single coding")
    assert err.value.message_id == ("Kolom confidence mencampur angka dan kata (1, 2, 3, 4, 5, 6, 7, 8 ...); "
                                    "tidak cocok dengan satu pengkodean")
    with pytest.raises(ConfidenceCodingError) as err:
        detect_confidence_coding(values=[str(i) for i in range(1, 8)] + [" l "], fmt="viirs")
    assert "(1, 2, 3, 4, 5, 6, 7, l);" in err.value.message_en
    with pytest.raises(ConfidenceCodingError) as err:
        detect_confidence_coding(values=list("abcdefgij") + ["n"], fmt="viirs")
    assert err.value.message_en == f"Unknown confidence value(s): a, b, c, d, e, f, g, i; known codings: {known}"
    assert err.value.message_id == f"Nilai confidence tidak dikenal: a, b, c, d, e, f, g, i; yang dikenal: {known}"
    # Just past 100 is outside MODIS' 0-100 too (not a rejected row under a coding that was accepted).
    with pytest.raises(ConfidenceCodingError, match=r"outside 0-100 \(100.5, 50\)"):
        detect_confidence_coding(values=["50", "100.5"], fmt="modis")


def test_a_generic_file_s_instrument_column_says_how_0_1_2_is_coded() -> None:
    text = "lat,lon,tanggal,confidence,sensor\n-1.7,114.8,2023-09-14,2,{0}\n-1.8,114.8,2023-09-14,0,{0}\n"
    stream, frame, rejects = _read(text.format(" VIIRS "))
    assert stream.confidence_coding == "viirs_numeric" and rejects == []  # type: ignore[attr-defined]
    assert frame["confidence"].astype(str).tolist() == ["high", "low"]
    stream, frame, _ = _read(text.format("MODIS"))
    assert stream.confidence_coding == "modis_percent"  # type: ignore[attr-defined]
    assert frame["confidence"].astype(str).tolist() == ["low", "low"]


def test_the_coding_decided_stays_through_blocks_without_values() -> None:
    # Blocks of two rows: l/h decides the coding, a block without values changes nothing, "85" is then no class.
    stream, frame, rejects = _read(_viirs(["h", "l", "", "", "85", "n"]), chunk_rows=2)
    assert stream.confidence_coding == "viirs_letters"  # type: ignore[attr-defined]
    assert rejects == [(6, "confidence tidak sesuai pengkodean berkas / confidence does not fit the file's coding")]
    assert len(frame) == 5
    # A file without any confidence value says so.
    stream, frame, _ = _read(_viirs(["", ""]), chunk_rows=1)
    assert stream.confidence_coding == "none" and frame["confidence"].isna().all()  # type: ignore[attr-defined]


def test_a_confidence_of_spaces_is_no_value_and_many_distinct_values_are_read_like_few() -> None:
    stream, frame, rejects = _read(_viirs(["n", "   ", "h"]))
    assert rejects == [] and frame["confidence_raw"].tolist() == ["n", "", "h"]
    assert frame["confidence"].astype(object).where(frame["confidence"].notna(), None).tolist() == [
        "nominal", None, "high"]
    # Past a few hundred distinct texts the stripping is vectorised: MODIS percent with decimals, spaced.
    confs = [f" {i / 3:.2f} " for i in range(300)]
    stream, frame, rejects = _read(_viirs(confs, header=MODIS))
    assert rejects == [] and stream.confidence_coding == "modis_percent"  # type: ignore[attr-defined]
    assert frame["confidence_raw"].tolist() == [c.strip() for c in confs]
    assert frame["confidence"].astype(str).tolist() == ["low"] * 90 + ["nominal"] * 150 + ["high"] * 60


def test_date_only_rows_are_counted_over_every_block() -> None:
    header = MODIS.replace("acq_time,", "")
    row = "-1.7,114.8,320,1,1,2023-09-14,Terra,MODIS,85,6.1NRT,297,8.1,D\n"
    stream, frame, _ = _read(header + row * 5, chunk_rows=2)
    assert len(frame) == 5 and stream.date_only_rows == 5  # type: ignore[attr-defined]
