"""Parse Advanced Mobile Location (AML) SMS bodies as handsets send them to 112.

Format (EENA AML / ETSI TS 103 625, "ELS V1" in Android): a header ``A"ML=1`` followed by
``key=value`` attributes separated by ``;``::

    A"ML=1;lt=-1.71234;lg=+114.84567;rd=25;top=20261129081530;lc=68;pm=G;
    si=510101000000000;ei=356938035643809;mcc=510;mnc=10;ml=124

lt/lg are WGS84 decimal degrees, rd the radius of the 2D uncertainty circle in metres, top the
time of positioning in UTC (YYYYMMDDhhmmss), lc the confidence in percent, pm the positioning
method (G=GNSS, W=Wi-Fi, C=cell, N=no location), si the IMSI (often only the first digits, the
rest zeroed), ei the IMEI, mcc/mnc the network, and ml the length of the whole message in
characters including the header and the ml attribute itself.

Policy: a message that is malformed (missing/garbled lt or lg, garbled top, wrong length) raises
:class:`AmlError` naming the field. A well-formed message that *carries no location*
(``pm=N``, or the null-island placeholder ``lt=+00.00000;lg=+000.00000`` that handsets send when
no fix was obtained) is NOT an error: it returns an :class:`AmlLocation` whose ``lon``/``lat``/
``radius_m`` are ``None``, so the call is still recorded (as needing a location) together with
the handset identity and time. A missing ``top`` gives ``fixed_at=None`` (the position is
still worth more than nothing); a present but invalid one is an error. Unknown attributes are
ignored, for forward compatibility with later AML revisions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from geo.errors import InvalidInput

__all__ = ["AmlError", "AmlLocation", "METHODS", "parse_aml"]

# pm letters: G/W/C/N are the AML v1 set; F (fused) and U (unknown) come from the ELS
# positioning-source list and are accepted so a location is not thrown away over a letter.
METHODS: dict[str, str] = {
    "G": "gnss",
    "W": "wifi",
    "C": "cell",
    "N": "none",
    "F": "fused",
    "U": "unknown",
}

_HEADER = re.compile(r'^\s*A\s*["\u201c\u201d\u201e\u2033\']{1,2}\s*ML\s*=\s*(?P<version>[^;]*)', re.I)
_DECIMAL = re.compile(r"^[+-]?\d{1,3}(?:\.\d+)?$")
_INTEGER = re.compile(r"^\d+$")
_REAL = re.compile(r"^\d+(?:\.\d+)?$")
_DIGITS = re.compile(r"^\d{1,20}$")
_TIME = re.compile(r"^\d{14}$")
_SUPPORTED_VERSIONS = {"1"}


class AmlError(InvalidInput, ValueError):
    """A malformed AML message: ``attribute`` is the AML attribute at fault, ``field`` the input field to fix
    (the attribute itself, or ``<where>.<attribute>`` when the text came from a field named ``where``)."""

    def __init__(self, attribute: str, message: str, *, where: str | None = None) -> None:
        self.attribute = attribute
        self.message = message  # the problem itself, "Indonesian / English"
        # The " / " between the languages is the middle one: a quoted value holding " / " appears on both sides.
        parts = message.split(" / ")
        middle = max(1, len(parts) // 2)
        text_id, text_en = " / ".join(parts[:middle]), " / ".join(parts[middle:])
        super().__init__(
            f"Pesan AML rusak pada atribut '{attribute}': {text_id}",
            f"Malformed AML message at attribute '{attribute}': {text_en or text_id}",
            field=attribute if where is None else f"{where}.{attribute}",
            aml_field=attribute,
        )


@dataclass(frozen=True, slots=True)
class AmlLocation:
    """A decoded AML message; lon/lat/radius_m are None when the handset had no fix."""

    lon: float | None
    lat: float | None
    radius_m: float | None
    fixed_at: datetime | None
    confidence_pct: int | None
    method: str
    imsi: str | None
    imei: str | None
    mcc: str | None
    mnc: str | None
    version: str
    raw: str

    @property
    def has_location(self) -> bool:
        """True when the message carries usable coordinates."""
        return self.lon is not None and self.lat is not None


def _split(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Split the message into its version and the ordered (key, value) attribute pairs."""
    head = _HEADER.match(text)
    if head is None:
        raise AmlError(
            'A"ML',
            'Header A"ML=<versi> tidak ditemukan di awal pesan / '
            'Header A"ML=<version> not found at the start of the message',
        )
    version = head.group("version").strip()
    pairs: list[tuple[str, str]] = []
    for chunk in text[head.end() :].split(";"):
        chunk = chunk.strip()
        if not chunk:
            continue
        key, sep, value = chunk.partition("=")
        key = key.strip().lower()
        if not sep or not key:
            raise AmlError(
                key or chunk,
                f"Atribut '{chunk}' bukan pasangan kunci=nilai / Attribute '{chunk}' is not a key=value pair",
            )
        pairs.append((key, value.strip()))
    return version, pairs


def _coordinate(fields: dict[str, str], key: str, *, limit: float, other: str) -> float:
    """Read lt or lg as decimal degrees, checking the range and hinting at swapped axes."""
    name_id, name_en = ("lintang", "latitude") if key == "lt" else ("bujur", "longitude")
    raw = fields.get(key)
    if raw is None or raw == "":
        raise AmlError(key, f"{name_id} ({key}) tidak ada / {name_en} ({key}) is missing")
    if not _DECIMAL.match(raw):
        raise AmlError(
            key,
            f"{name_id} ({key}) '{raw}' bukan angka desimal derajat / "
            f"{name_en} ({key}) '{raw}' is not a decimal number of degrees",
        )
    value = float(raw)
    if abs(value) > limit:
        hint_id = hint_en = ""
        other_raw = fields.get(other, "")
        if key == "lt" and _DECIMAL.match(other_raw) and abs(float(other_raw)) <= 90:
            hint_id, hint_en = "; lt dan lg tampaknya tertukar", "; lt and lg look swapped"
        raise AmlError(
            key,
            f"{name_id} ({key}) {value} di luar rentang ±{limit:g}{hint_id} / "
            f"{name_en} ({key}) {value} is outside ±{limit:g}{hint_en}",
        )
    return value


def _time(raw: str | None) -> datetime | None:
    """Read top (YYYYMMDDhhmmss, UTC) as a timezone-aware datetime; absent gives None."""
    if raw is None or raw == "":
        return None
    if not _TIME.match(raw):
        raise AmlError(
            "top",
            f"Waktu penentuan posisi '{raw}' harus 14 digit YYYYMMDDhhmmss / "
            f"Time of positioning '{raw}' must be 14 digits YYYYMMDDhhmmss",
        )
    try:
        return datetime.strptime(raw, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        raise AmlError(
            "top",
            f"Waktu penentuan posisi '{raw}' bukan tanggal/jam yang valid / "
            f"Time of positioning '{raw}' is not a valid date and time",
        ) from None


def _radius(raw: str | None) -> float | None:
    """Read rd in metres; absent or 'N' (no fix) gives None."""
    if raw is None or raw == "" or raw.upper() == "N":
        return None
    if not _REAL.match(raw):
        raise AmlError(
            "rd",
            f"Radius ketelitian (rd) '{raw}' harus angka meter tidak negatif / "
            f"Accuracy radius (rd) '{raw}' must be a non-negative number of metres",
        )
    return float(raw)


def _confidence(raw: str | None) -> int | None:
    """Read lc as a percentage 0..100; absent gives None."""
    if raw is None or raw == "":
        return None
    if not _INTEGER.match(raw) or int(raw) > 100:
        raise AmlError(
            "lc",
            f"Tingkat keyakinan (lc) '{raw}' harus bilangan bulat 0-100 / "
            f"Confidence (lc) '{raw}' must be an integer 0-100",
        )
    return int(raw)


def _identifier(fields: dict[str, str], key: str, label_id: str, label_en: str) -> str | None:
    """Read an optional all-digit identifier (si, ei, mcc, mnc)."""
    raw = fields.get(key)
    if raw is None or raw == "":
        return None
    if not _DIGITS.match(raw):
        raise AmlError(
            key,
            f"{label_id} ({key}) '{raw}' harus berupa digit / {label_en} ({key}) '{raw}' must be digits",
        )
    return raw


def _check_length(text: str, pairs: list[tuple[str, str]], version: str, ml: str) -> None:
    """Compare ml with the message length, tolerating whitespace added by copy and paste."""
    if not _INTEGER.match(ml):
        raise AmlError(
            "ml",
            f"Panjang pesan (ml) '{ml}' harus bilangan bulat / Message length (ml) '{ml}' must be an integer",
        )
    expected = int(ml)
    # The handset counts its own compact text; an operator pasting it may add spaces or a
    # trailing newline, so the compact re-serialisation is accepted as well as the text itself.
    compact = 'A"ML=' + version + "".join(f";{k}={v}" for k, v in pairs)
    if expected not in (len(text.strip()), len(compact)):
        raise AmlError(
            "ml",
            f"Panjang pesan (ml={expected}) tidak sama dengan panjang sebenarnya ({len(compact)}); "
            f"pesan mungkin terpotong / Message length (ml={expected}) does not match the actual "
            f"length ({len(compact)}); the message may be truncated",
        )


def parse_aml(text: str, *, field: str | None = None) -> AmlLocation:
    """Decode the raw text of an AML SMS; raise AmlError naming the broken attribute.

    ``field``: the input field the text came from (``location.aml``): errors then name ``field.attribute``.
    """
    try:
        return _parse(text)
    except AmlError as exc:
        if field is None:
            raise
        raise AmlError(exc.attribute, exc.message, where=field) from None


def _parse(text: str) -> AmlLocation:
    if not isinstance(text, str) or not text.strip():
        raise AmlError('A"ML', "Pesan AML kosong / The AML message is empty")
    version, pairs = _split(text)
    if version not in _SUPPORTED_VERSIONS:
        raise AmlError(
            'A"ML',
            f"Versi AML '{version}' tidak didukung (hanya 1) / "
            f"AML version '{version}' is not supported (only 1)",
        )
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            raise AmlError(key, f"Atribut '{key}' muncul dua kali / Attribute '{key}' appears twice")
        fields[key] = value

    pm = fields.get("pm", "").upper()
    # A missing or garbled lt/lg is what the operator must know first (it decides whether there is a
    # point at all); a wrong ml length or a garbled top matters less and is reported after it.
    if pm != "N":
        for key, limit, other in (("lt", 90.0, "lg"), ("lg", 180.0, "lt")):
            _coordinate(fields, key, limit=limit, other=other)
    if "ml" in fields:
        _check_length(text, pairs, version, fields["ml"])

    if pm and pm not in METHODS:
        raise AmlError(
            "pm",
            f"Metode penentuan posisi (pm) '{fields['pm']}' tidak dikenal; yang sah: {', '.join(METHODS)} / "
            f"Unknown positioning method (pm) '{fields['pm']}'; valid: {', '.join(METHODS)}",
        )
    method = METHODS[pm] if pm else "unknown"
    fixed_at = _time(fields.get("top"))
    confidence = _confidence(fields.get("lc"))
    identity = {
        "imsi": _identifier(fields, "si", "IMSI", "IMSI"),
        "imei": _identifier(fields, "ei", "IMEI", "IMEI"),
        "mcc": _identifier(fields, "mcc", "Kode negara jaringan", "Network country code"),
        "mnc": _identifier(fields, "mnc", "Kode jaringan", "Network code"),
    }

    lon: float | None
    lat: float | None
    radius: float | None
    if method == "none":
        lon = lat = radius = None
    else:
        lat = _coordinate(fields, "lt", limit=90.0, other="lg")
        lon = _coordinate(fields, "lg", limit=180.0, other="lt")
        radius = _radius(fields.get("rd"))
        # Handsets without a fix fill in +00.00000/+000.00000; that is "no location", not a place
        # in the Gulf of Guinea.
        if lat == 0.0 and lon == 0.0:
            lon = lat = radius = None

    return AmlLocation(
        lon=lon,
        lat=lat,
        radius_m=radius,
        fixed_at=fixed_at,
        confidence_pct=confidence,
        method=method,
        version=version,
        raw=text,
        **identity,
    )
