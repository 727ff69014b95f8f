"""Data versions: a token per cached dataset that changes with every write to it (triggers of migration 0040).

A cache keyed by the token read before its data is never stale: a write commits a new token, so every read
after that commit misses the old entries. No row (a database emptied by hand) means "unknown": nothing is cached.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.models import Base


class DataVersion(Base):
    """The current token of one dataset (only 'hotspot' so far), set anew by triggers on each write."""

    __tablename__ = "data_version"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    token: Mapped[int] = mapped_column(BigInteger, nullable=False)


def data_version(session: Session, name: str) -> int | None:
    """The dataset's current token, or None when there is none (then nothing may be cached)."""
    return session.execute(select(DataVersion.token).where(DataVersion.name == name)).scalar_one_or_none()
