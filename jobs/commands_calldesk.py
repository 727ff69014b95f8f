"""`sigap pbx-bridge` (Asterisk AMI -> the signed webhook) and `sigap extension` (seat an operator at a PBX phone)."""

from __future__ import annotations

import argparse
import os

from jobs.asterisk_bridge import AmiBridge, serve_forever
from jobs.commands_core import open_database
from store.commands import Writer
from store.commands.calls import set_extension
from store.events import EventHub


def cmd_bridge(args: argparse.Namespace) -> int:
    """Bridge the Asterisk Manager Interface to the SIGAP webhook until stopped."""
    secret = args.secret or os.environ.get("SIGAP_TELEPHONY_SECRET")
    if not secret:
        print("SIGAP_TELEPHONY_SECRET belum diisi / is not set")
        return 2
    bridge = AmiBridge(url=args.url, secret=secret, context=args.context)
    serve_forever(host=args.ami_host, port=args.ami_port, user=args.ami_user,
                  password=args.ami_secret or os.environ.get("SIGAP_AMI_SECRET", ""), bridge=bridge)
    return 0


def cmd_extension(args: argparse.Namespace) -> int:
    """Seat an operator at an extension (or free it with --free)."""
    engine, sessions = open_database()
    try:
        w = Writer(sessions=sessions, hub=EventHub(engine), actor="cli")
        set_extension(w, extension=args.extension, username=None if args.free else args.username)
    finally:
        engine.dispose()
    print(f"{args.extension}: {'-' if args.free else args.username}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add `sigap pbx-bridge` and `sigap extension`."""
    p = sub.add_parser("pbx-bridge", help="jembatan Asterisk AMI ke webhook / Asterisk AMI to webhook bridge")
    p.add_argument("--ami-host", default="127.0.0.1")
    p.add_argument("--ami-port", type=int, default=5038)
    p.add_argument("--ami-user", default="sigap")
    p.add_argument("--ami-secret", default=None, help="atau / or SIGAP_AMI_SECRET")
    p.add_argument("--url", default="http://127.0.0.1:8112", help="alamat SIGAP / the SIGAP base URL")
    p.add_argument("--secret", default=None, help="atau / or SIGAP_TELEPHONY_SECRET")
    p.add_argument("--context", default="from-112", help="konteks dialplan 112 / the 112 dialplan context")
    p.set_defaults(handler=cmd_bridge)
    e = sub.add_parser("extension", help="operator di ekstensi PBX / seat an operator at a PBX extension")
    e.add_argument("extension")
    e.add_argument("username", nargs="?")
    e.add_argument("--free", action="store_true", help="kosongkan / free the extension")
    e.set_defaults(handler=cmd_extension)
