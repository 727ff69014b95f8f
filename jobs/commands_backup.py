"""`sigap backup [FILE]` and `sigap restore FILE [--force]`: copies of either backend, made while the platform runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from api.config import PROJECT_ROOT, get_settings
from geo.times import utcnow
from store.backup import BackupError, backup, restore


def default_backup_path(*, postgis: bool) -> Path:
    """var/backups/sigap-YYYYmmdd-HHMMSS.(dump|sqlite) (UTC)."""
    stamp = utcnow().strftime("%Y%m%d-%H%M%S")
    return PROJECT_ROOT / "var" / "backups" / f"sigap-{stamp}.{'dump' if postgis else 'sqlite'}"


def cmd_backup(args: argparse.Namespace) -> int:
    """Back up the configured database to a file."""
    settings = get_settings()
    out = Path(args.file) if args.file else default_backup_path(postgis=settings.is_postgis)
    try:
        path = backup(settings.database_url, out)
    except BackupError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(f"Cadangan tersimpan / backup written: {path} ({path.stat().st_size} byte)")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """Restore a backup into the configured database (or --database-url); stop the platform first."""
    settings = get_settings()
    url = args.database_url or settings.database_url
    try:
        restore(Path(args.file), url, replace=args.force)
    except BackupError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print("Cadangan dipulihkan / backup restored; jalankan / then run: sigap migrate")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the backup and restore subcommands."""
    p = sub.add_parser("backup", help="cadangkan basis data / back up the database")
    p.add_argument("file", nargs="?", help="berkas tujuan / output file (bawaan: var/backups/sigap-<waktu>)")
    p.set_defaults(handler=cmd_backup)
    p = sub.add_parser("restore", help="pulihkan cadangan / restore a backup")
    p.add_argument("file")
    p.add_argument("--database-url", help="basis data tujuan / target database (bawaan: SIGAP_DATABASE_URL)")
    p.add_argument("--force", action="store_true", help="timpa basis data yang berisi / replace a non-empty one")
    p.set_defaults(handler=cmd_restore)
