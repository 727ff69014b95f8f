"""Response compression: large answers gzipped for clients that accept it, small and live ones untouched."""

from __future__ import annotations

import gzip

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse, StreamingResponse
from fastapi.testclient import TestClient

from api.compression import GzipMiddleware

BIG = "Buntok " * 1000


def _app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(GzipMiddleware, minimum_size=2048)

    @app.get("/big")
    def big() -> PlainTextResponse:
        return PlainTextResponse(BIG)

    @app.get("/small")
    def small() -> PlainTextResponse:
        return PlainTextResponse("ok")

    @app.get("/stream")
    def stream() -> StreamingResponse:
        return StreamingResponse(iter([BIG.encode(), b"akhir / end"]), media_type="text/plain")

    @app.get("/events")
    def events() -> StreamingResponse:
        return StreamingResponse(iter([b"data: 1\n\n" * 500]), media_type="text/event-stream")

    return app


def _raw(client: TestClient, path: str, *, accept: str = "gzip") -> tuple[dict, bytes]:
    with client.stream("GET", path, headers={"Accept-Encoding": accept}) as r:
        body = b"".join(r.iter_raw())
        return dict(r.headers), body


def test_large_response_is_gzipped_with_its_length_and_vary() -> None:
    headers, body = _raw(TestClient(_app()), "/big")
    assert headers["content-encoding"] == "gzip" and headers["vary"] == "Accept-Encoding"
    assert int(headers["content-length"]) == len(body) < len(BIG)
    assert gzip.decompress(body).decode() == BIG


def test_small_response_and_client_without_gzip_pass_untouched() -> None:
    client = TestClient(_app())
    headers, body = _raw(client, "/small")
    assert "content-encoding" not in headers and body == b"ok"
    headers, body = _raw(client, "/big", accept="identity")
    assert "content-encoding" not in headers and body.decode() == BIG


def test_streamed_response_is_compressed_as_a_stream() -> None:
    headers, body = _raw(TestClient(_app()), "/stream")
    assert headers["content-encoding"] == "gzip" and "content-length" not in headers
    assert gzip.decompress(body).decode() == BIG + "akhir / end"


def test_server_sent_events_are_never_compressed() -> None:
    headers, body = _raw(TestClient(_app()), "/events")
    assert "content-encoding" not in headers and body == b"data: 1\n\n" * 500
