"""Incident categories, agencies and unit types loaded from editable YAML and validated.

Configuration data, not code: the API serves it, and the store's commands consult it (valid categories now;
priorities and response plans later).

The regency edits ``data/catalog.yaml``; this module refuses a file that would route a call to
nowhere: an unknown agency or unit type, a duplicate code, an agency that is never dispatched
named in routing. Errors name the entry (``categories[banjir].primary_agencies``) so whoever
edited the file can fix it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationError,
    model_validator,
)

from geo.errors import InvalidInput
from geo.layers import DEFAULT_DATA_DIR

__all__ = [
    "DEFAULT_CATALOG_PATH",
    "Agency",
    "Catalog",
    "CatalogError",
    "Category",
    "Disposition",
    "UnitType",
    "UnknownAgencyError",
    "UnknownCategoryError",
    "UnknownDispositionError",
    "load_catalog",
]

DEFAULT_CATALOG_PATH = DEFAULT_DATA_DIR / "catalog.yaml"

Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Colour = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]


class CatalogError(ValueError):
    """The catalog file is missing, unreadable or inconsistent."""


class UnknownCategoryError(InvalidInput, LookupError):
    """A category code that the catalog does not define; the message lists the valid ones."""

    def __init__(self, category: str, valid: tuple[str, ...], *, field: str = "category") -> None:
        self.category = category
        self.valid = valid
        listed = ", ".join(valid)
        super().__init__(
            f"Kategori tidak dikenal '{category}'; yang sah: {listed}",
            f"Unknown category '{category}'; valid: {listed}",
            field=field,
            valid=list(valid),
        )


class UnknownAgencyError(InvalidInput, LookupError):
    """An agency code that the catalog does not define; the message lists the valid ones."""

    def __init__(self, agency: str, valid: tuple[str, ...], *, field: str = "agency") -> None:
        self.agency = agency
        self.valid = valid
        listed = ", ".join(valid)
        super().__init__(
            f"Instansi tidak dikenal '{agency}'; yang sah: {listed}",
            f"Unknown agency '{agency}'; valid: {listed}",
            field=field,
            valid=list(valid),
        )


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Agency(_Strict):
    """An agency that answers calls (or, if not dispatchable, only reads reports)."""

    code: Code
    name_id: Text
    name_en: Text
    dispatchable: bool = True

    def public(self) -> dict[str, str]:
        """Code and names, as the API shows an agency."""
        return {"code": self.code, "name_id": self.name_id, "name_en": self.name_en}


class UnitType(_Strict):
    """A kind of responder unit and the agency that runs it."""

    code: Code
    label_id: Text
    label_en: Text
    agency: Code


class Category(_Strict):
    """An incident category with its routing and map style."""

    code: Code
    label_id: Text
    label_en: Text
    primary_agencies: tuple[Code, ...] = Field(min_length=1)
    supporting_agencies: tuple[Code, ...] = ()
    unit_types: tuple[Code, ...] = ()
    water_unit_types: tuple[Code, ...] = ()
    icon: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]+$", max_length=40)]
    colour: Colour
    note_id: Text | None = None
    note_en: Text | None = None
    # Proposed for a new call of this category (P1: life at risk now); the operator may change it.
    priority: Literal["P1", "P2", "P3"] = "P2"

    @model_validator(mode="after")
    def _no_repeats(self) -> Category:
        for field in ("primary_agencies", "supporting_agencies", "unit_types", "water_unit_types"):
            values = getattr(self, field)
            repeated = sorted({v for v in values if values.count(v) > 1})
            if repeated:
                raise ValueError(
                    f"{field} mengulang {', '.join(repeated)} / {field} repeats {', '.join(repeated)}"
                )
        both = sorted(set(self.primary_agencies) & set(self.supporting_agencies))
        if both:
            raise ValueError(
                f"{', '.join(both)} sekaligus utama dan pendukung / "
                f"{', '.join(both)} is both primary and supporting"
            )
        return self


Priority = Literal["P1", "P2", "P3"]
Count = Annotated[int, Field(ge=1, le=50)]


class ResponsePlan(_Strict):
    """A run card: the units proposed together for a category (per priority, with water), agencies to inform."""

    category: Code
    units: dict[Code, Count] = Field(default_factory=dict)
    by_priority: dict[Priority, dict[Code, Count]] = Field(default_factory=dict)
    water_units: dict[Code, Count] = Field(default_factory=dict)
    notify: tuple[Code, ...] = ()


class Disposition(_Strict):
    """Why a call ended (cancelled or closed): selesai ditangani, duplikat, iseng/prank..."""

    code: Code
    label_id: Text
    label_en: Text


# Used when the catalog file has no `dispositions` section.
DEFAULT_DISPOSITIONS: tuple[Disposition, ...] = tuple(
    Disposition(code=c, label_id=i, label_en=e)
    for c, i, e in (
        ("selesai_ditangani", "Selesai ditangani", "Handled"),
        ("ditangani_instansi_lain", "Ditangani instansi lain", "Handled by another agency"),
        ("duplikat", "Duplikat", "Duplicate"),
        ("iseng", "Iseng / prank", "Prank"),
        ("tidak_ditemukan", "Tidak ditemukan di lokasi", "Not found at the location"),
        ("informasi", "Informasi saja", "Information only"),
        ("salah_sambung", "Salah sambung", "Wrong number"),
    )
)


class UnknownDispositionError(InvalidInput, LookupError):
    """A disposition missing or not in the catalog; the message lists the valid ones."""

    def __init__(self, value: str | None, valid: tuple[str, ...], *, field: str = "disposition") -> None:
        listed = ", ".join(valid)
        head_id = "Alasan (disposisi) wajib diisi" if value is None else f"Disposisi tidak dikenal '{value}'"
        head_en = "A disposition (reason) is required" if value is None else f"Unknown disposition '{value}'"
        super().__init__(f"{head_id}; yang sah: {listed}", f"{head_en}; valid: {listed}", field=field,
                         valid=list(valid))


def _duplicates(codes: list[str]) -> list[str]:
    """Codes that occur more than once, sorted."""
    return sorted({c for c in codes if codes.count(c) > 1})


class Catalog(_Strict):
    """The whole routing table: agencies, unit types, categories."""

    version: int = 1
    agencies: tuple[Agency, ...] = Field(min_length=1)
    unit_types: tuple[UnitType, ...] = ()
    categories: tuple[Category, ...] = Field(min_length=1)
    response_plans: tuple[ResponsePlan, ...] = ()
    dispositions: tuple[Disposition, ...] = Field(default=DEFAULT_DISPOSITIONS, min_length=1)

    _agencies: dict[str, Agency] = PrivateAttr(default_factory=dict)
    _unit_types: dict[str, UnitType] = PrivateAttr(default_factory=dict)
    _categories: dict[str, Category] = PrivateAttr(default_factory=dict)
    _plans: dict[str, ResponsePlan] = PrivateAttr(default_factory=dict)
    _views: dict[tuple[str, bool], dict[str, Any]] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Catalog:
        problems: list[str] = []
        for section, items in (
            ("agencies", self.agencies),
            ("unit_types", self.unit_types),
            ("categories", self.categories),
            ("dispositions", self.dispositions),
        ):
            for code in _duplicates([i.code for i in items]):
                problems.append(f"{section}[{code}]: kode ganda / duplicate code")
        agencies = {a.code: a for a in self.agencies}
        units = {u.code for u in self.unit_types}
        for unit in self.unit_types:
            if unit.agency not in agencies:
                problems.append(
                    f"unit_types[{unit.code}].agency: instansi '{unit.agency}' tidak dikenal / "
                    f"unknown agency '{unit.agency}'"
                )
            elif not agencies[unit.agency].dispatchable:
                problems.append(
                    f"unit_types[{unit.code}].agency: '{unit.agency}' tidak dikirim ke lapangan / "
                    f"'{unit.agency}' is not dispatchable"
                )
        for cat in self.categories:
            for field in ("primary_agencies", "supporting_agencies"):
                for code in getattr(cat, field):
                    if code not in agencies:
                        problems.append(
                            f"categories[{cat.code}].{field}: instansi '{code}' tidak dikenal / "
                            f"unknown agency '{code}' (valid: {', '.join(agencies)})"
                        )
                    elif not agencies[code].dispatchable:
                        problems.append(
                            f"categories[{cat.code}].{field}: '{code}' hanya membaca laporan, "
                            f"tidak dikirim / "
                            f"'{code}' is read-only and never dispatched"
                        )
            for field in ("unit_types", "water_unit_types"):
                for code in getattr(cat, field):
                    if code not in units:
                        problems.append(
                            f"categories[{cat.code}].{field}: jenis unit '{code}' tidak dikenal / "
                            f"unknown unit type '{code}' (valid: {', '.join(sorted(units))})"
                        )
        categories = {c.code for c in self.categories}
        for code in _duplicates([p.category for p in self.response_plans]):
            problems.append(f"response_plans[{code}]: kategori ganda / duplicate category")
        for plan in self.response_plans:
            where = f"response_plans[{plan.category}]"
            if plan.category not in categories:
                problems.append(f"{where}.category: kategori tidak dikenal / unknown category")
            every = [plan.units, plan.water_units, *plan.by_priority.values()]
            for code in sorted({t for counts in every for t in counts} - units):
                problems.append(f"{where}: jenis unit '{code}' tidak dikenal / unknown unit type '{code}'")
            for code in plan.notify:
                if code not in agencies:
                    problems.append(f"{where}.notify: instansi '{code}' tidak dikenal / unknown agency '{code}'")
        if problems:
            raise ValueError("\n  ".join(problems))
        return self

    def model_post_init(self, __context: Any) -> None:
        """Index entries by code for constant-time lookups."""
        self._agencies = {a.code: a for a in self.agencies}
        self._unit_types = {u.code: u for u in self.unit_types}
        self._categories = {c.code: c for c in self.categories}
        self._plans = {p.category: p for p in self.response_plans}

    @property
    def category_codes(self) -> tuple[str, ...]:
        """Category codes in file order."""
        return tuple(self._categories)

    @property
    def agency_codes(self) -> tuple[str, ...]:
        """Agency codes in file order."""
        return tuple(self._agencies)

    def category(self, code: str) -> Category:
        """The category with this code, or UnknownCategoryError listing the valid codes."""
        try:
            return self._categories[code]
        except (KeyError, TypeError):
            raise UnknownCategoryError(str(code), self.category_codes) from None

    @property
    def disposition_codes(self) -> tuple[str, ...]:
        """Disposition codes in file order."""
        return tuple(d.code for d in self.dispositions)

    def disposition(self, code: str | None, *, field: str = "disposition") -> Disposition:
        """The disposition with this code, or UnknownDispositionError (also for None) listing the valid codes."""
        for d in self.dispositions:
            if d.code == code:
                return d
        raise UnknownDispositionError(code, self.disposition_codes, field=field)

    def priority_of(self, code: str) -> str:
        """The priority proposed for a new call of this category (P2 for a category no longer in the catalog)."""
        cat = self._categories.get(code)
        return cat.priority if cat is not None else "P2"

    def agency(self, code: str) -> Agency:
        """The agency with this code, or UnknownAgencyError listing the valid codes."""
        try:
            return self._agencies[code]
        except (KeyError, TypeError):
            raise UnknownAgencyError(str(code), self.agency_codes) from None

    def unit_type(self, code: str) -> UnitType:
        """The unit type with this code (KeyError if absent)."""
        return self._unit_types[code]

    def agencies_for(self, code: str) -> tuple[tuple[Agency, ...], tuple[Agency, ...]]:
        """Primary and supporting agencies of a category."""
        cat = self.category(code)
        return (
            tuple(self._agencies[a] for a in cat.primary_agencies),
            tuple(self._agencies[a] for a in cat.supporting_agencies),
        )

    def incident_view(self, code: str, *, on_water: bool) -> dict[str, Any]:
        """Labels, agencies and default unit types of a category as served with every incident.

        Built once per (category, on water) and shared between responses: callers must not modify it.
        """
        view = self._views.get((code, on_water))
        if view is None:
            cat = self.category(code)
            primary, supporting = self.agencies_for(code)
            view = {
                "category_label_id": cat.label_id,
                "category_label_en": cat.label_en,
                "agencies": {"primary": [a.public() for a in primary], "supporting": [a.public() for a in supporting]},
                "unit_types": list(self.default_unit_types(code, on_water=on_water)),
            }
            self._views[(code, on_water)] = view
        return view

    def response_plan(self, code: str, *, priority: str | None = None, on_water: bool = False) -> dict[str, Any]:
        """The run card of a category at a priority: units [{type, count}] to propose, agencies to inform.

        Without a plan in the catalog: one unit of each of the category's unit types, no agency to inform.
        """
        cat = self.category(code)
        plan = self._plans.get(code)
        if plan is None:
            counts = dict.fromkeys(self.default_unit_types(code, on_water=on_water), 1)
            notify: tuple[str, ...] = ()
        else:
            by_priority: dict[str, dict[str, int]] = {str(k): v for k, v in plan.by_priority.items()}
            counts = dict(by_priority.get(priority, plan.units) if priority else plan.units)
            if on_water:
                for t, n in plan.water_units.items():
                    counts.setdefault(t, n)
            notify = plan.notify
        return {
            "category": cat.code,
            "priority": priority,
            "units": [{"type": t, "count": n} for t, n in counts.items()],
            "notify": [self._agencies[a].public() for a in notify],
        }

    def default_unit_types(self, code: str, *, on_water: bool = False) -> tuple[str, ...]:
        """Unit types proposed for a category; boats added when the incident is on water."""
        cat = self.category(code)
        extra = tuple(u for u in cat.water_unit_types if u not in cat.unit_types) if on_water else ()
        return cat.unit_types + extra


def _where(loc: tuple[Any, ...], raw: Any) -> str:
    """Render a pydantic error location with entry codes instead of list indices."""
    parts: list[str] = []
    node = raw
    for item in loc:
        if isinstance(item, int):
            entry = node[item] if isinstance(node, list) and item < len(node) else None
            code = entry.get("code") if isinstance(entry, dict) else None
            parts.append(f"[{code}]" if code else f"[#{item}]")
            node = entry
        else:
            parts.append(f".{item}" if parts else str(item))
            node = node.get(item) if isinstance(node, dict) else None
    return "".join(parts)


def load_catalog(path: str | Path = DEFAULT_CATALOG_PATH) -> Catalog:
    """Read and validate the catalog YAML; CatalogError names every broken entry."""
    path = Path(path)
    head = f"Katalog tidak valid / Invalid catalog ({path})"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogError(f"Berkas katalog tidak ada / Catalog file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise CatalogError(f"{head}: YAML rusak / malformed YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise CatalogError(f"{head}: isi harus berupa mapping / the top level must be a mapping")
    try:
        return Catalog.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = _where(tuple(err["loc"]), raw)
            msg = str(err["msg"]).removeprefix("Value error, ")
            lines.append(f"{where}: {msg}" if where else msg)
        raise CatalogError(f"{head}:\n  " + "\n  ".join(lines)) from None
