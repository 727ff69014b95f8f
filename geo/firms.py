"""NASA FIRMS fire detections: streaming CSV reader (MODIS, VIIRS 375 m, generic), keys and tagging.

Pure logic: files or file objects in, chunks of numpy/pandas columns out. The database writer, the
`sigap ingest-firms` command and the scheduled pull all consume `read_detections` and `tag_detections`.

Formats follow FIRMS as distributed (NRT and archive/SP, CSV from the website, the area API or the
archive download):
- MODIS (MCD14DL / MCD14ML): latitude, longitude, brightness, scan, track, acq_date, acq_time,
  satellite (Terra/Aqua, older files T/A), instrument, confidence 0-100, version (6.1NRT, 6.03 ...),
  bright_t31, frp, daynight (D/N)[, type].
- VIIRS 375 m (VNP14IMGTDL / VJ114IMGTDL / VJ214IMGTDL and the archive): latitude, longitude,
  bright_ti4, scan, track, acq_date, acq_time, satellite (N, N20 or 1, N21 or 2), instrument,
  confidence l/n/h, version (2.0NRT, 2 ...), bright_ti5, frp, daynight[, type].
acq_date is YYYY-MM-DD and acq_time is HHMM in UTC, written without leading zeros by some
exports (``5`` is 00:05, ``542`` is 05:42).

Reading: the file is cut into blocks of `chunk_rows` physical lines and each block is parsed by Arrow's
CSV reader with every column as raw bytes (so "6.10" stays "6.10", "0542" keeps its digits and no value
can abort the read); numbers are cast column-wise and texts parsed once per distinct value. One record
per physical line is assumed (FIRMS never quotes line breaks): a row's line number is its position in
the block, corrected for blank lines and rows with the wrong number of fields, which are reported.
The next block is read, parsed and converted ahead in a worker thread, so the caller's work on one chunk
overlaps the reading of the next; memory stays at about two blocks. `tag_detections` can compute the
H3 cells of the rows (geo.hexagons.start_cells) in the H3 threads while it tags them.
"""

from __future__ import annotations

import binascii
import contextlib
import datetime as dt
import gzip
import hashlib
import re
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import IO, Any, Literal, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import shapely

from geo.crs import UTM50S, WGS84, project_geometries, to_utm
from geo.errors import InvalidInput
from geo.hexagons import start_cells

Format = Literal["auto", "modis", "viirs", "generic"]
CONFIDENCE_LEVELS = ("low", "nominal", "high")
# MODIS Collection 6 active fire user guide (Giglio et al.), as quoted by the FIRMS FAQ: 0-29 low,
# 30-79 nominal, 80-100 high.
MODIS_NOMINAL_MIN = 30
MODIS_HIGH_MIN = 80

FIRMS_REQUIRED = ("latitude", "longitude", "acq_date", "confidence")
# Confidence codings found in the wild, each mapped to CONFIDENCE_LEVELS (see `detect_confidence_coding`).
ConfidenceCoding = Literal["modis_percent", "viirs_letters", "viirs_numeric", "class_words", "none"]
CODING_TEXT: dict[str, tuple[str, str]] = {
    "modis_percent": ("MODIS 0-100 (0-29 rendah, 30-79 nominal, 80-100 tinggi)",
                      "MODIS 0-100 (0-29 low, 30-79 nominal, 80-100 high)"),
    "viirs_letters": ("VIIRS l/n/h (rendah/nominal/tinggi)", "VIIRS l/n/h (low/nominal/high)"),
    "viirs_numeric": ("VIIRS angka 0/1/2 (rendah/nominal/tinggi)", "VIIRS numeric 0/1/2 (low/nominal/high)"),
    "class_words": ("kata kelas (low/nominal/high, rendah/sedang/tinggi)",
                    "class words (low/nominal/high, rendah/sedang/tinggi)"),
    "none": ("tanpa nilai kepercayaan", "no confidence values"),
}
# Columns that become first-class fields; everything else in the file goes to `attributes`.
_CORE_FIRMS = {
    "modis": ("latitude", "longitude", "acq_date", "acq_time", "confidence", "brightness", "frp",
              "satellite", "instrument", "daynight", "version"),
    "viirs": ("latitude", "longitude", "acq_date", "acq_time", "confidence", "bright_ti4", "frp",
              "satellite", "instrument", "daynight", "version"),
}

GENERIC_FIELDS = ("latitude", "longitude", "date", "time", "confidence", "frp", "brightness",
                  "satellite", "instrument", "daynight", "version")
_GENERIC_ALIASES: dict[str, tuple[str, ...]] = {
    "latitude": ("latitude", "lat", "lintang", "y"),
    "longitude": ("longitude", "lon", "lng", "long", "bujur", "x"),
    "date": ("acq_date", "date", "datetime", "tanggal", "waktu", "time_utc", "acq_datetime"),
    "time": ("acq_time", "jam"),
    "confidence": ("confidence", "conf", "kepercayaan"),
    "frp": ("frp",),
    "brightness": ("brightness", "bright_ti4"),
    "satellite": ("satellite", "satelit"),
    "instrument": ("instrument", "sensor"),
    "daynight": ("daynight",),
    "version": ("version",),
}

# Normalised platform names: the key uses them so that "N20" and "1" (both NOAA-20) are one platform.
SATELLITE_NAMES = {
    "terra": "Terra", "t": "Terra", "aqua": "Aqua", "a": "Aqua",
    "n": "Suomi NPP", "npp": "Suomi NPP", "snpp": "Suomi NPP", "suomi npp": "Suomi NPP",
    "n20": "NOAA-20", "1": "NOAA-20", "noaa-20": "NOAA-20", "noaa20": "NOAA-20", "j1": "NOAA-20",
    "n21": "NOAA-21", "2": "NOAA-21", "noaa-21": "NOAA-21", "noaa21": "NOAA-21", "j2": "NOAA-21",
}

DETECTION_COLUMNS = (
    "detection_key", "line_no", "lon", "lat", "acq_time_utc", "date_only", "confidence", "confidence_raw", "frp",
    "brightness", "satellite", "satellite_raw", "instrument", "daynight", "version",
)


_TZ_SUFFIX = r"(?:Z|[+-]\d{2}:?\d{2})$"


class FirmsFormatError(InvalidInput):
    """The file is not a FIRMS/generic detection CSV we can read (missing columns, unknown format)."""

    def __init__(self, message_id: str, message_en: str, *, field: str = "file", **extra: Any) -> None:
        super().__init__(message_id, message_en, field=field, **extra)


@dataclass(frozen=True)
class GenericColumns:
    """Column mapping for a generic detection CSV: our field name -> the column name in the file."""

    latitude: str
    longitude: str
    date: str
    time: str | None = None
    confidence: str | None = None
    frp: str | None = None
    brightness: str | None = None
    satellite: str | None = None
    instrument: str | None = None
    daynight: str | None = None
    version: str | None = None

    def used(self) -> dict[str, str]:
        """Mapped fields only: our name -> file column."""
        return {f: getattr(self, f) for f in GENERIC_FIELDS if getattr(self, f) is not None}


@dataclass
class DetectionChunk:
    """One streamed block of detections: `frame` has DETECTION_COLUMNS, `extras` the other file columns.

    detection_key is pandas' default (Arrow-backed) text dtype, one buffer for all keys; the other text
    columns are object columns that keep None for missing values.
    """

    frame: pd.DataFrame
    extras: pd.DataFrame
    rejects: list[tuple[int, str]] = field(default_factory=list)
    fmt: str = "viirs"
    # H3 cells (uint64) per resolution, one per row, when `tag_detections` was asked for them.
    cells: dict[int, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def lon(self) -> np.ndarray:
        """Longitudes (WGS84 degrees, float64)."""
        return self.frame["lon"].to_numpy(dtype=np.float64)

    @property
    def lat(self) -> np.ndarray:
        """Latitudes (WGS84 degrees, float64)."""
        return self.frame["lat"].to_numpy(dtype=np.float64)

    @property
    def acq_time_utc(self) -> pd.DatetimeIndex:
        """Acquisition times, timezone-aware UTC."""
        return pd.DatetimeIndex(self.frame["acq_time_utc"])

    @property
    def detection_key(self) -> np.ndarray:
        """Stable 32-hex-digit keys (see `detection_keys`)."""
        return self.frame["detection_key"].to_numpy(dtype=object)

    @property
    def line_no(self) -> np.ndarray:
        """1-based physical line of each row in the source file (the header is line 1)."""
        return self.frame["line_no"].to_numpy(dtype=np.int64)

    @cached_property
    def attributes(self) -> list[dict[str, Any]]:
        """Extra columns per row as JSON-able dicts (NaN becomes None)."""
        if self.extras.shape[1] == 0:
            return [{} for _ in range(len(self.frame))]
        ex = self.extras.astype(object).where(self.extras.notna(), None)
        return ex.to_dict(orient="records")

    def take(self, mask: np.ndarray) -> DetectionChunk:
        """A chunk with only the rows where `mask` is true (rejects carried over unchanged)."""
        rows = np.flatnonzero(np.asarray(mask, dtype=bool))
        return DetectionChunk(
            frame=self.frame.take(rows).reset_index(drop=True),
            extras=self.extras.take(rows).reset_index(drop=True),
            rejects=list(self.rejects), fmt=self.fmt, cells={r: c[rows] for r, c in self.cells.items()},
        )


# --------------------------------------------------------------------------------------------- keys

_LEVEL_CODE = {level: i for i, level in enumerate(CONFIDENCE_LEVELS)}
_KEY_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a bijective avalanche on uint64 arrays (wrapping arithmetic is intended)."""
    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint64(30))
        x = x * _M1
        x = x ^ (x >> np.uint64(27))
        x = x * _M2
        return x ^ (x >> np.uint64(31))


def _per_distinct(values: Any, fn: Any, *, fill: Any = None, dtype: Any = object) -> np.ndarray:
    """Apply a vectorised `fn` to the distinct values only and spread the result back by code.

    FIRMS columns such as confidence, acq_date, acq_time and satellite hold a handful of distinct
    values in 100k rows, so parsing them once each is far cheaper than parsing every row.
    """
    series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    codes, uniq = pd.factorize(series, use_na_sentinel=True)
    mapped = np.asarray(fn(pd.Series(np.asarray(uniq, dtype=object), dtype=object)), dtype=dtype)
    out = np.empty(len(codes), dtype=dtype)
    if len(mapped):
        out[:] = mapped[np.maximum(codes, 0)]
    out[codes < 0] = fill
    return out


def _text_hash(values: np.ndarray) -> np.ndarray:
    """64-bit sha1 prefix of each text value, hashed once per distinct value, not per row.

    A missing value (None, NaN) hashes as the empty text, as the reader hashes it: a row without a satellite
    gets the same key from `detection_keys` as from `read_detections`.
    """
    return _per_distinct(np.asarray(values, dtype=object), _sha64, fill=_EMPTY_TEXT_HASH, dtype=np.uint64)


def _sha64(values: Any) -> np.ndarray:
    """64-bit sha1 prefix of each (few, distinct) text value."""
    return np.array([int.from_bytes(hashlib.sha1(str(v).encode()).digest()[:8], "big") for v in values],
                    dtype=np.uint64)


_EMPTY_TEXT_HASH = int.from_bytes(hashlib.sha1(b"").digest()[:8], "big")


def detection_keys(*, instrument: np.ndarray, satellite: np.ndarray, lon: np.ndarray, lat: np.ndarray,
                   acq_time_utc: pd.DatetimeIndex | np.ndarray) -> np.ndarray:
    """Stable 128-bit keys (32 hex digits) of instrument, satellite, lat 5 dp, lon 5 dp, acq second.

    Computed with numpy integer mixing rather than a per-row sha1, so 100k keys cost milliseconds; the
    definition is fixed here, so the same row always gets the same key across runs and machines.
    """
    if len(lon) == 0:
        return np.empty(0, dtype=object)
    secs = pd.DatetimeIndex(acq_time_utc).as_unit("s").asi8
    return _keys(_text_hash(instrument), _text_hash(satellite), lon, lat, secs).to_numpy(zero_copy_only=False)


def _keys(inst_h: np.ndarray, sat_h: np.ndarray, lon: np.ndarray, lat: np.ndarray, secs: np.ndarray) -> pa.Array:
    """detection_keys (as one Arrow string array) from the hashed text parts and the acquisition epoch second."""
    lat_i = np.rint(np.asarray(lat, dtype=np.float64) * 1e5).astype(np.int64).view(np.uint64)
    lon_i = np.rint(np.asarray(lon, dtype=np.float64) * 1e5).astype(np.int64).view(np.uint64)
    secs = np.asarray(secs, dtype=np.int64).view(np.uint64)
    both = np.empty((len(lat_i), 2), dtype=">u8")
    for w, seed in enumerate((np.uint64(0x9E3779B97F4A7C15), np.uint64(0xD1B54A32D192ED03))):
        h = _mix64(inst_h ^ seed)
        for part in (sat_h, lat_i, lon_i, secs):
            h = _mix64(h ^ part)
        both[:, w] = h
    n = len(both)
    # The hex text of all keys is one buffer, wrapped as an Arrow string array without a copy.
    offsets = np.arange(0, 32 * (n + 1), 32, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets),
                                                  pa.py_buffer(binascii.hexlify(both.tobytes()))])


# ------------------------------------------------------------------------------------ normalisation

def normalise_confidence(raw: pd.Series) -> np.ndarray:
    """FIRMS confidence (MODIS 0-100, VIIRS l/n/h, words) -> 'low'|'nominal'|'high' or None."""
    return _per_distinct(raw, _confidence_levels)


def _confidence_levels(raw: pd.Series) -> np.ndarray:
    text = raw.astype("string").str.strip().str.lower()
    num = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    out = np.full(len(text), None, dtype=object)
    isnum = np.isfinite(num) & (num >= 0) & (num <= 100)
    out[isnum & (num < MODIS_NOMINAL_MIN)] = "low"
    out[isnum & (num >= MODIS_NOMINAL_MIN) & (num < MODIS_HIGH_MIN)] = "nominal"
    out[isnum & (num >= MODIS_HIGH_MIN)] = "high"
    first = text.str.slice(0, 1).to_numpy(dtype=object, na_value="")
    word = text.to_numpy(dtype=object, na_value="")
    words = {"l": "low", "n": "nominal", "h": "high"}
    for letter, level in words.items():
        out[~isnum & (first == letter)] = level
    # Indonesian exports: rendah / sedang / tinggi.
    for w, level in (("rendah", "low"), ("sedang", "nominal"), ("tinggi", "high")):
        out[~isnum & (word == w)] = level
    return out


def normalise_satellite(raw: pd.Series) -> np.ndarray:
    """FIRMS satellite codes -> platform names ('N20' and '1' -> 'NOAA-20'); unknown codes kept as given."""
    return _per_distinct(raw, _satellite_names)


def _satellite_names(raw: pd.Series) -> np.ndarray:
    text = raw.astype("string").str.strip()
    mapped = text.str.lower().map(SATELLITE_NAMES)
    return mapped.fillna(text).to_numpy(dtype=object, na_value=None)


def _stripped(u: pd.Series) -> np.ndarray:
    return u.astype(str).str.strip().to_numpy(dtype=object)


def _ymd(u: pd.Series) -> np.ndarray:
    text = u.astype("string").str.strip()
    return pd.to_datetime(text, format="%Y-%m-%d", errors="coerce").to_numpy(dtype="datetime64[ns]")


def _hhmm_values(raw: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    text = raw.astype("string").str.strip().str.replace(":", "", regex=False)
    num = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    ok = np.isfinite(num) & (num >= 0) & (num == np.floor(num))
    hh = np.floor_divide(np.where(ok, num, 0), 100)
    mm = np.where(ok, num, 0) - hh * 100
    ok &= (hh < 24) & (mm < 60)
    return np.where(ok, hh * 60 + mm, -1).astype(np.int64), ok


# The reader parses each distinct text once. FIRMS columns hold a handful of distinct values per block, and
# for those a plain loop over the distinct values beats pandas' per-call overhead many times; large distinct
# sets (a generic file's free-form dates) still go through the vectorised pandas functions above.
_FEW = 256
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
# The per-value parsers remember their answers: the same dates, times and codes come back in every block.
_CACHED_VALUES = 4096
_LETTER_LEVELS = {"l": "low", "n": "nominal", "h": "high"}
_WORD_LEVELS = {"rendah": "low", "sedang": "nominal", "tinggi": "high"}


def _number(text: str) -> float:
    """A plain decimal number (what pandas.to_numeric accepts in FIRMS fields) or NaN."""
    return float(text) if _NUMBER.fullmatch(text) else float("nan")


@lru_cache(maxsize=_CACHED_VALUES)
def _confidence_level(value: str | None) -> str | None:
    """One value of `_confidence_levels`."""
    if value is None:
        return None
    text = value.strip().lower()
    num = _number(text)
    if np.isfinite(num) and 0 <= num <= 100:
        return "low" if num < MODIS_NOMINAL_MIN else "nominal" if num < MODIS_HIGH_MIN else "high"
    return _WORD_LEVELS.get(text) or _LETTER_LEVELS.get(text[:1])


_CLASS_WORDS = {"low": "low", "nominal": "nominal", "high": "high", "rendah": "low", "sedang": "nominal",
                 "tinggi": "high", "l": "low", "n": "nominal", "h": "high"}
_NUMERIC_CLASSES = {0.0: "low", 1.0: "nominal", 2.0: "high"}


class ConfidenceCodingError(FirmsFormatError):
    """A confidence column whose values fit no known coding (the file is refused, nothing stored)."""

    def __init__(self, message_id: str, message_en: str, **extra: Any) -> None:
        super().__init__(message_id, message_en, field="confidence", **extra)


def _product(fmt: str, instruments: Sequence[str | None]) -> str | None:
    """'modis', 'viirs' or None (unknown) from the file format and its instrument values."""
    if fmt in ("modis", "viirs"):
        return fmt
    names = {str(v).strip().upper() for v in instruments if v is not None and str(v).strip()}
    if names and all(n.startswith("MODIS") for n in names):
        return "modis"
    if names and all(n.startswith("VIIRS") for n in names):
        return "viirs"
    return None


def detect_confidence_coding(*, values: Sequence[str | None], fmt: str,
                             instruments: Sequence[str | None] = ()) -> ConfidenceCoding:
    """The coding of a confidence column from its distinct values and the product (format, instrument).

    MODIS 0-100, VIIRS l/n/h, VIIRS numeric 0/1/2, class words (low/nominal/high, rendah/sedang/tinggi; the
    letters l/n/h may mix with them). Raises ConfidenceCodingError naming the values when none fits, when
    numbers and words are mixed, or when 0/1/2 could be either percent or classes and the product is unknown.
    """
    texts = sorted({str(v).strip() for v in values if v is not None and str(v).strip()})
    if not texts:
        return "none"
    product = _product(fmt, instruments)
    nums = [_number(t) for t in texts]
    numeric = [t for t, n in zip(texts, nums, strict=True) if np.isfinite(n)]
    words = [t for t, n in zip(texts, nums, strict=True) if not np.isfinite(n)]
    shown = ", ".join(texts[:8]) + (" ..." if len(texts) > 8 else "")
    if numeric and words:
        raise ConfidenceCodingError(
            f"Kolom confidence mencampur angka dan kata ({shown}); tidak cocok dengan satu pengkodean",
            f"The confidence column mixes numbers and words ({shown}); it fits no single coding",
        )
    if words:
        low = {w.lower() for w in words}
        unknown = sorted(w for w in words if w.lower() not in _CLASS_WORDS)
        if unknown:
            raise ConfidenceCodingError(
                f"Nilai confidence tidak dikenal: {', '.join(unknown[:8])}; yang dikenal: MODIS 0-100, VIIRS l/n/h, "
                "VIIRS 0/1/2, low/nominal/high, rendah/sedang/tinggi",
                f"Unknown confidence value(s): {', '.join(unknown[:8])}; known codings: MODIS 0-100, VIIRS l/n/h, "
                "VIIRS 0/1/2, low/nominal/high, rendah/sedang/tinggi",
            )
        if product == "modis":
            raise ConfidenceCodingError(
                f"Berkas MODIS memakai confidence 0-100, tetapi kolom berisi kata/huruf ({shown})",
                f"A MODIS file codes confidence 0-100, but the column holds words/letters ({shown})",
            )
        return "viirs_letters" if low <= {"l", "n", "h"} else "class_words"
    values_f = np.array([n for n in nums if np.isfinite(n)])
    if ((values_f < 0) | (values_f > 100)).any():
        raise ConfidenceCodingError(
            f"Nilai confidence di luar 0-100 ({shown}); tidak cocok dengan pengkodean mana pun",
            f"Confidence values outside 0-100 ({shown}); they fit no known coding",
        )
    classes = bool(np.isin(values_f, list(_NUMERIC_CLASSES)).all())
    if product == "modis":
        return "modis_percent"
    if product == "viirs":
        if classes:
            return "viirs_numeric"
        raise ConfidenceCodingError(
            f"Berkas VIIRS memakai confidence l/n/h atau 0/1/2, tetapi kolom berisi {shown}",
            f"A VIIRS file codes confidence as l/n/h or 0/1/2, but the column holds {shown}",
        )
    if classes:
        raise ConfidenceCodingError(
            f"Confidence hanya 0/1/2 ({shown}): bisa persen MODIS atau kelas VIIRS; beri kolom instrument atau "
            "pilih format modis/viirs",
            f"Confidence is only 0/1/2 ({shown}): MODIS percent or VIIRS classes; add an instrument column or "
            "choose format modis/viirs",
        )
    return "modis_percent"


def map_confidence(values: Sequence[str | None], *, coding: ConfidenceCoding) -> list[str | None]:
    """Distinct raw values -> 'low'|'nominal'|'high' under `coding`; None for empty or not fitting the coding."""
    out: list[str | None] = []
    for v in values:
        text = None if v is None else str(v).strip()
        level: str | None = None
        if text:
            num = _number(text)
            if coding == "modis_percent" and np.isfinite(num) and 0 <= num <= 100:
                level = "low" if num < MODIS_NOMINAL_MIN else "nominal" if num < MODIS_HIGH_MIN else "high"
            elif coding == "viirs_numeric" and np.isfinite(num):
                level = _NUMERIC_CLASSES.get(float(num))
            elif coding == "viirs_letters":
                level = _LETTER_LEVELS.get(text.lower()) if len(text) == 1 else None
            elif coding == "class_words":
                level = _CLASS_WORDS.get(text.lower())
        out.append(level)
    return out


@lru_cache(maxsize=_CACHED_VALUES)
def _satellite_name(value: str | None) -> str | None:
    """One value of `_satellite_names`."""
    if value is None:
        return None
    text = value.strip()
    return SATELLITE_NAMES.get(text.lower(), text)


@lru_cache(maxsize=_CACHED_VALUES)
def _hhmm_minutes(value: str | None) -> int:
    """One value of `_hhmm_values`: minutes after midnight, or -1."""
    if value is None:
        return -1
    num = _number(value.strip().replace(":", ""))
    if not (np.isfinite(num) and num >= 0 and num == np.floor(num)):
        return -1
    hh, mm = divmod(int(num), 100)
    return hh * 60 + mm if hh < 24 and mm < 60 else -1


@lru_cache(maxsize=_CACHED_VALUES)
def _ymd_one(value: str | None) -> np.datetime64:
    """One value of `_ymd`."""
    try:
        return np.datetime64(dt.datetime.strptime(value.strip(), "%Y-%m-%d"), "ns")  # type: ignore[union-attr,call-overload]
    except (AttributeError, ValueError):
        return np.datetime64("NaT", "ns")


def _each(fn: Any, vectorised: Any, values: pd.Series, dtype: Any = object) -> np.ndarray:
    """`fn` over few distinct values in a loop, else the vectorised pandas twin over the Series."""
    if len(values) > _FEW:
        return np.asarray(vectorised(values), dtype=dtype)
    return np.array([fn(v) for v in values.tolist()], dtype=dtype)


# ----------------------------------------------------------------------------------------- sources

def _open_source(source: str | Path | IO[Any]) -> tuple[IO[Any], bool]:
    """A readable handle for a path (.csv, .csv.gz, one-CSV .zip) or open file, and whether we own it."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        if path.suffix.lower() == ".gz":
            return cast(IO[Any], gzip.open(path, "rb")), True
        if path.suffix.lower() == ".zip":
            zf = zipfile.ZipFile(path)
            members = [m for m in zf.namelist() if m.lower().endswith((".csv", ".txt"))]
            if len(members) != 1:
                zf.close()
                raise FirmsFormatError(
                    f"Arsip ZIP harus berisi tepat satu CSV, ada {len(members)}",
                    f"ZIP archive must contain exactly one CSV, found {len(members)}",
                )
            member = zf.open(members[0], "r")
            # The archive's file stays open while the member is (zipfile counts their references): closing the
            # archive here lets closing the member close the file, instead of leaving it to garbage collection.
            zf.close()
            return member, True
        return open(path, "rb"), True
    return source, False


def _read_header(handle: IO[Any]) -> list[str]:
    """Read and split the header line, leaving the handle at the first data line."""
    first = handle.readline()
    if isinstance(first, bytes):
        first = first.decode("utf-8-sig", errors="replace")
    first = first.lstrip("\ufeff").strip()
    if not first:
        raise FirmsFormatError("File kosong atau tanpa baris judul", "Empty file or no header line")
    return [c.strip().strip('"').strip() for c in first.split(",")]


def _detect_format(header: list[str]) -> str:
    """'viirs' if bright_ti4 is present, 'modis' if brightness is, else 'generic'."""
    cols = {c.lower() for c in header}
    if "bright_ti4" in cols:
        return "viirs"
    if "brightness" in cols:
        return "modis"
    return "generic"


def _resolve_generic(header: list[str], columns: GenericColumns | Mapping[str, str] | None) -> GenericColumns:
    """Turn options (or the usual aliases) into a GenericColumns mapping that names existing columns."""
    lower = {c.lower(): c for c in header}
    given: dict[str, str] = {}
    if isinstance(columns, GenericColumns):
        given = columns.used()
    elif columns is not None:
        unknown = sorted(set(columns) - set(GENERIC_FIELDS))
        if unknown:
            raise FirmsFormatError(
                f"Opsi kolom tidak dikenal: {', '.join(unknown)}; yang sah: {', '.join(GENERIC_FIELDS)}",
                f"Unknown column option(s): {', '.join(unknown)}; valid: {', '.join(GENERIC_FIELDS)}",
                field="columns",
            )
        given = dict(columns)
    resolved: dict[str, str | None] = {}
    missing: list[str] = []
    for name in GENERIC_FIELDS:
        if name in given:
            col = given[name]
            if col not in header and col.lower() not in lower:
                missing.append(f"{col} ({name})")
                continue
            resolved[name] = col if col in header else lower[col.lower()]
        else:
            hit = next((lower[a] for a in _GENERIC_ALIASES[name] if a in lower), None)
            if hit is None and name in ("latitude", "longitude", "date"):
                missing.append(name)
            resolved[name] = hit
    if missing:
        raise FirmsFormatError(
            f"Kolom wajib tidak ada: {', '.join(missing)} (kolom di berkas: {', '.join(header)})",
            f"Missing required column(s): {', '.join(missing)} (columns in file: {', '.join(header)})",
        )
    return GenericColumns(**resolved)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------ blocks

_NAT = np.iinfo(np.int64).min
_REASONS = np.array([
    None,
    "latitude bukan angka / latitude is not a number",
    "longitude bukan angka / longitude is not a number",
    "latitude di luar -90..90 / latitude out of range -90..90",
    "longitude di luar -180..180 / longitude out of range -180..180",
    "tanggal tidak valid / invalid date",
    "jam tidak valid (HHMM) / invalid time (HHMM)",
    "tanggal/waktu tidak valid / invalid date/time",
    "confidence tidak sesuai pengkodean berkas / confidence does not fit the file's coding",
], dtype=object)
_DATE_ONLY = re.compile(r"\s*\d{4}-\d{1,2}-\d{1,2}\s*")
_TOO_MANY = "terlalu banyak kolom / too many fields"
_TOO_FEW = "terlalu sedikit kolom / too few fields"
# Bytes read from the source at a time; a chunk of `chunk_rows` lines is cut from what has been read, so
# memory stays bounded by a few of these whatever the file size.
_READ_BYTES = 8 << 20


def _line_blocks(handle: IO[Any], chunk_rows: int) -> Iterator[tuple[bytes, int]]:
    """Cut the rest of the source into blocks of `chunk_rows` physical lines: (bytes, number of lines)."""
    tail = b""
    while True:
        data = handle.read(max(_READ_BYTES, chunk_rows * 256))
        if isinstance(data, str):
            data = data.encode("utf-8", errors="replace")
        if not data:
            if tail:
                yield tail, tail.count(b"\n") + (not tail.endswith(b"\n"))
            return
        buf = tail + data
        ends = np.flatnonzero(np.frombuffer(buf, dtype=np.uint8) == 10)
        start, used = 0, 0
        while len(ends) - used >= chunk_rows:
            end = int(ends[used + chunk_rows - 1]) + 1
            yield buf[start:end], chunk_rows
            start, used = end, used + chunk_rows
        tail = buf[start:]


def _parse_block(block: bytes, header: list[str], *, first_line: int,
                 n_lines: int) -> tuple[Any, np.ndarray, list[tuple[int, str]]]:
    """Parse one block of lines with Arrow (all columns as raw bytes): table, line of each row, field-count rejects.

    Assumes one record per physical line (FIRMS never quotes line breaks): a row's line is then its
    position in the block, corrected for the blank lines Arrow skips and the rows it rejects.
    """
    if not block.isascii():
        # Arrow hands invalid rows to Python as str; undecodable bytes would abort the read.
        block = block.decode("utf-8", errors="replace").encode("utf-8")
    invalid: dict[str, str] = {}

    def on_invalid(row: Any) -> str:
        invalid[row.text] = _TOO_MANY if row.actual_columns > row.expected_columns else _TOO_FEW
        return "skip"

    try:
        table = pacsv.read_csv(
            pa.BufferReader(block),
            read_options=pacsv.ReadOptions(column_names=header, block_size=1 << 20),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid, newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(header, pa.binary()), null_values=[""],
                                                 strings_can_be_null=True, quoted_strings_can_be_null=True),
        )
    except pa.ArrowInvalid as exc:
        if block.strip():
            raise FirmsFormatError(f"CSV rusak: {exc}", f"Malformed CSV: {exc}") from exc
        # Only blank lines: Arrow calls that an empty file.
        return pa.table({c: pa.array([], pa.binary()) for c in header}), np.empty(0, np.int64), []
    if table.num_rows == n_lines:
        return table, np.arange(first_line, first_line + n_lines, dtype=np.int64), []
    # Some lines were blank or rejected: find which, by their text (equal text, equal verdict).
    lines = block.split(b"\n")
    if block.endswith(b"\n"):
        lines.pop()
    text = pc.replace_substring(pa.array(lines, pa.binary()), "\r", "")
    blank = pc.equal(pc.binary_length(text), 0).to_numpy(zero_copy_only=False)
    bad_text = pa.array([t.replace("\r", "").encode("utf-8") for t in invalid], pa.binary())
    bad = pc.is_in(text, value_set=bad_text).to_numpy(zero_copy_only=False)
    line_no = np.arange(first_line, first_line + len(lines), dtype=np.int64)
    good = ~blank & ~bad
    if good.sum() != table.num_rows:
        raise FirmsFormatError(f"CSV rusak dekat baris {first_line}", f"Malformed CSV near line {first_line}")
    bad_rows = np.flatnonzero(bad)
    reasons = {t.replace("\r", ""): why for t, why in invalid.items()}
    rejects = [(int(line_no[i]), reasons.get(lines[i].replace(b"\r", b"").decode("utf-8"), _TOO_FEW))
               for i in bad_rows]
    return table, line_no[good], rejects


class _Columns:
    """The raw byte columns of one parsed block, converted on demand (numbers, distinct texts, extras)."""

    def __init__(self, table: Any) -> None:
        self.table = table
        self.n = table.num_rows
        self.names = list(table.column_names)

    def _raw(self, name: str) -> Any:
        return self.table.column(name).combine_chunks()

    def all_null(self) -> np.ndarray:
        """Rows whose every field is empty (a line of bare commas): skipped like blank lines."""
        if not self.names or not self.n:
            return np.zeros(self.n, dtype=bool)
        out = self._raw(self.names[0]).is_null().to_numpy(zero_copy_only=False)
        for name in self.names[1:]:
            if not out.any():
                break
            out &= self._raw(name).is_null().to_numpy(zero_copy_only=False)
        return out

    def num(self, name: str | None) -> np.ndarray:
        """float64 values; NaN where empty or not a number."""
        if name is None:
            return np.full(self.n, np.nan)
        raw = self._raw(name)
        try:
            values = pc.cast(raw.view(pa.string()), pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            text = pd.Series(self._decode(raw), dtype=object)
            return pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        return values.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)

    def codes(self, name: str | None) -> tuple[np.ndarray, pd.Series]:
        """Per row an index into the distinct values (len(values) when empty) and the distinct texts."""
        if name is None:
            return np.zeros(self.n, dtype=np.int64), pd.Series([], dtype=object)
        enc = pc.dictionary_encode(self._raw(name))
        uniq = pd.Series(self._decode(enc.dictionary), dtype=object)
        codes = enc.indices.fill_null(len(uniq)).to_numpy(zero_copy_only=False).astype(np.int64)
        return codes, uniq

    def extra(self, name: str, rows: np.ndarray) -> np.ndarray:
        """An attribute column for the given rows: int64, float64 (NaN when empty) or text (None when empty)."""
        raw = self._raw(name)
        if len(rows) != self.n:
            raw = raw.take(pa.array(rows, pa.int64()))
        as_text = raw.view(pa.string())
        try:
            values = pc.cast(as_text, pa.float64()).to_numpy(zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        else:
            # A failing cast is costly, so int64 is tried only when every value is a whole number.
            if not raw.null_count and np.array_equal(values, np.trunc(values)):
                try:
                    return pc.cast(as_text, pa.int64()).to_numpy(zero_copy_only=False)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    pass
            return values
        codes, uniq = _Columns(pa.table({"v": raw})).codes("v")
        return np.append(uniq.to_numpy(dtype=object), np.array([None], dtype=object))[codes]

    @staticmethod
    def _decode(raw: Any) -> np.ndarray:
        try:
            return raw.cast(pa.string()).to_numpy(zero_copy_only=False)
        except pa.ArrowInvalid:
            return np.array([None if v is None else v.decode("utf-8", errors="replace") for v in raw.to_pylist()],
                            dtype=object)


# ------------------------------------------------------------------------------------------ reader

class DetectionStream:
    """Iterator of DetectionChunk over one CSV; validated on construction, counts rows as it goes."""

    def __init__(self, source: str | Path | IO[Any], *, fmt: Format = "auto",
                 columns: GenericColumns | Mapping[str, str] | None = None, chunk_rows: int = 50_000,
                 naive_tz: str = "UTC") -> None:
        if fmt not in ("auto", "modis", "viirs", "generic"):
            raise FirmsFormatError(f"Format tidak dikenal: {fmt}", f"Unknown format: {fmt}", field="format")
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be >= 1")
        self._pending: Future[DetectionChunk | None] | None = None
        self._chunks: Iterator[DetectionChunk] | None = None
        self._closed = False
        self._handle, self._owned = _open_source(source)
        try:
            self.header = _read_header(self._handle)
            dupes = sorted({c for c in self.header if self.header.count(c) > 1})
            if dupes:
                raise FirmsFormatError(
                    f"Nama kolom ganda: {', '.join(dupes)}", f"Duplicate column name(s): {', '.join(dupes)}"
                )
            self.fmt = _detect_format(self.header) if fmt == "auto" else fmt
            self.generic: GenericColumns | None = None
            if self.fmt == "generic":
                self.generic = _resolve_generic(self.header, columns)
            else:
                missing = [c for c in FIRMS_REQUIRED if c not in self.header]
                if missing:
                    raise FirmsFormatError(
                        f"Kolom wajib FIRMS {self.fmt.upper()} tidak ada: {', '.join(missing)}",
                        f"Missing required FIRMS {self.fmt.upper()} column(s): {', '.join(missing)}",
                    )
        except BaseException:
            self.close()
            raise
        self.chunk_rows = chunk_rows
        self.naive_tz = naive_tz
        # Decided from the first block with confidence values (a block whose values fit no coding raises
        # ConfidenceCodingError there, before the caller has stored anything); later values that do not fit
        # the decided coding are rejected row by row.
        self.confidence_coding: ConfidenceCoding | None = None
        self.date_only_rows = 0
        self.rows_read = 0
        self.rows_kept = 0
        self.rows_rejected = 0

    def __iter__(self) -> DetectionStream:
        return self

    def __next__(self) -> DetectionChunk:
        if self._closed:
            raise StopIteration
        if self._chunks is None:
            self._chunks = self._generate()
        try:
            return next(self._chunks)
        except StopIteration:
            self.close()
            raise

    def __enter__(self) -> DetectionStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the file if we opened it (after any block still being read ahead)."""
        self._closed = True
        chunks, self._chunks = self._chunks, None
        if chunks is not None:
            chunks.close()  # type: ignore[attr-defined]  # a generator: stops the read-ahead thread
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(Exception):
                pending.result()
        if self._owned and not self._handle.closed:
            self._handle.close()

    def _converted_chunks(self) -> Iterator[DetectionChunk]:
        """Chunks in file order: each block cut from the source, parsed and converted (in the read-ahead thread)."""
        line = 2  # the header is line 1
        for block, n_lines in _line_blocks(self._handle, self.chunk_rows):
            table, line_no, rejects = _parse_block(block, self.header, first_line=line, n_lines=n_lines)
            line += n_lines
            yield self._convert(_Columns(table), line_no=line_no, rejects=rejects)

    def _generate(self) -> Iterator[DetectionChunk]:
        # The next block is read, parsed and converted to a chunk ahead in a worker thread (Arrow, numpy and
        # pandas release the GIL for much of it) while the caller works on the current chunk; memory stays at
        # about two blocks. (Converting two blocks at once in two threads was no faster: they fight over the GIL.)
        chunks = self._converted_chunks()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="firms-read") as pool:
            self._pending = pool.submit(next, chunks, None)
            while True:
                chunk = self._pending.result()
                if chunk is None:
                    self._pending = None
                    return
                self._pending = pool.submit(next, chunks, None)
                self.rows_read += len(chunk) + len(chunk.rejects)
                self.rows_kept += len(chunk)
                self.rows_rejected += len(chunk.rejects)
                yield chunk

    def _convert(self, cols: _Columns, *, line_no: np.ndarray, rejects: list[tuple[int, str]]) -> DetectionChunk:
        if self.generic is None:
            src = {"latitude": "latitude", "longitude": "longitude", "date": "acq_date", "time": "acq_time",
                   "confidence": "confidence", "frp": "frp",
                   "brightness": "brightness" if self.fmt == "modis" else "bright_ti4",
                   "satellite": "satellite", "instrument": "instrument", "daynight": "daynight",
                   "version": "version"}
            core = set(_CORE_FIRMS[self.fmt])
        else:
            src = self.generic.used()
            core = set(src.values())
        src = {f: c for f, c in src.items() if c in cols.names}
        n = cols.n
        blank = cols.all_null()

        lat, lon = cols.num(src.get("latitude")), cols.num(src.get("longitude"))
        reason = np.zeros(n, dtype=np.int8)

        def reject(mask: np.ndarray, code: int) -> None:
            reason[mask & (reason == 0)] = code

        reject(~np.isfinite(lat), 1)
        reject(~np.isfinite(lon), 2)
        reject(np.abs(lat) > 90, 3)
        reject(np.abs(lon) > 180, 4)

        d_codes, d_uniq = cols.codes(src.get("date"))
        date_only = np.zeros(n, dtype=bool)
        if self.generic is None or self.generic.time is not None:
            day = np.append(self._parse_day(d_uniq).astype("datetime64[ns]").view(np.int64), _NAT)[d_codes]
            if "time" in src:
                t_codes, t_uniq = cols.codes(src.get("time"))
                minutes = np.append(_each(_hhmm_minutes, lambda u: _hhmm_values(u)[0], t_uniq, np.int64),
                                    -1)[t_codes]
            else:
                # No acq_time column: the detections carry their date only (flagged, not midnight UTC as a time).
                minutes = np.zeros(n, dtype=np.int64)
                date_only[:] = True
            day_ok, time_ok = day != _NAT, minutes >= 0
            reject(~day_ok, 5)
            reject(day_ok & ~time_ok, 6)
            ns = np.where(day_ok & time_ok, day + minutes * 60_000_000_000, _NAT)
            when = pd.DatetimeIndex(ns.view("datetime64[ns]"))
            if self.generic is None:
                when = when.tz_localize("UTC")
            else:
                when = when.tz_localize(self.naive_tz, ambiguous="NaT", nonexistent="NaT").tz_convert("UTC")
                # A local time the clocks skip, or pass twice, is no one instant: rejected, not kept without a time.
                reject(np.asarray(pd.isna(when)), 7)
        else:
            parsed = pd.DatetimeIndex(self._parse_datetime(d_uniq)).as_unit("ns").asi8.copy()
            # A value that is a date alone is that day, flagged date-only (not midnight in naive_tz as a time).
            plain = np.array([bool(_DATE_ONLY.fullmatch(str(v))) for v in d_uniq.tolist()], dtype=bool)
            if plain.any():
                days = pd.to_datetime(d_uniq[plain].astype("string").str.strip(), errors="coerce", format="%Y-%m-%d")
                parsed[plain] = pd.DatetimeIndex(days).as_unit("ns").asi8
            when = pd.DatetimeIndex(np.append(parsed, _NAT)[d_codes].view("datetime64[ns]")).tz_localize("UTC")
            date_only = np.append(plain, False)[d_codes]
            reject(np.asarray(pd.isna(when)), 7)

        conf_codes, conf_uniq = cols.codes(src.get("confidence"))
        conf_texts = _each(lambda v: v.strip(), _stripped, conf_uniq)
        if self.confidence_coding in (None, "none"):
            _, i_uniq = cols.codes(src.get("instrument"))
            coding = detect_confidence_coding(values=conf_texts.tolist(), fmt=self.fmt, instruments=i_uniq.tolist())
            if coding != "none" or self.confidence_coding is None:
                self.confidence_coding = coding
        levels = map_confidence(conf_texts.tolist(), coding=self.confidence_coding or "none")
        level_code = np.array([_LEVEL_CODE.get(v or "", -1) for v in levels] + [-1], dtype=np.int64)
        misfit = np.append(np.array([bool(t) and lv is None for t, lv in zip(conf_texts.tolist(), levels,
                                                                               strict=True)], dtype=bool), False)
        reject(misfit[conf_codes], 8)

        bad = (reason != 0) & ~blank
        rejects = sorted(rejects + list(zip(line_no[bad].tolist(), _REASONS[reason[bad]].tolist(), strict=True)))
        k = np.flatnonzero(~bad & ~blank)
        default_instrument = {"modis": "MODIS", "viirs": "VIIRS"}.get(self.fmt, "")

        def text(name: str, fill: str | None = None) -> tuple[np.ndarray, np.ndarray]:
            """Per kept row: code into the distinct values (last = missing) and the stripped distinct values."""
            codes, uniq = cols.codes(src.get(name))
            stripped = _each(lambda v: v.strip(), _stripped, uniq)
            return codes[k], np.append(stripped, np.array([fill], dtype=object))

        inst_c, inst_u = text("instrument", default_instrument)
        sat_c, sat_raw_u = text("satellite")
        sat_u = np.append(_each(_satellite_name, _satellite_names, pd.Series(sat_raw_u[:-1], dtype=object)),
                          np.array([None], dtype=object))
        conf_c = conf_codes[k]
        conf_raw_u = np.append(conf_texts, np.array([None], dtype=object))
        self.date_only_rows += int(date_only[k].sum())
        when_k = when[k]
        lon_k, lat_k = lon[k], lat[k]
        keys = _keys(_sha64(["" if v is None else v for v in inst_u])[inst_c],
                     _sha64(["" if v is None else v for v in sat_u])[sat_c],
                     lon_k, lat_k, when_k.as_unit("s").asi8) if len(k) else pa.array([], pa.string())
        dn_c, dn_u = text("daynight")
        ver_c, ver_u = text("version")
        def obj(values: np.ndarray) -> pd.Series:
            return pd.Series(values, dtype=object, copy=False)

        frame = pd.DataFrame({
            # pandas' default text dtype, Arrow-backed: the keys stay one buffer, not one str object per row.
            "detection_key": pd.Series(pd.array(keys, dtype=_KEY_DTYPE), copy=False),
            "line_no": line_no[k],
            "lon": lon_k,
            "lat": lat_k,
            "acq_time_utc": when_k,
            "date_only": date_only[k],
            "confidence": pd.Categorical.from_codes(level_code[conf_c], categories=CONFIDENCE_LEVELS,
                                                    ordered=True),
            "confidence_raw": obj(conf_raw_u[conf_c]),
            "frp": cols.num(src.get("frp"))[k],
            "brightness": cols.num(src.get("brightness"))[k],
            "satellite": obj(sat_u[sat_c]),
            "satellite_raw": obj(sat_raw_u[sat_c]),
            "instrument": obj(inst_u[inst_c]),
            "daynight": obj(dn_u[dn_c]),
            "version": obj(ver_u[ver_c]),
        }, copy=False)
        extras = pd.DataFrame({c: cols.extra(c, k) for c in cols.names if c not in core}, index=pd.RangeIndex(len(k)),
                              copy=False)
        return DetectionChunk(frame=frame, extras=extras, rejects=rejects, fmt=self.fmt)

    def _parse_day(self, s: pd.Series) -> np.ndarray:
        """Distinct date texts (YYYY-MM-DD, or ISO date-time whose day is used) -> naive midnights (NaT if bad)."""
        if self.generic is None:
            return _each(_ymd_one, _ymd, s, "datetime64[ns]")
        # The day is the one written: an offset is dropped before parsing (values with different offsets, or
        # with and without one, cannot be parsed together as aware times, and their UTC day is not the one meant).
        text = s.astype("string").str.strip().str.replace(_TZ_SUFFIX, "", regex=True).str.strip()
        parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
        return parsed.dt.floor("D").to_numpy(dtype="datetime64[ns]")

    def _parse_datetime(self, s: pd.Series) -> pd.Series:
        """Generic date/datetime text -> UTC; values without an offset are taken in `naive_tz`."""
        text = s.astype("string").str.strip()
        aware = text.str.contains(_TZ_SUFFIX, regex=True).fillna(False).to_numpy(dtype=bool)
        out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
        if aware.any():
            parsed = pd.to_datetime(text[aware], errors="coerce", format="ISO8601", utc=True)
            out[aware] = parsed.dt.as_unit("ns")
        if (~aware).any():
            naive = pd.to_datetime(text[~aware], errors="coerce", format="ISO8601")
            out[~aware] = naive.dt.tz_localize(self.naive_tz, ambiguous="NaT", nonexistent="NaT") \
                .dt.tz_convert("UTC").dt.as_unit("ns")
        return out


def read_detections(source: str | Path | IO[Any], *, fmt: Format = "auto",
                    columns: GenericColumns | Mapping[str, str] | None = None, chunk_rows: int = 50_000,
                    naive_tz: str = "UTC") -> DetectionStream:
    """Stream detections from a FIRMS MODIS/VIIRS or generic CSV in chunks; bad headers raise at once."""
    return DetectionStream(source, fmt=fmt, columns=columns, chunk_rows=chunk_rows, naive_tz=naive_tz)


# ------------------------------------------------------------------------------------ area filters

def in_bbox(*, lon: np.ndarray, lat: np.ndarray, bbox: tuple[float, float, float, float]) -> np.ndarray:
    """Mask of points inside (min_lon, min_lat, max_lon, max_lat), WGS84, edges included."""
    x0, y0, x1, y1 = bbox
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    return (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)


def in_area(*, lon: np.ndarray, lat: np.ndarray, area: shapely.Geometry) -> np.ndarray:
    """Mask of points inside or on a WGS84 (multi)polygon, bbox-prefiltered then shapely.intersects_xy."""
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    mask = in_bbox(lon=lon, lat=lat, bbox=tuple(shapely.bounds(area)))
    if mask.any():
        shapely.prepare(area)
        idx = np.flatnonzero(mask)
        mask[idx] = shapely.intersects_xy(area, lon[idx], lat[idx])
    return mask


# ---------------------------------------------------------------------------------------- tagging

TAG_COLUMNS = ("zone", "desa_code", "desa_name", "kecamatan_code", "kecamatan_name", "kabupaten_code",
               "kabupaten_name", "nearest_desa_code", "border_distance_m")


def _object_column(values: Any, index: pd.Index) -> pd.Series:
    """Text column that keeps None for missing values (pandas 3 would otherwise infer str with NaN)."""
    return pd.Series(np.asarray(values, dtype=object), index=index, dtype=object, copy=False)


def tag_detections(chunk: DetectionChunk, *, locator: Any, max_outside_m: float = 10_000,
                   h3_resolutions: Sequence[int] = ()) -> DetectionChunk:
    """Add desa/kecamatan (inside Barito Selatan) or neighbour kabupaten + border distance (outside).

    zone is 'inside', 'border' (outside, at most `max_outside_m` from the nearest Barito Selatan desa)
    or 'outside'; border_distance_m is 0 inside, the distance for 'border' and NaN for 'outside'.
    kabupaten is filled for 'inside' and 'border' rows only. Nothing is dropped: keeping Kalimantan
    Tengah is the caller's area filter.

    Inside points are resolved with `locator.assign_desa` (a grid lookup); only points outside the
    desa but within the regency envelope plus `max_outside_m` go through `locator.locate_many`, whose
    river/road distances tagging does not need.

    With `h3_resolutions`, the H3 cells of every row at those resolutions (each from lon/lat, as
    geo.hexagons.cells_from_lonlat) are computed in the H3 worker threads while the rows are tagged, and
    returned in `cells` of the result.
    """
    wanted = [r for r in dict.fromkeys(h3_resolutions) if r not in chunk.cells]
    job = start_cells(lon=chunk.lon, lat=chunk.lat, resolutions=wanted) if wanted else None
    try:
        tagged = _tag(chunk, locator=locator, max_outside_m=max_outside_m)
    except BaseException:
        if job is not None:
            job.cancel()
        raise
    if job is not None:
        tagged.cells.update(job.result())
    return tagged


def _tag(chunk: DetectionChunk, *, locator: Any, max_outside_m: float) -> DetectionChunk:
    """tag_detections without the H3 cells (chunk.cells are carried over)."""
    n = len(chunk.frame)
    if n and hasattr(locator, "assign_desa") and hasattr(locator, "layers"):
        cols, dist = _tag_fast(chunk.lon, chunk.lat, locator=locator, max_outside_m=max_outside_m)
    else:
        cols, dist = _tag_located(chunk, locator=locator, max_outside_m=max_outside_m)
    index = chunk.frame.index
    tags = pd.DataFrame({**{c: _object_column(cols[c], index) for c in TAG_COLUMNS[:-1]}, "border_distance_m": dist},
                        index=index, copy=False)
    # Re-tagging a tagged chunk replaces its tag columns.
    frame = pd.concat([chunk.frame.drop(columns=[c for c in TAG_COLUMNS if c in chunk.frame.columns]), tags],
                      axis=1)
    return DetectionChunk(frame=frame, extras=chunk.extras, rejects=list(chunk.rejects), fmt=chunk.fmt,
                          cells=dict(chunk.cells))


_ZONE_NAMES = np.array(["outside", "border", "inside"], dtype=object)


def _tag_fast(lon: np.ndarray, lat: np.ndarray, *, locator: Any,
              max_outside_m: float) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Tag columns by the locator's desa grid, and its nearest desa edge for the border band only.

    Inside points are resolved with `locator.assign_desa` (a grid lookup). Outside every desa, only the
    border band needs the (costly) nearest-edge distance, and the kabupaten; river/road distances of the
    full locate answer are not used for tagging. Each text column is one take from a per-desa table whose
    last entry is None, not a column of None filled row by row.
    """
    n = len(lon)
    idx, _ = locator.assign_desa(lon=lon.copy(), lat=lat.copy())
    inside = idx >= 0
    margin = max_outside_m / 100_000.0  # degrees; 1 degree >= 100 km everywhere in Kalimantan
    x0, y0, x1, y1 = _desa_total_bounds(locator)
    envelope = (x0 - margin, y0 - margin, x1 + margin, y1 + margin)
    rows = np.flatnonzero(~inside & in_bbox(lon=lon, lat=lat, bbox=envelope))
    if len(rows):
        band = _border_band(locator, max_outside_m)
        rows = rows[shapely.contains_xy(band, lon[rows], lat[rows])]
    nearest = metres = rows[:0]
    if len(rows):
        x, y = to_utm(lon[rows], lat[rows])
        # Capped at max_outside_m: farther points come back as -1 without the unbounded search, nearer ones
        # get the uncapped answer. One KD-tree thread: the H3 and read-ahead threads already use the cores.
        nearest, metres = locator.desa_edges.nearest(x, y, max_distance=max_outside_m, workers=1)
        border = nearest >= 0
        rows, nearest, metres = rows[border], nearest[border], metres[border]
    tables = _desa_tables(locator.layers)
    desa = np.where(inside, idx, -1)  # -1: the trailing None of every table
    cols = {c: tables[c][desa] for c in ("desa_code", "desa_name", "kecamatan_code", "kecamatan_name",
                                         "kabupaten_code", "kabupaten_name", "nearest_desa_code")}
    zone = inside.astype(np.int8) * 2
    dist = np.where(inside, 0.0, np.nan)
    if len(rows):
        kab, _ = locator._kabupaten_outside(lon[rows], lat[rows])
        kab_tables = _kabupaten_tables(locator)
        cols["kabupaten_code"][rows] = kab_tables["code"][kab]
        cols["kabupaten_name"][rows] = kab_tables["name"][kab]
        cols["nearest_desa_code"][rows] = _desa_codes(locator)[nearest]
        dist[rows] = metres
        zone[rows] = 1
    cols["zone"] = _ZONE_NAMES[zone] if n else np.empty(0, dtype=object)
    return cols, dist


def _tag_located(chunk: DetectionChunk, *, locator: Any,
                 max_outside_m: float) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Tag columns from `locator.locate_many` (a locator without the desa grid), for every row."""
    n = len(chunk.frame)
    cols = {c: np.full(n, None, dtype=object) for c in TAG_COLUMNS[:-1]}
    cols["zone"][:] = "outside"
    dist = np.full(n, np.nan)
    if n:
        batch = locator.locate_many(lon=chunk.lon, lat=chunk.lat)
        b_inside = np.asarray(batch.inside_regency, dtype=bool)
        b_dist = np.asarray(batch.nearest_desa_m, dtype=np.float64)
        b_border = ~b_inside & np.isfinite(b_dist) & (b_dist <= max_outside_m)
        keep = b_inside | b_border
        for c in ("desa_code", "desa_name", "kecamatan_code", "kecamatan_name"):
            cols[c][b_inside] = np.asarray(getattr(batch, c), dtype=object)[b_inside]
        for c in ("kabupaten_code", "kabupaten_name", "nearest_desa_code"):
            cols[c][keep] = np.asarray(getattr(batch, c), dtype=object)[keep]
        dist[keep] = np.where(b_inside, 0.0, b_dist)[keep]
        cols["zone"][b_border] = "border"
        cols["zone"][b_inside] = "inside"
    return cols, dist


def _desa_total_bounds(locator: Any) -> tuple[float, float, float, float]:
    """Bounds of all desa polygons (cached on the locator)."""
    cache = locator.__dict__.setdefault("_firms_cache", {})
    if "bounds" not in cache:
        cache["bounds"] = tuple(float(v) for v in shapely.total_bounds(locator.layers.desa.geometry))
    return cache["bounds"]


def _kabupaten_tables(locator: Any) -> dict[str, np.ndarray]:
    """The locator's kabupaten codes and names, each with a trailing None for index -1 (cached)."""
    cache = locator.__dict__.setdefault("_firms_cache", {})
    if "kabupaten" not in cache:
        none = np.array([None], dtype=object)
        cache["kabupaten"] = {
            "code": np.append(np.asarray(locator.kabupaten.code, dtype=object), none),
            "name": np.append(np.asarray(locator.kabupaten.name, dtype=object), none),
        }
    return cache["kabupaten"]


def _desa_codes(locator: Any) -> np.ndarray:
    """The locator's desa codes, the owners of its desa edges (cached)."""
    cache = locator.__dict__.setdefault("_firms_cache", {})
    if "desa_codes" not in cache:
        cache["desa_codes"] = np.asarray(locator.desa.code, dtype=object)
    return cache["desa_codes"]


def _border_band(locator: Any, max_outside_m: float) -> shapely.Geometry:
    """The regency outline grown by `max_outside_m` (+500 m slack; the exact test follows), cached, prepared."""
    cache = locator.__dict__.setdefault("_firms_border_band", {})
    band = cache.get(max_outside_m)
    if band is None:
        outline_utm = project_geometries(np.array([locator.outline]))[0]
        grown = shapely.buffer(outline_utm, max_outside_m + 500.0, quad_segs=4)
        band = project_geometries(np.array([grown]), src=UTM50S, dst=WGS84)[0]
        shapely.prepare(band)
        cache[max_outside_m] = band
    return band


def _desa_tables(layers: Any) -> dict[str, np.ndarray]:
    """Per desa index: its code, name, kecamatan and kabupaten code and name, then None (cached on the layers)."""
    cached = layers.__dict__.get("_firms_desa_tables")
    if cached is None:
        desa = layers.desa
        code = np.asarray(desa.code, dtype=object)
        kec_code = np.asarray(desa.attrs["kecamatan_kode"], dtype=object)
        # Desa codes are 62.04.KK.DDDD: the first two parts are the kabupaten code.
        kab_code = np.array([str(c)[:5] for c in code], dtype=object)
        kec_names = dict(zip(np.asarray(layers.kecamatan.code).tolist(), np.asarray(layers.kecamatan.name).tolist(),
                             strict=True))
        kab_names = dict(zip(np.asarray(layers.kabupaten.code).tolist(), np.asarray(layers.kabupaten.name).tolist(),
                             strict=True))
        cached = {
            "desa_code": code, "desa_name": np.asarray(desa.name, dtype=object), "nearest_desa_code": code,
            "kecamatan_code": kec_code,
            "kecamatan_name": np.array([kec_names.get(c) for c in kec_code.tolist()], dtype=object),
            "kabupaten_code": kab_code,
            "kabupaten_name": np.array([kab_names.get(c) for c in kab_code.tolist()], dtype=object),
        }
        none = np.array([None], dtype=object)
        cached = {name: np.append(values, none) for name, values in cached.items()}
        layers.__dict__["_firms_desa_tables"] = cached
    return cached


__all__ = [
    "CODING_TEXT", "CONFIDENCE_LEVELS", "DETECTION_COLUMNS", "TAG_COLUMNS", "ConfidenceCoding",
    "ConfidenceCodingError", "DetectionChunk", "DetectionStream", "FirmsFormatError", "detect_confidence_coding",
    "map_confidence", "GenericColumns", "detection_keys", "in_area", "in_bbox", "normalise_confidence",
    "normalise_satellite", "read_detections", "tag_detections",
]
