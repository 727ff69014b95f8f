"""Every user-facing string of the map pages exists in both languages (issue 16).

Keys are read from the code itself: every literal ``T("key")`` in our JS and every ``data-i18n`` /
``data-i18n-placeholder`` in the templates must have an English string, and an Indonesian one (built in JS
or written in the template). English must not leak into the Indonesian strings, nor Indonesian into English.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from api.config import PROJECT_ROOT

WEB = PROJECT_ROOT / "web" / "map"
I18N = (WEB / "static" / "js" / "i18n.js").read_text(encoding="utf-8")
PAIR = re.compile(r'"([^"]+)":\s*"((?:[^"\\]|\\.)*)"')
# Words seen leaking into the Indonesian screen (issue 16), and Indonesian words that must not reach the English one.
ENGLISH_LEAKS = ("active", "median", "failed to fetch", "loading", "error:", "not found")
INDONESIAN_LEAKS = ("panggilan", "kejadian", "belum", "sudah", "tidak", "ditangani", "catatan")


def _table(name: str) -> dict[str, str]:
    start = I18N.index(f"const {name} = {{")
    return dict(PAIR.findall(I18N[start:I18N.index("};", start)]))


# i18n.js merges its tables as the pages do: EN with UNITS_EN and CREW_EN, Indonesian with UNITS_ID and CREW_ID.
EN = _table("EN") | _table("UNITS_EN") | _table("CREW_EN")
ID_JS = _table("ID_JS") | _table("UNITS_ID") | _table("CREW_ID")


def _template_keys() -> dict[str, str]:
    """data-i18n keys of the templates and the Indonesian text written for them."""
    out: dict[str, str] = {}
    for path in sorted((WEB / "templates").glob("*.html")):
        text = path.read_text(encoding="utf-8")
        for key, body in re.findall(r'data-i18n="([^"]+)"[^>]*>([^<]*)<', text):
            out.setdefault(key, body)
        for key in re.findall(r'data-i18n-placeholder="([^"]+)"', text):
            out.setdefault(key, "")
    return out


def _js_keys() -> dict[str, Path]:
    """Every literal key passed to T(...) in our page scripts."""
    out: dict[str, Path] = {}
    for path in sorted((WEB / "static" / "js").rglob("*.js")):
        if path.name == "i18n.js":
            continue
        for key in re.findall(r'\bT\("([A-Za-z0-9_.]+)"\s*[,)]', path.read_text(encoding="utf-8")):
            out.setdefault(key, path)
    return out


TEMPLATE_KEYS = _template_keys()
JS_KEYS = _js_keys()


def test_the_scanner_finds_the_keys() -> None:
    """The scan itself works: it sees the call card's keys and the templates' (a broken regex would pass all)."""
    assert {"note.add", "cancel.button", "prio.label", "claim.by"} <= set(JS_KEYS)
    assert {"call.title", "hist.title", "form.create"} <= set(TEMPLATE_KEYS)
    assert len(EN) > 150 and len(ID_JS) > 100


@pytest.mark.parametrize("key", sorted(set(JS_KEYS) | set(TEMPLATE_KEYS)))
def test_every_key_has_an_english_string(key: str) -> None:
    assert key in EN, f"'{key}' has no English string in i18n.js (used in {JS_KEYS.get(key) or 'a template'})"


@pytest.mark.parametrize("key", sorted(JS_KEYS))
def test_every_js_key_has_an_indonesian_string(key: str) -> None:
    assert key in ID_JS or TEMPLATE_KEYS.get(key), f"'{key}' has no Indonesian string (ID_JS or a template)"


def test_no_english_in_the_indonesian_screen() -> None:
    texts = {**{k: v for k, v in TEMPLATE_KEYS.items() if v}, **ID_JS}
    leaks = {k: v for k, v in texts.items() if any(w in v.lower() for w in ENGLISH_LEAKS)}
    assert leaks == {}


def test_no_indonesian_in_the_english_screen() -> None:
    leaks = {k: v for k, v in EN.items() if any(re.search(rf"\b{w}\b", v.lower()) for w in INDONESIAN_LEAKS)}
    assert leaks == {}


def test_a_network_failure_is_told_in_the_page_language() -> None:
    """fetch() rejects with the browser's English 'Failed to fetch': the page says it in its own words."""
    sigap = (WEB / "static" / "js" / "sigap.js").read_text(encoding="utf-8")
    assert 'T("net.failed")' in sigap and "net.failed" in EN and "net.failed" in ID_JS
