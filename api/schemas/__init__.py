"""The response documents of the API as Pydantic models, one module per entity, declared in OpenAPI.

Routes answer with the fast orjson encoder (``api.responses.FastJSON``) from plain dicts built by one
serializer per entity; these models document the answer (``response_model=``) and the tests check every
answer against them (schemathesis' response schema conformance). Models forbid fields they do not declare,
so a serializer and its schema cannot drift apart unnoticed.

A 200 answer in a second media type (GeoJSON beside JSON) is declared with :func:`also_as`; its model is added
to the document's components by :func:`add_schemas`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["Schema", "add_schemas", "also_as"]

_EXTRA: dict[str, type[BaseModel]] = {}


class Schema(BaseModel):
    """Base of the response models: every field declared, nothing else allowed."""

    model_config = ConfigDict(extra="forbid")


def also_as(media_type: str, model: type[BaseModel]) -> dict[str, Any]:
    """A `responses=` entry: the 200 answer can also come as `media_type`, shaped like `model`."""
    _EXTRA[model.__name__] = model
    return {200: {"content": {media_type: {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}}


def add_schemas(document: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with the models of :func:`also_as` (and the models they use) in its components."""
    components = document.setdefault("components", {}).setdefault("schemas", {})
    for name, model in _EXTRA.items():
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="serialization")
        for used, definition in schema.pop("$defs", {}).items():
            components.setdefault(used, definition)
        components.setdefault(name, schema)
    return document
