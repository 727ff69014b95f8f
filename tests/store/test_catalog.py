"""The bundled category/agency catalog and the validation of edited catalogs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from store.catalog import (
    DEFAULT_CATALOG_PATH,
    Catalog,
    CatalogError,
    UnknownAgencyError,
    UnknownCategoryError,
    load_catalog,
)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(DEFAULT_CATALOG_PATH)


def test_bundled_catalog_has_every_category_and_agency(catalog: Catalog) -> None:
    assert set(catalog.category_codes) == {
        "kebakaran",
        "penyelamatan",
        "kecelakaan_lalu_lintas",
        "medis",
        "listrik",
        "banjir",
        "tanah_longsor",
        "karhutla",
        "cek_lapangan",
        "kriminalitas",
        "ketertiban_umum",
        "infrastruktur",
        "perlindungan_anak_perempuan",
        "bantuan_sosial",
    }
    assert set(catalog.agency_codes) == {
        "damkar",
        "polres",
        "dinkes",
        "rsud",
        "pln",
        "bpbd",
        "satpolpp",
        "dpupr",
        "dp3appkb",
        "dinsos",
        "manggala_agni",
        "hukum",
    }
    assert {u.code for u in catalog.unit_types} == {"damkar", "ambulans", "bpbd", "perahu", "polisi", "manggala_agni"}
    assert catalog.agency("hukum").dispatchable is False
    for cat in catalog.categories:
        assert cat.label_id and cat.label_en and cat.icon and cat.colour.startswith("#")


def test_routing_follows_the_regency_plan(catalog: Catalog) -> None:
    primary, supporting = catalog.agencies_for("kebakaran")
    assert [a.code for a in primary] == ["damkar"]
    assert {a.code for a in supporting} == {"polres", "pln"}
    primary, supporting = catalog.agencies_for("medis")
    assert {a.code for a in primary} == {"dinkes", "rsud"} and supporting == ()
    primary, supporting = catalog.agencies_for("kecelakaan_lalu_lintas")
    assert [a.code for a in primary] == ["polres"]
    assert {a.code for a in supporting} == {"dinkes", "rsud", "damkar"}
    for code in ("banjir", "tanah_longsor", "karhutla"):
        primary, supporting = catalog.agencies_for(code)
        assert [a.code for a in primary] == ["bpbd"]
        assert {a.code for a in supporting} == {"damkar", "dinsos", "dinkes"}
    assert [a.code for a in catalog.agencies_for("ketertiban_umum")[0]] == ["satpolpp"]
    assert [a.code for a in catalog.agencies_for("perlindungan_anak_perempuan")[0]] == ["dp3appkb"]
    assert [a.code for a in catalog.agencies_for("bantuan_sosial")[1]] == ["bpbd"]
    # Bagian Hukum reads reports, it is never routed to.
    for cat in catalog.categories:
        assert "hukum" not in cat.primary_agencies + cat.supporting_agencies


def test_default_unit_types(catalog: Catalog) -> None:
    assert catalog.default_unit_types("kebakaran") == ("damkar",)
    assert catalog.default_unit_types("medis") == ("ambulans",)
    assert catalog.default_unit_types("kriminalitas") == ("polisi",)
    for code in ("banjir", "tanah_longsor"):
        assert catalog.default_unit_types(code) == ("bpbd",)
        assert catalog.default_unit_types(code, on_water=True) == ("bpbd", "perahu")
    assert "bpbd" in catalog.default_unit_types("karhutla")
    assert catalog.default_unit_types("kebakaran", on_water=True) == ("damkar",)


def test_unknown_category_lists_valid_codes(catalog: Catalog) -> None:
    with pytest.raises(UnknownCategoryError) as info:
        catalog.category("gempa")
    text = str(info.value)
    assert "Kategori tidak dikenal" in text and "Unknown category" in text
    for code in catalog.category_codes:
        assert code in text
    assert info.value.valid == catalog.category_codes
    with pytest.raises(UnknownAgencyError, match="Unknown agency"):
        catalog.agency("basarnas")


def test_catalog_is_json_serialisable_and_immutable(catalog: Catalog) -> None:
    dumped = catalog.model_dump(mode="json")
    assert Catalog.model_validate(dumped) == catalog
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises ValidationError on frozen models
        catalog.category("medis").label_en = "x"  # type: ignore[misc]


def _base() -> dict:
    return yaml.safe_load(DEFAULT_CATALOG_PATH.read_text(encoding="utf-8"))


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True) if not isinstance(data, str) else data)
    return path


def _category(data: dict, code: str) -> dict:
    return next(c for c in data["categories"] if c["code"] == code)


def _fails(tmp_path: Path, data: object, *expected: str) -> str:
    with pytest.raises(CatalogError) as info:
        load_catalog(_write(tmp_path, data))
    text = str(info.value)
    for piece in expected:
        assert piece in text, (piece, text)
    return text


def test_unknown_agency_in_category_is_named(tmp_path: Path) -> None:
    data = _base()
    _category(data, "banjir")["supporting_agencies"].append("basarnas")
    _fails(tmp_path, data, "categories[banjir].supporting_agencies", "basarnas", "unknown agency")


def test_unknown_unit_type_is_named(tmp_path: Path) -> None:
    data = _base()
    _category(data, "medis")["unit_types"] = ["ambulance"]
    _fails(tmp_path, data, "categories[medis].unit_types", "ambulance", "unknown unit type")
    data = _base()
    _category(data, "banjir")["water_unit_types"] = ["kapal"]
    _fails(tmp_path, data, "categories[banjir].water_unit_types", "kapal")


def test_duplicate_codes_are_named(tmp_path: Path) -> None:
    data = _base()
    data["categories"].append(dict(_category(data, "kebakaran")))
    _fails(tmp_path, data, "categories[kebakaran]", "duplicate code")
    data = _base()
    data["agencies"].append({"code": "bpbd", "name_id": "BPBD lagi", "name_en": "BPBD again"})
    _fails(tmp_path, data, "agencies[bpbd]", "duplicate code")


def test_read_only_agency_cannot_be_routed(tmp_path: Path) -> None:
    data = _base()
    _category(data, "kriminalitas")["supporting_agencies"].append("hukum")
    _fails(tmp_path, data, "categories[kriminalitas].supporting_agencies", "hukum", "never dispatched")


def test_field_errors_name_the_entry_not_the_index(tmp_path: Path) -> None:
    data = _base()
    _category(data, "listrik")["colour"] = "kuning"
    _category(data, "karhutla")["primary_agencies"] = []
    del _category(data, "medis")["label_en"]
    text = _fails(
        tmp_path,
        data,
        "categories[listrik].colour",
        "categories[karhutla].primary_agencies",
        "categories[medis].label_en",
    )
    assert "[#" not in text


def test_typos_in_keys_and_repeats_are_refused(tmp_path: Path) -> None:
    data = _base()
    _category(data, "kebakaran")["primary_agency"] = ["damkar"]
    _fails(tmp_path, data, "categories[kebakaran].primary_agency", "Extra inputs")
    data = _base()
    _category(data, "kebakaran")["supporting_agencies"] = ["polres", "polres"]
    _fails(tmp_path, data, "categories[kebakaran]", "repeats polres")
    data = _base()
    _category(data, "kebakaran")["supporting_agencies"] = ["damkar"]
    _fails(tmp_path, data, "categories[kebakaran]", "both primary and supporting")
    data = _base()
    data["unit_types"][0]["agency"] = "pemadam"
    _fails(tmp_path, data, "unit_types[damkar].agency", "pemadam")


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="not found"):
        load_catalog(tmp_path / "missing.yaml")
    _fails(tmp_path, "agencies: [unclosed", "malformed YAML")
    _fails(tmp_path, "- just\n- a list\n", "mapping")
    _fails(tmp_path, {"agencies": [], "categories": []}, "agencies", "categories")


def test_minimal_catalog_loads(tmp_path: Path) -> None:
    data = {
        "agencies": [{"code": "damkar", "name_id": "Damkar", "name_en": "Fire service"}],
        "unit_types": [
            {"code": "damkar", "label_id": "Mobil damkar", "label_en": "Fire engine", "agency": "damkar"}
        ],
        "categories": [
            {
                "code": "kebakaran",
                "label_id": "Kebakaran",
                "label_en": "Fire",
                "primary_agencies": ["damkar"],
                "unit_types": ["damkar"],
                "icon": "fire",
                "colour": "#ff0000",
            }
        ],
    }
    catalog = load_catalog(_write(tmp_path, data))
    assert catalog.category("kebakaran").supporting_agencies == ()
    assert catalog.default_unit_types("kebakaran", on_water=True) == ("damkar",)


def test_incident_view_is_built_once_per_category_and_water(catalog: Catalog) -> None:
    dry = catalog.incident_view("banjir", on_water=False)
    wet = catalog.incident_view("banjir", on_water=True)
    assert dry is catalog.incident_view("banjir", on_water=False)
    assert dry["category_label_id"] == catalog.category("banjir").label_id
    assert [a["code"] for a in dry["agencies"]["primary"]] == list(catalog.category("banjir").primary_agencies)
    assert dry["unit_types"] == list(catalog.default_unit_types("banjir"))
    assert wet["unit_types"] == list(catalog.default_unit_types("banjir", on_water=True))
    with pytest.raises(UnknownCategoryError):
        catalog.incident_view("gempa_bumi", on_water=False)


def test_response_plans_by_priority_water_and_agencies_to_inform(catalog: Catalog, tmp_path: Path) -> None:
    fire = catalog.response_plan("kebakaran")
    assert [(u["type"], u["count"]) for u in fire["units"]] == [("damkar", 2), ("polisi", 1), ("ambulans", 1)]
    assert [(u["type"], u["count"]) for u in catalog.response_plan("kebakaran", priority="P1")["units"]][0] == (
        "damkar", 3)
    assert "perahu" not in [u["type"] for u in catalog.response_plan("banjir")["units"]]
    assert "perahu" in [u["type"] for u in catalog.response_plan("banjir", on_water=True)["units"]]
    for code, agencies in (("listrik", ["pln"]), ("infrastruktur", ["dpupr"]), ("bantuan_sosial", ["dinsos"])):
        plan = catalog.response_plan(code)
        assert plan["units"] == [] and [a["code"] for a in plan["notify"]] == agencies
    assert [a["code"] for a in catalog.response_plan("perlindungan_anak_perempuan")["notify"]] == [
        "dp3appkb", "dinsos", "hukum"]
    data = _base()
    data["response_plans"] = [
        {"category": "gempa", "units": {"damkar": 1}},
        {"category": "banjir", "units": {"kapal_selam": 1}, "notify": ["nasa"]},
    ]
    _fails(tmp_path, data, "response_plans[gempa].category", "unknown unit type 'kapal_selam'",
           "unknown agency 'nasa'")
    data["response_plans"] = [{"category": "medis", "units": {"ambulans": 0}}]
    _fails(tmp_path, data, "units.ambulans", "greater than or equal to 1")
