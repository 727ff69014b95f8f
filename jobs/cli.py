"""The `sigap` console script: one entry point, one subcommand per job."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

from api.config import UnsafeSettingsError
from jobs import (
    commands_accounts,
    commands_backup,
    commands_calldesk,
    commands_core,
    commands_crew,
    commands_demo,
    commands_hotspots,
    commands_network,
    commands_reports,
)

# Each module registers its own subcommands with `register(subparsers)`.
COMMAND_MODULES = [commands_core, commands_network, commands_accounts, commands_demo]
COMMAND_MODULES += [commands_hotspots, commands_reports, commands_calldesk, commands_backup, commands_crew]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="sigap",
        description="SIGAP 112 Barito Selatan: layanan, data dan pekerjaan terjadwal / "
        "services, data and scheduled jobs",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log lebih rinci / verbose logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except UnsafeSettingsError as exc:
        # Refused at start with the reason; the rejected value itself is never printed.
        print(str(exc), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
