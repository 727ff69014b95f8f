"""One catalog per process: the map pages offer exactly the categories the API accepts.

Regression (issue 13): the pages loaded the bundled ``data/catalog.yaml`` while the API honoured the data
directory's own ``catalog.yaml``, so a regency that edited its catalog got a map offering categories the API
refused and hiding the ones it had added.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from api.config import PROJECT_ROOT
from tests.conftest import TEST_PASSWORD, Database, settings_for

REMOVED = "karhutla"
ADDED = {
    "code": "orang_hilang",
    "label_id": "Orang hilang",
    "label_en": "Missing person",
    "primary_agencies": ["bpbd"],
    "supporting_agencies": ["polres"],
    "unit_types": ["bpbd"],
    "icon": "search",
    "colour": "#31a354",
}
RENAMED = ("medis", "Gawat darurat medis")


@pytest.fixture
def edited_data_dir(tmp_path: Path) -> Path:
    """A copy of data/ whose catalog drops one category, adds one and relabels one."""
    data_dir = tmp_path / "data"
    shutil.copytree(PROJECT_ROOT / "data", data_dir)
    path = data_dir / "catalog.yaml"
    catalog = yaml.safe_load(path.read_text(encoding="utf-8"))
    catalog["categories"] = [c for c in catalog["categories"] if c["code"] != REMOVED] + [ADDED]
    # Its response plan goes with it (a plan for an unknown category is refused like any broken entry).
    catalog["response_plans"] = [p for p in catalog.get("response_plans", []) if p["category"] != REMOVED]
    for c in catalog["categories"]:
        if c["code"] == RENAMED[0]:
            c["label_id"] = RENAMED[1]
    path.write_text(yaml.safe_dump(catalog, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return data_dir


@pytest.fixture
def data_dir_client(
    db: Database, edited_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """The app started with SIGAP_DATA_DIR pointing at the edited copy, logged in as a dispatcher."""
    from api.app import create_app

    monkeypatch.setenv("SIGAP_DATA_DIR", str(edited_data_dir))
    settings = settings_for(db.url)
    assert settings.data_dir == edited_data_dir
    with TestClient(create_app(settings)) as client:
        r = client.post("/api/auth/token", data={"username": "t-dispatcher", "password": TEST_PASSWORD})
        assert r.status_code == 200, r.text
        client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        yield client


def _page_config(html: str) -> dict:
    found = re.search(r'<script id="sigap-config" type="application/json">(.*?)</script>', html, re.S)
    assert found, "the page embeds no config"
    return json.loads(found.group(1).replace("<\\/", "</"))


def test_map_offers_exactly_the_categories_the_api_accepts(data_dir_client: TestClient) -> None:
    """/map's embedded config, GET /api/categories and POST /api/incidents agree on the data dir's catalog."""
    c = data_dir_client
    page = c.get("/map")
    assert page.status_code == 200
    offered = {cat["code"]: cat for cat in _page_config(page.text)["categories"]}
    api = {cat["code"]: cat for cat in c.get("/api/categories").json()["categories"]}
    assert set(offered) == set(api)
    assert ADDED["code"] in offered and REMOVED not in offered
    assert offered[RENAMED[0]]["label_id"] == RENAMED[1]
    assert offered[ADDED["code"]]["label_en"] == ADDED["label_en"]
    for code in offered:
        r = c.post("/api/incidents", json={"category": code, "location": {"place": "Buntok Kota"}})
        assert r.status_code == 201, (code, r.text)
        assert r.json()["category"] == code
    refused = c.post("/api/incidents", json={"category": REMOVED, "location": {"place": "Buntok Kota"}})
    assert refused.status_code == 422, refused.text
    assert REMOVED in refused.text and ADDED["code"] in refused.text
