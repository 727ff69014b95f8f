"""Settings for SIGAP 112, read once from environment variables prefixed ``SIGAP_``."""

from __future__ import annotations

import math
import re
import secrets
from collections import Counter
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from geo.layers import DEFAULT_DATA_DIR

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SECRET = "sigap-112-demo-secret-not-for-production-use"
_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
# A production secret must carry at least this many bits by a per-character (Shannon) estimate:
# secrets.token_urlsafe(32) gives ~200, 40 x 'a' gives 0.
MIN_SECRET_BITS = 128


class UnsafeSettingsError(Exception):
    """A start-up refused because the settings are unsafe; the message never holds the secret itself.

    Not a ValueError on purpose: pydantic would wrap a ValueError together with the input values (the secret
    among them) into its error text; this one propagates as it is.
    """


def is_loopback(host: str) -> bool:
    """True for an address only this machine can reach."""
    return host in _LOCAL_HOSTS or host.startswith("127.")


def secret_bits(secret: str) -> float:
    """A rough entropy estimate of a secret: length x Shannon entropy of its characters."""
    if not secret:
        return 0.0
    counts = Counter(secret)
    n = len(secret)
    per_char = -sum(c / n * math.log2(c / n) for c in counts.values())
    return per_char * n


def parse_thresholds(value: str) -> dict[str, float]:
    """'dikirim=3,tiba=60' as {'dikirim': 3.0, 'tiba': 60.0}; ValueError naming a bad part."""
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in value.split(","))):
        name, _, minutes = part.partition("=")
        try:
            out[name.strip()] = float(minutes)
        except ValueError:
            raise ValueError(f"bad threshold {part!r}: want status=minutes") from None
        if not out[name.strip()] > 0:
            raise ValueError(f"bad threshold {part!r}: minutes must be > 0")
    return out


class Settings(BaseSettings):
    """Platform settings; production refuses the unsafe defaults that demo mode accepts."""

    model_config = SettingsConfigDict(env_prefix="SIGAP_", env_file=".env", extra="ignore")

    mode: Literal["demo", "production"] = "demo"
    database_url: str = f"sqlite:///{PROJECT_ROOT / 'var' / 'sigap.sqlite'}"
    data_dir: Path = DEFAULT_DATA_DIR
    host: str = "127.0.0.1"
    port: int = 8112
    secret_key: str = DEFAULT_SECRET
    token_minutes: int = Field(default=480, ge=1, le=7 * 24 * 60)
    spatialite_library_path: str = "mod_spatialite"
    max_batch_points: int = Field(default=100_000, ge=1)
    # Locate batches run in this many child processes per worker, at this niceness, so they never take the CPU
    # from call intake (0: in a thread of the worker, at its priority).
    # Login attempts one client address may make per minute (shared by every worker; then 429).
    login_attempts_per_minute: int = Field(default=30, ge=1)
    # Flood zones one client address may create, and edit, per minute (shared by every worker; then 429).
    flood_writes_per_minute: int = Field(default=30, ge=1)
    # Vertices a flood polygon may have (more: 413 naming the field), and how long repairing an invalid one may
    # take in the lower-priority repair process before it is refused as too complex (422).
    flood_max_vertices: int = Field(default=20_000, ge=4)
    flood_repair_timeout_s: float = Field(default=5.0, gt=0)
    batch_processes: int = Field(default=1, ge=0, le=8)
    batch_nice: int = Field(default=10, ge=0, le=19)
    max_upload_bytes: int = Field(default=1_000_000, ge=1)
    # The address people and GIS clients reach the platform at (behind the reverse proxy), for links in answers
    # (OGC API). Unset: http://host:port of this process.
    public_url: str | None = None
    basemap_url: str | None = None
    basemap_attribution: str = ""
    firms_url: str | None = None
    firms_map_key: str | None = None
    firms_interval_minutes: int = Field(default=30, ge=1)
    stale_position_minutes: int = Field(default=10, ge=1)
    # Crews (issue 17): a pairing code's lifetime, and how many positions / taps one crew phone may send a minute.
    crew_pairing_minutes: int = Field(default=10, ge=1, le=24 * 60)
    crew_positions_per_minute: int = Field(default=30, ge=1)
    crew_taps_per_minute: int = Field(default=60, ge=1)
    # How often the crew page sends its GPS position (seconds, 10-30; skipped when the phone has not moved).
    crew_gps_interval_s: int = Field(default=15, ge=1, le=300)
    # How often each worker checks whether the hotspot data changed, to read the planners' recent windows
    # anew before they ask (0: never; the first request after a change then reads them).
    hotspot_refresh_s: float = Field(default=1.0, ge=0, le=600)
    # A dispatched unit that has not acknowledged within this many seconds raises an alert on the board.
    crew_ack_alert_s: float = Field(default=60.0, gt=0, le=3600)
    # The notification queue: a claim older than the lease is a worker that died mid-send (sent again), and
    # how long one channel request may take.
    crew_notify_lease_s: float = Field(default=60.0, gt=0, le=3600)
    crew_notify_timeout_s: float = Field(default=10.0, gt=0, le=120)
    crew_notify_max_tries: int = Field(default=6, ge=1, le=50)
    crew_notify_backoff_s: float = Field(default=2.0, gt=0, le=600)
    # Dispatch notification channels (credentials: environment / .env only, never logged). Telegram Bot API,
    # WhatsApp Cloud API, an SMS gateway over HTTP; each inbound webhook checked by its secret or signature.
    telegram_api_url: str = "https://api.telegram.org"
    telegram_bot_token: str | None = Field(default=None, repr=False)
    telegram_webhook_secret: str | None = Field(default=None, repr=False)
    whatsapp_api_url: str = "https://graph.facebook.com/v19.0"
    whatsapp_token: str | None = Field(default=None, repr=False)
    whatsapp_phone_number_id: str | None = None
    whatsapp_app_secret: str | None = Field(default=None, repr=False)
    sms_gateway_url: str | None = None
    sms_gateway_secret: str | None = Field(default=None, repr=False)
    # Web Push: the VAPID "sub" claim (a contact for the push services); the keys are in the database.
    webpush_subject: str = "mailto:admin@localhost"
    # A desa counts as flooded (leader page, reports) only when at least this share of its area is under water:
    # a zone that merely touches a desa's edge leaves it dry.
    flooded_share: float = Field(default=0.05, gt=0, le=1)
    # Response targets the figures are measured against ("9 dari 10 panggilan dikirim dalam 2 menit").
    target_dispatch_minutes: float = Field(default=2.0, gt=0, le=24 * 60)
    target_scene_minutes: float = Field(default=30.0, gt=0, le=24 * 60)
    # Unit status board (issue 15): minutes a status may last before the unit turns amber ("status=minutes,..."),
    # red at `board_red_factor` times as long.
    board_thresholds: str = "dikirim=3,tiba=60"
    board_red_factor: float = Field(default=2.0, ge=1, le=100)
    # A boat's crew walks at most this far from the landing (m); farther calls are "tidak terjangkau lewat sungai".
    boat_walk_max_m: float = Field(default=1000.0, ge=0, le=50_000)
    # Call card (issue 16): amber/red time-in-state per state and priority (JSON {"baru": {"P1": [30, 60]}}
    # overrides those given), and the bold duplicate banner before a call is created.
    state_timers: dict[str, dict[str, tuple[float, float]]] = Field(default_factory=dict)
    duplicate_banner_radius_m: float = Field(default=1000.0, gt=0, le=50_000)
    duplicate_banner_minutes: float = Field(default=60.0, gt=0, le=24 * 60)
    aml_stale_minutes: float = Field(default=15.0, gt=0, le=24 * 60)  # an older AML fix is flagged
    # When the daily situation report is made (WIB, HH:MM); "off" turns the scheduled report off.
    report_time: str = "07:00"
    # How long a thread may hold the GIL before another may take it. CPython's 5 ms lets one thread
    # building a large response hold up the event loop and every database round trip of the others;
    # 1 ms cut p95 latency of the mixed load benchmark (bench/load.py) by about a third.
    gil_switch_ms: float = Field(default=1.0, gt=0, le=100)
    # The phone system's shared secret: POST /api/telephony/* must carry an HMAC-SHA256 of timestamp and body
    # made with it (unset: the PBX endpoints refuse everything). A signature older than the window is refused.
    telephony_secret: str | None = None
    telephony_window_s: int = Field(default=300, ge=10, le=3600)

    @field_validator("board_thresholds")
    @classmethod
    def _check_board_thresholds(cls, value: str) -> str:
        parse_thresholds(value)
        return value

    @property
    def board_threshold_minutes(self) -> dict[str, float]:
        """The board's thresholds as {status: minutes}."""
        return parse_thresholds(self.board_thresholds)
    # The front door (`sigap serve`): a request header must arrive within header_timeout_s and hold at most
    # max_header_bytes; a request body must arrive within body_timeout_s plus one second per body_min_rate bytes;
    # at most max_connections are open per process (the slowest header senders are closed first); idle kept-alive
    # connections close after keep_alive_s.
    header_timeout_s: float = Field(default=10.0, gt=0, le=300)
    max_header_bytes: int = Field(default=65_536, ge=1024)
    body_timeout_s: float = Field(default=20.0, gt=0, le=3600)
    body_min_rate: int = Field(default=50_000, ge=1)
    max_connections: int = Field(default=4000, ge=10)
    # Addresses whose X-Forwarded-For is believed: the reverse proxy only (comma-separated, as uvicorn takes it).
    forwarded_allow_ips: str = "127.0.0.1"
    keep_alive_s: float = Field(default=5.0, gt=0, le=300)
    # Live event streams: open at once per account and in all (every worker), and how often an open stream checks that
    # its token still holds (revoked, disabled); a stream always ends when its token expires.
    streams_per_user: int = Field(default=8, ge=1)
    streams_total: int = Field(default=400, ge=1)
    stream_recheck_s: float = Field(default=15.0, gt=0, le=300)
    # An open stream's slot lapses unless renewed (at each re-check) within this many seconds: a worker that died
    # gives its streams' slots back after it.
    stream_lease_s: float = Field(default=90.0, ge=45.0)

    @field_validator("report_time")
    @classmethod
    def _check_report_time(cls, value: str) -> str:
        value = value.strip().lower()
        if value in ("off", ""):
            return "off"
        if not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", value):
            raise ValueError(
                f"SIGAP_REPORT_TIME harus JJ:MM (WIB) atau 'off', bukan {value!r} / "
                f"SIGAP_REPORT_TIME must be HH:MM (WIB) or 'off', not {value!r}"
            )
        hour, minute = value.split(":")
        return f"{int(hour):02d}:{minute}"

    @property
    def report_clock(self) -> time | None:
        """The WIB time of day the daily report is made, or None when the scheduled report is off."""
        if self.report_time == "off":
            return None
        hour, minute = self.report_time.split(":")
        return time(int(hour), int(minute))

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.mode == "production":
            weak = (self.secret_key == DEFAULT_SECRET or len(self.secret_key) < 32
                    or secret_bits(self.secret_key) < MIN_SECRET_BITS)
            if weak:
                # The rejected value is never repeated: it may be a real secret with a typo.
                raise UnsafeSettingsError(
                    "SIGAP_SECRET_KEY wajib diisi (>= 32 karakter acak, tidak berulang) pada mode production / "
                    "SIGAP_SECRET_KEY must be >= 32 random, non-repetitive characters in production mode; "
                    f"for example: {secrets.token_urlsafe(32)}"
                )
        if not is_loopback(self.host) and self.secret_key == DEFAULT_SECRET:
            # The default secret is published: anyone could sign a token for any account.
            raise UnsafeSettingsError(
                f"Rahasia bawaan tidak boleh dipakai pada alamat {self.host}; isi SIGAP_SECRET_KEY atau pakai "
                f"127.0.0.1 / the default secret may not be used on {self.host}; set SIGAP_SECRET_KEY or bind "
                "to 127.0.0.1"
            )
        return self

    @property
    def public_base(self) -> str:
        """The public base URL without a trailing slash."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"

    @property
    def is_postgis(self) -> bool:
        """True when the configured database is PostgreSQL/PostGIS."""
        return self.database_url.startswith("postgresql")

    @property
    def demo_accounts_allowed(self) -> bool:
        """Demo accounts exist only in demo mode bound to the local machine."""
        return self.mode == "demo" and is_loopback(self.host)


@lru_cache
def get_settings() -> Settings:
    """Settings read from the environment once per process."""
    return Settings()
