"""Dispatch notification adapters, one small interface for each outside channel: Telegram Bot API, WhatsApp Cloud
API and an SMS gateway over HTTP. Each sends one text to one address and says what became of it; credentials
come from the settings and never appear in an answer, an attempt's detail or a log line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

import httpx
import requests

from api.config import Settings

__all__ = ["Channel", "SendResult", "SmsGateway", "Telegram", "WhatsApp", "configured_channels", "send_webpush"]

log = logging.getLogger("sigap.channels")
TIMEOUT_S = 10.0


@dataclass(frozen=True)
class SendResult:
    """What became of one message: sent (with the channel's message id) or failed (with a reason)."""

    ok: bool
    external_id: str | None = None
    detail: str | None = None
    permanent: bool = False  # no retry can help (not configured, subscription gone)


class Channel(Protocol):
    """A way to reach a unit: send a text to an address."""

    @property
    def name(self) -> str:
        """The channel's name as attempts record it (telegram, whatsapp, sms)."""
        ...

    def send(self, client: httpx.Client, address: str, text: str) -> SendResult:
        """Send `text` to `address` (a chat id or phone number)."""
        ...


def _failed(exc_or_status: object) -> SendResult:
    return SendResult(False, None, f"gagal / failed: {exc_or_status}"[:300])


@dataclass(frozen=True)
class Telegram:
    """Telegram Bot API: POST {api}/bot{token}/sendMessage {chat_id, text} -> {"ok": true, "result": {...}}."""

    api_url: str
    token: str = field(default="", repr=False)
    name: str = "telegram"

    def send(self, client: httpx.Client, address: str, text: str) -> SendResult:
        """Send a message to a chat."""
        try:
            r = client.post(f"{self.api_url.rstrip('/')}/bot{self.token}/sendMessage",
                            json={"chat_id": address, "text": text}, timeout=TIMEOUT_S)
            body = r.json()
        except (httpx.HTTPError, ValueError) as exc:
            return _failed(type(exc).__name__)
        if r.status_code == 200 and body.get("ok"):
            return SendResult(True, str(body.get("result", {}).get("message_id")), None)
        return _failed(f"HTTP {r.status_code} {str(body.get('description', ''))[:120]}")


@dataclass(frozen=True)
class WhatsApp:
    """WhatsApp Cloud API: POST {api}/{phone_number_id}/messages (Bearer) -> {"messages": [{"id": "wamid..."}]}."""

    api_url: str
    phone_number_id: str
    token: str = field(default="", repr=False)
    name: str = "whatsapp"

    def send(self, client: httpx.Client, address: str, text: str) -> SendResult:
        """Send a text message to a WhatsApp number."""
        try:
            r = client.post(f"{self.api_url.rstrip('/')}/{self.phone_number_id}/messages",
                            headers={"Authorization": f"Bearer {self.token}"},
                            json={"messaging_product": "whatsapp", "recipient_type": "individual", "to": address,
                                  "type": "text", "text": {"preview_url": False, "body": text}}, timeout=TIMEOUT_S)
            body = r.json()
        except (httpx.HTTPError, ValueError) as exc:
            return _failed(type(exc).__name__)
        messages = body.get("messages") if isinstance(body, dict) else None
        if r.status_code == 200 and messages:
            return SendResult(True, str(messages[0].get("id")), None)
        error = body.get("error", {}) if isinstance(body, dict) else {}
        return _failed(f"HTTP {r.status_code} {str(error.get('message', ''))[:120]}")


@dataclass(frozen=True)
class SmsGateway:
    """An SMS gateway over HTTP (e.g. an Android phone's gateway app): POST {url} {phone, message} with the shared
    secret in X-Gateway-Secret -> {"id": ..., "status": "queued"|"sent"}."""

    url: str
    secret: str = field(default="", repr=False)
    name: str = "sms"

    def send(self, client: httpx.Client, address: str, text: str) -> SendResult:
        """Send an SMS through the gateway."""
        try:
            r = client.post(self.url, headers={"X-Gateway-Secret": self.secret},
                            json={"phone": address, "message": text}, timeout=TIMEOUT_S)
            body = r.json()
        except (httpx.HTTPError, ValueError) as exc:
            return _failed(type(exc).__name__)
        if r.status_code in (200, 201, 202) and isinstance(body, dict) and body.get("id") is not None:
            return SendResult(True, str(body["id"]), None)
        return _failed(f"HTTP {r.status_code}")


def configured_channels(settings: Settings) -> dict[str, Channel]:
    """The channels whose credentials are set, by name."""
    out: dict[str, Channel] = {}
    if settings.telegram_bot_token:
        out["telegram"] = Telegram(settings.telegram_api_url, settings.telegram_bot_token)
    if settings.whatsapp_token and settings.whatsapp_phone_number_id:
        out["whatsapp"] = WhatsApp(settings.whatsapp_api_url, settings.whatsapp_phone_number_id,
                                   settings.whatsapp_token)
    if settings.sms_gateway_url:
        out["sms"] = SmsGateway(settings.sms_gateway_url, settings.sms_gateway_secret or "")
    return out


def send_webpush(subscription: dict, payload: str, *, private_pem: str, subject: str) -> SendResult:
    """Web Push (RFC 8030/8291/8292): the payload encrypted for the subscription (aes128gcm), signed by VAPID."""
    # Imported on first use: pywebpush brings aiohttp, most of a second of every process start otherwise.
    from py_vapid import Vapid
    from pywebpush import WebPushException, webpush

    try:
        r = webpush(subscription, payload, vapid_private_key=Vapid.from_pem(private_pem.encode()),
                    vapid_claims={"sub": subject}, ttl=600, timeout=TIMEOUT_S, headers={"Urgency": "high"})
    except WebPushException as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        return _failed(f"HTTP {status}")
    except (requests.RequestException, ValueError) as exc:
        return _failed(type(exc).__name__)
    status = getattr(r, "status_code", 0)
    if status in (200, 201, 202):
        return SendResult(True, r.headers.get("Location"), None)
    return _failed(f"HTTP {status}")
