"""The in-memory spatial state every request reads: layers, their GeoJSON cache and the locator."""

from __future__ import annotations

import dataclasses

import numpy as np
from fastapi import FastAPI

from geo.layers import Layers, LineLayer
from geo.locate import Locator
from store.db import session_scope
from store.layers import read_layers
from store.network import read_lines

# Network kinds that are not roads a caller could be standing beside.
NOT_ROADS = {"river", "canal", "landing", "ferry"}


def real_roads(lines) -> LineLayer | None:  # noqa: ANN001 - store.network.LineSet
    """Imported road lines (OSM or the regency's files) for the locator; the derived links are not roads."""
    keep = (lines.source != "derived") & ~np.isin(lines.kind.astype(str), list(NOT_ROADS))
    if not keep.any():
        return None
    return LineLayer(geometry=lines.lines[keep], name=lines.name[keep], kind=lines.kind[keep],
                     source=lines.source[keep])


def build_spatial_state(app: FastAPI) -> None:
    """(Re)build the locator and layer caches from what the database holds (at start-up and after a network
    import, so "distance to the nearest road" follows the real road layer)."""
    with session_scope(app.state.sessions) as session:
        layers: Layers = read_layers(session)
        roads = real_roads(read_lines(session))
    if not len(layers.desa):
        raise RuntimeError(
            "Basis data belum berisi batas wilayah; jalankan `sigap load` / "
            "the database holds no boundaries yet; run `sigap load`"
        )
    layers = dataclasses.replace(layers, roads=roads)
    locator = Locator.from_layers(layers)
    app.state.layers = layers
    app.state.layer_cache = {}
    app.state.locator = locator


def refresh_roads(app: FastAPI, lines) -> None:  # noqa: ANN001 - store.network.LineSet
    """Give the locator the roads of a newly stored network (the boundaries stay as they are)."""
    layers = dataclasses.replace(app.state.layers, roads=real_roads(lines))
    app.state.locator = Locator.from_layers(layers)
    app.state.layers = layers
    app.state.layer_cache = {}
