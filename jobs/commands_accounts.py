"""Account subcommands: `sigap user add|list|disable|enable|delete|passwd`."""

from __future__ import annotations

import argparse
import getpass
import sys

from jobs.commands_core import open_database
from store.accounts import (
    ROLES,
    WeakPasswordError,
    add_user,
    delete_user,
    find_user,
    list_users,
    record_audit,
    set_active,
    set_password,
)
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


def cmd_user_list(_: argparse.Namespace) -> int:
    """Print every account: name, role, agency, active, demo."""
    _, sessions = open_database()
    with session_scope(sessions) as session:
        users = list_users(session)
        print(f"{'username':20s} {'role':10s} {'agency':10s} {'active':6s} demo")
        for u in users:
            print(f"{u.username:20s} {u.role:10s} {u.agency or '-':10s} {'ya' if u.active else 'tidak':6s} "
                  f"{'ya' if u.demo else '-'}")
    return 0


def _change(username: str, action: str, change) -> int:  # noqa: ANN001 - (session, user) -> None
    _, sessions = open_database()
    try:
        with session_scope(sessions) as session:
            user = find_user(session, username)
            if user is None:
                print(f"Akun '{username}' tidak ada / no such account", file=sys.stderr)
                return 1
            user_id = user.id
            change(session, user)
            record_audit(session, actor="cli", action=f"user.{action}", entity="user", entity_id=user_id,
                         after={"username": username})
    except WeakPasswordError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(f"Akun '{username}': {action} / account '{username}': {action} (sesi lama diakhiri / old sessions ended)")
    return 0


def cmd_user_disable(args: argparse.Namespace) -> int:
    """Disable an account: it cannot log in and its tokens are refused at once."""
    return _change(args.username, "disable", lambda s, u: set_active(s, u, False))


def cmd_user_enable(args: argparse.Namespace) -> int:
    """Enable a disabled account (it logs in again; old tokens stay refused)."""
    return _change(args.username, "enable", lambda s, u: set_active(s, u, True))


def cmd_user_delete(args: argparse.Namespace) -> int:
    """Delete an account; its audit entries stay."""
    return _change(args.username, "delete", delete_user)


def cmd_user_passwd(args: argparse.Namespace) -> int:
    """Change an account's password (stdin or hidden prompt); its old tokens are refused at once."""
    password = _read_password(args)
    if password is None:
        print("Kata sandi tidak sama / passwords do not match", file=sys.stderr)
        return 2
    return _change(args.username, "passwd", lambda s, u: set_password(s, u, password))


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
    user_sub.add_parser("list", help="daftar akun / list accounts").set_defaults(handler=cmd_user_list)
    for name, handler, text in (("disable", cmd_user_disable, "nonaktifkan / disable"),
                                ("enable", cmd_user_enable, "aktifkan / enable"),
                                ("delete", cmd_user_delete, "hapus / delete")):
        p = user_sub.add_parser(name, help=f"{text} akun / account")
        p.add_argument("username")
        p.set_defaults(handler=handler)
    p = user_sub.add_parser("passwd", help="ganti kata sandi / change password")
    p.add_argument("username")
    p.add_argument("--password-stdin", action="store_true",
                   help="baca kata sandi dari stdin / read the password from stdin")
    p.set_defaults(handler=cmd_user_passwd)
