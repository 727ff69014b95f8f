"""Account subcommands: `sigap user add USERNAME --role ROLE [--password-stdin]`."""

from __future__ import annotations

import argparse
import getpass
import sys

from jobs.commands_core import open_database
from store.accounts import ROLES, WeakPasswordError, add_user, record_audit
from store.db import session_scope


def _read_password(args: argparse.Namespace) -> str | None:
    """The password from stdin (first line) or typed twice at a hidden prompt; None when they differ."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Kata sandi / password: ")
    second = getpass.getpass("Ulangi / repeat: ")
    return first if first == second else None


def cmd_user_add(args: argparse.Namespace) -> int:
    """Create an account (or reset its password and role); never echoes the password."""
    password = _read_password(args)
    if password is None:
        print("Kata sandi tidak sama / passwords do not match", file=sys.stderr)
        return 2
    _, sessions = open_database()
    try:
        with session_scope(sessions) as session:
            user = add_user(
                session,
                username=args.username,
                password=password,
                role=args.role,
                full_name=args.full_name or "",
                agency=args.agency,
            )
            record_audit(
                session,
                actor="cli",
                action="user.add",
                entity="user",
                entity_id=user.id,
                after={"username": user.username, "role": user.role, "agency": user.agency},
            )
    except (WeakPasswordError, ValueError) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(f"Akun '{args.username}' ({args.role}) tersimpan / account saved")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `user` subcommands."""
    user = sub.add_parser("user", help="kelola akun / manage accounts")
    user_sub = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    p = user_sub.add_parser("add", help="tambah akun / add an account")
    p.add_argument("username")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--full-name", default="")
    p.add_argument("--agency")
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="baca kata sandi dari stdin / read the password from stdin",
    )
    p.set_defaults(handler=cmd_user_add)
