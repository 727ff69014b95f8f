"""Core subcommands: migrate, load the bundled layers, serve the API."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from api.config import Settings, UnsafeSettingsError, get_settings, is_loopback
from store.db import backend_name, make_engine, make_sessionmaker, session_scope
from store.layers import is_empty, load_bundled
from store.migrate import upgrade

# PostGIS serves from several processes (events go through LISTEN/NOTIFY): one per core of the target machine.
DEFAULT_POSTGIS_WORKERS = 2


def open_database():  # noqa: ANN201 - (engine, sessionmaker)
    """Engine and session factory for the configured database, migrated to the newest schema."""
    settings = get_settings()
    engine = make_engine(settings.database_url, spatialite_library_path=settings.spatialite_library_path)
    upgrade(engine)
    return engine, make_sessionmaker(engine)


def cmd_migrate(args: argparse.Namespace) -> int:
    """Apply pending migrations; on PostGIS with --app-role, also create the platform's own non-superuser role."""
    engine, _ = open_database()
    print(f"Skema mutakhir / schema up to date ({backend_name(engine)})")
    if getattr(args, "app_role", None):
        if engine.dialect.name != "postgresql":
            print("--app-role hanya untuk PostGIS / --app-role is for PostGIS only", file=sys.stderr)
            return 2
        from store.roles import ensure_app_role

        password = (sys.stdin.readline().rstrip("\r\n") if args.app_password_stdin
                    else os.environ.get("SIGAP_APP_PASSWORD", ""))
        try:
            ensure_app_role(engine, role=args.app_role, password=password)
        except ValueError as exc:
            print(str(exc), file=sys.stderr)
            return 2
        url = engine.url.set(username=args.app_role, password=None).render_as_string(hide_password=True)
        print(f"Peran '{args.app_role}' siap (bukan superuser) / role ready (not a superuser); serve with "
              f"SIGAP_DATABASE_URL={url} (password from SIGAP_APP_PASSWORD, not printed)")
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    """Load the bundled layers; with --if-empty only when no desa is stored."""
    engine, sessions = open_database()
    if args.if_empty and not is_empty(engine):
        print("Data batas wilayah sudah ada / boundaries already loaded")
        return 0
    data_dir = Path(args.data_dir) if args.data_dir else get_settings().data_dir
    with session_scope(sessions) as session:
        report = load_bundled(session, data_dir)
    for name, count in report.counts.items():
        print(f"  {name:10s} {count:5d} baris / rows  ({report.written[name]} ditulis / written)")
    return 0


def _print_demo_accounts() -> None:
    """Create the demo accounts (demo mode on localhost only) and show them."""
    from store.accounts import ensure_demo_accounts

    _, sessions = open_database()
    with session_scope(sessions) as session:
        accounts = ensure_demo_accounts(session)
    print("Akun demo (hanya mode demo di localhost) / demo accounts (demo mode on localhost only):")
    for username, role, password in accounts:
        print(f"  {username:10s} {role:10s} {password}")


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the API with uvicorn."""
    import uvicorn

    base = get_settings()
    host = args.host or base.host
    port = args.port or base.port
    if args.demo and not is_loopback(host):
        print(f"--demo hanya di 127.0.0.1, bukan {host} / --demo runs on 127.0.0.1 only, not {host}",
              file=sys.stderr)
        return 2
    # The workers read their settings from the environment: the bind address decides whether demo accounts
    # work and whether the default secret is allowed, so it must be the one they see.
    os.environ["SIGAP_HOST"], os.environ["SIGAP_PORT"] = host, str(port)
    get_settings.cache_clear()
    try:
        settings = get_settings()
    except UnsafeSettingsError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if settings.demo_accounts_allowed:
        _print_demo_accounts()
    print(f"SIGAP 112 berjalan di / running at http://{host}:{port}/  (peta / map: http://{host}:{port}/map)")
    if args.demo:
        from jobs.commands_demo import start_in_background

        start_in_background(host=host, port=port)
    workers = args.workers or (DEFAULT_POSTGIS_WORKERS if settings.is_postgis else 1)
    if workers > 1 and not settings.is_postgis:
        # SpatiaLite events fan out in-process and its writers queue in-process: one process only.
        print("SpatiaLite: hanya 1 worker / only 1 worker (--workers diabaikan / ignored)")
        workers = 1
    # httptools and uvloop come with uvicorn[standard] and are picked automatically. The access log is
    # off unless asked for: one formatted log line per request costs more than a small GET itself.
    _raise_open_files_limit()
    uvicorn.run(
        "jobs.server:app",
        **front_door_options(settings),
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=args.access_log,
        timeout_graceful_shutdown=5,
    )
    return 0


def front_door_options(settings: Settings) -> dict[str, Any]:
    """uvicorn settings that keep idle, slow and numerous clients from taking the server off the air."""
    return {
        # Header deadline, header size cap, connection cap shedding the slowest (jobs/front_door.py).
        "http": "jobs.front_door:GuardedHttpToolsProtocol",
        "timeout_keep_alive": settings.keep_alive_s,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        # Requests in flight beyond this get 503 at once instead of queueing without end; above the connection
        # cap so that the cap (which sheds slow header senders) acts first.
        "limit_concurrency": settings.max_connections + 64,
        "backlog": 4096,
        # X-Forwarded-For is believed only from the reverse proxy (deploy/Caddyfile); direct clients cannot
        # choose the address their rate limits and audit entries are keyed on.
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
    }


def _raise_open_files_limit() -> None:
    """Raise the soft open-files limit to the hard one: every connection holds a file descriptor."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY or hard > soft:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 65536, hard))
    except (ImportError, ValueError, OSError):
        pass


def register(sub: argparse._SubParsersAction) -> None:
    """Add the core subcommands."""
    p = sub.add_parser("migrate", help="terapkan migrasi / apply migrations")
    p.add_argument("--app-role", help="PostGIS: buat peran aplikasi tanpa superuser / create the platform's role")
    p.add_argument("--app-password-stdin", action="store_true",
                   help="kata sandi peran dari stdin (bawaan: SIGAP_APP_PASSWORD) / the role's password from stdin")
    p.set_defaults(handler=cmd_migrate)
    p = sub.add_parser("load", help="muat lapisan bawaan / load bundled layers")
    p.add_argument("--data-dir", help="folder data (bawaan: data/)")
    p.add_argument("--if-empty", action="store_true", help="hanya jika basis data kosong / only when empty")
    p.set_defaults(handler=cmd_load)
    p = sub.add_parser("serve", help="jalankan API dan peta / serve the API and map")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--workers", type=int, help="proses API / API processes (bawaan: 2 PostGIS, 1 SpatiaLite)")
    p.add_argument("--access-log", action="store_true", help="catat setiap permintaan / log every request")
    p.add_argument("--demo", action="store_true", help="unit demo dan simulasi panggilan / demo units and calls")
    p.set_defaults(handler=cmd_serve)
