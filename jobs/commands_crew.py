"""Crew subcommands: `sigap crew vapid [--rotate]` makes the Web Push (VAPID) key pair, kept in the database."""

from __future__ import annotations

import argparse

from jobs.commands_core import open_database
from store.accounts import record_audit
from store.db import session_scope
from store.notify import ensure_vapid_key


def cmd_vapid(args: argparse.Namespace) -> int:
    """Make the VAPID key pair when there is none (or a new one with --rotate); print the public key."""
    _, sessions = open_database()
    with session_scope(sessions) as session:
        public = ensure_vapid_key(session, rotate=args.rotate)
        record_audit(session, actor="cli", action="crew.vapid", entity="vapid_key", entity_id=None,
                     after={"public_key": public, "rotated": bool(args.rotate)})
    print(f"Kunci publik VAPID / VAPID public key: {public}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `crew` subcommands."""
    crew = sub.add_parser("crew", help="HP kru dan notifikasi / crew phones and notifications")
    crew_sub = crew.add_subparsers(dest="crew_command", required=True, metavar="ACTION")
    p = crew_sub.add_parser("vapid", help="buat kunci Web Push (VAPID) / make the Web Push (VAPID) keys")
    p.add_argument("--rotate", action="store_true", help="ganti kunci yang ada / replace the existing key")
    p.set_defaults(handler=cmd_vapid)
