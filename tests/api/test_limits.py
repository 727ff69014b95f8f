"""Size and rate limits: oversize bodies get 413 before a route runs, floods get 429."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from api.limits import GuardMiddleware, RateRule


def _guarded_app(**kwargs) -> tuple[FastAPI, list[int]]:
    seen: list[int] = []
    app = FastAPI()

    @app.post("/echo")
    async def echo(request: Request) -> dict:
        body = await request.body()
        seen.append(len(body))
        return {"bytes": len(body)}

    @app.post("/batch")
    async def batch(request: Request) -> dict:
        return {"bytes": len(await request.body())}

    app.add_middleware(GuardMiddleware, **kwargs)
    return app, seen


def test_declared_oversize_body_is_413_and_never_reaches_the_route() -> None:
    app, seen = _guarded_app(default_limit=1_000_000, path_limits={}, rate_rules=[])
    with TestClient(app) as c:
        r = c.post("/echo", content=b"x" * 10_000_000, headers={"content-type": "text/csv"})
    assert r.status_code == 413
    assert "1000000" in r.json()["message_en"]
    assert seen == []


def test_chunked_oversize_body_is_413() -> None:
    app, seen = _guarded_app(default_limit=1_000_000, path_limits={}, rate_rules=[])

    def chunks():
        for _ in range(20):
            yield b"y" * 100_000

    with TestClient(app) as c:
        r = c.post("/echo", content=chunks())
    assert r.status_code == 413
    assert seen == []


def test_small_bodies_pass_and_path_limits_apply() -> None:
    app, seen = _guarded_app(default_limit=1_000, path_limits={"/batch": 50_000}, rate_rules=[])
    with TestClient(app) as c:
        assert c.post("/echo", content=b"a" * 900).json() == {"bytes": 900}
        assert c.post("/echo", content=b"a" * 2_000).status_code == 413
        assert c.post("/batch", content=b"a" * 40_000).status_code == 200
        assert c.post("/batch", content=b"a" * 60_000).status_code == 413
    assert seen == [900]


def test_rate_limit_gives_429_with_retry_after() -> None:
    app, _ = _guarded_app(default_limit=1_000, path_limits={}, rate_rules=[RateRule("POST", "/echo", 5)])
    with TestClient(app) as c:
        codes = [c.post("/echo", content=b"z").status_code for _ in range(8)]
        other = c.post("/batch", content=b"z").status_code
    assert codes[:5] == [200] * 5
    assert set(codes[5:]) == {429}
    assert other == 200


def test_platform_upload_over_the_limit_is_413(client) -> None:
    r = client.post("/api/incidents", content=b"{" + b" " * 2_000_000 + b"}",
                    headers={"content-type": "application/json"})
    assert r.status_code == 413
