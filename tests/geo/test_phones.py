"""Caller numbers: Indonesian writings normalised to E.164; anything else kept raw and flagged, never refused."""

from __future__ import annotations

import pytest

from geo.phones import MAX_RAW, is_emergency_number, normalise


@pytest.mark.parametrize("raw", ["081234567890", "+62 812-3456-7890", "6281234567890", "62 812 3456 7890",
                                 "0062 812 3456 7890", "(0812) 3456.7890", "０８１２３４５６７８９０",
                                 " 0812 3456 7890\n", "+62\u00a0812\u00a034567890"])
def test_mobile_writings_become_one_e164(raw: str) -> None:
    phone = normalise(raw)
    assert (phone.number, phone.ok, phone.e164) == ("+6281234567890", True, "+6281234567890")


@pytest.mark.parametrize("raw", ["0525 21234", "(0525) 21234", "+62 525 21234", "62 525 21234", "6252521234"])
def test_buntok_landline_with_area_code(raw: str) -> None:
    assert normalise(raw).e164 == "+6252521234"


def test_foreign_number_is_kept_in_its_own_country() -> None:
    assert normalise("+1 202 555 0143").e164 == "+12025550143"


@pytest.mark.parametrize("raw", ["anonymous", "Unknown", "112", "0812", "+6200000", "'; DROP TABLE phone_call;--",
                                 "=HYPERLINK(\"http://x\")", "<script>alert(1)</script>", "9" * 40, "+", "٠٨١٢"])
def test_unreadable_numbers_are_kept_and_flagged(raw: str) -> None:
    phone = normalise(raw)
    assert phone.ok is False and phone.e164 is None
    assert phone.raw is not None and len(phone.raw) <= MAX_RAW
    assert phone.number  # still a key: the same odd number groups its calls


@pytest.mark.parametrize("raw", [None, "", "   ", "\x00\x00", "\u200b"])
def test_no_number_at_all(raw: str | None) -> None:
    phone = normalise(raw)
    assert phone.number is None and phone.ok is False


def test_control_characters_and_length_are_cut() -> None:
    phone = normalise("0812\x003456\x077890" + "x" * 500)
    assert "\x00" not in phone.raw and len(phone.raw) == MAX_RAW and not phone.ok
    assert normalise("0812\x003456\x007890").e164 == "+6281234567890"


@pytest.mark.parametrize("raw", ["112", "110", "113", "118", "119", "+62 112", "0112", " 1 1 2 "])
def test_emergency_numbers_are_recognised(raw: str) -> None:
    assert is_emergency_number(raw)


@pytest.mark.parametrize("raw", ["081234567890", "1121", "911", None, ""])
def test_other_numbers_are_not_emergency_numbers(raw: str | None) -> None:
    assert not is_emergency_number(raw)
