"""geo.resolve without a server or a database: where a call is, from coordinates, a place name, an AML SMS or
nothing, and the domain errors (kind, field, details) for input that cannot be a location."""

from __future__ import annotations

import pytest

from api.spatial import Spatial, build_spatial
from geo.coords import CoordinateError, check_point, looks_swapped
from geo.errors import ErrorKind, InvalidInput, NotFound, SigapError
from geo.layers import Layers
from geo.resolve import NOWHERE, AmbiguousPlaceError, PlaceNotFoundError, resolve_location

AML_OK = 'A"ML=1;lt=-1.71234;lg=+114.84567;rd=25;top=20261129081530;lc=68;pm=G;si=510101000000000;ei=356938035643809'
AML_NOFIX = 'A"ML=1;lt=+00.00000;lg=+000.00000;rd=N;top=20261129081530;lc=0;pm=N'


@pytest.fixture(scope="module")
def spatial(bundled_layers: Layers) -> Spatial:
    """The locator, place index and place radii built from the bundled layers (no database)."""
    return build_spatial(bundled_layers)


def resolve(spatial: Spatial, **given):
    return resolve_location(locator=spatial.locator, places=spatial.places, place_radius_m=spatial.place_radius_m,
                            **given)


def refused(spatial: Spatial, **given) -> SigapError:
    with pytest.raises(SigapError) as info:
        resolve(spatial, **given)
    return info.value


def test_nothing_given_is_no_location_yet(spatial: Spatial) -> None:
    assert resolve(spatial) is NOWHERE
    assert (NOWHERE.lon, NOWHERE.source, NOWHERE.answer) == (None, None, None)


def test_coordinates_are_located_with_their_accuracy(spatial: Spatial) -> None:
    where = resolve(spatial, lon=114.85, lat=-1.71, accuracy_m=15)
    assert (where.lon, where.lat, where.accuracy_m, where.source) == (114.85, -1.71, 15, "coordinates")
    assert where.answer == spatial.locator.locate(lon=114.85, lat=-1.71)
    assert where.answer["desa"]["name"] == "Buntok Kota"


@pytest.mark.parametrize(
    ("given", "field", "hint"),
    [
        ({"lon": -1.71, "lat": 114.85}, "location.lat", "swapped"),
        ({"lon": 114.85}, "location.lat", None),
        ({"lat": -1.71}, "location.lon", None),
        ({"lon": float("nan"), "lat": -1.71}, "location.lon", None),
        ({"lon": 181.0, "lat": -1.71}, "location.lon", None),
        ({"lon": 114.85, "lat": -1.71, "place": "Pendang"}, "location", None),
        ({"place": "Pendang", "aml": AML_OK}, "location", None),
    ],
)
def test_input_that_is_no_point_names_the_field(spatial: Spatial, given: dict, field: str, hint: str | None) -> None:
    err = refused(spatial, **given)
    assert isinstance(err, InvalidInput) and err.kind is ErrorKind.INVALID
    assert err.field == field and err.extra.get("hint") == hint
    assert err.message_id and err.message_en and err.message_id != err.message_en


def test_a_place_name_is_its_representative_point_with_the_place_size(spatial: Spatial) -> None:
    where = resolve(spatial, place="Buntokk")
    place = where.answer["place"]
    assert (where.source, place["code"], place["match"], place["query"]) == ("place", "62.04.06.1008", "close",
                                                                              "Buntokk")
    assert where.accuracy_m == spatial.place_radius_m["62.04.06.1008"] > 100
    assert where.answer["desa"]["code"] == "62.04.06.1008"
    kecamatan = resolve(spatial, place="Gn Bintang Awai")
    assert kecamatan.answer["place"]["kind"] == "kecamatan"
    assert kecamatan.accuracy_m > where.accuracy_m  # a kecamatan is a larger area than a desa


def test_an_unknown_place_is_not_found_with_suggestions(spatial: Spatial) -> None:
    err = refused(spatial, place="Buntoq")
    assert isinstance(err, PlaceNotFoundError) and isinstance(err, NotFound)
    assert err.field == "location.place" and "Buntoq" in err.message_id
    assert err.extra["suggestions"][0]["name"] == "Buntok Kota"
    assert set(err.extra["suggestions"][0]) == {"name", "kind", "code", "parent", "lon", "lat", "score"}
    assert err.body()["error"] == "not_found"


def test_an_ambiguous_place_is_invalid_with_candidates(spatial: Spatial) -> None:
    err = refused(spatial, place="Patas")
    assert isinstance(err, AmbiguousPlaceError) and err.kind is ErrorKind.INVALID
    assert err.field == "location.place" and err.extra["match"] == "ambiguous"
    assert {c["name"] for c in err.extra["candidates"]} == {"Patas I", "Patas II"}


@pytest.mark.parametrize("query", [":", "  ;; ", "...", "😀", "'"])
def test_a_place_query_without_a_name_is_no_location_yet_with_its_text(spatial: Spatial, query: str) -> None:
    where = resolve(spatial, place=query)
    assert (where.lon, where.lat, where.source) == (None, None, "place")
    assert where.answer == {"place": {"query": query, "match": "no_name"}}


def test_an_aml_sms_is_its_fix_with_the_handset_details(spatial: Spatial) -> None:
    where = resolve(spatial, aml=AML_OK)
    assert (where.source, where.accuracy_m) == ("aml", 25)
    assert (where.lon, where.lat) == pytest.approx((114.84567, -1.71234))
    aml = where.answer["aml"]
    assert aml["fixed_at"] == "2026-11-29T08:15:30+00:00" and aml["fixed_at_wib"] == "29-11-2026 15:15 WIB"
    assert (aml["method"], aml["imei"], aml["raw"]) == ("gnss", "356938035643809", AML_OK)
    assert where.answer["desa"] is not None


def test_an_aml_sms_without_a_fix_keeps_the_handset_and_no_point(spatial: Spatial) -> None:
    where = resolve(spatial, aml=AML_NOFIX)
    assert (where.lon, where.lat, where.accuracy_m, where.source) == (None, None, None, "aml")
    assert where.answer == {"aml": where.answer["aml"]} and where.answer["aml"]["method"] == "none"


@pytest.mark.parametrize(
    ("text", "attribute"),
    [
        (AML_OK.replace("lt=-1.71234", "lt=-1.7x"), "lt"),
        (AML_OK.replace("top=20261129081530", "top=2026113"), "top"),
        ("AML hello", 'A"ML'),
        (AML_OK + ";ml=9", "ml"),
    ],
)
def test_a_malformed_aml_sms_names_the_attribute(spatial: Spatial, text: str, attribute: str) -> None:
    err = refused(spatial, aml=text)
    assert isinstance(err, InvalidInput)
    assert err.field == f"location.aml.{attribute}" and err.extra["aml_field"] == attribute
    assert f"atribut '{attribute}'" in err.message_id and f"attribute '{attribute}'" in err.message_en


def test_the_field_prefix_follows_the_input_name(spatial: Spatial) -> None:
    assert refused(spatial, lon=114.85, field="where").field == "where.lat"
    assert refused(spatial, place="Patas", field="where").field == "where.place"


def test_check_point_refuses_with_coordinate_errors() -> None:
    assert check_point(114.85, -1.71) == (114.85, -1.71)
    assert looks_swapped(-1.71, 114.85) and not looks_swapped(114.85, -1.71)
    with pytest.raises(CoordinateError) as info:
        check_point(-1.71, 114.85, lon_field="x", lat_field="y")
    assert (info.value.field, info.value.extra["hint"], info.value.kind) == ("y", "swapped", ErrorKind.INVALID)
    with pytest.raises(ValueError):  # still a ValueError for callers that catch those
        check_point(float("inf"), 0.0)
