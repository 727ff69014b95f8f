"""The map pages (login, dispatcher, planner, leader) and their static assets, all served by the platform.

Nothing a page needs comes from another host: Leaflet and the icon font are copied from the npm packages
that the build installs (``web/map/node_modules``), our own JS/CSS from ``web/map/static``.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from api.auth import COOKIE, ROLE_LABELS, Principal, current_user
from api.config import PROJECT_ROOT
from api.context import AppContext
from api.deps import ContextDep
from api.errors import SigapError
from store.catalog import Catalog
from store.lifecycle import DEFAULT_STATE_TIMERS, LABELS, IncidentState, allowed_transitions

WEB_DIR = PROJECT_ROOT / "web" / "map"
STATIC_DIR = WEB_DIR / "static"
NODE_MODULES = WEB_DIR / "node_modules"
VENDOR = {
    "leaflet": NODE_MODULES / "leaflet" / "dist",
    "fontawesome": NODE_MODULES / "@fortawesome" / "fontawesome-free",
    "markercluster": NODE_MODULES / "leaflet.markercluster" / "dist",
    "geoman": NODE_MODULES / "@geoman-io" / "leaflet-geoman-free" / "dist",
}

router = APIRouter(tags=["pages"], include_in_schema=False)
templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))

# check_dir=False: a checkout without `npm ci` still starts; the page then says the assets are missing.
router.mount("/static/vendor/leaflet", StaticFiles(directory=VENDOR["leaflet"], check_dir=False), name="leaflet")
router.mount(
    "/static/vendor/fontawesome", StaticFiles(directory=VENDOR["fontawesome"], check_dir=False), name="fontawesome"
)
router.mount(
    "/static/vendor/markercluster",
    StaticFiles(directory=VENDOR["markercluster"], check_dir=False),
    name="markercluster",
)
router.mount("/static/vendor/geoman", StaticFiles(directory=VENDOR["geoman"], check_dir=False), name="geoman")
router.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")

WRITE_ROLES = {"map": ("dispatcher", "supervisor", "admin"), "planner": ("planner", "admin"), "leader": (), "calls": (),
               "board": ()}
# Who reads the calls report page (its API: supervisor, leader, admin).
CALLS_ROLES = ("supervisor", "leader", "admin")
# Who may ask for a situation report from the leader page (POST /api/reports needs the bearer token).
REPORT_ROLES = ("leader", "supervisor", "planner", "admin")
HOME = {"dispatcher": "/map", "supervisor": "/map", "planner": "/planner", "leader": "/leader", "admin": "/map"}
PAGES = {"map": "Peta dispatcher", "planner": "Peta perencana", "leader": "Situasi pimpinan",
         "calls": "Laporan panggilan", "board": "Papan unit"}


def vendor_ready() -> bool:
    """True when the npm packages the pages load are installed."""
    return (
        (VENDOR["leaflet"] / "leaflet.js").is_file()
        and (VENDOR["fontawesome"] / "webfonts" / "fa-solid-900.woff2").is_file()
        and (VENDOR["markercluster"] / "leaflet.markercluster.js").is_file()
    )


def catalog_config(cat: Catalog) -> dict[str, Any]:
    """Categories, unit types and incident states as the pages need them, from the catalog the API uses."""
    return {
        "categories": [
            {"code": c.code, "label_id": c.label_id, "label_en": c.label_en, "icon": c.icon, "colour": c.colour}
            for c in cat.categories
        ],
        "unit_types": [{"code": u.code, "label_id": u.label_id, "label_en": u.label_en} for u in cat.unit_types],
        "agencies": [{"code": a.code, "name_id": a.name_id, "name_en": a.name_en} for a in cat.agencies],
        "states": [
            {
                "code": s.value,
                "label_id": LABELS[s].id,
                "label_en": LABELS[s].en,
                "next": [n.value for n in allowed_transitions(s)],
            }
            for s in IncidentState
        ],
    }


def call_card_config(ctx: AppContext) -> dict[str, Any]:
    """Dispositions, priorities, the time-in-state thresholds and duplicate-banner window for the call card."""
    settings = ctx.settings
    timers = {state: dict(by_priority) for state, by_priority in DEFAULT_STATE_TIMERS.items()}
    for state, by_priority in settings.state_timers.items():
        timers.setdefault(state, {}).update(by_priority)
    return {
        "dispositions": [d.model_dump() for d in ctx.catalog.dispositions],
        "category_priority": {c.code: c.priority for c in ctx.catalog.categories},
        "state_timers": {s: {p: list(v) for p, v in by.items()} for s, by in timers.items()},
        "duplicate_banner": {"radius_m": settings.duplicate_banner_radius_m,
                             "minutes": settings.duplicate_banner_minutes},
    }


async def page_user(request: Request) -> tuple[Principal | None, str | None]:
    """The user behind the page's cookie (and the token itself), or (None, None) when not logged in."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None, None
    try:
        # The page reads only the cookie; a Bearer header belongs to an API client, not a browser.
        return await current_user(request, token), token
    except SigapError:
        return None, None


def page_config(ctx: AppContext, user: Principal, page: str) -> dict[str, Any]:
    """What the page's JS needs: who is logged in, what they may do, the catalog and the base map."""
    settings = ctx.settings
    label_id, label_en = ROLE_LABELS[user.role]
    return {
        "page": page,
        "user": {"username": user.username, "full_name": user.full_name, "role": user.role},
        "role_label_id": label_id,
        "role_label_en": label_en,
        "can_write": user.role in WRITE_ROLES[page],
        "can_report": page == "leader" and user.role in REPORT_ROLES,
        # No token in the page (issue 14): writes carry the HttpOnly cookie plus the X-Sigap-Csrf header, which
        # another site cannot send without a CORS preflight this platform never grants.
        "basemap_url": settings.basemap_url,
        "basemap_attribution": settings.basemap_attribution,
        "stale_position_minutes": settings.stale_position_minutes,
        "board_thresholds": settings.board_threshold_minutes,
        "board_red_factor": settings.board_red_factor,
        "mode": settings.mode,
        "home": HOME[user.role],
        **catalog_config(ctx.catalog),
        **call_card_config(ctx),
    }


async def _render(request: Request, ctx: AppContext, page: str) -> Response:
    user, token = await page_user(request)
    if user is None or token is None:
        return RedirectResponse(f"/login?next=/{page}", status_code=303)
    config = page_config(ctx, user, page)
    return templates.TemplateResponse(
        request,
        f"{page}.html",
        {
            "config_json": json.dumps(config, ensure_ascii=False).replace("</", "<\\/"),
            "config": config,
            "vendor_ready": vendor_ready(),
            "title": PAGES[page],
        },
        headers={"Cache-Control": "no-store"},
    )


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    """Send a logged-in user to the page of their role, everyone else to the login page."""
    user, _ = await page_user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(HOME[user.role], status_code=303)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request) -> Response:
    """The login form."""
    return templates.TemplateResponse(
        request,
        "login.html",
        {"vendor_ready": vendor_ready(), "title": "Masuk", "config": {"page": "login"}, "config_json": "{}"},
    )


@router.get("/map", response_class=HTMLResponse)
async def dispatcher_page(request: Request, ctx: ContextDep) -> Response:
    """The dispatcher map: take a call, locate it, rank units, dispatch."""
    return await _render(request, ctx, "map")


@router.get("/planner", response_class=HTMLResponse)
async def planner_page(request: Request, ctx: ContextDep) -> Response:
    """The BPBD planner map: hotspots, H3 density, flood zones."""
    return await _render(request, ctx, "planner")


@router.get("/leader", response_class=HTMLResponse)
async def leader_page(request: Request, ctx: ContextDep) -> Response:
    """The read-only leader view: figures and small charts, refreshing itself."""
    return await _render(request, ctx, "leader")


@router.get("/calls", response_class=HTMLResponse)
async def calls_page(request: Request, ctx: ContextDep) -> Response:
    """The calls report for supervisors and leaders: by type, hour, day, agency, kecamatan; CSV and XLSX."""
    user, _ = await page_user(request)
    if user is not None and user.role not in CALLS_ROLES:
        return RedirectResponse(HOME[user.role], status_code=303)
    return await _render(request, ctx, "calls")


@router.get("/board", response_class=HTMLResponse)
async def board_page(request: Request, ctx: ContextDep) -> Response:
    """The unit status board on its own (a second screen): every unit, its call, how long in its status."""
    return await _render(request, ctx, "board")


# -- the crew page (issue 17): no login cookie; the phone's device token is kept by the page's own JS -------------
CREW_SHELL = ["/crew", "/crew.webmanifest", "/static/css/crew.css", "/static/js/i18n.js", "/static/js/crew.js",
              "/static/vendor/leaflet/leaflet.css", "/static/vendor/leaflet/leaflet.js", "/static/crew-icon.svg"]


@router.get("/crew", response_class=HTMLResponse)
async def crew_page(request: Request, ctx: ContextDep) -> Response:
    """The crew's phone page: pairing, the unit's assignment, one-tap statuses, GPS, an offline outbox."""
    return templates.TemplateResponse(request, "crew.html", {"gps_interval_s": ctx.settings.crew_gps_interval_s})


@router.get("/crew.webmanifest")
async def crew_manifest() -> Response:
    """The PWA manifest of the crew page (installs to the home screen)."""
    body = {"name": "SIGAP 112 Kru", "short_name": "SIGAP Kru", "start_url": "/crew", "scope": "/crew",
            "display": "standalone", "background_color": "#0f172a", "theme_color": "#b91c1c", "lang": "id",
            "icons": [{"src": "/static/crew-icon.svg", "sizes": "any", "type": "image/svg+xml", "purpose": "any"}]}
    return Response(json.dumps(body), media_type="application/manifest+json")


@router.get("/crew-sw.js")
async def crew_service_worker() -> Response:
    """The crew page's service worker (app shell cached so the page opens with no network)."""
    script = (STATIC_DIR / "js" / "crew-sw.js").read_text(encoding="utf-8")
    script = script.replace("__SHELL__", json.dumps(CREW_SHELL))
    return Response(script, media_type="text/javascript",
                    headers={"Service-Worker-Allowed": "/crew", "Cache-Control": "no-cache"})
