"""Statistical fire hotspots: Getis-Ord Gi* over H3 cells (PySAL esda) with H3 grid-neighbour weights.

Significance uses the analytical z-score of Gi* and a two-sided normal p-value (ArcGIS "Hot Spot
Analysis" convention): |z| >= 2.576 is 99 %, |z| >= 1.96 is 95 %. It is deterministic (the same
cells always get the same class), which a planner comparing two runs expects; a conditional
permutation p-value is available with `method="permutation"`, where the class then follows
p_sim <= 0.01 / 0.05 and the sign of z. No correction for multiple testing is applied.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import pandas as pd
from scipy import sparse, special

from geo.hexagons import disk_cells, neighbour_pairs

Z95 = 1.959963984540054
Z99 = 2.5758293035489004
MIN_CELLS = 3
CLASSES = ("hot99", "hot95", "ns", "cold95", "cold99")


def study_cells(cells: np.ndarray, *, pad_ring: int = 1) -> np.ndarray:
    """The observed cells plus every cell within `pad_ring` steps of them (sorted uint64, unique)."""
    return disk_cells(cells, k=pad_ring)


def getis_ord(*, cells: np.ndarray, values: np.ndarray, pad_ring: int = 1, k: int = 1,
              method: Literal["normal", "permutation"] = "normal", permutations: int = 999,
              seed: int = 12345) -> pd.DataFrame:
    """Gi* per H3 cell: value, z, p (two-sided), class 'hot99'|'hot95'|'cold95'|'cold99'|'ns'.

    `cells` (uint64, unique) carry `values` (e.g. detection counts or summed FRP). Cells within
    `pad_ring` steps that have no value join the study area with value 0, so a lone burning cell is
    compared with the unburnt land around it rather than only with other burning cells. Weights are
    binary H3 grid neighbours within `k` steps; Gi* includes the cell itself. Fewer than 3 cells,
    or no variation at all, gives every cell 'ns'.
    """
    cells = np.asarray(cells, dtype=np.uint64)
    values = np.asarray(values, dtype=np.float64)
    if cells.shape != values.shape:
        raise ValueError("cells and values must have the same length")
    if len(np.unique(cells)) != len(cells):
        raise ValueError("cells must be unique (aggregate first)")
    area = study_cells(cells, pad_ring=pad_ring)
    y = np.zeros(len(area))
    y[np.searchsorted(area, cells)] = np.nan_to_num(values)
    n = len(area)
    out = pd.DataFrame({"cell": area, "value": y, "observed": np.isin(area, cells),
                        "z": np.nan, "p": np.nan, "cls": "ns"})
    if n < MIN_CELLS or np.ptp(y) == 0:
        return out

    i, j = neighbour_pairs(area, k=k)
    z, p = _gi_star(y, i, j, method=method, permutations=permutations, seed=seed)
    out["z"] = z
    out["p"] = p
    out["cls"] = classify(z=z, p=p if method == "permutation" else None)
    return out


def _gi_star(y: np.ndarray, i: np.ndarray, j: np.ndarray, *, method: str, permutations: int,
             seed: int) -> tuple[np.ndarray, np.ndarray]:
    """esda G_Local(star=True) with binary weights built from the neighbour index pairs."""
    import esda
    from libpysal.weights import WSP

    n = len(y)
    adj = sparse.csr_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
    with warnings.catch_warnings():
        # Cells with no neighbour in the study area are islands; Gi* still scores them on their own value.
        warnings.simplefilter("ignore")
        w = WSP(adj).to_W(silence_warnings=True)
        w.transform = "B"
        g = esda.G_Local(y, w, transform="B", star=True,
                         permutations=permutations if method == "permutation" else 0,
                         seed=seed, keep_simulations=False, n_jobs=1)
    z = np.asarray(g.Zs, dtype=np.float64)
    p = np.asarray(g.p_sim, dtype=np.float64) if method == "permutation" else 2.0 * special.ndtr(-np.abs(z))
    return z, p


def classify(*, z: np.ndarray, p: np.ndarray | None = None) -> np.ndarray:
    """Hot/cold classes from z (normal thresholds) or, given p, from p <= 0.01 / 0.05 and the sign of z."""
    z = np.asarray(z, dtype=np.float64)
    out = np.full(len(z), "ns", dtype=object)
    finite = np.isfinite(z)
    if p is None:
        a = np.where(finite, np.abs(z), 0.0)
        sig99, sig95 = a >= Z99, a >= Z95
    else:
        p = np.where(np.isfinite(p), p, 1.0)
        sig99, sig95 = p <= 0.01, p <= 0.05
    hot = finite & (z > 0)
    cold = finite & (z < 0)
    out[cold & sig95] = "cold95"
    out[cold & sig99] = "cold99"
    out[hot & sig95] = "hot95"
    out[hot & sig99] = "hot99"
    return out


__all__ = ["CLASSES", "MIN_CELLS", "classify", "getis_ord", "study_cells"]
