"""The response documents of the API as Pydantic models, one module per entity, declared in OpenAPI.

Routes answer with the fast orjson encoder (``api.responses.FastJSON``) from plain dicts built by one
serializer per entity; these models document the answer (``response_model=``) and the tests check every
answer against them (schemathesis' response schema conformance). Models forbid fields they do not declare,
so a serializer and its schema cannot drift apart unnoticed.

A 200 answer in a second media type (GeoJSON beside JSON) is declared with :func:`also_as`; its model is added
to the document's components by :func:`add_schemas`, which also documents the 422 answers as they are sent
(:class:`ErrorBody`, from ``api/errors.py``), not as FastAPI's default validation error.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["ErrorBody", "Schema", "add_schemas", "also_as"]

_EXTRA: dict[str, type[BaseModel]] = {}


class Schema(BaseModel):
    """Base of the response models: every field declared, nothing else allowed."""

    model_config = ConfigDict(extra="forbid")


def refuse_nul(value: Any) -> Any:
    """Refuse the NUL character in text, which PostgreSQL cannot store (a 422 naming the field, never a 500)."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("tidak boleh berisi karakter NUL (\\x00) / must not contain the NUL character (\\x00)")
    return value


class Body(BaseModel):
    """Base of the request bodies: no unknown field, no NUL character in any text."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _text_without_nul(cls, value: Any) -> Any:
        return refuse_nul(value)


class ErrorBody(BaseModel):
    """Every error answer: a code, the message in Indonesian and English, the field to fix, and details."""

    model_config = ConfigDict(extra="allow")

    error: str = Field(description="invalid, not_found, conflict, unavailable, ... (the kind of error)")
    message: str = Field(description="'Bahasa Indonesia / English'")
    message_id: str
    message_en: str
    field: str | None = Field(None, description="the input to fix (location.place, version, unit_ids ...)")


def also_as(media_type: str, model: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    """A `responses=` entry: the 200 answer can also come as `media_type`, shaped like `model`."""
    _EXTRA[model.__name__] = model
    return {200: {"content": {media_type: {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}}


def add_schemas(document: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with the models of :func:`also_as` (and the models they use) in its components."""
    components = document.setdefault("components", {}).setdefault("schemas", {})
    models: list[tuple[str, type[BaseModel]]] = [*_EXTRA.items(), ("ErrorBody", ErrorBody)]
    for name, model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="serialization")
        for used, definition in schema.pop("$defs", {}).items():
            components.setdefault(used, definition)
        components.setdefault(name, schema)
    # A refused request is answered by api/errors.py (ErrorBody with `details` per field), never FastAPI's shape.
    default_422 = "#/components/schemas/HTTPValidationError"
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            body = operation.get("responses", {}).get("422", {}).get("content", {}).get("application/json", {})
            if body.get("schema", {}).get("$ref") == default_422:
                body["schema"] = {"$ref": "#/components/schemas/ErrorBody"}
    if components.pop("HTTPValidationError", None) is not None:
        components.pop("ValidationError", None)  # FastAPI's, used only by HTTPValidationError
    return document
