"""Kecamatan 62.04.05 under its official name, "Gunung Bintang Awai".

The boundary source abbreviates it "Gn. Bintang Awai"; the bundled layers now carry the official name
(data/SOURCES.md). A database loaded before holds the abbreviation in kecamatan.nama and desa.kecamatan, and
`sigap load --if-empty` would never rewrite it: renamed here. Only that exact bundled name changes (layers of
the regency's own keep theirs); incidents keep the locate answer they were recorded with.

Revision ID: 0009_kecamatan_official_name
Revises: 0001_layers
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_kecamatan_official_name"
down_revision = "0001_layers"
branch_labels = None
depends_on = None

CODE = "62.04.05"
ABBREVIATED = "Gn. Bintang Awai"
OFFICIAL = "Gunung Bintang Awai"


def _rename(old: str, new: str) -> None:
    names = {"code": CODE, "old": old, "new": new}
    op.execute(sa.text("UPDATE kecamatan SET nama = :new WHERE kode = :code AND nama = :old").bindparams(**names))
    op.execute(
        sa.text("UPDATE desa SET kecamatan = :new WHERE kecamatan_kode = :code AND kecamatan = :old").bindparams(
            **names
        )
    )


def upgrade() -> None:
    _rename(ABBREVIATED, OFFICIAL)


def downgrade() -> None:
    _rename(OFFICIAL, ABBREVIATED)
