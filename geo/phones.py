"""Caller numbers: Indonesian forms (0812..., +62 812..., 62812..., 0525 landlines) normalised to E.164.

A number that cannot be read as a real telephone number is kept as it came (cleaned of spacing) and flagged:
a call is never refused because of its number. Pure: no database, no HTTP.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import phonenumbers

__all__ = ["EMERGENCY_NUMBERS", "MAX_RAW", "Phone", "is_emergency_number", "normalise"]

# The national emergency short numbers (112 general, 110 police, 113 fire, 118/119 ambulance): the centre's own
# lines, never a caller to flag.
EMERGENCY_NUMBERS = frozenset({"112", "110", "113", "118", "119"})
MAX_RAW = 64  # what is kept of a raw number (a PBX may send anything in its caller-id field)
_REGION = "ID"
_SPACING = re.compile(r"[\s\-().,/\u00a0\u200b]+")


@dataclass(frozen=True, slots=True)
class Phone:
    """A caller number: as received, its lookup key (E.164 when readable), and whether it was readable."""

    raw: str | None  # as received (control characters removed, at most MAX_RAW characters), None when absent
    number: str | None  # the key calls are grouped by: E.164 ('+6281234567890') when ok, else the cleaned raw
    ok: bool  # True when `number` is a valid E.164 number

    @property
    def e164(self) -> str | None:
        """The E.164 form, or None when the number could not be read."""
        return self.number if self.ok else None


def _clean_raw(raw: str) -> str:
    """The raw text without control characters (NUL included), NFKC-folded, trimmed, cut to MAX_RAW."""
    text = "".join(ch for ch in unicodedata.normalize("NFKC", raw) if unicodedata.category(ch)[0] != "C")
    return text.strip()[:MAX_RAW]


def _compact(text: str) -> str:
    """The number without spacing and punctuation a person or PBX may put in it."""
    return _SPACING.sub("", text)


def _parse(compact: str) -> phonenumbers.PhoneNumber | None:
    """The number read as Indonesian (with or without +62 / 62 / 0), or None."""
    tries = [compact]
    if compact.startswith("00"):
        tries = ["+" + compact[2:]]
    elif compact.isdigit() and compact.startswith("62") and not compact.startswith("0"):
        tries = ["+" + compact, compact]  # 62812...: the country code without its plus
    for text in tries:
        try:
            parsed = phonenumbers.parse(text, _REGION)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            return parsed
    return None


def normalise(raw: str | None) -> Phone:
    """The caller number `raw` normalised: E.164 when it is a valid number, else kept (cleaned) and flagged."""
    if raw is None:
        return Phone(None, None, False)
    cleaned = _clean_raw(str(raw))
    if not cleaned:
        return Phone(None, None, False)
    compact = _compact(cleaned)
    if not compact or len(compact) > 20 or not re.fullmatch(r"\+?[0-9]+", compact):
        # Hidden ids ('anonymous', 'unknown'), letters, symbols: grouped by their cleaned text.
        return Phone(cleaned, compact[:MAX_RAW] or None, False)
    parsed = _parse(compact)
    if parsed is None:
        return Phone(cleaned, compact, False)
    return Phone(cleaned, phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), True)


def is_emergency_number(raw: str | None) -> bool:
    """True when `raw` is one of the emergency short numbers (112, 110, 113, 118, 119), in any writing."""
    if raw is None:
        return False
    compact = _compact(_clean_raw(str(raw)))
    for prefix in ("+62", "0062", "62", "0"):
        if compact.startswith(prefix) and compact[len(prefix):] in EMERGENCY_NUMBERS:
            return True
    return compact in EMERGENCY_NUMBERS
