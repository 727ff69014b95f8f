"""Crews in the loop over HTTP: pairing a phone to a unit, its device token, its assignment, taps and GPS.

A crew token (``crew_...``, from ``POST /api/crew/pair``) is accepted only by the ``/api/crew/...`` routes below
that name the crew; every other route reads it as an invalid token (401). What each change does is
``store.crew`` (through the assignment and unit commands); these routes parse, call and serialise.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal

import segno
from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import ConfigDict, Field

from api.auth import AdminDep, CrewDep, CrewTokenDep, DispatcherDep, ReaderDep, crew_device
from api.channels import configured_channels
from api.context import AppContext
from api.deps import ContextDep, SessionDep, client_address
from api.errors import NotFound, Unauthorized
from api.notify import notify_assignments
from api.responses import FastJSON
from api.schemas import Body as _Body
from api.schemas import Schema
from geo.errors import InvalidInput, RateLimited, SigapError
from store import crew as store
from store import notify
from store.catalog import Catalog
from store.crew_positions import PositionJob
from store.recommend import route_unit

router = APIRouter(prefix="/api", tags=["crew"])
log = logging.getLogger("sigap.crew")

RowId = Annotated[int, Path(ge=1, le=2**31 - 1, description="id")]
HEARTBEAT_S = 15.0
MAX_BATCH = 200


def _throttle(ctx: AppContext, device: store.DeviceAuth | str, what: str, per_minute: int) -> None:
    tag = device.tag if isinstance(device, store.DeviceAuth) else device[:16]
    wait = ctx.crew_buckets.take((f"device:{tag}", what), per_minute)
    if wait > 0:
        raise RateLimited(f"Terlalu banyak {what} dari perangkat ini; coba lagi dalam {wait:.0f} detik",
                          f"Too many {what} from this device; try again in {wait:.0f} s", field=what,
                          retry_after_s=wait, limit_per_minute=per_minute)


# -- pairing ----------------------------------------------------------------------------------------------------
class PairingOut(Schema):
    """A pairing code for a unit: shown once, as text and as a QR code (SVG)."""

    code: str
    unit_id: int
    callsign: str
    expires_at: str
    pairing_id: int
    qr_svg: str = Field(description="QR code (SVG) holding the /crew address with the code")
    url: str


@router.post("/units/{unit_id}/pairing", summary="Kode pasang HP kru / crew pairing code", response_model=PairingOut)
def create_pairing(unit_id: RowId, request: Request, ctx: ContextDep, session: SessionDep,
                   user: DispatcherDep) -> FastJSON:
    """An 8-character code (and QR) a crew phone uses once, within the configured minutes, to pair to the unit."""
    out = store.new_pairing(session, unit_id, actor=user.username, minutes=ctx.settings.crew_pairing_minutes)
    store.record_crew_audit(session, actor=user.username, action="crew.pairing", entity_id=unit_id,
                            after={"pairing_id": out["pairing_id"], "expires_at": out["expires_at"]},
                            client=client_address(request))
    session.commit()
    url = f"{str(request.base_url).rstrip('/')}/crew#kode={out['code']}"
    qr = segno.make(url, error="m").svg_inline(scale=4, title=f"Kode {out['code']}")
    return FastJSON(out | {"qr_svg": qr, "url": url})


class PairIn(_Body):
    """The code shown on the control room's screen, and a name for this phone."""

    code: str = Field(min_length=1, max_length=32)
    label: str = Field(default="", max_length=120)


class PairOut(Schema):
    """The device's token (kept on the phone; shown once) and its unit."""

    token: str
    token_type: str
    device_id: int
    unit_id: int
    callsign: str


@router.post("/crew/pair", summary="Pasangkan HP kru / pair a crew phone", response_model=PairOut)
def pair(body: PairIn, request: Request, session: SessionDep) -> FastJSON:
    """Exchange a pairing code for a long-lived device token; unknown, expired and used codes are one 401."""
    got = store.pair_device(session, body.code, label=body.label.strip())
    if got is None:
        session.rollback()
        store.record_crew_audit(session, actor=None, action="crew.pair_failed", entity_id=None,
                                client=client_address(request))
        session.commit()
        raise Unauthorized("Kode tidak berlaku", "Code not valid", field="code")
    token, device, unit = got
    store.record_crew_audit(session, actor=f"crew:{unit.callsign}#{device.id}", action="crew.paired",
                            entity_id=unit.id, after={"device_id": device.id, "label": device.label},
                            client=client_address(request))
    session.commit()
    return FastJSON({"token": token, "token_type": "bearer", "device_id": device.id, "unit_id": unit.id,
                     "callsign": unit.callsign})


class DeviceOut(Schema):
    """A paired crew phone (never its token)."""

    id: int
    unit_id: int
    callsign: str | None
    label: str
    created_at: str | None
    paired_by: str | None
    last_seen_at: str | None
    revoked_at: str | None
    revoked_by: str | None
    active: bool


class DeviceList(Schema):
    """Every paired crew phone."""

    devices: list[DeviceOut]
    count: int


@router.get("/crew/devices", summary="HP kru terpasang / paired crew phones", response_model=DeviceList)
def devices(session: SessionDep, _: AdminDep) -> FastJSON:
    """Every paired crew phone, newest first, active or revoked."""
    items = store.list_devices(session)
    return FastJSON({"devices": items, "count": len(items)})


@router.delete("/crew/devices/{device_id}", summary="Cabut HP kru / revoke a crew phone", response_model=DeviceOut)
def revoke(device_id: RowId, request: Request, session: SessionDep, user: AdminDep) -> FastJSON:
    """Revoke a crew phone: its token is refused from the next request on."""
    out = store.revoke_device(session, device_id, actor=user.username)
    if out is None:
        raise NotFound(f"Perangkat {device_id} tidak ditemukan", f"Device {device_id} not found", field="device_id")
    store.record_crew_audit(session, actor=user.username, action="crew.revoked", entity_id=out["unit_id"],
                            after={"device_id": device_id}, client=client_address(request))
    session.commit()
    return FastJSON(out)


# -- the crew's own view ----------------------------------------------------------------------------------------
def _labelled(view: dict[str, Any], catalog: Catalog) -> dict[str, Any]:
    """The crew's view with the call's category as people read it (e.g. Kebakaran / Fire), not its code."""
    a = view.get("assignment")
    if a is not None:
        code = a["incident"]["category"]
        try:
            cat = catalog.category(code)
            a["incident"]["category_label_id"], a["incident"]["category_label_en"] = cat.label_id, cat.label_en
        except LookupError:  # a category removed from the catalog since the call was recorded: its code it is
            a["incident"]["category_label_id"] = a["incident"]["category_label_en"] = code
    return view


@router.get("/crew/assignment", summary="Tugas unit saya / my unit's assignment")
def assignment(ctx: ContextDep, session: SessionDep, device: CrewDep) -> FastJSON:
    """The device's unit, its current assignment (call, place, callback number, notes, ETA) and the taps it can take."""
    view = _labelled(store.crew_assignment(session, device.unit_id), ctx.catalog)
    return FastJSON(view | {"device_id": device.device_id})


@router.get("/crew/route", summary="Rute unit saya ke lokasi / my unit's route to the call")
def crew_route(ctx: ContextDep, session: SessionDep, device: CrewDep) -> FastJSON:
    """The route from the unit's position to its current call over roads and the river, as the dispatcher's
    recommendations compute it: ETA, legs (road, river, landing...) each with its line; null off a call."""
    view = store.crew_assignment(session, device.unit_id)
    a, unit = view["assignment"], view["unit"]
    if a is None or a["incident"]["lon"] is None:
        return FastJSON({"incident_id": None, "route": None})
    inc = a["incident"]
    if unit["lon"] is None:
        out: dict[str, Any] = {"unit_id": device.unit_id, "reachable": False, "reason": "no_position"}
    else:
        out = route_unit(session, ctx.travel, unit_id=device.unit_id, lon=inc["lon"], lat=inc["lat"])
    return FastJSON({"incident_id": inc["id"], "from": [unit["lon"], unit["lat"]], "route": out})


class TapIn(_Body):
    """One tap on the crew page, with its idempotency key and the phone's time."""

    key: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_\-:.]+$")
    action: str = Field(description="terima, menuju_lokasi, tiba, selesai, butuh_bantuan, tidak_tersedia, tersedia")
    device_at: datetime | None = Field(default=None, description="waktu di HP / time on the phone (ISO-8601)")
    incident_id: int | None = Field(default=None, ge=1, le=2**31 - 1,
                                    description="kejadian yang dilihat kru / the call the crew saw")


class TapOut(Schema):
    """The recorded tap (a replay answers with the first recording) and the unit's view now."""

    replayed: bool
    tap: dict[str, Any]
    state: dict[str, Any]


@router.post("/crew/taps", summary="Ketukan status kru / a crew status tap", response_model=TapOut)
def tap(body: TapIn, request: Request, ctx: ContextDep, device: CrewDep) -> FastJSON:
    """Apply a tap once per key: a replay is 200 with no change; a tap the unit cannot take now is 409 with
    the taps it can take."""
    _throttle(ctx, device, "taps", ctx.settings.crew_taps_per_minute)
    if body.device_at is not None and body.device_at.tzinfo is None:
        raise InvalidInput("'device_at' harus menyertakan zona waktu", "'device_at' must carry a time zone",
                           field="device_at")
    w = ctx.writer(actor=device.actor, client=client_address(request))
    replayed, recorded = store.record_tap(w, device, key=body.key, action=body.action, device_at=body.device_at,
                                          incident_id=body.incident_id)
    with ctx.read_sessions() as session:
        state = _labelled(store.crew_assignment(session, device.unit_id), ctx.catalog)
    return FastJSON({"replayed": replayed, "tap": recorded, "state": state})


class PushKeyOut(Schema):
    """The platform's VAPID public key (base64url) for PushManager.subscribe, or null before it is made."""

    public_key: str | None


@router.get("/crew/push-key", summary="Kunci Web Push / Web Push key", response_model=PushKeyOut)
def push_key(session: SessionDep, _: CrewDep) -> FastJSON:
    """The VAPID public key the crew page subscribes with (made by `sigap crew vapid`)."""
    key = notify.vapid_key(session)
    return FastJSON({"public_key": key[1] if key else None})


class PushKeys(_Body):
    """A subscription's keys as the browser gives them."""

    p256dh: str = Field(min_length=20, max_length=200, pattern=r"^[A-Za-z0-9_\-=]+$")
    auth: str = Field(min_length=8, max_length=100, pattern=r"^[A-Za-z0-9_\-=]+$")


class PushSubscriptionIn(_Body):
    """PushSubscription.toJSON() of the crew phone."""

    model_config = ConfigDict(extra="ignore")
    endpoint: str = Field(min_length=10, max_length=1000, pattern=r"^https?://")
    keys: PushKeys


@router.post("/crew/push-subscription", summary="Langganan Web Push HP kru / a crew phone's push subscription")
def push_subscription(body: PushSubscriptionIn, ctx: ContextDep, device: CrewDep) -> FastJSON:
    """Store the phone's push subscription: its unit's dispatches are pushed to it (encrypted for it)."""
    with ctx.writer(actor=device.actor, client=None).transaction() as session:
        out = notify.save_subscription(session, device_id=device.device_id, unit_id=device.unit_id,
                                       endpoint=body.endpoint, p256dh=body.keys.p256dh, auth=body.keys.auth)
        session.commit()
    return FastJSON(out)


class PositionIn(_Body):
    """One GPS position from the crew phone."""

    key: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_\-:.]+$")
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    accuracy_m: float | None = Field(default=None, ge=0, le=store.MAX_ACCURACY_M, allow_inf_nan=False)
    at: datetime = Field(description="waktu di HP / time on the phone (ISO-8601 with zone)")


class PositionsIn(_Body):
    """Positions collected while offline (or one), oldest first."""

    positions: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_BATCH)


class PositionResult(Schema):
    """What became of one position: stored, replayed (already stored) or dropped with the reason."""

    key: str | None
    result: str
    reason: str | None


class PositionsOut(Schema):
    """Per position what became of it."""

    results: list[PositionResult]
    stored: int
    dropped: int


async def _store_positions(ctx: AppContext, digest: str, reports: list[store.PositionReport],
                           client: str | None) -> list[tuple[str, str | None]]:
    """Check each position (pure) and hand the good ones, in order, to the group-commit position writer."""
    bounds = ctx.spatial.kalimantan_box
    checked = [store.check_report(p, bounds=bounds) for p in reports]
    assert ctx.position_writer is not None
    good = [p for p, why in zip(reports, checked, strict=True) if why is None]
    waiting = [ctx.position_writer.submit(PositionJob(digest, p, client)) for p in good]
    # Shielded: a phone that hangs up does not withdraw positions already queued; they are stored all the same.
    done = await asyncio.shield(asyncio.gather(*(asyncio.wrap_future(f) for f in waiting)))
    if any(result == "unauthorized" for result, _ in done):
        raise Unauthorized("Token perangkat tidak sah atau dicabut", "Device token invalid or revoked")
    stored = iter(done)
    return [("dropped", why) if why is not None else next(stored) for why in checked]


@router.post("/crew/position", summary="Posisi GPS kru / a crew GPS position", response_model=PositionResult)
async def position(body: PositionIn, request: Request, ctx: ContextDep, device: CrewTokenDep) -> FastJSON:
    """Store one position of the device's unit (source crew-gps); a position that cannot be stored is a 422."""
    _throttle(ctx, device, "positions", ctx.settings.crew_positions_per_minute)
    report = store.PositionReport(body.key, body.lon, body.lat, body.accuracy_m, body.at)
    [(result, reason)] = await _store_positions(ctx, device, [report], client_address(request))
    if result == "dropped":
        raise InvalidInput(f"Posisi tidak disimpan ({reason})", "Position not stored (see reason)", field="lon",
                           reason=reason)
    return FastJSON({"key": body.key, "result": result, "reason": None})


@router.post("/crew/positions", summary="Posisi GPS kru (tumpukan) / crew GPS positions (batch)",
             response_model=PositionsOut)
async def positions(body: PositionsIn, request: Request, ctx: ContextDep, device: CrewTokenDep) -> FastJSON:
    """Store positions in order; each bad one is dropped with its reason, the others stored (source crew-gps)."""
    _throttle(ctx, device, "positions", ctx.settings.crew_positions_per_minute)
    results: list[dict[str, Any] | None] = []
    reports: list[store.PositionReport] = []
    for raw in body.positions:
        key = raw.get("key") if isinstance(raw.get("key"), str) else None
        try:
            p = PositionIn.model_validate(raw)
        except ValueError as exc:
            first = exc.errors()[0] if hasattr(exc, "errors") else {}
            where = ".".join(str(x) for x in first.get("loc", ())) or "posisi"
            results.append({"key": key, "result": "dropped", "reason": f"{where}: {first.get('msg', str(exc))}"})
            continue
        results.append(None)
        reports.append(store.PositionReport(p.key, p.lon, p.lat, p.accuracy_m, p.at))
    outcomes = iter(zip(reports, await _store_positions(ctx, device, reports, client_address(request)), strict=True))
    done: list[dict[str, Any]] = []
    for r in results:
        if r is None:
            sent, (result, reason) = next(outcomes)
            r = {"key": sent.key, "result": result, "reason": reason}
        done.append(r)
    return FastJSON({"results": done, "stored": sum(r["result"] == "stored" for r in done),
                     "dropped": sum(r["result"] == "dropped" for r in done)})


@router.get("/crew/events", summary="Aliran kejadian unit saya / my unit's live events (SSE)",
            response_class=StreamingResponse)
async def crew_events(request: Request, ctx: ContextDep) -> StreamingResponse:
    """A text/event-stream of the device's own unit: its updates (a dispatch makes it dikirim) and its call's."""
    auth = request.headers.get("authorization", "")
    device = await crew_device(request, auth[7:] if auth.lower().startswith("bearer ") else None)
    hub = ctx.events
    incident: list[int | None] = [None]

    def mine(ev: dict[str, Any]) -> bool:
        data = ev.get("data") or {}
        if ev["kind"] == "unit.updated" and data.get("id") == device.unit_id:
            incident[0] = data.get("incident_id")
            return True
        return ev["kind"] == "incident.updated" and incident[0] is not None and data.get("id") == incident[0]

    sub = hub.subscribe(accept=mine)

    async def stream() -> AsyncIterator[str]:
        try:
            yield "retry: 3000\n: SIGAP 112 kru\n\n"
            while True:
                try:
                    async with asyncio.timeout(HEARTBEAT_S):
                        ev = await sub.queue.get()
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    yield ": ping\n\n"
                    continue
                data = json.dumps(ev, default=str, separators=(",", ":"))
                yield f"id: {ev['id']}\nevent: {ev['kind']}\ndata: {data}\n\n"
        finally:
            hub.unsubscribe(sub)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


# -- notifications: channels per unit, attempts, alerts, resend ---------------------------------------------------
class ChannelIn(_Body):
    """Where a unit is reached: a Telegram chat id, a WhatsApp or SMS number."""

    channel: Literal["telegram", "whatsapp", "sms"]
    address: str = Field(min_length=1, max_length=64)


class ChannelsIn(_Body):
    """Every channel of the unit (replaces those stored)."""

    channels: list[ChannelIn] = Field(max_length=3)


class ChannelsOut(Schema):
    """A unit's channels."""

    unit_id: int
    channels: list[dict[str, Any]]


@router.get("/units/{unit_id}/channels", summary="Saluran notifikasi unit / a unit's channels",
            response_model=ChannelsOut)
def get_channels(unit_id: RowId, session: SessionDep, _: AdminDep) -> FastJSON:
    """The channels a unit is notified on."""
    return FastJSON({"unit_id": unit_id, "channels": notify.unit_channels(session, unit_id)})


@router.put("/units/{unit_id}/channels", summary="Atur saluran notifikasi unit / set a unit's channels",
            response_model=ChannelsOut)
def put_channels(unit_id: RowId, body: ChannelsIn, request: Request, session: SessionDep, user: AdminDep) -> FastJSON:
    """Replace the unit's channels; its replies are accepted only from these chats and numbers."""
    out = notify.set_unit_channels(session, unit_id, [(c.channel, c.address) for c in body.channels])
    store.record_crew_audit(session, actor=user.username, action="unit.channels", entity_id=unit_id,
                            after={"channels": [c["channel"] for c in out]}, client=client_address(request))
    session.commit()
    return FastJSON({"unit_id": unit_id, "channels": out})


@router.get("/incidents/{incident_id}/notifications", summary="Notifikasi unit / dispatch notifications")
def incident_notifications(incident_id: RowId, session: SessionDep, _: ReaderDep) -> FastJSON:
    """Every attempt to tell the call's units (channel, status, tries), oldest first."""
    return FastJSON({"attempts": notify.attempts_for(session, incident_id=incident_id)})


@router.get("/crew/alerts", summary="Unit belum menjawab / units that have not acknowledged")
def alerts(ctx: ContextDep, session: SessionDep, _: ReaderDep) -> FastJSON:
    """Dispatched units that have not acknowledged within the configured seconds, with their attempts; and per
    unit on a call the latest attempt on each channel (shown beside the unit on the board)."""
    after = ctx.settings.crew_ack_alert_s
    return FastJSON({"after_s": after, "alerts": notify.unacknowledged(session, after_s=after),
                     "by_unit": {str(k): v for k, v in notify.open_attempts(session).items()}})


@router.post("/assignments/{assignment_id}/notify", summary="Kirim ulang notifikasi / resend the notification")
def resend(assignment_id: RowId, ctx: ContextDep, session: SessionDep, user: DispatcherDep) -> FastJSON:
    """Notify the assignment's unit again on every channel; the attempts made."""
    if notify.open_assignment_by_id(session, assignment_id) is None:
        raise NotFound(f"Tugas {assignment_id} tidak ada atau sudah selesai",
                       f"Assignment {assignment_id} not found or ended", field="assignment_id")
    session.rollback()
    made = notify_assignments(ctx.writer(actor=user.username, client=None), configured_channels(ctx.settings),
                              [assignment_id], ctx.notify_wake)
    with ctx.read_sessions() as s:
        attempts = [a for a in notify.attempts_for(s, assignment_ids=[assignment_id]) if a["id"] in made]
    return FastJSON({"attempts": attempts})


# -- replies from the field (inbound webhooks) ----------------------------------------------------------------------
def _secret_ok(given: str | None, expected: str | None) -> bool:
    return bool(expected) and given is not None and hmac.compare_digest(given.encode(), str(expected).encode())


def _reply(ctx: AppContext, channel: str, sender: str, text: str) -> dict[str, Any]:
    with ctx.read_sessions() as session:
        unit_id = notify.unit_for_address(session, channel, sender)
    if unit_id is None:
        log.info("reply on %s from an unknown sender ignored (%s...)", channel, sender[:4])
        return {"ok": True, "ignored": "pengirim tidak dikenal / unknown sender"}
    try:
        out = notify.apply_reply(ctx.writer(actor=f"{channel}:{sender}"[:64], client=None), unit_id, text)
    except SigapError as exc:
        out = {"applied": False, "reason": exc.message_en}
    return {"ok": True} | out


@router.post("/crew/webhooks/telegram", summary="Balasan Telegram / Telegram replies (webhook)")
async def telegram_webhook(request: Request, ctx: ContextDep) -> FastJSON:
    """A Telegram update, checked by the X-Telegram-Bot-Api-Secret-Token header; a reply moves the assignment."""
    if not _secret_ok(request.headers.get("x-telegram-bot-api-secret-token"), ctx.settings.telegram_webhook_secret):
        raise Unauthorized("Rahasia webhook salah", "Wrong webhook secret", field="X-Telegram-Bot-Api-Secret-Token")
    update = await _json(request)
    message = update.get("message") or {}
    chat = (message.get("chat") or {}).get("id") if isinstance(message, dict) else None
    text = message.get("text") if isinstance(message, dict) else None
    if chat is None or not isinstance(text, str):
        return FastJSON({"ok": True, "ignored": "bukan pesan teks / not a text message"})
    return FastJSON(await run_in_threadpool(_reply, ctx, "telegram", str(chat), text))


@router.post("/crew/webhooks/whatsapp", summary="Balasan WhatsApp / WhatsApp replies (webhook)")
async def whatsapp_webhook(request: Request, ctx: ContextDep) -> FastJSON:
    """A WhatsApp Cloud API notification signed in X-Hub-Signature-256; messages move assignments, statuses
    move the attempts (delivered, read, failed)."""
    raw = await request.body()
    secret = ctx.settings.whatsapp_app_secret
    expected = "sha256=" + hmac.new((secret or "").encode(), raw, hashlib.sha256).hexdigest()
    if not _secret_ok(request.headers.get("x-hub-signature-256"), expected if secret else None):
        raise Unauthorized("Tanda tangan salah", "Wrong signature", field="X-Hub-Signature-256")
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise InvalidInput("Badan bukan JSON", "Body is not JSON", field="body") from exc
    results: list[dict[str, Any]] = []
    for entry in _list(doc, "entry"):
        for change in _list(entry, "changes"):
            value = change.get("value") if isinstance(change, dict) else None
            for msg in _list(value, "messages"):
                text = (msg.get("text") or {}).get("body") if isinstance(msg.get("text"), dict) else None
                if isinstance(msg.get("from"), str) and isinstance(text, str):
                    results.append(await run_in_threadpool(_reply, ctx, "whatsapp", msg["from"], text))
            for status in _list(value, "statuses"):
                if isinstance(status.get("id"), str) and isinstance(status.get("status"), str):
                    await run_in_threadpool(_receipt, ctx, "whatsapp", status["id"], status["status"])
    return FastJSON({"ok": True, "results": results})


@router.post("/crew/webhooks/sms", summary="Balasan SMS / SMS replies (gateway webhook)")
async def sms_webhook(request: Request, ctx: ContextDep) -> FastJSON:
    """An SMS received by the gateway ({from, message}), checked by the X-Gateway-Secret header."""
    if not _secret_ok(request.headers.get("x-gateway-secret"), ctx.settings.sms_gateway_secret):
        raise Unauthorized("Rahasia gateway salah", "Wrong gateway secret", field="X-Gateway-Secret")
    doc = await _json(request)
    sender, text = doc.get("from"), doc.get("message")
    if not isinstance(sender, str) or not isinstance(text, str):
        raise InvalidInput("'from' dan 'message' wajib", "'from' and 'message' are required", field="from")
    return FastJSON(await run_in_threadpool(_reply, ctx, "sms", sender, text))


def _receipt(ctx: AppContext, channel: str, external_id: str, status: str) -> None:
    with ctx.writer(actor=None, client=None).transaction() as session:
        if notify.mark_external(session, channel, external_id, status):
            session.commit()


def _list(doc: Any, key: str) -> list[dict[str, Any]]:
    value = doc.get(key) if isinstance(doc, dict) else None
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


async def _json(request: Request) -> dict[str, Any]:
    try:
        doc = json.loads(await request.body())
    except ValueError as exc:
        raise InvalidInput("Badan bukan JSON", "Body is not JSON", field="body") from exc
    if not isinstance(doc, dict):
        raise InvalidInput("Badan harus objek JSON", "Body must be a JSON object", field="body")
    return doc
