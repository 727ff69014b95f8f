"""Place-name search over the real Barito Selatan desa/kecamatan and Kalteng kabupaten layers."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from geo.layers import AreaLayer, read_area_layer
from geo.placenames import (
    MatchStatus,
    Place,
    PlaceIndex,
    normalize_name,
    places_from_layers,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "boundaries"


@pytest.fixture(scope="module")
def layers() -> dict[str, AreaLayer]:
    return {
        "desa": read_area_layer(DATA / "barsel_desa.geojson"),
        "kecamatan": read_area_layer(DATA / "barsel_kecamatan.geojson"),
        "kabupaten": read_area_layer(DATA / "kalteng_kabupaten.geojson"),
    }


@pytest.fixture(scope="module")
def index(layers: dict[str, AreaLayer]) -> PlaceIndex:
    return PlaceIndex.from_records(records=places_from_layers(**layers))


@pytest.fixture(scope="module")
def barsel_index(layers: dict[str, AreaLayer]) -> PlaceIndex:
    return PlaceIndex.from_records(
        records=places_from_layers(desa=layers["desa"], kecamatan=layers["kecamatan"])
    )


def test_index_holds_every_unit_with_points_inside_their_polygons(
    index: PlaceIndex, layers: dict[str, AreaLayer]
) -> None:
    kinds = [p.kind for p in index.places]
    assert kinds.count("kecamatan") == 6
    assert kinds.count("kabupaten") == 14
    assert kinds.count("desa") + kinds.count("kelurahan") == 93
    assert kinds.count("kelurahan") == (layers["desa"].attrs["jenis"] == "kelurahan").sum()
    by_code = {p.code: p for p in index.places}
    for kind in ("desa", "kecamatan", "kabupaten"):
        layer = layers[kind]
        pts = shapely.points([by_code[c].lon for c in layer.code], [by_code[c].lat for c in layer.code])
        assert shapely.contains(layer.geometry, pts).all(), kind


def test_every_real_name_finds_itself(index: PlaceIndex) -> None:
    for place in index.places:
        result = index.search(place.name)
        assert result.status is MatchStatus.EXACT, place.name
        assert result.place == place
        assert index.search(place.code).place == place


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("buntok kota", "62.04.06.1008"),
        ("Buntok Kota", "62.04.06.1008"),
        ("BUNTOK   KOTA!!", "62.04.06.1008"),
        ("Kel. Buntok Kota", "62.04.06.1008"),
        ("kelurahan buntok-kota", "62.04.06.1008"),
        ("Pendang", "62.04.04.1005"),
        ("pendang", "62.04.04.1005"),
        ("desa Pendang", "62.04.04.1005"),  # callers say desa for a kelurahan too
        ("Gn Bintang Awai", "62.04.05"),
        ("Gng. Bintang Awai", "62.04.05"),
        ("Kec. Gunung Bintang Awai", "62.04.05"),
        ("gunungbintangawai", "62.04.05"),
        ("Patas 1", "62.04.05.2009"),
        ("patas ii", "62.04.05.2010"),
        ("Sungai Paken", "62.04.05.2017"),
        ("Sei Paken", "62.04.05.2017"),
        ("Palangka Raya", "62.71"),
        ("Kab. Barito Utara", "62.05"),
        ("Kapuas", "62.03"),
        ("kec dusun utara", "62.04.04"),
        ("Kalahien, Dusun Selatan", "62.04.06.2020"),
    ],
)
def test_exact_despite_case_spacing_punctuation_and_abbreviations(
    index: PlaceIndex, query: str, code: str
) -> None:
    result = index.search(query)
    assert result.status is MatchStatus.EXACT, (query, result)
    assert result.place is not None and result.place.code == code
    assert result.found


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("Buntk Kota", "62.04.06.1008"),
        ("Buntok Kot", "62.04.06.1008"),
        ("Pendag", "62.04.04.1005"),
        ("Pendanng", "62.04.04.1005"),
        ("Gn Bintang Awei", "62.04.05"),
        ("Danau Sadr", "62.04.06.2005"),
        ("mengkatib", "62.04.02.1003"),
        ("Kalahin", "62.04.06.2020"),
        ("Tamparak Layong", "62.04.04.2019"),
        ("Layung", "62.04.04.2019"),  # one word that only one name contains
    ],
)
def test_small_typos_give_a_single_close_match(index: PlaceIndex, query: str, code: str) -> None:
    result = index.search(query)
    assert result.status is MatchStatus.CLOSE, (query, result)
    assert result.place is not None and result.place.code == code
    assert result.candidates[0].place == result.place
    assert 0 < result.candidates[0].score < 100


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("Patas", {"Patas I", "Patas II"}),
        ("Marawan", {"Marawan Baru", "Marawan Lama"}),
        ("Sungai", {"Sungai Jaya", "Sungai Telang", "Sei Paken"}),
        ("Dusun", {"Dusun Hilir", "Dusun Utara", "Dusun Selatan"}),
        ("Mangkatip", {"Mengkatip", "Mangkatir"}),  # one letter off two real names
    ],
)
def test_ambiguous_names_return_the_candidates(index: PlaceIndex, query: str, names: set[str]) -> None:
    result = index.search(query)
    assert result.status is MatchStatus.AMBIGUOUS
    assert result.place is None and not result.found
    assert {c.place.name for c in result.candidates} == names
    assert "beberapa tempat" in result.message and "several places" in result.message


def test_ambiguity_respects_limit(index: PlaceIndex) -> None:
    result = index.search("Teluk", limit=3)
    assert result.status is MatchStatus.AMBIGUOUS
    assert len(result.candidates) == 3
    assert all(c.place.name.startswith("Teluk") for c in result.candidates)
    with pytest.raises(ValueError):
        index.search("Teluk", limit=0)


def test_kind_hint_breaks_a_tie_between_desa_and_kecamatan() -> None:
    index = PlaceIndex.from_records(
        records=[
            {
                "kind": "kecamatan",
                "code": "K1",
                "name": "Jenamas",
                "parent": "Barito Selatan",
                "lon": 114.8,
                "lat": -2.4,
            },
            {"kind": "desa", "code": "D1", "name": "Jenamas", "parent": "Jenamas", "lon": 114.9, "lat": -2.5},
        ]
    )
    assert index.search("Jenamas").status is MatchStatus.AMBIGUOUS
    assert index.search("Kec. Jenamas").place.code == "K1"
    assert index.search("Ds Jenamas").place.code == "D1"


def test_parent_narrows_a_shared_name() -> None:
    index = PlaceIndex.from_records(
        records=[
            {
                "kind": "desa",
                "code": "A",
                "name": "Baru",
                "parent": "Dusun Selatan",
                "lon": 114.7,
                "lat": -1.7,
            },
            {"kind": "desa", "code": "B", "name": "Baru", "parent": "Dusun Utara", "lon": 114.9, "lat": -1.4},
        ]
    )
    assert index.search("Baru").status is MatchStatus.AMBIGUOUS
    assert index.search("Baru, Dusun Utara").place.code == "B"
    assert index.search("baru, dsn selatan").place.code == "A"  # parent itself fuzzy


def test_not_found_gives_closest_suggestions(index: PlaceIndex) -> None:
    result = index.search("Jakarta")
    assert result.status is MatchStatus.NOT_FOUND
    assert result.place is None
    assert 0 < len(result.candidates) <= 5
    scores = [c.score for c in result.candidates]
    assert scores == sorted(scores, reverse=True)
    assert "tidak ditemukan" in result.message and "not found" in result.message
    assert result.candidates[0].place.name in result.message


def test_an_abbreviation_finds_the_official_name(barsel_index: PlaceIndex) -> None:
    result = barsel_index.search("Gn Bintang Awai")
    assert result.place is not None
    assert result.place.name == "Gunung Bintang Awai"
    assert "Gunung Bintang Awai" in result.message and "Gn." not in result.message


def test_normalize_name() -> None:
    assert normalize_name("Kel. Buntok  Kota") == "buntok kota"
    assert normalize_name("Gn. Bintang Awai") == "gunung bintang awai"
    assert normalize_name("Kabupaten Barito Selatan") == "barito selatan"
    assert normalize_name("Désa Pendang") == "pendang"
    assert normalize_name("Kota") == "kota"  # a lone kind word is the name


def test_bad_records_and_queries_are_refused() -> None:
    with pytest.raises(ValueError, match="Unknown place kind"):
        PlaceIndex.from_records(
            records=[{"kind": "dusun", "code": "x", "name": "X", "parent": "", "lon": 0, "lat": 0}]
        )
    with pytest.raises(ValueError, match="incomplete"):
        PlaceIndex.from_records(records=[{"kind": "desa", "name": "X", "lon": 0, "lat": 0}])
    with pytest.raises(ValueError, match="Invalid coordinates"):
        PlaceIndex.from_records(records=[Place("desa", "x", "X", "", 114.8, -95.0)])
    with pytest.raises(ValueError, match="empty"):
        PlaceIndex.from_records(records=[])
    index = PlaceIndex.from_records(records=[Place("desa", "x", "X", "", 114.8, -1.0)])
    with pytest.raises(ValueError, match="empty"):
        index.search(" ... ")


def test_boundaries_must_be_wgs84(tmp_path: Path) -> None:
    utm = tmp_path / "desa_utm.gpkg"
    gpd.read_file(DATA / "barsel_desa.geojson").to_crs(32750).to_file(utm, driver="GPKG")
    with pytest.raises(ValueError, match="expected WGS84"):
        PlaceIndex.from_boundaries(desa_path=utm, kecamatan_path=DATA / "barsel_kecamatan.geojson")


def test_from_boundaries_reads_the_bundled_files() -> None:
    index = PlaceIndex.from_boundaries(
        desa_path=DATA / "barsel_desa.geojson", kecamatan_path=DATA / "barsel_kecamatan.geojson"
    )
    assert len(index) == 99
    assert index.search("buntok kota").place.parent == "Dusun Selatan"
