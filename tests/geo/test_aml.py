"""AML SMS parsing: published examples, tolerant variants and broken messages."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geo.aml import AmlError, AmlLocation, parse_aml


def with_ml(body: str) -> str:
    """Append ml= with the length the handset would compute (whole message incl. ml itself)."""
    n = len(body) + len(";ml=") + 3
    while len(body) + len(";ml=") + len(str(n)) != n:
        n = len(body) + len(";ml=") + len(str(n))
    return f"{body};ml={n}"


BUNTOK = (
    'A"ML=1;lt=-1.71234;lg=114.84567;rd=25;top=20261129081530;lc=68;pm=G;'
    "si=510101234567890;ei=356938035643809;mcc=510;mnc=10"
)


def test_buntok_message_parses_every_field() -> None:
    loc = parse_aml(with_ml(BUNTOK))
    assert isinstance(loc, AmlLocation)
    assert (loc.lon, loc.lat) == (114.84567, -1.71234)
    assert loc.radius_m == 25.0
    assert loc.fixed_at == datetime(2026, 11, 29, 8, 15, 30, tzinfo=UTC)
    assert loc.fixed_at.utcoffset().total_seconds() == 0
    assert loc.confidence_pct == 68
    assert loc.method == "gnss"
    assert loc.imsi == "510101234567890"
    assert loc.imei == "356938035643809"
    assert (loc.mcc, loc.mnc) == ("510", "10")
    assert loc.version == "1"
    assert loc.has_location
    assert loc.raw.startswith('A"ML=1;')


def test_published_examples() -> None:
    # Android ELS reference, "no location" example: well formed, carries no position.
    none = parse_aml(
        'A"ML=1;lt=+00.00000;lg=+000.00000;rd=N;top=20220131173734;lc=0;pm=N;'
        "si=234159000000000;ei=123456789012345;mcc=234;mnc=15;ml=127"
    )
    assert none.method == "none"
    assert none.lon is None and none.lat is None and none.radius_m is None
    assert not none.has_location
    assert none.fixed_at == datetime(2022, 1, 31, 17, 37, 34, tzinfo=UTC)
    assert none.imsi == "234159000000000"

    wifi = parse_aml(
        'A"ML=1;lt=+54.76397;lg=-0.18305;rd=50;top=20130717141935;lc=90;pm=W;'
        "si=123456789012345;ei=1234567890123456;mcc=234;mnc=30;ml=128"
    )
    assert (wifi.lat, wifi.lon, wifi.method) == (54.76397, -0.18305, "wifi")
    assert wifi.imei == "1234567890123456"  # 16-digit IMEISV is accepted

    gnss = parse_aml(
        'A"ML=1;lt=48.82639;lg=-2.36619;rd=52;top=20191112112928;lc=68;pm=G;'
        "si=208201771948415;ei=353472104343540;mcc=208;mnc=20;ml=126"
    )
    assert (gnss.lat, gnss.lon, gnss.radius_m) == (48.82639, -2.36619, 52.0)


def test_whitespace_newlines_and_field_order_are_tolerated() -> None:
    fields = BUNTOK.split(";")[1:]
    shuffled = 'A"ML=1;' + ";".join(reversed(fields))
    assert parse_aml(with_ml(shuffled)).lat == -1.71234

    compact = with_ml(BUNTOK)
    pasted = "  " + compact.replace(";", " ; ").replace("=", " = ") + "\r\n"
    loc = parse_aml(pasted)
    assert (loc.lon, loc.lat, loc.radius_m) == (114.84567, -1.71234, 25.0)
    assert loc.raw == pasted


def test_optional_fields_and_variants() -> None:
    assert parse_aml(BUNTOK).lat == -1.71234  # no ml at all
    curly = parse_aml(with_ml(BUNTOK.replace('A"ML', "A\u201dML")))
    assert curly.lon == 114.84567
    upper = parse_aml(with_ml(BUNTOK.replace("lt=", "LT=").replace("pm=G", "pm=g")))
    assert upper.lat == -1.71234 and upper.method == "gnss"
    assert parse_aml(with_ml(BUNTOK.replace("pm=G", "pm=C"))).method == "cell"
    assert parse_aml(with_ml(BUNTOK.replace("pm=G", "pm=W"))).method == "wifi"
    no_pm = parse_aml(with_ml(BUNTOK.replace(";pm=G", "")))
    assert no_pm.method == "unknown" and no_pm.has_location
    no_top = parse_aml(with_ml(BUNTOK.replace(";top=20261129081530", "")))
    assert no_top.fixed_at is None and no_top.has_location
    bare = parse_aml('A"ML=1;lt=-1.7;lg=114.8')
    assert (bare.lon, bare.lat, bare.radius_m, bare.confidence_pct, bare.imsi) == (
        114.8,
        -1.7,
        None,
        None,
        None,
    )
    extra = parse_aml(with_ml(BUNTOK + ";lz=12.5,3"))
    assert extra.lat == -1.71234


def test_null_island_placeholder_means_no_location_even_with_a_method() -> None:
    body = BUNTOK.replace("lt=-1.71234", "lt=+00.00000").replace("lg=114.84567", "lg=+000.00000")
    loc = parse_aml(with_ml(body))
    assert loc.lon is None and loc.lat is None and loc.radius_m is None
    assert loc.imei == "356938035643809"


def test_pm_n_ignores_garbage_coordinates() -> None:
    loc = parse_aml(with_ml(BUNTOK.replace("pm=G", "pm=N").replace("lt=-1.71234", "lt=")))
    assert loc.method == "none" and loc.lat is None


def test_result_is_frozen() -> None:
    loc = parse_aml(BUNTOK)
    with pytest.raises(dataclasses.FrozenInstanceError):
        loc.lat = 0.0  # type: ignore[misc]


BROKEN = [
    ("lt missing", BUNTOK.replace("lt=-1.71234;", ""), "lt"),
    ("lt empty", BUNTOK.replace("lt=-1.71234", "lt="), "lt"),
    ("lt not numeric", BUNTOK.replace("lt=-1.71234", "lt=+g4.7d397"), "lt"),
    ("lt comma decimal", BUNTOK.replace("lt=-1.71234", "lt=-1,71234"), "lt"),
    ("lt out of range", BUNTOK.replace("lt=-1.71234", "lt=-91.5"), "lt"),
    ("lt nan", BUNTOK.replace("lt=-1.71234", "lt=nan"), "lt"),
    ("lg missing", BUNTOK.replace(";lg=114.84567", ""), "lg"),
    ("lg out of range", BUNTOK.replace("lg=114.84567", "lg=214.84567"), "lg"),
    ("top bad month", BUNTOK.replace("top=20261129081530", "top=20261329081530"), "top"),
    ("top feb 30", BUNTOK.replace("top=20261129081530", "top=20260230081530"), "top"),
    ("top too short", BUNTOK.replace("top=20261129081530", "top=20261129"), "top"),
    ("top iso", BUNTOK.replace("top=20261129081530", "top=2026-11-29T08:15:30"), "top"),
    ("rd negative", BUNTOK.replace("rd=25", "rd=-25"), "rd"),
    ("rd text", BUNTOK.replace("rd=25", "rd=abc"), "rd"),
    ("lc above 100", BUNTOK.replace("lc=68", "lc=101"), "lc"),
    ("lc fraction", BUNTOK.replace("lc=68", "lc=99.9"), "lc"),
    ("pm unknown", BUNTOK.replace("pm=G", "pm=Z"), "pm"),
    ("si letters", BUNTOK.replace("si=510101234567890", "si=51010ABC"), "si"),
    ("ei letters", BUNTOK.replace("ei=356938035643809", "ei=35693803564380X"), "ei"),
    ("mcc letters", BUNTOK.replace("mcc=510", "mcc=ID"), "mcc"),
    ("duplicate lt", BUNTOK + ";lt=-1.8", "lt"),
    ("not key=value", BUNTOK.replace(";lc=68", ";lc68"), "lc68"),
    ("no header", BUNTOK.replace('A"ML=1;', ""), 'A"ML'),
    ("version 2", BUNTOK.replace('A"ML=1', 'A"ML=2'), 'A"ML'),
    ("empty", "", 'A"ML'),
    ("blank", "   \n", 'A"ML'),
    ("plain text", "tolong ada kebakaran di buntok", 'A"ML'),
]


@pytest.mark.parametrize(("label", "body", "field"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_messages_name_the_field(label: str, body: str, field: str) -> None:
    text = with_ml(body) if body.strip() and body.startswith('A"ML') else body
    with pytest.raises(AmlError) as info:
        parse_aml(text)
    assert info.value.field == field, label
    # Indonesian first, then English, separated by " / ".
    assert " / " in info.value.message


def test_swapped_coordinates_are_called_out() -> None:
    swapped = BUNTOK.replace("lt=-1.71234;lg=114.84567", "lt=114.84567;lg=-1.71234")
    with pytest.raises(AmlError) as info:
        parse_aml(with_ml(swapped))
    assert info.value.field == "lt"
    assert "tertukar" in info.value.message and "swapped" in info.value.message


@pytest.mark.parametrize("delta", [-3, -1, 1, 40])
def test_message_length_mismatch_is_rejected(delta: int) -> None:
    good = with_ml(BUNTOK)
    n = int(good.rsplit("=", 1)[1])
    with pytest.raises(AmlError) as info:
        parse_aml(good.rsplit("=", 1)[0] + f"={n + delta}")
    assert info.value.field == "ml"


def test_truncated_message_fails_on_length() -> None:
    good = with_ml(BUNTOK)
    # An SMS split mid-way loses attributes but the tail (with ml) can survive a bad gateway join.
    truncated = good.replace(";ei=356938035643809", "")
    with pytest.raises(AmlError) as info:
        parse_aml(truncated)
    assert info.value.field == "ml"


def test_brief_example_with_wrong_ml_is_rejected() -> None:
    # ml=124 in this sample is 3 short of its real length (127).
    with pytest.raises(AmlError) as info:
        parse_aml(BUNTOK + ";ml=124")
    assert info.value.field == "ml"
    assert "127" in info.value.message


def test_ml_not_integer() -> None:
    with pytest.raises(AmlError) as info:
        parse_aml(BUNTOK + ";ml=abc")
    assert info.value.field == "ml"


@given(
    lat=st.decimals(min_value=-90, max_value=90, places=5, allow_nan=False, allow_infinity=False),
    lon=st.decimals(min_value=-180, max_value=180, places=5, allow_nan=False, allow_infinity=False),
    rd=st.integers(min_value=0, max_value=50_000),
    lc=st.integers(min_value=0, max_value=100),
    pm=st.sampled_from(["G", "W", "C"]),
)
def test_round_trip_any_valid_position(lat, lon, rd: int, lc: int, pm: str) -> None:
    body = f'A"ML=1;lt={lat:+.5f};lg={lon:+.5f};rd={rd};top=20250101000000;lc={lc};pm={pm}'
    loc = parse_aml(with_ml(body))
    if lat == 0 and lon == 0:
        assert loc.lat is None
    else:
        assert loc.lat == pytest.approx(float(lat)) and loc.lon == pytest.approx(float(lon))
        assert loc.radius_m == rd
    assert loc.confidence_pct == lc


# What the operator reads: each broken attribute named in both languages, with the words for it.
WORDED = [
    ("lt missing", BUNTOK.replace("lt=-1.71234;", ""), "lt", "lintang (lt) tidak ada", "latitude (lt) is missing"),
    ("lt empty", BUNTOK.replace("lt=-1.71234", "lt="), "lt", "lintang (lt) tidak ada", "latitude (lt) is missing"),
    ("lt garbled", BUNTOK.replace("lt=-1.71234", "lt=x"), "lt", "lintang (lt) 'x' bukan angka",
     "latitude (lt) 'x' is not a decimal number"),
    ("lt 90.5", BUNTOK.replace("lt=-1.71234", "lt=90.5"), "lt", "lintang (lt) 90.5 di luar rentang ±90 /"[:-2],
     "latitude (lt) 90.5 is outside ±90"),
    ("lg missing", BUNTOK.replace(";lg=114.84567", ""), "lg", "bujur (lg) tidak ada", "longitude (lg) is missing"),
    ("lg 180.5", BUNTOK.replace("lg=114.84567", "lg=180.5"), "lg", "bujur (lg) 180.5 di luar rentang ±180",
     "longitude (lg) 180.5 is outside ±180"),
    ("si letters", BUNTOK.replace("si=510101234567890", "si=51A"), "si", "IMSI (si) '51A' harus berupa digit",
     "IMSI (si) '51A' must be digits"),
    ("ei letters", BUNTOK.replace("ei=356938035643809", "ei=35X"), "ei", "IMEI (ei) '35X' harus berupa digit",
     "IMEI (ei) '35X' must be digits"),
    ("mcc letters", BUNTOK.replace("mcc=510", "mcc=ID"), "mcc", "Kode negara jaringan (mcc) 'ID' harus",
     "Network country code (mcc) 'ID' must be digits"),
    ("mnc letters", BUNTOK.replace("mnc=10", "mnc=XL"), "mnc", "Kode jaringan (mnc) 'XL' harus",
     "Network code (mnc) 'XL' must be digits"),
    ("pm unknown", BUNTOK.replace("pm=G", "pm=Z"), "pm", "yang sah: G, W, C, N, F, U", "valid: G, W, C, N, F, U"),
    ("lc 6=8", BUNTOK.replace("lc=68", "lc=6=8"), "lc", "Tingkat keyakinan (lc) '6=8'", "Confidence (lc) '6=8'"),
    ("value with a slash", BUNTOK.replace("si=510101234567890", "si=1 / 2"), "si", "IMSI (si) '1 / 2' harus",
     "IMSI (si) '1 / 2' must be digits"),
    ("no header", BUNTOK.replace('A"ML=1;', ""), 'A"ML', 'Header A"ML=<versi> tidak ditemukan',
     'Header A"ML=<version> not found'),
]


@pytest.mark.parametrize(("label", "body", "attribute", "words_id", "words_en"), WORDED,
                         ids=[w[0] for w in WORDED])
def test_broken_messages_say_what_is_wrong_in_both_languages(label, body, attribute, words_id, words_en) -> None:
    text = with_ml(body) if body.startswith('A"ML') else body
    with pytest.raises(AmlError) as info:
        parse_aml(text)
    error = info.value
    assert error.field == attribute, label
    assert error.message_id.startswith(f"Pesan AML rusak pada atribut '{attribute}': "), error.message_id
    assert error.message_en.startswith(f"Malformed AML message at attribute '{attribute}': "), error.message_en
    assert words_id in error.message_id, error.message_id
    assert words_en in error.message_en, error.message_en
    # Each language on its own side: no English in the Indonesian text and none the other way round.
    assert words_en not in error.message_id and words_id not in error.message_en
    assert error.extra["aml_field"] == attribute


def test_errors_name_the_input_field_the_text_came_from() -> None:
    body = with_ml(BUNTOK.replace("lt=-1.71234", "lt=+g4"))
    with pytest.raises(AmlError) as info:
        parse_aml(body, field="location.aml")
    assert info.value.field == "location.aml.lt"
    assert info.value.attribute == "lt"
    assert info.value.extra["aml_field"] == "lt"
    assert "lintang (lt) '+g4'" in info.value.message_id
    assert "latitude (lt) '+g4'" in info.value.message_en


def test_the_swap_hint_only_when_the_axes_really_look_swapped() -> None:
    def message(lt: str, lg: str | None) -> str:
        body = BUNTOK.replace("lt=-1.71234", f"lt={lt}")
        body = body.replace("lg=114.84567", f"lg={lg}") if lg is not None else body.replace(";lg=114.84567", "")
        with pytest.raises(AmlError) as info:
            parse_aml(with_ml(body))
        return info.value.message_id + info.value.message_en

    assert "tertukar" in message("114.8", "90") and "swapped" in message("114.8", "-90.0")
    for lt, lg in (("114.8", "90.5"), ("114.8", None), ("114.8", "abc"), ("-1.7", "214.8")):
        text = message(lt, lg)
        assert "tertukar" not in text and "swapped" not in text, (lt, lg)


def test_empty_optional_attributes_are_absent_not_errors() -> None:
    body = BUNTOK
    for old in ("top=20261129081530", "lc=68", "si=510101234567890", "ei=356938035643809", "mcc=510", "mnc=10",
                "rd=25"):
        body = body.replace(old, old.split("=")[0] + "=")
    loc = parse_aml(with_ml(body))
    assert (loc.fixed_at, loc.confidence_pct, loc.imsi, loc.imei, loc.mcc, loc.mnc, loc.radius_m) == (None,) * 7
    assert (loc.lat, loc.lon) == (-1.71234, 114.84567)


@pytest.mark.parametrize("rd", ["N", "n"])
def test_radius_n_means_no_fix_radius(rd: str) -> None:
    loc = parse_aml(with_ml(BUNTOK.replace("rd=25", f"rd={rd}")))
    assert loc.radius_m is None and loc.lat == -1.71234


def test_an_attribute_without_a_key_is_named_by_its_text() -> None:
    with pytest.raises(AmlError) as info:
        parse_aml(with_ml(BUNTOK.replace(";lc=68", ";=68")))
    assert info.value.field == "=68"


@pytest.mark.parametrize("hostile", [None, 112, b'A"ML=1', ["A\"ML=1"]])
def test_not_a_text_at_all_is_an_aml_error(hostile) -> None:
    with pytest.raises(AmlError) as info:
        parse_aml(hostile)  # type: ignore[arg-type]
    assert info.value.field == 'A"ML'


EXACT = [
    (BUNTOK.replace("lt=-1.71234", "lt=90.5"), "lintang (lt) 90.5 di luar rentang ±90",
     "latitude (lt) 90.5 is outside ±90"),
    (BUNTOK.replace("lt=-1.71234;lg=114.84567", "lt=114.84567;lg=-1.71234"),
     "lintang (lt) 114.84567 di luar rentang ±90; lt dan lg tampaknya tertukar",
     "latitude (lt) 114.84567 is outside ±90; lt and lg look swapped"),
    ("", "Pesan AML kosong", "The AML message is empty"),
    ("halo", 'Header A"ML=<versi> tidak ditemukan di awal pesan',
     'Header A"ML=<version> not found at the start of the message'),
]


@pytest.mark.parametrize(("body", "text_id", "text_en"), EXACT)
def test_the_whole_message_the_operator_reads(body: str, text_id: str, text_en: str) -> None:
    with pytest.raises(AmlError) as info:
        parse_aml(with_ml(body) if body.startswith('A"ML') else body)
    attribute = info.value.attribute
    assert info.value.message_id == f"Pesan AML rusak pada atribut '{attribute}': {text_id}"
    assert info.value.message_en == f"Malformed AML message at attribute '{attribute}': {text_en}"
