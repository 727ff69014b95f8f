"""FIRMS CSV reading (MODIS, VIIRS NRT/archive, generic), bad input, keys and desa tagging."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from geo.firms import (
    DETECTION_COLUMNS,
    FirmsFormatError,
    GenericColumns,
    detection_keys,
    in_area,
    in_bbox,
    normalise_confidence,
    read_detections,
    tag_detections,
)

FIX = Path(__file__).parents[1] / "fixtures" / "firms"


def _one(source: object, **kw: object) -> tuple[pd.DataFrame, list, list]:
    stream = read_detections(source, **kw)  # type: ignore[arg-type]
    chunks = list(stream)
    frame = pd.concat([c.frame for c in chunks], ignore_index=True)
    rejects = [r for c in chunks for r in c.rejects]
    attrs = [a for c in chunks for a in c.attributes]
    return frame, rejects, attrs


def test_modis_nrt_parses_times_confidence_and_attributes() -> None:
    frame, rejects, attrs = _one(FIX / "modis_nrt.csv")
    assert rejects == []
    assert list(frame.columns) == list(DETECTION_COLUMNS)
    assert len(frame) == 6
    assert str(frame["acq_time_utc"].dt.tz) == "UTC"
    # acq_time "0305", "545" (05:45) and "5" (00:05) are all HHMM.
    assert frame["acq_time_utc"].tolist()[0] == pd.Timestamp("2023-09-14 03:05", tz="UTC")
    assert frame["acq_time_utc"].tolist()[2] == pd.Timestamp("2023-09-14 05:45", tz="UTC")
    assert frame["acq_time_utc"].tolist()[4] == pd.Timestamp("2023-09-15 00:05", tz="UTC")
    # MODIS 0-100: <30 low, 30-79 nominal, >=80 high (raw values 0, 29, 30, 79, 80, 100).
    assert frame["confidence"].astype(str).tolist() == ["low", "low", "nominal", "nominal", "high", "high"]
    assert frame["confidence_raw"].tolist() == ["0", "29", "30", "79", "80", "100"]
    assert frame["satellite"].tolist()[:3] == ["Terra", "Terra", "Aqua"]
    assert frame["version"].iloc[0] == "6.1NRT"
    assert frame["brightness"].iloc[5] == pytest.approx(367.8)
    assert frame["frp"].sum() == pytest.approx(8.1 + 12.6 + 20.3 + 35.7 + 88.4 + 140.2)
    assert frame["line_no"].tolist() == [2, 3, 4, 5, 6, 7]
    assert attrs[0] == {"scan": 1.02, "track": 1.01, "bright_t31": 297.2}


def test_modis_archive_keeps_version_text_and_type() -> None:
    stream = read_detections(FIX / "modis_archive.csv")
    assert stream.fmt == "modis"
    frame, rejects, attrs = _one(FIX / "modis_archive.csv")
    assert frame["version"].tolist() == ["6.03"] * 3
    assert frame["confidence"].astype(str).tolist() == ["nominal", "high", "low"]
    assert [a["type"] for a in attrs] == [0, 0, 0]


def test_viirs_nrt_and_archive() -> None:
    nrt, rej, _ = _one(FIX / "viirs_snpp_nrt.csv")
    assert rej == []
    assert read_detections(FIX / "viirs_snpp_nrt.csv").fmt == "viirs"
    assert nrt["confidence"].astype(str).tolist() == ["nominal", "high", "low", "nominal"]
    assert nrt["satellite"].unique().tolist() == ["Suomi NPP"]
    assert nrt["acq_time_utc"].iloc[3] == pd.Timestamp("2023-09-15 00:17", tz="UTC")
    assert nrt["version"].iloc[0] == "2.0NRT"
    assert nrt["brightness"].iloc[1] == pytest.approx(367.0)  # bright_ti4

    arch, _, attrs = _one(FIX / "viirs_noaa20_archive.csv")
    # Archive files write NOAA-20 as "N20" or "1": one platform.
    assert arch["satellite"].tolist() == ["NOAA-20"] * 3
    assert arch["satellite_raw"].tolist() == ["N20", "1", "N20"]
    assert [a["type"] for a in attrs] == [0, 0, 2]
    assert set(attrs[0]) == {"scan", "track", "bright_ti5", "type"}


def test_generic_csv_with_mapped_columns_and_local_time() -> None:
    cols = {"latitude": "lintang", "longitude": "bujur", "date": "waktu"}
    frame, rejects, attrs = _one(FIX / "generic_bpbd.csv", fmt="generic", columns=cols,
                                 naive_tz="Asia/Jakarta")
    assert rejects == []
    assert frame["lat"].tolist() == [-1.732, -2.103, -1.5205]
    # Naive local times are WIB (UTC+7); an explicit offset wins. A bare date is that day, flagged date-only
    # (kept on its calendar day, not turned into midnight WIB as if it were a time).
    assert frame["acq_time_utc"].tolist() == [
        pd.Timestamp("2023-09-14 06:30", tz="UTC"),
        pd.Timestamp("2023-09-15 01:10", tz="UTC"),
        pd.Timestamp("2023-09-16 00:00", tz="UTC"),
    ]
    assert frame["date_only"].tolist() == [False, False, True]
    assert attrs[0] == {"sumber": "Patroli Manggala Agni", "petugas": "Rahmat", "luas_ha": 2.5}
    assert attrs[1]["petugas"] is None
    assert frame["confidence"].isna().all()
    # The aliases (lintang/bujur/waktu) are found without options too, and a GenericColumns works the same.
    again, _, _ = _one(FIX / "generic_bpbd.csv", naive_tz="Asia/Jakarta")
    assert again["detection_key"].tolist() == frame["detection_key"].tolist()
    typed_cols = GenericColumns(latitude="lintang", longitude="bujur", date="waktu")
    typed, _, _ = _one(FIX / "generic_bpbd.csv", columns=typed_cols, naive_tz="Asia/Jakarta")
    assert typed["detection_key"].tolist() == frame["detection_key"].tolist()


def test_generic_with_separate_time_and_confidence_words() -> None:
    text = ("y,x,tgl,jam,keyakinan,catatan\n"
            "-1.7,114.8,2023-09-14,542,tinggi,a\n-1.8,114.9,2023-09-14,1806,l,b\n")
    cols = {"latitude": "y", "longitude": "x", "date": "tgl", "time": "jam", "confidence": "keyakinan"}
    frame, rejects, attrs = _one(io.StringIO(text), columns=cols)
    assert rejects == []
    assert frame["acq_time_utc"].tolist() == [pd.Timestamp("2023-09-14 05:42", tz="UTC"),
                                              pd.Timestamp("2023-09-14 18:06", tz="UTC")]
    assert frame["confidence"].astype(str).tolist() == ["high", "low"]
    assert attrs == [{"catatan": "a"}, {"catatan": "b"}]


def test_confidence_normalisation_table() -> None:
    raw = pd.Series(["0", "29", "29.9", "30", "79", "80", "100", "l", "n", "h", "L", "nominal", "High", "x",
                     None, "101"])
    got = normalise_confidence(raw).tolist()
    assert got == ["low", "low", "low", "nominal", "nominal", "high", "high", "low", "nominal", "high", "low",
                   "nominal", "high", None, None, None]


def test_missing_columns_named_before_any_row() -> None:
    with pytest.raises(FirmsFormatError) as err:
        read_detections(FIX / "viirs_missing_columns.csv")
    msg = str(err.value)
    # acq_time is not required: a file without it is read date-only (see test_date_only_*).
    assert "latitude" in msg and "acq_time" not in msg
    assert "tidak ada" in msg and "Missing" in msg
    assert "longitude" not in msg.split("/")[0].split(":")[1]


def test_generic_missing_mapped_column_is_named() -> None:
    with pytest.raises(FirmsFormatError, match="tanggal_lapor"):
        read_detections(FIX / "generic_bpbd.csv", columns={"latitude": "lintang", "longitude": "bujur",
                                                            "date": "tanggal_lapor"})
    with pytest.raises(FirmsFormatError, match="date"):
        read_detections(io.StringIO("lat,lon,nama\n-1.7,114.8,a\n"))


def test_malformed_rows_reported_by_line_and_rest_kept() -> None:
    stream = read_detections(FIX / "viirs_malformed.csv")
    chunks = list(stream)
    rejects = [r for c in chunks for r in c.rejects]
    kept = pd.concat([c.frame for c in chunks])
    # Line 5 is blank: neither kept nor reported.
    assert [line for line, _ in rejects] == [3, 6, 7, 8, 9]
    reasons = dict(rejects)
    assert "latitude" in reasons[3]
    assert "longitude" in reasons[6]
    assert "date" in reasons[7]          # 2023-09-31
    assert "HHMM" in reasons[8]          # 2460
    assert "too many fields" in reasons[9]
    assert kept["line_no"].tolist() == [2, 4, 10]
    assert (stream.rows_read, stream.rows_kept, stream.rows_rejected) == (8, 3, 5)


def test_streaming_chunks_keep_line_numbers_and_keys(tmp_path: Path) -> None:
    src = (FIX / "viirs_malformed.csv").read_text()
    whole, whole_rej, _ = _one(FIX / "viirs_malformed.csv")
    small = list(read_detections(FIX / "viirs_malformed.csv", chunk_rows=2))
    assert len(small) == 5
    assert pd.concat([c.frame for c in small])["line_no"].tolist() == whole["line_no"].tolist()
    assert [r for c in small for r in c.rejects] == whole_rej
    # Same file gzip-compressed and as an open binary handle: same keys.
    gz = tmp_path / "v.csv.gz"
    gz.write_bytes(gzip.compress(src.encode()))
    from_gz, _, _ = _one(gz)
    from_bytes, _, _ = _one(io.BytesIO(src.encode()))
    assert from_gz["detection_key"].tolist() == whole["detection_key"].tolist()
    assert from_bytes["detection_key"].tolist() == whole["detection_key"].tolist()


def test_same_rows_twice_same_keys_and_keys_distinguish() -> None:
    a, _, _ = _one(FIX / "viirs_snpp_nrt.csv")
    b, _, _ = _one(FIX / "viirs_snpp_nrt.csv")
    assert a["detection_key"].tolist() == b["detection_key"].tolist()
    assert a["detection_key"].is_unique
    assert all(len(k) == 32 and int(k, 16) >= 0 for k in a["detection_key"])
    # A duplicated row gets the same key (so the store can upsert it), a moved one does not.
    text = (FIX / "viirs_snpp_nrt.csv").read_text().splitlines()
    doubled = "\n".join([*text, text[1], text[1].replace("114.85502", "114.85503")]) + "\n"
    c, _, _ = _one(io.StringIO(doubled))
    keys = c["detection_key"].tolist()
    assert keys[4] == keys[0]
    assert keys[5] != keys[0]
    # NOAA-20 written "N20" and "1" at the same place and time is the same detection.
    arch, _, _ = _one(io.StringIO(
        "latitude,longitude,bright_ti4,scan,track,acq_date,acq_time,satellite,instrument,confidence,version,"
        "bright_ti5,frp,daynight\n"
        "-2.2,114.6,340,0.4,0.4,2019-09-20,514,N20,VIIRS,n,2,296,7,D\n"
        "-2.2,114.6,340,0.4,0.4,2019-09-20,514,1,VIIRS,n,2.0NRT,296,7,D\n"))
    assert arch["detection_key"].iloc[0] == arch["detection_key"].iloc[1]


def test_area_filters() -> None:
    lon = np.array([114.8, 116.0, 114.5, np.nan])
    lat = np.array([-1.7, -1.7, -2.7, -1.7])
    assert in_bbox(lon=lon, lat=lat, bbox=(114.5, -2.7, 115.5, -1.2)).tolist() == [True, False, True, False]
    tri = shapely.Polygon([(114.0, -3.0), (115.0, -3.0), (115.0, -1.0)])
    assert in_area(lon=lon, lat=lat, area=tri).tolist() == [True, False, True, False]
    assert in_area(lon=np.array([114.2]), lat=np.array([-1.5]), area=tri).tolist() == [False]


@pytest.fixture(scope="module")
def locator():
    from geo.layers import read_bundled_layers
    from geo.locate import Locator

    return Locator.from_layers(read_bundled_layers())


def test_tag_detections_inside_border_and_outside(locator) -> None:
    text = (
        "latitude,longitude,bright_ti4,scan,track,acq_date,acq_time,satellite,instrument,confidence,version,"
        "bright_ti5,frp,daynight\n"
        "-1.73,114.85,331,0.4,0.4,2023-09-14,542,N,VIIRS,n,2.0NRT,297,4,D\n"  # Hilir Seper (Dusun Selatan)
        "-1.95,114.60,331,0.4,0.4,2023-09-14,542,N,VIIRS,n,2.0NRT,297,4,D\n"  # Kapuas, ~2 km out
        "-1.00,115.60,331,0.4,0.4,2023-09-14,542,N,VIIRS,h,2.0NRT,297,4,D\n"  # Barito Utara, ~35 km away
    )
    chunk = next(iter(read_detections(io.StringIO(text))))
    tagged = tag_detections(chunk, locator=locator)
    f = tagged.frame
    assert f["zone"].tolist() == ["inside", "border", "outside"]
    assert f["desa_name"].iloc[0] == "Hilir Seper"
    assert f["kecamatan_name"].iloc[0] == "Dusun Selatan"
    assert f["desa_code"].iloc[1] is None and f["desa_code"].iloc[2] is None
    assert f["kabupaten_name"].tolist() == ["Kabupaten Barito Selatan", "Kabupaten Kapuas", None]
    assert f["border_distance_m"].iloc[0] == 0.0
    assert 1_000 < f["border_distance_m"].iloc[1] < 10_000
    assert f["nearest_desa_code"].iloc[1].startswith("62.04.")
    assert np.isnan(f["border_distance_m"].iloc[2]) and f["nearest_desa_code"].iloc[2] is None
    # A tighter limit turns the border row into an outside row.
    tight = tag_detections(chunk, locator=locator, max_outside_m=1_000).frame
    assert tight["zone"].tolist() == ["inside", "outside", "outside"]


class _LocateManyOnly:
    """The real locator seen only through locate_many: tagging must then give the same answer."""

    def __init__(self, locator) -> None:
        self.locate_many = locator.locate_many


def test_tag_fast_path_matches_locate_many(locator) -> None:
    rng = np.random.default_rng(11)
    n = 3000
    lon = np.round(rng.uniform(114.2, 115.8, n), 5)
    lat = np.round(rng.uniform(-3.0, -0.9, n), 5)
    tail = ",331,0.4,0.4,2023-09-14,542,N,VIIRS,n,2.0NRT,297,4,D\n"
    rows = "".join(f"{y},{x}{tail}" for x, y in zip(lon, lat, strict=True))
    header = ("latitude,longitude,bright_ti4,scan,track,acq_date,acq_time,satellite,instrument,confidence,"
              "version,bright_ti5,frp,daynight\n")
    chunk = next(iter(read_detections(io.StringIO(header + rows))))
    fast = tag_detections(chunk, locator=locator).frame
    slow = tag_detections(chunk, locator=_LocateManyOnly(locator)).frame
    assert set(fast["zone"]) == {"inside", "border", "outside"}
    # locate_many measures points farther than NearestEdge.EXACT_WITHIN_M from every desa edge to within
    # EPSILON; the fast path measures the border band's far shell exactly. Elsewhere the two are identical.
    edges = locator.desa_edges
    far = ~(slow["border_distance_m"] < edges.EXACT_WITHIN_M) & (slow["zone"] != "inside")
    far |= fast["border_distance_m"] >= edges.EXACT_WITHIN_M
    assert far.sum() > 50
    pd.testing.assert_frame_equal(fast[~far], slow[~far])
    both = far & (fast["zone"] == "border") & (slow["zone"] == "border")
    f, s = fast["border_distance_m"][both], slow["border_distance_m"][both]
    assert (f <= s + 1e-6).all() and (s <= (f + edges.SPACING_M) * (1 + edges.EPSILON)).all()
    assert (fast["border_distance_m"][fast["zone"] == "border"] <= 10_000).all()


def test_per_value_parsers_match_the_vectorised_ones() -> None:
    from geo.firms import (
        _confidence_level,
        _confidence_levels,
        _hhmm_minutes,
        _hhmm_values,
        _satellite_name,
        _satellite_names,
        _ymd,
        _ymd_one,
    )

    texts = ["0", "29", "29.9", "30", " 79 ", "80", "100", "101", "-1", "l", "N", " h", "nominal", "High", "x",
             "", "nan", "inf", "1e1", ".5", "5.", "+40", "Rendah", "sedang", "TINGGI", "542", "0542", "05:42", "5",
             "2400", "2360", "1259.5", "N20", "1", "2", "Terra", " aqua ", "npp", "J1", "GOES-16", "2023-09-14",
             " 2023-09-31", "2023-9-4", "2023-09-14T05:42", "14/09/2023"]
    series = pd.Series(texts, dtype=object)
    assert [_confidence_level(t) for t in texts] == _confidence_levels(series).tolist()
    assert [_satellite_name(t) for t in texts] == _satellite_names(series).tolist()
    assert [_hhmm_minutes(t) for t in texts] == _hhmm_values(series)[0].tolist()
    np.testing.assert_array_equal(np.array([_ymd_one(t) for t in texts], dtype="datetime64[ns]"), _ymd(series))


def test_odd_lines_keep_their_line_numbers() -> None:
    header = ("latitude,longitude,bright_ti4,scan,track,acq_date,acq_time,satellite,instrument,confidence,version,"
              "bright_ti5,frp,daynight\r\n")
    good = "-1.73,114.85,331,0.4,0.4,2023-09-14,542,N,VIIRS,n,2.0NRT,297,4,D\r\n"
    body = (good                                           # 2
            + "\r\n"                                       # 3 blank (CRLF)
            + "-1.74,114.86,331,0.4,0.4,2023-09-14\r\n"    # 4 too few fields
            + ",,,,,,,,,,,,,\r\n"                          # 5 only separators: skipped like a blank line
            + "-1.75,114.8\xff7,331,0.4,0.4,2023-09-14,542,N,VIIRS,n,2.0NRT,297,4,D,\xfe\r\n"  # 6 bad UTF-8, too many
            + good.replace("114.85", "114.88")             # 7
            + "   \r\n"                                    # 8 spaces only: one short field
            + good.replace("114.85", "114.89").rstrip())   # 9, no final line break
    raw = (header + body).encode("latin-1")
    for chunk_rows in (1, 3, 50_000):
        stream = read_detections(io.BytesIO(raw), chunk_rows=chunk_rows)
        chunks = list(stream)
        frame = pd.concat([c.frame for c in chunks], ignore_index=True)
        rejects = [r for c in chunks for r in c.rejects]
        assert frame["line_no"].tolist() == [2, 7, 9]
        assert [line for line, _ in rejects] == [4, 6, 8]
        assert all(len(c) + len(c.rejects) <= chunk_rows for c in chunks)  # the last line, unended, too
        assert "too few fields" in rejects[0][1] and "too many fields" in rejects[1][1]
        assert (stream.rows_read, stream.rows_kept, stream.rows_rejected) == (6, 3, 3)
        assert frame["lon"].tolist() == [114.85, 114.88, 114.89]


def test_closing_a_stream_midway_stops_reading() -> None:
    text = (FIX / "viirs_snpp_nrt.csv").read_text()
    stream = read_detections(io.StringIO(text), chunk_rows=1)
    first = next(stream)
    assert len(first) == 1
    stream.close()
    assert list(stream) == []


_HEADER = ("latitude,longitude,bright_ti4,scan,track,acq_date,acq_time,satellite,instrument,confidence,version,"
           "bright_ti5,frp,daynight\n")


def _rows_with_bad_lines(n: int) -> tuple[str, list[int]]:
    """n data lines, every 37th too short and every 53rd with an invalid date: the text and the bad lines."""
    rng = np.random.default_rng(5)
    lines, bad = [], []
    for i in range(n):
        line_no = i + 2
        lat, lon = round(float(rng.uniform(-2.7, -1.2)), 5), round(float(rng.uniform(114.5, 115.5)), 5)
        day = "2023-09-31" if i % 53 == 7 else f"2023-09-{1 + i % 28:02d}"
        row = f"{lat},{lon},331,0.4,0.4,{day},{(542, 1806, 17, 624)[i % 4]},N,VIIRS,n,2.0NRT,297,{i % 13},D"
        if i % 37 == 5:
            row = f"{lat},{lon},331"
        if i % 37 == 5 or i % 53 == 7:
            bad.append(line_no)
        lines.append(row)
    return _HEADER + "\n".join(lines) + "\n", bad


def test_read_ahead_keeps_order_line_numbers_and_rejects() -> None:
    # 300 lines, 14 of them bad (both kinds, some two lines apart), read in chunks of one line, of a few lines and of
    # more lines than lie between two bad ones.
    text, bad = _rows_with_bad_lines(300)
    assert len(bad) == 14
    whole, whole_rej, _ = _one(io.StringIO(text), chunk_rows=50_000)
    assert [line for line, _ in whole_rej] == bad
    for chunk_rows in (1, 7, 61):
        stream = read_detections(io.StringIO(text), chunk_rows=chunk_rows)
        chunks = list(stream)
        assert all(len(c) + len(c.rejects) <= chunk_rows for c in chunks)
        frame = pd.concat([c.frame for c in chunks], ignore_index=True)
        pd.testing.assert_frame_equal(frame, whole)
        assert [r for c in chunks for r in c.rejects] == whole_rej
        assert (stream.rows_read, stream.rows_rejected) == (300, len(bad))
    assert whole["line_no"].is_monotonic_increasing and not set(whole["line_no"]) & set(bad)


class _FailingAfterFirstRead(io.BytesIO):
    """A source whose second read fails, as a network stream that drops halfway."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.reads = 0

    def read(self, size: int | None = -1) -> bytes:  # type: ignore[override]
        self.reads += 1
        if self.reads > 1:
            raise OSError("connection reset")
        return super().read(size)


def test_read_ahead_error_surfaces_after_the_chunks_before_it() -> None:
    text, _ = _rows_with_bad_lines(20)
    stream = read_detections(_FailingAfterFirstRead(text.encode()), chunk_rows=6)
    seen = []
    with pytest.raises(OSError, match="connection reset"):
        for chunk in stream:
            seen.extend(chunk.line_no.tolist() + [line for line, _ in chunk.rejects])
    # The three full blocks of the first read came through; the last two lines waited for the failed read.
    assert sorted(seen) == list(range(2, 20))
    assert list(stream) == []


def test_keys_are_one_arrow_string_column() -> None:
    chunk = next(iter(read_detections(FIX / "viirs_snpp_nrt.csv")))
    assert isinstance(chunk.frame["detection_key"].dtype, pd.StringDtype)
    keys = chunk.detection_key
    assert keys.dtype == object and all(type(k) is str and len(k) == 32 for k in keys)
    part = chunk.take(np.arange(len(chunk)) % 2 == 0)
    assert part.frame["detection_key"].tolist() == keys[::2].tolist()


def test_tag_with_h3_cells_computed_alongside(locator) -> None:
    import h3

    from geo.hexagons import cells_from_lonlat, cells_to_str

    rng = np.random.default_rng(12)
    n = 20_000  # large enough for the H3 work to be split between threads
    lon = np.round(rng.uniform(114.2, 115.8, n), 5)
    lat = np.round(rng.uniform(-3.0, -0.9, n), 5)
    tail = ",331,0.4,0.4,2023-09-14,542,N,VIIRS,n,2.0NRT,297,4,D\n"
    chunk = next(iter(read_detections(io.StringIO(_HEADER + "".join(f"{y},{x}{tail}" for x, y in zip(lon, lat,
                                                                                                    strict=True))))))
    plain = tag_detections(chunk, locator=locator)
    tagged = tag_detections(chunk, locator=locator, h3_resolutions=(9, 7, 5, 7))
    pd.testing.assert_frame_equal(tagged.frame, plain.frame)
    assert plain.cells == {} and sorted(tagged.cells) == [5, 7, 9]
    for res, cells in tagged.cells.items():
        # Each resolution from lon/lat (never parents of a finer cell), equal to h3 itself.
        assert (cells == cells_from_lonlat(lon=chunk.lon, lat=chunk.lat, res=res)).all()
        sample = rng.choice(n, 300, replace=False)
        assert cells_to_str(cells[sample]).tolist() == [h3.latlng_to_cell(lat[i], lon[i], res) for i in sample]
    # take() carries the cells; re-tagging keeps the ones already there and adds the missing ones.
    keep = tagged.frame["zone"].to_numpy() != "outside"
    part = tagged.take(keep)
    assert (part.cells[7] == tagged.cells[7][keep]).all()
    again = tag_detections(part, locator=locator, h3_resolutions=(7, 8))
    assert (again.cells[7] == part.cells[7]).all()
    assert (again.cells[8] == cells_from_lonlat(lon=part.lon, lat=part.lat, res=8)).all()
    empty = tag_detections(chunk.take(np.zeros(n, dtype=bool)), locator=locator, h3_resolutions=(7,))
    assert len(empty) == 0 and empty.cells[7].dtype == np.uint64 and len(empty.cells[7]) == 0


@pytest.mark.parametrize("max_outside_m", [10_000.0, 3_000.0])
def test_tag_near_the_distance_cap_matches_locate_many(locator, max_outside_m: float) -> None:
    from geo.crs import UTM50S, WGS84, project_geometries

    rng = np.random.default_rng(int(max_outside_m))
    outline = project_geometries(np.array([locator.outline]))[0]
    ring = shapely.boundary(shapely.buffer(outline, max_outside_m, quad_segs=16))
    along = shapely.line_interpolate_point(ring, rng.uniform(0, 1, 2_000), normalized=True)
    near = shapely.points(shapely.get_coordinates(along) + rng.uniform(-80, 80, (2_000, 2)))
    lonlat = shapely.get_coordinates(project_geometries(near, src=UTM50S, dst=WGS84))
    tail = ",331,0.4,0.4,2023-09-14,542,N,VIIRS,n,2.0NRT,297,4,D\n"
    rows = "".join(f"{y:.6f},{x:.6f}{tail}" for x, y in lonlat)
    header = ("latitude,longitude,bright_ti4,scan,track,acq_date,acq_time,satellite,instrument,confidence,"
              "version,bright_ti5,frp,daynight\n")
    chunk = next(iter(read_detections(io.StringIO(header + rows))))
    fast = tag_detections(chunk, locator=locator, max_outside_m=max_outside_m).frame
    slow = tag_detections(chunk, locator=_LocateManyOnly(locator), max_outside_m=max_outside_m).frame
    assert (fast["zone"] == "border").sum() > 300 and (fast["zone"] == "outside").sum() > 300
    edges = locator.desa_edges
    if max_outside_m < edges.EXACT_WITHIN_M:
        pd.testing.assert_frame_equal(fast, slow)
        return
    # Beyond EXACT_WITHIN_M locate_many measures to within EPSILON (200 m at 10 km): the band's edge is held
    # to the exact distance to the desa edges instead, so a detection 9.9 km out is always kept.
    (_, _seg), exact = edges.segment_tree.query_nearest(near, return_distance=True, all_matches=False)
    outside = (fast["zone"] != "inside").to_numpy()
    clear = outside & (np.abs(exact - max_outside_m) > 1.0)
    border = (fast["zone"] == "border").to_numpy()
    np.testing.assert_array_equal(border[clear], exact[clear] <= max_outside_m)
    # (the CSV keeps six decimals of a degree: up to 0.1 m off the generated point)
    np.testing.assert_allclose(fast["border_distance_m"].to_numpy()[border], exact[border], rtol=0, atol=0.5)
    assert (slow["zone"] == "border").sum() <= border.sum()  # the approximate path loses some of them


def test_detection_keys_do_not_change_between_versions() -> None:
    """The store upserts by key: a key computed otherwise next release would store every detection twice."""
    chunk = next(iter(read_detections(FIX / "viirs_snpp_nrt.csv")))
    assert chunk.detection_key.tolist() == [
        "9888b18cc51640fbda984c1cce04174d",
        "e03c2f6429636bd1e85efa43218e5d92",
        "3facc2f8d4df711cb42c2a77b7c50687",
        "08ebf5be16e7f36fb0c8bc0d48d54348",
    ]
    modis = next(iter(read_detections(FIX / "modis_nrt.csv")))
    assert modis.detection_key.tolist()[:2] == ["37bc892462a0b4116e6587da4dc7e658", "b10bc51b3dfc8d38cad77895549e487c"]
    # `detection_keys` is the definition the reader's keys follow.
    f = chunk.frame
    again = detection_keys(instrument=f["instrument"].to_numpy(), satellite=f["satellite"].to_numpy(),
                           lon=chunk.lon, lat=chunk.lat, acq_time_utc=chunk.acq_time_utc)
    assert again.tolist() == chunk.detection_key.tolist()
    empty = detection_keys(instrument=np.array([]), satellite=np.array([]), lon=np.array([]), lat=np.array([]),
                           acq_time_utc=np.array([], dtype="datetime64[ns]"))
    assert empty.tolist() == [] and empty.dtype == object
    one = detection_keys(instrument=f["instrument"].to_numpy()[:1], satellite=f["satellite"].to_numpy()[:1],
                         lon=chunk.lon[:1], lat=chunk.lat[:1], acq_time_utc=chunk.acq_time_utc[:1])
    assert one.tolist() == chunk.detection_key.tolist()[:1]


def test_the_bbox_keeps_its_four_edges() -> None:
    bbox = (114.5, -2.7, 115.5, -1.2)
    lon = np.array([114.5, 115.5, 115.0, 115.0, 114.4999, 115.5001, 115.0, 115.0])
    lat = np.array([-2.0, -2.0, -2.7, -1.2, -2.0, -2.0, -2.7001, -1.1999])
    assert in_bbox(lon=lon, lat=lat, bbox=bbox).tolist() == [True] * 4 + [False] * 4


def test_a_zip_with_one_csv_is_read_and_one_with_two_is_refused(tmp_path) -> None:
    text = (FIX / "viirs_snpp_nrt.csv").read_bytes()
    one = tmp_path / "firms.ZIP"
    with zipfile.ZipFile(one, "w") as zf:
        zf.writestr("README.md", "not a table")
        zf.writestr("fire_nrt_SV-C2.csv", text)
    plain = next(iter(read_detections(FIX / "viirs_snpp_nrt.csv")))
    from_zip = list(read_detections(one))
    assert [len(c) for c in from_zip] == [4]
    assert from_zip[0].detection_key.tolist() == plain.detection_key.tolist()
    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as zf:
        zf.writestr("a.csv", text)
        zf.writestr("b.TXT", text)
    with pytest.raises(FirmsFormatError) as err:
        read_detections(two)
    assert err.value.message_en == "ZIP archive must contain exactly one CSV, found 2"
    assert err.value.message_id == "Arsip ZIP harus berisi tepat satu CSV, ada 2"
    assert err.value.field == "file"
    none = tmp_path / "none.zip"
    with zipfile.ZipFile(none, "w") as zf:
        zf.writestr("README.md", "not a table")
    with pytest.raises(FirmsFormatError, match="found 0"):
        read_detections(none)


def test_a_header_with_a_byte_order_mark_quotes_and_spaces_is_read(tmp_path) -> None:
    text = (FIX / "viirs_snpp_nrt.csv").read_text().splitlines()
    header = ",".join(f' "{c}" ' for c in text[0].split(","))
    body = "\n".join(text[1:]) + "\n"
    plain = next(iter(read_detections(FIX / "viirs_snpp_nrt.csv")))
    for source in (io.BytesIO(("\ufeff" + header + "\n" + body).encode("utf-8")),
                   io.StringIO("\ufeff" + header + "\n" + body)):
        stream = read_detections(source)
        assert stream.fmt == "viirs" and stream.header[0] == "latitude"
        assert next(iter(stream)).detection_key.tolist() == plain.detection_key.tolist()


@pytest.mark.parametrize("text", ["", "\n", "  \r\n"])
def test_an_empty_file_is_refused(text: str) -> None:
    with pytest.raises(FirmsFormatError) as err:
        read_detections(io.StringIO(text))
    assert err.value.message_en == "Empty file or no header line" and err.value.field == "file"


def test_bad_options_and_headers_are_refused_naming_what_to_fix() -> None:
    with pytest.raises(FirmsFormatError) as err:
        read_detections(FIX / "viirs_snpp_nrt.csv", fmt="goes")  # type: ignore[arg-type]
    assert err.value.field == "format" and err.value.message_en == "Unknown format: goes"
    with pytest.raises(ValueError, match="chunk_rows"):
        read_detections(FIX / "viirs_snpp_nrt.csv", chunk_rows=0)
    assert len(next(iter(read_detections(FIX / "viirs_snpp_nrt.csv", chunk_rows=1)))) == 1
    with pytest.raises(FirmsFormatError) as err:
        read_detections(io.StringIO("lat,lon,date,lat\n-1.7,114.8,2023-09-14,-1.7\n"))
    assert err.value.message_en == "Duplicate column name(s): lat"
    with pytest.raises(FirmsFormatError) as err:
        read_detections(io.StringIO("y,x,tgl\n-1.7,114.8,2023-09-14\n"),
                        columns={"latitude": "y", "longitude": "x", "date": "tgl", "kota": "k", "alamat": "a"})
    assert err.value.field == "columns"
    assert err.value.message_en.startswith("Unknown column option(s): alamat, kota; valid: latitude, longitude, date")
    assert err.value.message_id.startswith("Opsi kolom tidak dikenal: alamat, kota; yang sah: latitude, longitude")
    # Column options name the file's columns in any case.
    frame = pd.concat([c.frame for c in read_detections(
        io.StringIO("Y,X,Tgl\n-1.7,114.8,2023-09-14\n"), columns={"latitude": "y", "longitude": "x", "date": "TGL"})])
    assert frame[["lat", "lon"]].values.tolist() == [[-1.7, 114.8]]


def test_a_file_the_stream_opened_is_closed_and_a_handle_given_is_left_open(tmp_path) -> None:
    given = io.BytesIO((FIX / "viirs_snpp_nrt.csv").read_bytes())
    stream = read_detections(given)
    assert sum(len(c) for c in stream) == 4
    assert not given.closed
    opened = read_detections(FIX / "viirs_snpp_nrt.csv")
    handle = opened._handle
    assert sum(len(c) for c in opened) == 4 and handle.closed
    refused = tmp_path / "dupes.csv"
    refused.write_text("lat,lat\n1,2\n")
    with pytest.raises(FirmsFormatError):
        read_detections(refused)


def _row(lat: str = "-1.7", lon: str = "114.8", date: str = "2023-09-14", time: str = "542", conf: str = "n") -> str:
    return f"{lat},{lon},331,0.4,0.4,{date},{time},N,VIIRS,{conf},2.0NRT,297,4,D\n"


def test_each_rejected_row_says_exactly_what_is_wrong() -> None:
    rows = [_row(lat="x"), _row(lon="1l4.8"), _row(lat="90.5"), _row(lat="-90.0001"), _row(lon="180.01"),
            _row(lon="-181"), _row(date="2023-02-30"), _row(time="1260"), _row(time="2400"), _row(time="-5"),
            _row(time="12.5"), _row(lat="90", lon="180"), _row(lat="-90", lon="-180"), _row(time="2359"),
            _row(time="0"), _row(lat="x", date="bad")]
    chunks = list(read_detections(io.StringIO(_HEADER + "".join(rows))))
    rejects = [r for c in chunks for r in c.rejects]
    frame = pd.concat([c.frame for c in chunks])
    assert rejects == [
        (2, "latitude bukan angka / latitude is not a number"),
        (3, "longitude bukan angka / longitude is not a number"),
        (4, "latitude di luar -90..90 / latitude out of range -90..90"),
        (5, "latitude di luar -90..90 / latitude out of range -90..90"),
        (6, "longitude di luar -180..180 / longitude out of range -180..180"),
        (7, "longitude di luar -180..180 / longitude out of range -180..180"),
        (8, "tanggal tidak valid / invalid date"),
        (9, "jam tidak valid (HHMM) / invalid time (HHMM)"),
        (10, "jam tidak valid (HHMM) / invalid time (HHMM)"),
        (11, "jam tidak valid (HHMM) / invalid time (HHMM)"),
        (12, "jam tidak valid (HHMM) / invalid time (HHMM)"),
        (17, "latitude bukan angka / latitude is not a number"),  # the first reason of a row is the one given
    ]
    assert frame["line_no"].tolist() == [13, 14, 15, 16]
    assert frame["acq_time_utc"].tolist()[2:] == [pd.Timestamp("2023-09-14 23:59", tz="UTC"),
                                                  pd.Timestamp("2023-09-14 00:00", tz="UTC")]


def test_extra_columns_keep_their_types_and_empty_values_are_none() -> None:
    text = ("latitude,longitude,acq_date,confidence,count,share,note,code\n"
            "-1.7,114.8,2023-09-14,,3,0.5,a,007\n"
            "-1.8,114.9,2023-09-14,,,1,,12\n")
    chunk = next(iter(read_detections(io.StringIO(text))))
    assert chunk.attributes == [{"count": 3.0, "share": 0.5, "note": "a", "code": 7},
                                {"count": None, "share": 1.0, "note": None, "code": 12}]
    assert type(chunk.attributes[0]["code"]) is int and type(chunk.attributes[0]["count"]) is float
    assert next(iter(read_detections(io.StringIO("latitude,longitude,acq_date\n-1.7,114.8,2023-09-14\n")))) \
        .attributes == [{}]


def test_a_first_block_without_confidence_leaves_the_coding_to_the_next() -> None:
    text = _HEADER + _row(conf="") + _row(conf="") + _row(conf="h") + _row(conf="l")
    stream = read_detections(io.StringIO(text), chunk_rows=2)
    chunks = list(stream)
    assert stream.confidence_coding == "viirs_letters"
    frame = pd.concat([c.frame for c in chunks])
    assert frame["confidence"].astype(object).where(frame["confidence"].notna(), None).tolist() == [
        None, None, "high", "low"]
    assert [r for c in chunks for r in c.rejects] == []


def test_a_generic_file_with_a_time_column_reads_it_in_the_naive_zone() -> None:
    text = "y,x,tgl,jam\n-1.7,114.8,2023-09-14,542\n-1.8,114.9,2023-09-14,0005\n"
    stream = read_detections(io.StringIO(text), columns={"latitude": "y", "longitude": "x", "date": "tgl",
                                                         "time": "jam"}, naive_tz="Asia/Jakarta")
    frame = pd.concat([c.frame for c in stream])
    assert frame["acq_time_utc"].tolist() == [pd.Timestamp("2023-09-13 22:42", tz="UTC"),
                                              pd.Timestamp("2023-09-13 17:05", tz="UTC")]
    assert frame["date_only"].tolist() == [False, False]


def test_take_keeps_the_rows_their_attributes_the_rejects_and_the_format() -> None:
    """store.hotspots keeps the detections of its area with take(): their attributes must come along, row by row."""
    chunk = next(iter(read_detections(FIX / "viirs_malformed.csv")))
    assert len(chunk) == 3 and chunk.rejects
    part = chunk.take(np.array([True, False, True]))
    assert part.fmt == "viirs" and part.rejects == chunk.rejects
    assert part.frame["line_no"].tolist() == [2, 10]
    assert part.frame.index.tolist() == [0, 1] and list(part.frame.columns) == list(chunk.frame.columns)
    assert part.attributes == [chunk.attributes[0], chunk.attributes[2]]
    assert list(part.extras.columns) == list(chunk.extras.columns)
    generic = next(iter(read_detections(FIX / "generic_bpbd.csv", naive_tz="Asia/Jakarta")))
    assert generic.fmt == "generic"
    assert generic.take([False, True, True]).attributes == generic.attributes[1:]
    assert generic.take([False, True, True]).fmt == "generic"


def test_generic_date_times_in_mixed_forms_and_offsets() -> None:
    text = ("lat,lon,waktu\n"
            "-1.7,114.8,2023-09-14 13:30\n"           # naive: in naive_tz
            "-1.7,114.8,2023-09-14T13:30:15\n"
            "-1.7,114.8,2023-09-14T06:30:00Z\n"       # aware: offsets of their own, mixed in one file
            "-1.7,114.8,2023-09-14T13:30:00+07:00\n"
            "-1.7,114.8,2023-09-14T15:30+0900\n"
            "-1.7,114.8,kemarin sore\n"               # not a date: a rejected row, the file still read
            "-1.7,114.8,2023-02-30T10:00:00+07:00\n"  # an offset, but no such day: rejected too
            "-1.7,114.8,2023-09-14\n")                # a date alone: that day, date-only
    chunks = list(read_detections(io.StringIO(text), naive_tz="Asia/Jakarta"))
    frame = pd.concat([c.frame for c in chunks])
    six_thirty = pd.Timestamp("2023-09-14 06:30", tz="UTC")
    assert frame["acq_time_utc"].tolist() == [six_thirty, six_thirty + pd.Timedelta(seconds=15), six_thirty,
                                              six_thirty, six_thirty, pd.Timestamp("2023-09-14", tz="UTC")]
    assert frame["date_only"].tolist() == [False] * 5 + [True]
    assert [r for c in chunks for r in c.rejects] == [(7, "tanggal/waktu tidak valid / invalid date/time"),
                                                      (8, "tanggal/waktu tidak valid / invalid date/time")]
    naive_only = io.StringIO("lat,lon,waktu\n-1.7,114.8,2023-09-14 13:30\n")
    only_naive = pd.concat([c.frame for c in read_detections(naive_only, naive_tz="Asia/Jakarta")])
    assert only_naive["acq_time_utc"].tolist() == [six_thirty]


def test_local_times_that_do_not_exist_or_exist_twice_are_rejected_rows() -> None:
    """In a zone with summer time, a naive 02:30 on the night clocks go back is ambiguous, on the night they go
    forward it does not exist: such rows are rejected, not guessed, and the file is still read."""
    text = ("lat,lon,waktu\n-1.7,114.8,2023-10-29 02:30\n-1.7,114.8,2023-03-26 02:30\n"
            "-1.7,114.8,2023-06-01 12:00\n")
    chunks = list(read_detections(io.StringIO(text), naive_tz="Europe/Berlin"))
    assert [r for c in chunks for r in c.rejects] == [(2, "tanggal/waktu tidak valid / invalid date/time"),
                                                      (3, "tanggal/waktu tidak valid / invalid date/time")]
    assert chunks[0].frame["acq_time_utc"].tolist() == [pd.Timestamp("2023-06-01 10:00", tz="UTC")]


def test_missing_generic_columns_are_all_named() -> None:
    with pytest.raises(FirmsFormatError) as err:
        read_detections(io.StringIO("lon,tanggal,nama\n114.8,2023-09-14,a\n"))
    assert err.value.message_en == "Missing required column(s): latitude (columns in file: lon, tanggal, nama)"
    assert err.value.message_id == "Kolom wajib tidak ada: latitude (kolom di berkas: lon, tanggal, nama)"
    with pytest.raises(FirmsFormatError) as err:
        read_detections(io.StringIO("lat,tanggal\n-1.7,2023-09-14\n"))
    assert err.value.message_en.startswith("Missing required column(s): longitude (")
    with pytest.raises(FirmsFormatError) as err:
        read_detections(io.StringIO("y,x,tgl\n-1.7,114.8,2023-09-14\n"),
                        columns={"latitude": "lintang", "longitude": "bujur", "date": "tgl"})
    assert err.value.message_en.startswith("Missing required column(s): lintang (latitude), bujur (longitude) (")
    assert err.value.message_id.startswith("Kolom wajib tidak ada: lintang (latitude), bujur (longitude) (")


def test_a_stream_closed_midway_reads_nothing_more(tmp_path) -> None:
    for source in (FIX / "viirs_snpp_nrt.csv", io.StringIO((FIX / "viirs_snpp_nrt.csv").read_text())):
        stream = read_detections(source, chunk_rows=1)
        assert len(next(stream)) == 1
        stream.close()
        assert list(stream) == []
        with pytest.raises(StopIteration):
            next(stream)


def test_detection_keys_agree_with_the_reader_for_rows_without_satellite_or_instrument() -> None:
    text = ("latitude,longitude,acq_date,acq_time,confidence,satellite,instrument\n"
            "-1.7,114.8,2023-09-14,542,50,,\n-1.7,114.8,2023-09-14,542,50,Terra,MODIS\n")
    chunk = next(iter(read_detections(io.StringIO(text))))
    f = chunk.frame
    assert f["satellite"].tolist() == [None, "Terra"]
    keys = detection_keys(instrument=f["instrument"].to_numpy(), satellite=f["satellite"].to_numpy(),
                          lon=chunk.lon, lat=chunk.lat, acq_time_utc=chunk.acq_time_utc)
    assert keys.tolist() == chunk.detection_key.tolist()


def test_tagging_keeps_the_chunk_s_rejects_format_and_attributes(locator) -> None:
    modis = next(iter(read_detections(FIX / "modis_nrt.csv")))
    assert tag_detections(modis, locator=locator).fmt == "modis"
    assert tag_detections(modis, locator=_LocateManyOnly(locator)).fmt == "modis"
    chunk = next(iter(read_detections(FIX / "viirs_malformed.csv")))
    assert chunk.rejects
    for tagger in (locator, _LocateManyOnly(locator)):
        tagged = tag_detections(chunk, locator=tagger)
        assert tagged.fmt == "viirs" and tagged.rejects == chunk.rejects
        assert tagged.attributes == chunk.attributes
        assert tagged.frame["line_no"].tolist() == chunk.frame["line_no"].tolist()
        assert tagged.frame.index.equals(chunk.frame.index)


def test_satellite_codes_are_named_and_many_distinct_texts_are_stripped() -> None:
    from geo.firms import normalise_satellite

    assert normalise_satellite(pd.Series(["N", " n20 ", "1", "2", "T", "aqua", "GOES-16", None])).tolist() == [
        "Suomi NPP", "NOAA-20", "NOAA-20", "NOAA-21", "Terra", "Aqua", "GOES-16", None]
    # More distinct values than the per-value loop takes: the vectorised parsers strip and name them alike.
    rows = "".join(f"-1.7,114.8,2023-09-14,542,n,{' N20 ' if i % 2 else f' sat-{i} '},VIIRS, v{i} \n"
                   for i in range(600))
    frame = pd.concat([c.frame for c in read_detections(io.StringIO(
        "latitude,longitude,acq_date,acq_time,confidence,satellite,instrument,version\n" + rows))])
    assert frame["satellite"].tolist()[:4] == ["sat-0", "NOAA-20", "sat-2", "NOAA-20"]
    assert frame["satellite_raw"].tolist()[:2] == ["sat-0", "N20"]
    assert frame["version"].tolist()[:2] == ["v0", "v1"]


class _ShortReads(io.BytesIO):
    """A source that hands back a few bytes per read, as a pipe or a network stream does; records the sizes asked."""

    def __init__(self, data: bytes, most: int) -> None:
        super().__init__(data)
        self.most = most
        self.asked: list[object] = []

    def read(self, size: int | None = -1) -> bytes:  # type: ignore[override]
        self.asked.append(size)
        return super().read(min(self.most, size) if isinstance(size, int) and size >= 0 else self.most)


def test_short_reads_cut_lines_anywhere_and_change_nothing() -> None:
    """Lines split between two reads are joined again; the source is read in bounded pieces, never whole."""
    text, bad = _rows_with_bad_lines(40)
    body = text.replace("\n", "\r\n", 7) + "\n\n" + _row(lon="114.9").rstrip("\n")  # CRLFs, blank lines, no final break
    whole, whole_rej, _ = _one(io.BytesIO(body.encode()))
    assert len(whole) + len(whole_rej) == 41 and [line for line, _ in whole_rej] == bad
    assert whole["line_no"].iloc[-1] == 44
    for most in (1, 7, 300):
        for chunk_rows in (1, 6, 50_000):
            source = _ShortReads(body.encode(), most)
            stream = read_detections(source, chunk_rows=chunk_rows)
            chunks = list(stream)
            assert all(len(c) + len(c.rejects) <= chunk_rows for c in chunks)
            pd.testing.assert_frame_equal(pd.concat([c.frame for c in chunks], ignore_index=True), whole)
            assert [r for c in chunks for r in c.rejects] == whole_rej
            assert all(isinstance(size, int) and size > 0 for size in source.asked[1:])  # [0]: the header line


def test_blank_lines_before_the_last_line_without_a_break_keep_its_number() -> None:
    text = _HEADER + _row() + "\n\n" + _row(lon="114.9").rstrip("\n")
    for chunk_rows in (1, 2, 50_000):
        frame, rejects, _ = _one(io.StringIO(text), chunk_rows=chunk_rows)
        assert frame["line_no"].tolist() == [2, 5] and frame["lon"].tolist() == [114.8, 114.9]
        assert rejects == []


def test_a_text_handle_with_undecodable_bytes_reads_them_as_replacement_characters() -> None:
    """A text file opened with errors="surrogateescape" (Python's stdin under a C locale) hands lone surrogates."""
    text = (_HEADER.rstrip("\n") + ",catatan\n" + _row().rstrip("\n") + ",caf\udce9\n"
            + _row(lat="-1.\udce9").rstrip("\n") + ",b\n")
    chunks = list(read_detections(io.StringIO(text)))
    assert [a["catatan"] for a in chunks[0].attributes] == ["caf?"]
    assert chunks[0].rejects == [(3, "latitude bukan angka / latitude is not a number")]


def test_a_path_with_bytes_that_are_not_utf8_is_read_like_the_same_bytes_in_memory(tmp_path) -> None:
    raw = (_HEADER.rstrip("\n") + ",ket\xe9rangan\r\n" + _row().rstrip("\n") + ",Bah\xe9\r\n"
           + _row(lon="114.9").rstrip("\n") + ",\r\n").encode("latin-1")
    path = tmp_path / "cp1252.csv"
    path.write_bytes(raw)
    from_path = read_detections(path)
    assert from_path.header[-1] == "ket\ufffdrangan"
    chunk = next(iter(from_path))
    assert [a["ket\ufffdrangan"] for a in chunk.attributes] == ["Bah\ufffd", None]
    assert chunk.detection_key.tolist() == next(iter(read_detections(io.BytesIO(raw)))).detection_key.tolist()


def test_a_qgis_export_with_x_and_y_first_is_read() -> None:
    """QGIS writes point layers as CSV with the geometry first, as columns X and Y."""
    frame, rejects, attrs = _one(io.StringIO("X,Y,Tanggal,Nama\n114.8,-1.7,2023-09-14,a\n"))
    assert rejects == [] and frame[["lon", "lat"]].values.tolist() == [[114.8, -1.7]]
    assert attrs == [{"Nama": "a"}]


def test_quoted_empty_values_are_missing_and_na_words_are_text() -> None:
    """"" is an empty value like nothing between the commas; NA, NULL, N/A and nan are what the file says."""
    header = "latitude,longitude,acq_date,acq_time,confidence,catatan\n"
    text = (header + '"-1.7","114.8","2023-09-14","542","",""\n'
            + "".join(f"-1.7,114.8,2023-09-14,542,n,{word}\n" for word in ("NA", "NULL", "N/A", "nan", "null"))
            + '"","","","","",""\n' + "-1.7,114.8,2023-09-14,542,,\n")
    frame, rejects, attrs = _one(io.StringIO(text))
    assert rejects == []
    assert frame["line_no"].tolist() == [2, 3, 4, 5, 6, 7, 9]  # line 8, only empty quotes, is a blank line
    assert frame["confidence_raw"].tolist() == [None, "n", "n", "n", "n", "n", None]
    assert [a["catatan"] for a in attrs] == [None, "NA", "NULL", "N/A", "nan", "null", None]


def test_a_broken_file_is_refused_saying_so_in_both_languages() -> None:
    # A quoted line break: one record on two lines, which FIRMS never writes and line numbers cannot follow.
    quoted = _HEADER + _row() + _row().replace(",N,", ',"N\nX",') + _row()
    with pytest.raises(FirmsFormatError) as err:
        list(read_detections(io.StringIO(quoted)))
    assert (err.value.message_id, err.value.message_en) == ("CSV rusak dekat baris 2", "Malformed CSV near line 2")
    # A line longer than Arrow reads at once (some MiB of text in one field).
    huge = _HEADER.rstrip("\n") + ",catatan\n" + _row().rstrip("\n") + "," + "x" * (3 << 20) + "\n"
    with pytest.raises(FirmsFormatError) as err:
        list(read_detections(io.StringIO(huge)))
    assert err.value.message_id.startswith("CSV rusak: ") and err.value.message_en.startswith("Malformed CSV: ")
    assert err.value.field == "file"


def _open_files() -> set[str]:
    fds = Path("/proc/self/fd")
    return {str(fd.readlink()) for fd in fds.iterdir() if fd.exists()}


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts open files in /proc")
def test_an_archive_the_stream_opened_is_closed_when_it_ends(tmp_path) -> None:
    """A stream over a .csv.gz or .zip path closes the archive file too, not only the member it read."""
    text = (FIX / "viirs_snpp_nrt.csv").read_bytes()
    gz = tmp_path / "firms.csv.gz"
    gz.write_bytes(gzip.compress(text))
    zipped = tmp_path / "firms.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("fire_nrt.csv", text)
    for path in (gz, zipped):
        stream = read_detections(path)
        assert str(path) in _open_files()
        assert sum(len(c) for c in stream) == 4
        assert stream._handle.closed and str(path) not in _open_files()
        early = read_detections(path, chunk_rows=1)
        assert len(next(early)) == 1
        early.close()
        assert str(path) not in _open_files()


def test_a_format_the_caller_chooses_decides_how_confidence_is_read() -> None:
    """The 0/1/2 refusal tells the user to choose format modis or viirs: both must then be accepted and used."""
    text = "latitude,longitude,acq_date,acq_time,confidence\n-1.7,114.8,2023-09-14,542,2\n-1.8,114.8,2023-09-14,542,0\n"
    with pytest.raises(FirmsFormatError) as err:
        list(read_detections(io.StringIO(text)))
    assert err.value.message_en == ("Confidence is only 0/1/2 (0, 2): MODIS percent or VIIRS classes; add an "
                                    "instrument column or choose format modis/viirs")
    assert err.value.message_id == ("Confidence hanya 0/1/2 (0, 2): bisa persen MODIS atau kelas VIIRS; beri kolom "
                                    "instrument atau pilih format modis/viirs")
    viirs = read_detections(io.StringIO(text), fmt="viirs")
    frame = pd.concat([c.frame for c in viirs])
    assert viirs.fmt == "viirs" and frame["confidence"].astype(str).tolist() == ["high", "low"]
    assert frame["instrument"].tolist() == ["VIIRS", "VIIRS"]
    modis = read_detections(io.StringIO(text), fmt="modis")
    frame = pd.concat([c.frame for c in modis])
    assert modis.fmt == "modis" and frame["confidence"].astype(str).tolist() == ["low", "low"]  # 2 % and 0 %
    assert frame["instrument"].tolist() == ["MODIS", "MODIS"]
    for name, fmt in (("modis_nrt.csv", "modis"), ("viirs_snpp_nrt.csv", "viirs")):
        chosen = next(iter(read_detections(FIX / name, fmt=fmt)))  # type: ignore[arg-type]
        assert chosen.fmt == fmt
        assert chosen.detection_key.tolist() == next(iter(read_detections(FIX / name))).detection_key.tolist()
    with pytest.raises(FirmsFormatError) as err:
        read_detections(io.StringIO(text), fmt="MODIS")  # type: ignore[arg-type]
    assert (err.value.message_id, err.value.message_en) == ("Format tidak dikenal: MODIS", "Unknown format: MODIS")
    with pytest.raises(ValueError, match="^chunk_rows must be >= 1$"):
        read_detections(io.StringIO(text), chunk_rows=0)


def test_a_generic_date_column_beside_a_time_column_gives_the_day_written_whatever_its_form() -> None:
    """With a separate time column the date column's day is used: a date-time gives its own (local) day, with or
    without an offset, mixed in one file; what is no date is a rejected row, never the end of the read."""
    cols = {"latitude": "y", "longitude": "x", "date": "tgl", "time": "jam"}
    text = ("y,x,tgl,jam\n"
            "-1.7,114.8,2023-09-14,542\n"
            "-1.7,114.8,2023-09-15T00:00:00,542\n"
            "-1.7,114.8,2023-09-16T23:30:00+07:00,542\n"   # the day written, not the UTC one (the 16th at 16:30)
            "-1.7,114.8,2023-09-17T01:30:00+08:00,542\n"   # another offset in the same file
            "-1.7,114.8,2023-09-18T01:30Z,542\n"
            "-1.7,114.8, 2023-9-4 ,542\n"
            "-1.7,114.8,17/09/2023,542\n"                 # day first: not ISO, not guessed
            "-1.7,114.8,kemarin,542\n")
    chunks = list(read_detections(io.StringIO(text), columns=cols))
    frame = pd.concat([c.frame for c in chunks])
    assert frame["acq_time_utc"].tolist() == [pd.Timestamp(f"2023-09-{d} 05:42", tz="UTC")
                                              for d in ("14", "15", "16", "17", "18", "04")]
    assert [r for c in chunks for r in c.rejects] == [(8, "tanggal tidak valid / invalid date"),
                                                      (9, "tanggal tidak valid / invalid date")]
    # FIRMS files keep to YYYY-MM-DD, in the loop for few distinct days and vectorised for many.
    many = "".join(_row(date=str(np.datetime64("2023-01-01") + i)) for i in range(300))
    frame, rejects, _ = _one(io.StringIO(_HEADER + many + _row(date="2023-09-14T05:42")))
    assert frame["acq_time_utc"].dt.strftime("%Y-%m-%d %H:%M").tolist() == [
        f"{np.datetime64('2023-01-01') + i} 05:42" for i in range(300)]
    assert rejects == [(302, "tanggal tidak valid / invalid date")]


def test_firms_day_night_and_instrument_are_what_the_file_says() -> None:
    frame, _, attrs = _one(FIX / "modis_nrt.csv")
    assert frame["daynight"].tolist() == list(pd.read_csv(FIX / "modis_nrt.csv")["daynight"])
    assert set(frame["daynight"]) == {"D", "N"} and "daynight" not in attrs[0]
    text = _HEADER + _row() + _row(lon="114.9").replace(",VIIRS,", ", viirs ,") + _row(lon="115").replace(
        ",VIIRS,", ",,")
    frame, _, attrs = _one(io.StringIO(text))
    assert frame["instrument"].tolist() == ["VIIRS", "viirs", "VIIRS"]  # the format's name where the file has none
    assert "instrument" not in attrs[0]
    assert frame["date_only"].dtype == bool


def test_many_distinct_times_are_read_like_few() -> None:
    """Past a few hundred distinct HHMM texts in a block the times are parsed vectorised: same answers."""
    times = [f"{h}{m:02d}" if h else str(m) for h in range(5) for m in range(60)]  # 0 ... 459, without leading zeros
    rows = [_row(time=t, date="2023-09-14") for t in times] + [_row(time="2460"), _row(time="1299"), _row(time="")]
    frame, rejects, _ = _one(io.StringIO(_HEADER + "".join(rows)))
    assert len(frame) == 300
    assert frame["acq_time_utc"].tolist() == [pd.Timestamp("2023-09-14", tz="UTC") + pd.Timedelta(minutes=i)
                                              for i in range(300)]
    assert rejects == [(302, "jam tidak valid (HHMM) / invalid time (HHMM)"),
                       (303, "jam tidak valid (HHMM) / invalid time (HHMM)"),
                       (304, "jam tidak valid (HHMM) / invalid time (HHMM)")]  # an empty time is no midnight


def test_a_date_and_time_pair_in_summer_time_that_does_not_exist_or_exists_twice_is_a_rejected_row() -> None:
    cols = {"latitude": "y", "longitude": "x", "date": "tgl", "time": "jam"}
    text = ("y,x,tgl,jam\n-1.7,114.8,2023-10-29,230\n-1.7,114.8,2023-03-26,0230\n-1.7,114.8,2023-06-01,1200\n"
            "-1.7,114.8,2023-06-01,0330\n")
    chunks = list(read_detections(io.StringIO(text), columns=cols, naive_tz="Europe/Berlin"))
    assert [r for c in chunks for r in c.rejects] == [(2, "tanggal/waktu tidak valid / invalid date/time"),
                                                      (3, "tanggal/waktu tidak valid / invalid date/time")]
    assert pd.concat([c.frame for c in chunks])["acq_time_utc"].tolist() == [
        pd.Timestamp("2023-06-01 10:00", tz="UTC"), pd.Timestamp("2023-06-01 01:30", tz="UTC")]


def test_a_generic_date_alone_that_is_no_day_is_a_rejected_row() -> None:
    text = "lat,lon,tanggal\n-1.7,114.8,2023-02-30\n-1.7,114.8, 2023-9-4 \n-1.7,114.8,2023-09-14\n"
    chunks = list(read_detections(io.StringIO(text)))
    assert [r for c in chunks for r in c.rejects] == [(2, "tanggal/waktu tidak valid / invalid date/time")]
    frame = pd.concat([c.frame for c in chunks])
    assert frame["acq_time_utc"].tolist() == [pd.Timestamp("2023-09-04", tz="UTC"),
                                              pd.Timestamp("2023-09-14", tz="UTC")]
    assert frame["date_only"].tolist() == [True, True] and frame["date_only"].dtype == bool


def test_generic_keys_do_not_change_between_versions() -> None:
    """A generic file has no instrument: its keys hash the empty text for it, as `detection_keys` does for None."""
    chunk = next(iter(read_detections(FIX / "generic_bpbd.csv", naive_tz="Asia/Jakarta")))
    assert chunk.detection_key.tolist() == [
        "146b72c78cf13d9eed34983ebf3e3b53",
        "451379fec3da1d506b66eca4e27431a8",
        "ec2625873c093e9cb1d77bfc4c3f7143",
    ]
    f = chunk.frame
    again = detection_keys(instrument=np.full(len(f), None), satellite=f["satellite"].to_numpy(), lon=chunk.lon,
                           lat=chunk.lat, acq_time_utc=chunk.acq_time_utc)
    assert again.tolist() == chunk.detection_key.tolist()


def test_numbers_with_spaces_are_read_and_a_row_with_one_field_is_rejected_not_skipped() -> None:
    """Hand-made files pad numbers with spaces; a row with any field filled is a row (only ,,,,, is skipped)."""
    header = "latitude,longitude,acq_date,acq_time,confidence,note,count\n"
    text = (header + " -1.7 , 114.8 ,2023-09-14,542,n,a,1\n"
            ",114.8,,,,,\n"           # 3: latitude missing
            "-1.7,,,,,,\n"            # 4: longitude missing
            ",,,,,,x\n"               # 5: only the last field
            ",,,,,,\n"                # 6: nothing at all: a blank line
            "-1.7,114.8,2023-09-14,542,n,,2.5\n"
            "1e-1,1.148E2,2023-09-14,542,n,b,\n")
    frame, rejects, attrs = _one(io.StringIO(text))
    assert frame[["line_no", "lat", "lon"]].values.tolist() == [[2, -1.7, 114.8], [7, -1.7, 114.8], [8, 0.1, 114.8]]
    assert rejects == [(3, "latitude bukan angka / latitude is not a number"),
                       (4, "longitude bukan angka / longitude is not a number"),
                       (5, "latitude bukan angka / latitude is not a number")]
    assert attrs == [{"note": "a", "count": 1.0}, {"note": None, "count": 2.5}, {"note": "b", "count": None}]


def test_header_refusals_name_every_column_to_fix_in_both_languages() -> None:
    with pytest.raises(FirmsFormatError) as err:
        read_detections(io.StringIO(_HEADER.replace("latitude,longitude", "lat,lon")))
    assert err.value.message_en == "Missing required FIRMS VIIRS column(s): latitude, longitude"
    assert err.value.message_id == "Kolom wajib FIRMS VIIRS tidak ada: latitude, longitude"
    with pytest.raises(FirmsFormatError) as err:
        read_detections(io.StringIO("lat,lon,date,lon,lat\n"))
    assert err.value.message_en == "Duplicate column name(s): lat, lon"
    assert err.value.message_id == "Nama kolom ganda: lat, lon"
    with pytest.raises(FirmsFormatError) as err:
        read_detections(io.StringIO(" \n"))
    assert err.value.message_id == "File kosong atau tanpa baris judul"


def test_a_file_without_frp_or_brightness_has_them_as_missing_numbers() -> None:
    frame, _, _ = _one(io.StringIO("lat,lon,tanggal\n-1.7,114.8,2023-09-14\n"))
    for name in ("frp", "brightness"):
        assert frame[name].dtype == np.float64 and frame[name].isna().all()


def test_a_file_with_only_its_header_has_no_detections() -> None:
    """The FIRMS area API answers a day without fires with the header alone."""
    stream = read_detections(io.StringIO(_HEADER))
    assert list(stream) == [] and (stream.rows_read, stream.rows_kept, stream.rows_rejected) == (0, 0, 0)
    stream = read_detections(io.StringIO(_HEADER + "\n\n"))
    assert sum(len(c) + len(c.rejects) for c in stream) == 0 and stream.rows_read == 0


def test_confidence_levels_are_ordered_so_a_minimum_can_be_asked_for() -> None:
    frame, _, _ = _one(FIX / "viirs_snpp_nrt.csv")
    assert frame["confidence"].cat.ordered and list(frame["confidence"].cat.categories) == ["low", "nominal", "high"]
    assert (frame["confidence"] >= "nominal").tolist() == [True, True, False, True]


def test_a_chunk_without_extra_columns_can_be_narrowed() -> None:
    """store.hotspots keeps an area's detections with take(); a file with only the core columns has no extras."""
    chunk = next(iter(read_detections(io.StringIO("lat,lon,tanggal\n-1.7,114.8,2023-09-14\n-1.8,114.9,2023-09-14\n"))))
    part = chunk.take(np.array([False, True]))
    assert part.frame["lat"].tolist() == [-1.8] and part.attributes == [{}]
    assert len(chunk.extras) == 2 and chunk.extras.shape[1] == 0
