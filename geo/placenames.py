"""Find a desa/kelurahan, kecamatan or kabupaten by the name a caller says.

Callers and operators type names the way they speak them: any case, extra spaces or dots,
abbreviations ("Gn", "Kel.", "Kec", "Sei") and small typos. Names are normalised (accents and
punctuation dropped, abbreviations expanded, a leading kind word such as "Kel." taken as a hint)
and then matched in three steps: exact (also on the Kepmendagri code), whole-word containment
("Patas" -> Patas I and Patas II), and fuzzy similarity. The answer says whether the match is
exact, a single close match, ambiguous (with candidates) or not found (with suggestions).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import shapely

try:
    from rapidfuzz import fuzz as _fuzz
    from rapidfuzz import process as _process
except ImportError:  # pragma: no cover - exercised only where rapidfuzz is absent
    _fuzz = _process = None  # type: ignore[assignment]

from geo.layers import AreaLayer, read_area_layer

__all__ = [
    "KINDS",
    "MatchStatus",
    "Place",
    "PlaceCandidate",
    "PlaceIndex",
    "PlaceSearchResult",
    "normalize_name",
    "places_from_layers",
]

KINDS = ("desa", "kelurahan", "kecamatan", "kabupaten")

# Spoken/written abbreviations in Kalimantan place names and addresses.
_ABBREVIATIONS = {
    "gn": "gunung",
    "gng": "gunung",
    "gunung": "gunung",
    "kel": "kelurahan",
    "kec": "kecamatan",
    "ds": "desa",
    "kab": "kabupaten",
    "sei": "sungai",
    "sg": "sungai",
    "sngai": "sungai",
    "tj": "tanjung",
    "tjg": "tanjung",
    "1": "i",
    "2": "ii",
    "3": "iii",
}
# A leading kind word narrows the search; desa and kelurahan are used interchangeably by callers.
_KIND_WORDS = {
    "desa": ("desa", "kelurahan"),
    "kelurahan": ("desa", "kelurahan"),
    "kecamatan": ("kecamatan",),
    "kabupaten": ("kabupaten",),
    "kota": ("kabupaten",),
}
_NON_ALNUM = re.compile(r"[^0-9a-z]+")

ACCEPT_SCORE = 80.0
AMBIGUITY_MARGIN = 5.0
_DEFAULT_CODE_PARENT = {"62": "Kalimantan Tengah"}


class MatchStatus(StrEnum):
    """How a place-name search ended."""

    EXACT = "exact"
    CLOSE = "close"
    AMBIGUOUS = "ambiguous"
    NOT_FOUND = "not_found"


@dataclass(frozen=True, slots=True)
class Place:
    """A named administrative unit with a representative point (WGS84 lon/lat)."""

    kind: str
    code: str
    name: str
    parent: str
    lon: float
    lat: float


@dataclass(frozen=True, slots=True)
class PlaceCandidate:
    """A place and its similarity to the query (0-100)."""

    place: Place
    score: float


@dataclass(frozen=True, slots=True)
class PlaceSearchResult:
    """Outcome of a search: the place when unique, ranked candidates always."""

    query: str
    status: MatchStatus
    place: Place | None
    candidates: tuple[PlaceCandidate, ...]

    @property
    def found(self) -> bool:
        """True for an exact or single close match."""
        return self.place is not None

    @property
    def message(self) -> str:
        """A bilingual sentence describing the outcome for an operator."""
        names = ", ".join(
            f"{c.place.name} ({c.place.kind}, {c.place.parent})" for c in self.candidates
        )
        if self.status is MatchStatus.AMBIGUOUS:
            return (
                f"'{self.query}' cocok dengan beberapa tempat: {names}; pilih salah satu / "
                f"'{self.query}' matches several places: {names}; choose one"
            )
        if self.status is MatchStatus.NOT_FOUND:
            hint_id = f"; mungkin maksud Anda: {names}" if names else ""
            hint_en = f"; did you mean: {names}" if names else ""
            return (
                f"Nama tempat '{self.query}' tidak ditemukan{hint_id} / "
                f"Place name '{self.query}' not found{hint_en}"
            )
        assert self.place is not None
        return f"'{self.query}' = {self.place.name} ({self.place.kind}, {self.place.parent})"


def _fold(text: str) -> list[str]:
    """Lower-case, strip accents and punctuation, expand abbreviations; return the words."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return [_ABBREVIATIONS.get(w, w) for w in _NON_ALNUM.sub(" ", text).split()]


def normalize_name(text: str) -> str:
    """The comparison form of a name: folded words with any leading kind word removed."""
    words = _fold(text)
    while len(words) > 1 and words[0] in _KIND_WORDS:
        words = words[1:]
    return " ".join(words)


def _split_query(text: str) -> tuple[str, tuple[str, ...] | None]:
    """Separate a leading kind hint ("Kel.", "Kecamatan") from the name words."""
    words = _fold(text)
    kinds: tuple[str, ...] | None = None
    while len(words) > 1 and words[0] in _KIND_WORDS:
        kinds = _KIND_WORDS[words[0]]
        words = words[1:]
    return " ".join(words), kinds


def _scores(query: str, keys: np.ndarray, compact_keys: np.ndarray) -> np.ndarray:
    """Similarity 0-100 of the query with every key: best of plain, spaceless and word-order."""
    compact = query.replace(" ", "")
    if _process is not None:
        plain = _process.cdist([query], keys, scorer=_fuzz.ratio)[0]
        tight = _process.cdist([compact], compact_keys, scorer=_fuzz.ratio)[0]
        order = _process.cdist([query], keys, scorer=_fuzz.token_sort_ratio)[0]
        return np.maximum(np.maximum(plain, tight), order).astype(float)
    from difflib import SequenceMatcher  # fallback keeps the module usable without rapidfuzz

    def ratio(a: str, b: str) -> float:
        return 100.0 * SequenceMatcher(None, a, b).ratio()

    return np.array(
        [
            max(
                ratio(query, k),
                ratio(compact, c),
                ratio(" ".join(sorted(query.split())), " ".join(sorted(k.split()))),
            )
            for k, c in zip(keys, compact_keys, strict=True)
        ],
        dtype=float,
    )


class PlaceIndex:
    """An in-memory name index over desa/kelurahan, kecamatan and kabupaten."""

    def __init__(self, places: Iterable[Place]) -> None:
        self.places: tuple[Place, ...] = tuple(places)
        if not self.places:
            raise ValueError("Indeks nama tempat kosong / The place-name index is empty")
        self._keys = np.array([normalize_name(p.name) for p in self.places], dtype=object)
        self._compact = np.array([k.replace(" ", "") for k in self._keys], dtype=object)
        self._words = [frozenset(k.split()) for k in self._keys]
        self._kinds = np.array([p.kind for p in self.places], dtype=object)
        self._parents = np.array([normalize_name(p.parent) for p in self.places], dtype=object)
        self._codes = {p.code.strip().lower(): i for i, p in enumerate(self.places)}

    @classmethod
    def from_records(cls, *, records: Iterable[Place | Mapping[str, Any]]) -> PlaceIndex:
        """Build from Place objects or mappings with kind, code, name, parent, lon, lat."""
        places: list[Place] = []
        for i, rec in enumerate(records):
            if isinstance(rec, Place):
                place = rec
            else:
                try:
                    place = Place(
                        kind=str(rec["kind"]).strip().lower(),
                        code=str(rec["code"]).strip(),
                        name=str(rec["name"]).strip(),
                        parent=str(rec.get("parent", rec.get("parent_name", "")) or "").strip(),
                        lon=float(rec["lon"]),
                        lat=float(rec["lat"]),
                    )
                except (KeyError, TypeError, ValueError) as exc:
                    raise ValueError(
                        f"Rekaman tempat #{i} tidak lengkap ({exc}) / Place record #{i} is incomplete ({exc})"
                    ) from None
            if place.kind not in KINDS:
                raise ValueError(
                    f"Jenis tempat '{place.kind}' ({place.name}) tidak dikenal; "
                    f"yang sah: {', '.join(KINDS)} / "
                    f"Unknown place kind '{place.kind}' ({place.name}); valid: {', '.join(KINDS)}"
                )
            if not place.name:
                raise ValueError(f"Rekaman tempat #{i} tanpa nama / Place record #{i} has no name")
            if (
                not (math.isfinite(place.lon) and math.isfinite(place.lat))
                or abs(place.lat) > 90
                or abs(place.lon) > 180
            ):
                raise ValueError(
                    f"Koordinat {place.name} tidak valid ({place.lon}, {place.lat}) / "
                    f"Invalid coordinates for {place.name} ({place.lon}, {place.lat})"
                )
            places.append(place)
        return cls(places)

    @classmethod
    def from_boundaries(
        cls,
        *,
        desa_path: str | Path,
        kecamatan_path: str | Path,
        kabupaten_path: str | Path | None = None,
    ) -> PlaceIndex:
        """Build from boundary files in WGS84 (the bundled GeoJSON, or GeoPackage, Shapefile)."""
        return cls(
            places_from_layers(
                desa=read_area_layer(Path(desa_path)),
                kecamatan=read_area_layer(Path(kecamatan_path)),
                kabupaten=read_area_layer(Path(kabupaten_path)) if kabupaten_path is not None else None,
            )
        )

    def __len__(self) -> int:
        return len(self.places)

    def search(self, query: str, *, limit: int = 5) -> PlaceSearchResult:
        """Look a spoken or typed place name up; see MatchStatus for the possible outcomes."""
        if limit < 1:
            raise ValueError("limit harus >= 1 / limit must be >= 1")
        name_part, _, parent_part = query.partition(",")
        name, kinds = _split_query(name_part)
        if not name:
            raise ValueError("Nama tempat kosong / The place name is empty")

        code_hit = self._codes.get(query.strip().lower())
        if code_hit is not None:
            place = self.places[code_hit]
            return PlaceSearchResult(query, MatchStatus.EXACT, place, (PlaceCandidate(place, 100.0),))

        scores = _scores(name, self._keys, self._compact)
        # Hints narrow first; if nothing fits under them they are dropped, because a caller who
        # says "desa" for a kecamatan or names the wrong kecamatan still needs an answer.
        masks = []
        parent = normalize_name(parent_part) if parent_part.strip() else ""
        kind_mask = np.isin(self._kinds, kinds) if kinds else np.ones(len(self.places), bool)
        if parent:
            parent_scores = _scores(
                parent, self._parents, np.array([p.replace(" ", "") for p in self._parents])
            )
            masks.append(kind_mask & (parent_scores >= ACCEPT_SCORE))
        masks.append(kind_mask)
        masks.append(np.ones(len(self.places), bool))

        for mask in masks:
            result = self._decide(query, name, scores, mask, limit)
            if result is not None:
                return result
        order = np.argsort(-scores, kind="stable")[:limit]
        suggestions = tuple(
            PlaceCandidate(self.places[i], round(float(scores[i]), 1)) for i in order if scores[i] > 0
        )
        return PlaceSearchResult(query, MatchStatus.NOT_FOUND, None, suggestions)

    def _decide(
        self, query: str, name: str, scores: np.ndarray, mask: np.ndarray, limit: int
    ) -> PlaceSearchResult | None:
        """Apply exact, containment and fuzzy rules within `mask`; None when nothing qualifies."""
        if not mask.any():
            return None
        idx = np.flatnonzero(mask)
        compact = name.replace(" ", "")
        exact = idx[(self._keys[idx] == name) | (self._compact[idx] == compact)]
        if len(exact):
            return self._result(query, exact, np.full(len(exact), 100.0), limit)

        words = set(name.split())
        contained = np.array([i for i in idx if words <= self._words[i]], dtype=int)
        if len(contained):
            return self._result(query, contained, scores[contained], limit, ambiguous_if_many=True)

        good = idx[scores[idx] >= ACCEPT_SCORE]
        if len(good):
            best = scores[good].max()
            close = good[scores[good] >= best - AMBIGUITY_MARGIN]
            return self._result(query, close, scores[close], limit, ambiguous_if_many=True)
        return None

    def _result(
        self,
        query: str,
        idx: np.ndarray,
        scores: np.ndarray,
        limit: int,
        *,
        ambiguous_if_many: bool = True,
    ) -> PlaceSearchResult:
        """Rank the chosen rows and label the outcome."""
        order = np.argsort(-scores, kind="stable")
        ranked = tuple(PlaceCandidate(self.places[idx[o]], round(float(scores[o]), 1)) for o in order)
        if len(ranked) > 1 and ambiguous_if_many:
            return PlaceSearchResult(query, MatchStatus.AMBIGUOUS, None, ranked[:limit])
        status = MatchStatus.EXACT if ranked[0].score >= 100.0 else MatchStatus.CLOSE
        return PlaceSearchResult(query, status, ranked[0].place, ranked[:limit])


def _points(layer: AreaLayer) -> tuple[list[float], list[float]]:
    pts = shapely.point_on_surface(layer.geometry)
    return shapely.get_x(pts).tolist(), shapely.get_y(pts).tolist()


def places_from_layers(
    *,
    desa: AreaLayer,
    kecamatan: AreaLayer,
    kabupaten: AreaLayer | None = None,
) -> list[Place]:
    """Turn the boundary layers (WGS84) into Places at their shapely point_on_surface."""
    kab_names: dict[str, str] = {}
    places: list[Place] = []
    if kabupaten is not None:
        xs, ys = _points(kabupaten)
        for code, name, x, y in zip(kabupaten.code.tolist(), kabupaten.name.tolist(), xs, ys, strict=True):
            kab_names[str(code)] = str(name)
            parent = _DEFAULT_CODE_PARENT.get(str(code).split(".")[0], "")
            places.append(Place("kabupaten", str(code), str(name), parent, x, y))

    xs, ys = _points(kecamatan)
    kab_codes = kecamatan.attrs["kabupaten_kode"].tolist()
    for code, name, kab, x, y in zip(kecamatan.code.tolist(), kecamatan.name.tolist(), kab_codes, xs, ys, strict=True):
        parent = kab_names.get(str(kab), "Kabupaten Barito Selatan" if str(kab) == "62.04" else str(kab))
        places.append(Place("kecamatan", str(code), str(name), parent, x, y))

    xs, ys = _points(desa)
    kinds, kec_names = desa.attrs["jenis"].tolist(), desa.attrs["kecamatan"].tolist()
    for code, name, jenis, kec, x, y in zip(desa.code.tolist(), desa.name.tolist(), kinds, kec_names, xs, ys,
                                           strict=True):
        places.append(Place(str(jenis).lower(), str(code), str(name), str(kec), x, y))
    return places
