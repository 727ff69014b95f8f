/* SIGAP 112 crew page: pairing, the unit's assignment, one-tap statuses, GPS, and an offline outbox.
 *
 * The device token lives in localStorage and goes out as a Bearer header (never a cookie). Every tap and
 * position is first written to an IndexedDB outbox with its idempotency key and the phone's time, then sent
 * in order; what could not be sent (no network, 429, 5xx) stays and is sent again when the network returns.
 * The server applies each key once, so a replay never doubles a tap.
 */
(function () {
  "use strict";

  const TOKEN_KEY = "sigap.crew.token";
  const VIEW_KEY = "sigap.crew.view";
  const STEPS = ["terima", "menuju_lokasi", "tiba"];
  // Bahasa Indonesia first, English on the header's button (i18n.js, as on the other pages).
  const T = (key, fallback) => (window.I18N ? window.I18N.t(key, fallback) : (fallback || key));
  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (m, k) => (k in values ? String(values[k]) : m));
  const LABEL = (action) => T("crew.tap." + action, action);
  const STATUS = (status) => T("crew.st." + status, status);
  const EN = () => window.I18N && window.I18N.lang === "en";
  const MIN_MOVE_M = 20;
  const $ = (id) => document.getElementById(id);
  const state = {
    token: localStorage.getItem(TOKEN_KEY), view: null, flushing: false, lastFix: null, lastSent: null,
    map: null, layers: null, streaming: false, route: null,
  };

  // -- small helpers ----------------------------------------------------------------------------------------
  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID().replace(/-/g, "");
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  function metres(a, b) {
    const R = 6371000, rad = Math.PI / 180;
    const dp = (b.lat - a.lat) * rad, dl = (b.lon - a.lon) * rad;
    const h = Math.sin(dp / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dl / 2) ** 2;
    return 2 * R * Math.asin(Math.min(1, Math.sqrt(h)));
  }
  function show(text, bad) {
    const el = $("message");
    el.textContent = text || "";
    el.classList.toggle("error", !!bad);
  }
  function setNet(on) {
    const el = $("net");
    el.textContent = on ? "online" : "offline";
    el.classList.toggle("off", !on);
  }
  async function api(method, url, body) {
    const headers = { Accept: "application/json" };
    if (state.token) headers.Authorization = "Bearer " + state.token;
    const init = { method, headers, cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(url, init);
  }

  // -- the outbox (IndexedDB) -------------------------------------------------------------------------------
  let opened = null;
  function db() {
    if (!opened) {
      opened = new Promise((resolve, reject) => {
        const req = indexedDB.open("sigap-crew", 1);
        req.onupgradeneeded = () => req.result.createObjectStore("outbox", { keyPath: "seq", autoIncrement: true });
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
    }
    return opened;
  }
  async function store(mode, work) {
    const d = await db();
    return new Promise((resolve, reject) => {
      const t = d.transaction("outbox", mode);
      const req = work(t.objectStore("outbox"));
      t.oncomplete = () => resolve(req ? req.result : undefined);
      t.onerror = () => reject(t.error);
    });
  }
  const enqueue = (item) => store("readwrite", (s) => s.add(item));
  const first = () => store("readonly", (s) => s.getAll(null, 1));
  const remove = (seq) => store("readwrite", (s) => s.delete(seq));
  const pending = () => store("readonly", (s) => s.count());
  async function showPending() {
    const n = await pending();
    $("outbox-n").textContent = String(n);
    document.body.dataset.outbox = String(n);
  }

  async function flush() {
    if (state.flushing || !state.token) return;
    state.flushing = true;
    try {
      for (;;) {
        const [item] = await first();
        if (!item) break;
        let r;
        try {
          r = await api("POST", item.url, item.body);
        } catch (e) {
          setNet(false);
          break;  // no network: the item waits for the next try
        }
        setNet(true);
        if (r.status === 401) { unpaired(); break; }
        if (r.status === 429 || r.status >= 500) break;  // try again later, in the same order
        const doc = await r.json().catch(() => ({}));
        await remove(item.seq);
        if (item.kind !== "tap") continue;
        if (r.ok) {
          show(T(doc.replayed ? "crew.replayed" : "crew.sent") + LABEL(item.body.action));
          if (doc.state) render(doc.state);
        } else {
          // 409: the call moved on meanwhile (closed, released); 422: not a tap the server can read.
          const can = (doc.can_take || []).map(LABEL).join(", ");
          show(fill(T("crew.not_applied"), { a: LABEL(item.body.action), why: (EN() ? doc.message_en : doc.message_id) || r.status }) +
               (can ? fill(T("crew.can"), { can }) : ""), true);
          refresh();
        }
      }
    } finally {
      state.flushing = false;
      await showPending();
    }
  }

  // -- the view ---------------------------------------------------------------------------------------------
  function render(view) {
    state.view = view;
    localStorage.setItem(VIEW_KEY, JSON.stringify(view));
    $("unit-name").textContent = view.unit.callsign;
    const a = view.assignment;
    $("idle").hidden = !!a;
    $("job").hidden = !a;
    document.body.dataset.unitStatus = view.unit.status;
    document.body.dataset.assignment = a ? a.status : "";
    document.body.dataset.incident = a ? String(a.incident.id) : "";
    if (!a) {
      $("idle-status").textContent = STATUS(view.unit.status);
    } else {
      const inc = a.incident;
      $("job-priority").textContent = inc.priority || "";
      $("job-priority").className = "prio " + (inc.priority || "");
      $("job-number").textContent = inc.number;
      // The category as people call it (Kebakaran / Fire), never its code.
      $("job-category").textContent = (EN() ? inc.category_label_en : inc.category_label_id) || inc.category.replace(/_/g, " ");
      $("job-category").dataset.code = inc.category;
      $("job-place").textContent = [inc.desa, inc.kecamatan, inc.landmark].filter(Boolean).join(", ") || "–";
      $("job-desc").textContent = inc.description || "";
      const call = $("job-call");
      call.hidden = !inc.callback;
      call.href = inc.callback ? "tel:" + inc.callback : "#";
      call.textContent = inc.callback ? fill(T("crew.call"), { n: inc.callback }) : "";
      const nav = $("job-nav");
      nav.hidden = !a.navigate;
      nav.href = a.navigate || "#";
      etaText(view);
      const notes = $("job-notes");
      notes.replaceChildren(...inc.notes.map((n) => {
        const li = document.createElement("li");
        li.textContent = n.text;
        return li;
      }));
      drawMap(view);
      loadRoute(view);
    }
    for (const b of document.querySelectorAll(".tap")) b.disabled = !view.can_take.includes(b.dataset.action);
    document.body.dataset.ready = "1";
  }

  // Leg colours as on the dispatcher's network layer: road dark, river blue, landing and on foot dashed.
  const LEG_STYLE = {
    road: { color: "#f59e0b", weight: 6 }, river: { color: "#38bdf8", weight: 6 },
    ferry: { color: "#38bdf8", weight: 6, dashArray: "2 8" }, landing: { color: "#a78bfa", weight: 5, dashArray: "6 6" },
    offnetwork: { color: "#e2e8f0", weight: 3, dashArray: "3 6" },
  };

  function drawMap(view) {
    if (!window.L) return;
    const a = view.assignment, u = view.unit;
    if (!state.map) {
      state.map = L.map("map", { zoomControl: false, attributionControl: false });
      state.layers = L.layerGroup().addTo(state.map);
    }
    state.layers.clearLayers();
    const pts = [];
    const routed = state.route && state.route.incident_id === a.incident.id && state.route.route;
    // A leg of no length (a call on the node itself) is no stretch to show.
    const legs = routed && routed.reachable ? routed.legs.filter((l) => l.distance_m >= 1) : [];
    for (const leg of legs) {
      const line = L.geoJSON(leg.geometry, { style: LEG_STYLE[leg.mode] || LEG_STYLE.road }).addTo(state.layers);
      line.eachLayer((l) => { if (l._path) l._path.dataset.leg = leg.mode; });
      for (const c of leg.geometry.coordinates) pts.push([c[1], c[0]]);
    }
    if (a.incident.lat != null) {
      pts.push([a.incident.lat, a.incident.lon]);
      L.circleMarker(pts[pts.length - 1], { radius: 10, color: "#fff", fillColor: "#dc2626", fillOpacity: 1 })
        .addTo(state.layers);
    }
    if (u.lat != null) {
      pts.push([u.lat, u.lon]);
      L.circleMarker(pts[pts.length - 1], { radius: 8, color: "#fff", fillColor: "#2563eb", fillOpacity: 1 })
        .addTo(state.layers);
    }
    // No route (yet, or none over the network): the straight line, dashed, so nobody takes it for a road.
    if (!legs.length && u.lat != null && a.incident.lat != null) {
      L.polyline([[u.lat, u.lon], [a.incident.lat, a.incident.lon]], { color: "#fde047", weight: 3, dashArray: "8 6" })
        .addTo(state.layers);
    }
    if (pts.length) state.map.fitBounds(L.latLngBounds(pts).pad(0.2), { maxZoom: 15 });
    const list = $("job-legs");
    list.replaceChildren(...legs.map((leg) => {
      const li = document.createElement("li");
      li.className = "leg " + leg.mode;
      li.textContent = `${T("crew.leg." + leg.mode, leg.mode)} ${(leg.distance_m / 1000).toFixed(1)} km · ${Math.max(1, Math.round(leg.time_s / 60))} ${T("crew.min")}`;
      return li;
    }));
    document.body.dataset.legs = String(legs.length);
  }

  // The route over roads and the river, from the platform's router: asked again for a new call or after the
  // unit has moved on (not for every GPS fix).
  async function loadRoute(view) {
    const a = view.assignment, u = view.unit;
    if (!a || u.lat == null) { state.route = null; return; }
    const r0 = state.route;
    if (r0 && r0.incident_id === a.incident.id && r0.from && metres({ lon: r0.from[0], lat: r0.from[1] }, u) < 300) return;
    try {
      const r = await api("GET", "/api/crew/route");
      if (!r.ok) return;
      state.route = await r.json();
    } catch (e) { return; }  // offline: the last route (or the straight line) stays
    if (state.view && state.view.assignment) { drawMap(state.view); etaText(state.view); }
  }

  function etaText(view) {
    const a = view.assignment;
    const routed = state.route && state.route.incident_id === a.incident.id && state.route.route;
    const eta = routed && routed.reachable
      ? fill(T("crew.eta.route"), { m: Math.max(1, Math.round(routed.eta_s / 60)), km: (routed.distance_m / 1000).toFixed(1) })
      : (a.eta_s ? fill(T("crew.eta"), { m: Math.round(a.eta_s / 60) }) : "");
    const dist = a.distance_m != null ? fill(T("crew.straight"), { km: (a.distance_m / 1000).toFixed(1) }) : "";
    $("job-eta").textContent = [eta, dist].filter(Boolean).join(" · ");
  }

  async function refresh() {
    if (!state.token) return;
    try {
      const r = await api("GET", "/api/crew/assignment");
      if (r.status === 401) { unpaired(); return; }
      if (r.ok) { setNet(true); render(await r.json()); }
    } catch (e) {
      setNet(false);
    }
  }

  function alarm() {
    document.body.classList.remove("alarm");
    void document.body.offsetWidth;
    document.body.classList.add("alarm");
    if (navigator.vibrate) navigator.vibrate([400, 150, 400, 150, 400]);
    try {
      const ctx = new (window.AudioContext || window.webkitAudioContext)();
      const osc = ctx.createOscillator();
      osc.frequency.value = 880;
      osc.connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.6);
    } catch (e) { /* no sound allowed yet: the vibration and the flashing card remain */ }
  }

  // -- the crew's own event stream (fetch, so the token goes in a header) ----------------------------------
  function onFrame(frame) {
    let kind = null, data = null;
    for (const line of frame.split("\n")) {
      if (line.startsWith("event: ")) kind = line.slice(7);
      else if (line.startsWith("data: ")) data = line.slice(6);
    }
    if (!kind || !data) return;
    const ev = JSON.parse(data);
    const before = state.view && state.view.assignment ? state.view.assignment.incident.id : null;
    if (kind === "unit.updated" && ev.data.incident_id && ev.data.incident_id !== before) {
      alarm();
      show(T("crew.new_job") + (ev.data.incident_number || ""));
    }
    refresh();
  }

  async function listen() {
    if (state.streaming) return;
    state.streaming = true;
    while (state.token) {
      try {
        const r = await api("GET", "/api/crew/events");
        if (r.status === 401) { unpaired(); break; }
        if (!r.ok || !r.body) throw new Error("stream " + r.status);
        setNet(true);
        document.body.dataset.stream = "1";
        refresh();
        flush();
        const reader = r.body.getReader();
        const dec = new TextDecoder();
        let buf = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += dec.decode(value, { stream: true });
          let i;
          while ((i = buf.indexOf("\n\n")) >= 0) {
            const frame = buf.slice(0, i);
            buf = buf.slice(i + 2);
            onFrame(frame);
          }
        }
      } catch (e) {
        setNet(false);
      }
      document.body.dataset.stream = "0";
      await sleep(2000);
    }
    state.streaming = false;
  }

  // -- taps -------------------------------------------------------------------------------------------------
  async function tap(action) {
    const body = { key: newKey(), action, device_at: new Date().toISOString() };
    const a = state.view && state.view.assignment;
    if (a && action !== "tersedia" && action !== "tidak_tersedia") body.incident_id = a.incident.id;
    await enqueue({ kind: "tap", url: "/api/crew/taps", body });
    // What the phone already knows: a step done is not offered again while the outbox waits.
    if (state.view && STEPS.includes(action)) {
      const later = STEPS.slice(STEPS.indexOf(action) + 1);
      render({ ...state.view, can_take: [...later, "selesai", "butuh_bantuan"] });
    }
    show(T("crew.recorded") + LABEL(action));
    await showPending();
    flush();
  }

  // -- GPS --------------------------------------------------------------------------------------------------
  function startGps() {
    if (!navigator.geolocation) { $("gps").textContent = T("crew.gps.none"); return; }
    navigator.geolocation.watchPosition((p) => {
      state.lastFix = {
        lon: p.coords.longitude, lat: p.coords.latitude,
        accuracy_m: Number.isFinite(p.coords.accuracy) ? p.coords.accuracy : null,
        at: new Date(p.timestamp || Date.now()).toISOString(),
      };
      $("gps").textContent = `${state.lastFix.lat.toFixed(5)}, ${state.lastFix.lon.toFixed(5)}`;
      if (!state.lastSent) sendFix();
    }, (e) => { $("gps").textContent = T("crew.gps.off") + " (" + e.code + ")"; },
    { enableHighAccuracy: true, maximumAge: 5000, timeout: 60000 });
    const every = Math.min(30, Math.max(1, Number(document.body.dataset.gpsInterval) || 15));
    setInterval(sendFix, every * 1000);
  }

  async function sendFix() {
    const fix = state.lastFix;
    if (!fix || !state.token) return;
    if (state.lastSent && metres(state.lastSent, fix) < MIN_MOVE_M) return;  // unmoved: nothing to send
    state.lastSent = fix;
    await enqueue({ kind: "pos", url: "/api/crew/position", body: { key: newKey(), ...fix } });
    await showPending();
    flush();
  }

  // -- Web Push (when the platform has VAPID keys and the crew allowed notifications) ----------------------
  function b64bytes(s) {
    const pad = "=".repeat((4 - (s.length % 4)) % 4);
    const raw = atob((s + pad).replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  }

  async function subscribePush() {
    if (!("serviceWorker" in navigator) || !("PushManager" in window) || !window.Notification) return;
    if (Notification.permission !== "granted") return;
    try {
      const key = await (await api("GET", "/api/crew/push-key")).json();
      if (!key.public_key) return;
      const reg = await navigator.serviceWorker.ready;
      const sub = (await reg.pushManager.getSubscription()) ||
        (await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64bytes(key.public_key) }));
      await api("POST", "/api/crew/push-subscription", sub.toJSON());
    } catch (e) { /* no push service reachable: the stream and the other channels still carry dispatches */ }
  }

  // -- pairing ----------------------------------------------------------------------------------------------
  function unpaired() {
    state.token = null;
    localStorage.removeItem(TOKEN_KEY);
    $("crew").hidden = true;
    $("pair").hidden = false;
    document.body.dataset.ready = "1";
    document.body.dataset.paired = "0";
  }

  async function pair(ev) {
    ev.preventDefault();
    $("pair-error").hidden = true;
    // Asked while the crew is tapping (a user gesture): dispatches may then arrive as notifications too.
    if (window.Notification && Notification.permission === "default") Notification.requestPermission().catch(() => {});
    try {
      const r = await fetch("/api/crew/pair", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ code: $("pair-code").value, label: $("pair-label").value }),
      });
      const doc = await r.json().catch(() => ({}));
      if (!r.ok) {
        $("pair-error").textContent = r.status === 401 ? T("crew.code_bad")
          : ((EN() ? doc.message_en : doc.message_id) || T("crew.pair_failed"));
        $("pair-error").hidden = false;
        return;
      }
      state.token = doc.token;
      localStorage.setItem(TOKEN_KEY, doc.token);
      history.replaceState(null, "", "/crew");
      start();
    } catch (e) {
      $("pair-error").textContent = T("crew.no_network");
      $("pair-error").hidden = false;
    }
  }

  function start() {
    $("pair").hidden = true;
    $("crew").hidden = false;
    document.body.dataset.paired = "1";
    const cached = localStorage.getItem(VIEW_KEY);
    if (cached) { try { render(JSON.parse(cached)); } catch (e) { /* a broken cache: wait for the server */ } }
    refresh();
    listen();
    startGps();
    showPending();
    flush();
    subscribePush();
  }

  function init() {
    $("pair-form").addEventListener("submit", pair);
    for (const b of document.querySelectorAll(".tap")) b.addEventListener("click", () => tap(b.dataset.action));
    window.addEventListener("online", () => { setNet(true); flush(); refresh(); });
    window.addEventListener("offline", () => setNet(false));
    // Another language chosen: what the page wrote itself is written again.
    document.addEventListener("sigap:lang", () => { if (state.view) render(state.view); });
    setInterval(flush, 5000);
    const m = /kode=([A-Za-z0-9-]+)/.exec(location.hash);
    if (m) $("pair-code").value = m[1].toUpperCase();
    if ("serviceWorker" in navigator) navigator.serviceWorker.register("/crew-sw.js", { scope: "/crew" }).catch(() => {});
    if (state.token) start();
    else unpaired();
  }

  window.SIGAP_CREW = { state, flush, tap };
  init();
})();
