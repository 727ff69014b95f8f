// SIGAP 112 shared map code: API calls, the map with its layers and legend, live updates over SSE.
// Every request goes to the platform itself (relative URLs); nothing is loaded from another host.
(function () {
  "use strict";
  const T = (k, f) => window.I18N.t(k, f);
  const cfgEl = document.getElementById("sigap-config");
  const CONFIG = cfgEl ? JSON.parse(cfgEl.textContent || "{}") : {};
  const OPEN = new Set(["perlu_lokasi", "baru", "diverifikasi", "dikirim", "menuju_lokasi", "tiba"]);
  const STATUS_COLOUR = {
    perlu_lokasi: "#9e9e9e", baru: "#e53935", diverifikasi: "#fb8c00", dikirim: "#fdd835",
    menuju_lokasi: "#1e88e5", tiba: "#43a047", selesai: "#546e7a", ditutup: "#37474f", batal: "#bdbdbd",
  };
  const UNIT_ICON = { damkar: "fire-extinguisher", ambulans: "truck-medical", bpbd: "people-group", perahu: "ship", polisi: "shield-halved" };
  // Unit colours by group (the legend's three): free (tersedia, kembali), on a call, out of service.
  const UNIT_COLOUR = { tersedia: "#2e7d32", bertugas: "#ef6c00", offline: "#757575" };
  const UNIT_GROUP = { tersedia: "tersedia", kembali: "tersedia", dikirim: "bertugas", menuju_lokasi: "bertugas",
    tiba: "bertugas", tidak_tersedia: "offline", offline: "offline", bertugas: "bertugas" };
  const REGENCY_BOUNDS = [[-2.61, 114.59], [-1.25, 115.46]];

  const byCode = (list) => Object.fromEntries((list || []).map((x) => [x.code, x]));
  const CATS = byCode(CONFIG.categories);
  const STATES = byCode(CONFIG.states);
  const UTYPES = byCode(CONFIG.unit_types);
  const label = (obj) => (obj ? (window.I18N.lang === "en" ? obj.label_en : obj.label_id) || obj.code : "–");
  const esc = (s) => String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));

  // ---- API ----------------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, body) {
      const msg = body && (window.I18N.lang === "en" ? body.message_en : body.message_id);
      super(msg || (body && body.message) || "HTTP " + status);
      this.status = status;
      this.body = body;
    }
  }
  async function api(path, opts) {
    opts = opts || {};
    const headers = { Accept: "application/json" };
    // The session is the HttpOnly cookie; this header (which other sites cannot send) lets it be used for writes.
    headers["X-Sigap-Csrf"] = "1";
    let body;
    if (opts.json !== undefined) { headers["Content-Type"] = "application/json"; body = JSON.stringify(opts.json); }
    if (opts.form) { body = opts.form; }
    let r;
    // A dropped link rejects with the browser's own English words ("Failed to fetch"): say it in the page's.
    try { r = await fetch(path, { method: opts.method || "GET", headers, body, credentials: "same-origin" }); }
    catch (e) { throw new ApiError(0, { message_id: T("net.failed"), message_en: T("net.failed") }); }
    const text = await r.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = { message: text }; }
    if (r.status === 401 && CONFIG.page && CONFIG.page !== "login") {
      location.href = "/login?next=" + encodeURIComponent(location.pathname);
    }
    if (!r.ok) throw new ApiError(r.status, data);
    return data;
  }
  // A layer that cannot be loaded leaves the map usable and says so: never a silently empty layer.
  async function layerData(path) {
    try { return await api(path); } catch (e) { toast(`${T("layer.failed")}: ${e.message}`, "error"); return null; }
  }

  // ---- map ----------------------------------------------------------------------------------
  function makeMap(el, opts) {
    opts = opts || {};
    const map = L.map(el, { zoomControl: true, attributionControl: true, minZoom: 6, maxZoom: 18, zoomSnap: 0.5 });
    map.attributionControl.setPrefix(false);
    const panes = { base: 200, bounds: 350, floods: 380, h3: 390, network: 400, rivers: 405, hotspots: 420, route: 430 };
    for (const [name, z] of Object.entries(panes)) { map.createPane(name).style.zIndex = z; }
    map.getPane("bounds").style.pointerEvents = "none";
    map.getPane("rivers").style.pointerEvents = "none";
    if (CONFIG.basemap_url) {
      L.tileLayer(CONFIG.basemap_url, { attribution: CONFIG.basemap_attribution || "", maxZoom: 18 }).addTo(map);
      el.classList.add("with-basemap");
    }
    map.attributionControl.addAttribution("Batas: Kepmendagri (cahyadsn/wilayah_boundaries) · Sungai: Natural Earth");
    map.fitBounds(REGENCY_BOUNDS);
    L.control.scale({ imperial: false }).addTo(map);
    // Printed, the map takes the page's size (print stylesheet): redraw it for the new size, and back after.
    // The legend is printed open whatever its state on screen.
    const resize = () => {
      document.querySelectorAll("details.legend").forEach((d) => { d.open = true; });
      map.invalidateSize({ animate: false });
    };
    window.addEventListener("beforeprint", resize);
    window.addEventListener("afterprint", resize);
    if (window.matchMedia) window.matchMedia("print").addEventListener("change", resize);
    return map;
  }

  function labelled(layer, text, cls, latlng) {
    const tip = L.tooltip({ permanent: true, direction: "center", className: "lbl " + cls, interactive: false });
    tip.setContent(esc(text));
    tip.setLatLng(latlng);
    return tip;
  }

  // The boundary layers: polygons drawn without interaction (clicks go to the map), names as labels.
  async function boundaryLayers(map) {
    const out = {};
    const [kab, kec, desa, rivers] = await Promise.all([
      api("/api/layers/kabupaten?simplify=300"),
      api("/api/layers/kecamatan?simplify=60"),
      api("/api/layers/desa?simplify=30"),
      api("/api/layers/rivers?simplify=50"),
    ]);
    const renderer = L.canvas({ pane: "bounds", padding: 0.3 });
    const kabLabels = L.layerGroup();
    out.kabupaten = L.layerGroup([
      L.geoJSON(kab, {
        pane: "bounds", renderer, interactive: false,
        style: (f) => ({ color: "#8d8d8d", weight: 1.2, fillColor: f.properties.kode === "62.04" ? "#fbfaf6" : "#ecebe4", fillOpacity: 1 }),
        onEachFeature: (f, layer) => { if (f.properties.kode !== "62.04") kabLabels.addLayer(labelled(layer, f.properties.nama, "lbl-kab", layer.getBounds().getCenter())); },
      }),
      kabLabels,
    ]);
    const kecLabels = L.layerGroup();
    out.kecamatan = L.layerGroup([
      L.geoJSON(kec, {
        pane: "bounds", renderer, interactive: false, style: { color: "#5d4037", weight: 2, fill: false },
        onEachFeature: (f, layer) => kecLabels.addLayer(labelled(layer, f.properties.nama, "lbl-kec", layer.getBounds().getCenter())),
      }),
      kecLabels,
    ]);
    const desaLabels = L.layerGroup();
    out.desa = L.layerGroup([
      L.geoJSON(desa, {
        pane: "bounds", renderer, interactive: false, style: { color: "#a1887f", weight: 0.7, fill: false, dashArray: "3 3" },
        onEachFeature: (f, layer) => {
          const p = f.properties;
          const at = p.lat !== undefined && p.lng !== undefined ? L.latLng(p.lat, p.lng) : layer.getBounds().getCenter();
          desaLabels.addLayer(labelled(layer, p.nama, "lbl-desa", at));
        },
      }),
    ]);
    // Village names only where they can be read.
    const syncDesaLabels = () => {
      const show = map.getZoom() >= 10.5 && map.hasLayer(out.desa);
      if (show && !map.hasLayer(desaLabels)) map.addLayer(desaLabels);
      if (!show && map.hasLayer(desaLabels)) map.removeLayer(desaLabels);
    };
    map.on("zoomend overlayadd overlayremove", syncDesaLabels);
    out.desa.on("add remove", () => setTimeout(syncDesaLabels));
    out.rivers = L.geoJSON(rivers, { pane: "rivers", interactive: false, style: { color: "#1e88e5", weight: 3, opacity: 0.85 } });
    out._desa = desa;
    return out;
  }

  async function networkLayer() {
    const data = await layerData("/api/network");
    if (!data || !data.features) return null;
    return L.geoJSON(data, {
      pane: "network", interactive: false,
      style: (f) => {
        const p = f.properties || {};
        const river = p.kind === "river" || p.mode === "river" || p.kind === "ferry";
        const derived = p.source === "derived";
        return { color: river ? "#4fc3f7" : "#8d6e63", weight: river ? 1.5 : 2, opacity: 0.8, dashArray: derived ? "6 5" : null };
      },
    });
  }

  // ---- markers ------------------------------------------------------------------------------
  function incidentIcon(inc) {
    const cat = CATS[inc.category] || { icon: "circle-exclamation", colour: "#424242" };
    const ring = STATUS_COLOUR[inc.status] || "#424242";
    const done = !OPEN.has(inc.status);
    return L.divIcon({
      className: "inc-icon" + (done ? " done" : ""),
      html: `<span style="background:${cat.colour};border-color:${ring}"><i class="fa-solid fa-${cat.icon}"></i></span>`,
      iconSize: [30, 30], iconAnchor: [15, 15], popupAnchor: [0, -14],
    });
  }
  function ageText(seconds) { return window.I18N.duration(seconds) + " " + T("ago"); }
  function unitAge(u) {
    if (u.position_at) return (Date.now() - new Date(u.position_at).getTime()) / 1000;
    return u.position_age_s;
  }
  // `shift`: pixels [dx, dy] the marker is drawn off its point, so units on one spot do not hide each other.
  function unitIcon(u, shift) {
    const colour = UNIT_COLOUR[UNIT_GROUP[u.status] || u.status] || "#757575";
    const age = unitAge(u);
    const stale = u.stale || (age !== undefined && age !== null && age > (CONFIG.stale_position_minutes || 10) * 60);
    const [dx, dy] = shift || [0, 0];
    return L.divIcon({
      className: "unit-icon" + (stale ? " stale" : "") + " st-" + (u.status || ""),
      html: `<span style="background:${colour}"><i class="fa-solid fa-${UNIT_ICON[u.type] || "car"}"></i></span>`,
      iconSize: [24, 24], iconAnchor: [12 - dx, 12 - dy], popupAnchor: [dx, dy - 12],
    });
  }
  // A busy unit names its call, a link the page turns into "show that call" (event sigap:open-incident).
  function unitPopup(u, extra) {
    const age = unitAge(u);
    const call = u.incident_id
      ? `<br>${esc(T("unit.on_call"))} <a href="#" class="unit-call" data-id="${esc(u.incident_id)}">${esc(u.incident_number || "#" + u.incident_id)}</a>` : "";
    return `<div class="unit-popup" data-unit="${esc(u.id)}"><b>${esc(u.callsign || u.id)}</b><br>${esc(label(UTYPES[u.type]))} · ${esc(u.agency || "")}<br>` +
      `<span class="unit-status">${esc(T("unit.status." + u.status, u.status))}</span>${call}<br><small>${esc(T("unit.age"))}: ${age === undefined || age === null ? "–" : esc(ageText(age))}` +
      `${u.source === "demo" ? " · demo" : ""}</small>${extra ? extra(u) : ""}</div>`;
  }
  document.addEventListener("click", (ev) => {
    const a = ev.target.closest && ev.target.closest("a.unit-call");
    if (!a) return;
    ev.preventDefault();
    document.dispatchEvent(new CustomEvent("sigap:open-incident", { detail: Number(a.dataset.id) }));
  });
  // Units on the same spot (to ~1 m) fan out around it: the n-th of k on a ring of 14 px and more.
  function spreadOffsets(list) {
    if (list.length < 2) return list.map(() => [0, 0]);
    const r = 14 + 2 * Math.max(0, list.length - 6);
    return list.map((_, i) => [Math.round(r * Math.cos((2 * Math.PI * i) / list.length)), Math.round(r * Math.sin((2 * Math.PI * i) / list.length))]);
  }
  function incidentPopup(inc) {
    return `<b>${esc(inc.number || "#" + inc.id)}</b> · ${esc(label(CATS[inc.category]))}<br>` +
      `${esc(label(STATES[inc.status]))}<br>${esc(inc.desa_name || "")}${inc.kecamatan_name ? ", " + esc(inc.kecamatan_name) : ""}` +
      `<br><small>${esc(window.I18N.wib(inc.created_at))}</small>`;
  }

  // Incidents and units kept by id; markers move in place when the live stream says so.
  function liveLayers(map, opts) {
    opts = opts || {};
    const incidents = new Map();
    const units = new Map();
    // opts.cluster: incidents grouped by Leaflet.markercluster (when the page loads it), one marker per call below.
    const incLayer = opts.cluster && L.markerClusterGroup
      ? L.markerClusterGroup({ maxClusterRadius: 40, disableClusteringAtZoom: 14, spiderfyOnMaxZoom: true })
      : L.layerGroup();
    const unitLayer = L.layerGroup();
    function upsertIncident(inc) {
      const prev = incidents.get(inc.id);
      const merged = Object.assign({}, prev ? prev.data : {}, inc);
      const show = merged.lon !== null && merged.lon !== undefined && (OPEN.has(merged.status) || opts.showClosed);
      // The marker is kept and updated, not redrawn: an open popup stays open while the call changes.
      let marker = prev ? prev.marker : null;
      if (marker && !show) { incLayer.removeLayer(marker); marker = null; }
      const current = () => (incidents.get(inc.id) || { data: merged }).data;
      if (marker) {
        marker.setLatLng([merged.lat, merged.lon]);
        marker.setIcon(incidentIcon(merged));
        if (marker.isPopupOpen()) marker.getPopup().setContent(incidentPopup(merged));
      } else if (show) {
        // keyboard: false: markers stay out of the tab order (the list and the card are the keyboard's way in).
        marker = L.marker([merged.lat, merged.lon], { icon: incidentIcon(merged), zIndexOffset: 1000, title: merged.number || "", keyboard: false });
        marker.bindPopup(() => incidentPopup(current()));
        if (opts.onIncidentClick) marker.on("click", () => opts.onIncidentClick(current()));
        incLayer.addLayer(marker);
      }
      incidents.set(inc.id, { data: merged, marker });
      document.dispatchEvent(new CustomEvent("sigap:incidents"));
      return merged;
    }
    const spotKey = (d) => (d.lon === null || d.lon === undefined ? null : d.lat.toFixed(5) + "," + d.lon.toFixed(5));
    // Redraw every unit on a spot with its share of the ring.
    function respread(key) {
      if (key === null) return;
      const here = [...units.values()].filter((e) => e.marker && spotKey(e.data) === key).sort((a, b) => a.data.id - b.data.id);
      const offsets = spreadOffsets(here);
      here.forEach((e, i) => { e.shift = offsets[i]; e.marker.setIcon(unitIcon(e.data, e.shift)); });
    }
    function upsertUnit(u) {
      const prev = units.get(u.id);
      const merged = Object.assign({}, prev ? prev.data : {}, u);
      const oldKey = prev ? spotKey(prev.data) : null;
      if (merged.lon === null || merged.lon === undefined) { units.set(u.id, { data: merged, marker: prev && prev.marker }); return merged; }
      let marker = prev && prev.marker;
      if (marker) { marker.setLatLng([merged.lat, merged.lon]); marker.setIcon(unitIcon(merged, prev.shift)); }
      else {
        marker = L.marker([merged.lat, merged.lon], { icon: unitIcon(merged), zIndexOffset: 500, title: merged.callsign || "", keyboard: false });
        unitLayer.addLayer(marker);
      }
      marker.bindPopup(() => unitPopup(merged, opts.unitPopupExtra));
      units.set(u.id, { data: merged, marker, shift: prev && prev.shift });
      const key = spotKey(merged);
      if (oldKey !== key) respread(oldKey);
      respread(key);
      return merged;
    }
    // IncidentPage.items and UnitList.units (see /openapi.json); a layer that failed to load stays empty.
    async function loadIncidents() {
      const data = await layerData("/api/incidents?limit=500");
      if (data) data.items.forEach(upsertIncident);
    }
    async function loadUnits() {
      const data = await layerData("/api/units");
      if (data) data.units.forEach(upsertUnit);
    }
    async function refreshIncident(id) {
      try { return upsertIncident(await api("/api/incidents/" + id)); } catch (e) { return null; }
    }
    // Ages of unit positions grow even when nothing moves.
    setInterval(() => units.forEach((u) => { if (u.marker) u.marker.setIcon(unitIcon(u.data, u.shift)); }), 30000);
    return { incidents, units, incLayer, unitLayer, upsertIncident, upsertUnit, loadIncidents, loadUnits, refreshIncident };
  }

  // ---- hotspots -----------------------------------------------------------------------------
  // A detection's properties are HotspotProperties (api/schemas/hotspots.py): confidence is low|nominal|high
  // (or null), acq_time an ISO UTC time, desa_name the desa it fell in (null outside Barito Selatan).
  const HOT_COLOUR = { high: "#b71c1c", nominal: "#f4511e", low: "#ffb300" };
  // Age bands: under 6 h drawn bold with a dark ring, under a day solid, older faded.
  const HOT_AGE = {
    fresh: { weight: 1.5, color: "#212121", fillOpacity: 0.95 },
    day: { weight: 0.5, color: "#6d4c41", fillOpacity: 0.7 },
    old: { weight: 0.5, color: "#6d4c41", fillOpacity: 0.4 },
  };
  function hotspotConfidence(p) { return Object.hasOwn(HOT_COLOUR, p.confidence ?? "") ? p.confidence : "nominal"; }
  function hotspotAge(p) {
    const hours = (Date.now() - Date.parse(p.acq_time)) / 3.6e6;
    return hours < 6 ? "fresh" : hours < 24 ? "day" : "old";
  }
  function hotspotLayer(geojson) {
    return L.geoJSON(geojson, {
      pane: "hotspots",
      pointToLayer: (f, latlng) => {
        const p = f.properties;
        const conf = hotspotConfidence(p);
        const age = hotspotAge(p);
        return L.circleMarker(latlng, {
          pane: "hotspots", radius: 5, fillColor: HOT_COLOUR[conf], className: `hot-marker hot-${age}`, ...HOT_AGE[age],
        }).bindPopup(() => `<b>${esc(T("layer.hotspots"))}</b><br>${esc(T("hot.conf"))}: ${esc(T("hot." + conf))}` +
          `<br>${esc(window.I18N.wib(p.acq_time))}${p.satellite ? "<br>" + esc(p.satellite) : ""}${p.desa_name ? "<br>" + esc(p.desa_name) : ""}`);
      },
    });
  }
  const SEV_COLOUR = { rendah: "#90caf9", sedang: "#42a5f5", tinggi: "#0d47a1" };
  function floodLayer(geojson, onClick) {
    return L.geoJSON(geojson, {
      pane: "floods",
      style: (f) => ({ color: "#0d47a1", weight: 1, fillColor: SEV_COLOUR[(f.properties || {}).severity] || "#42a5f5", fillOpacity: 0.45, dashArray: (f.properties || {}).is_proxy ? "4 3" : null }),
      onEachFeature: (f, layer) => {
        const p = f.properties || {};
        layer.bindPopup(`<b>${esc(p.name || T("layer.floods"))}</b><br>${esc(T("sev." + p.severity, p.severity))} · ${esc(p.status || "")}<br><small>${esc(window.I18N.wib(p.observed_at))}${p.source ? " · " + esc(p.source) : ""}</small>`);
        if (onClick) layer.on("click", () => onClick(f));
      },
    });
  }

  // ---- layer switcher and legend ------------------------------------------------------------
  const LayerPanel = L.Control.extend({
    options: { position: "topright" },
    initialize(entries, legendHtml, opts) { this.entries = entries; this.legendHtml = legendHtml; L.setOptions(this, opts); },
    onAdd(map) {
      this._map = map;
      const div = L.DomUtil.create("div", "layer-panel leaflet-bar");
      div.id = "layer-panel";
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      this.div = div;
      this.render();
      document.addEventListener("sigap:lang", () => this.render());
      return div;
    },
    add(key, entry) { this.entries[key] = entry; if (this.div) this.render(); },
    render() {
      const rows = Object.entries(this.entries).filter(([, e]) => e.layer).map(([key, e]) =>
        `<label class="lp-row" data-layer="${key}"><input type="checkbox" ${this._map.hasLayer(e.layer) ? "checked" : ""}>` +
        `<span class="sw ${e.swatchClass || ""}" style="${e.swatch || ""}"></span><span>${esc(T("layer." + key))}${e.note ? ` <em class="approx">(${esc(e.note())})</em>` : ""}</span></label>`).join("");
      const open = this.div.querySelector("details.legend");
      const isOpen = open ? open.open : this.options.legendOpen !== false;
      this.div.innerHTML = `<div class="lp-title"><i class="fa-solid fa-layer-group"></i> ${esc(T("layers"))}</div>${rows}` +
        `<details class="legend" ${isOpen ? "open" : ""}><summary>${esc(T("legend"))}</summary>${this.legendHtml()}</details>`;
      this.div.querySelectorAll(".lp-row input").forEach((input) => {
        input.addEventListener("change", (ev) => {
          const e = this.entries[ev.target.closest(".lp-row").dataset.layer];
          if (ev.target.checked) this._map.addLayer(e.layer); else this._map.removeLayer(e.layer);
        });
      });
    },
  });

  function legendHtml(opts) {
    opts = opts || {};
    let html = "";
    if (opts.incidents !== false) {
      const used = CONFIG.categories || [];
      html += `<div class="lg-h">${esc(T("layer.incidents"))}</div><div class="lg-grid">` + used.map((c) =>
        `<span class="lg-item"><span class="inc-dot" style="background:${c.colour}"><i class="fa-solid fa-${c.icon}"></i></span>${esc(label(c))}</span>`).join("") + "</div>";
      html += `<div class="lg-grid status">` + ["baru", "diverifikasi", "dikirim", "menuju_lokasi", "tiba"].map((s) =>
        `<span class="lg-item"><span class="ring" style="border-color:${STATUS_COLOUR[s]}"></span>${esc(label(STATES[s]))}</span>`).join("") + "</div>";
    }
    if (opts.units !== false) {
      html += `<div class="lg-h">${esc(T("layer.units"))}</div><div class="lg-grid">` + (CONFIG.unit_types || []).map((u) =>
        `<span class="lg-item"><span class="unit-dot"><i class="fa-solid fa-${UNIT_ICON[u.code] || "car"}"></i></span>${esc(label(u))}</span>`).join("") +
        Object.entries(UNIT_COLOUR).map(([s, c]) => `<span class="lg-item"><span class="sq" style="background:${c}"></span>${esc(T("unit.status." + s))}</span>`).join("") +
        `<span class="lg-item"><span class="sq stale"></span>${esc(T("unit.stale"))} (&gt; ${CONFIG.stale_position_minutes || 10} ${esc(T("min"))})</span></div>`;
    }
    if (opts.hotspots !== false) {
      html += `<div class="lg-h">${esc(T("layer.hotspots"))}</div><div class="lg-grid">` + Object.entries(HOT_COLOUR).map(([k, c]) =>
        `<span class="lg-item"><span class="dot" style="background:${c}"></span>${esc(T("hot." + k))}</span>`).join("") +
        `<span class="lg-item"><span class="dot" style="background:#f4511e;border:1.5px solid #212121"></span>${esc(T("hot.recent"))}</span>` +
        `<span class="lg-item"><span class="dot" style="background:#f4511e;opacity:.45"></span>${esc(T("hot.old"))}</span></div>`;
    }
    if (opts.floods !== false) {
      html += `<div class="lg-h">${esc(T("layer.floods"))}</div><div class="lg-grid">` + Object.entries(SEV_COLOUR).map(([k, c]) =>
        `<span class="lg-item"><span class="sq" style="background:${c}"></span>${esc(T("sev." + k))}</span>`).join("") + "</div>";
    }
    return html;
  }

  // Standard overlays for any page; returns the panel so pages can add their own entries.
  async function standardLayers(map, opts) {
    opts = opts || {};
    const b = await boundaryLayers(map);
    const entries = {
      kabupaten: { layer: b.kabupaten, swatch: "background:#ecebe4;border:1px solid #8d8d8d" },
      kecamatan: { layer: b.kecamatan, swatch: "border:2px solid #5d4037" },
      desa: { layer: b.desa, swatch: "border:1px dashed #a1887f" },
      rivers: { layer: b.rivers, swatchClass: "line", swatch: "background:#1e88e5" },
    };
    ["kabupaten", "kecamatan", "desa", "rivers"].forEach((k) => map.addLayer(entries[k].layer));
    const panel = new LayerPanel(entries, () => legendHtml(opts.legend), { legendOpen: opts.legendOpen });
    panel.addTo(map);
    networkLayer().then((net) => {
      if (net) {
        panel.add("network", { layer: net, swatchClass: "line dashed", swatch: "border-color:#8d6e63", note: () => T("approx") });
        if (opts.network !== false) map.addLayer(net);
        panel.render();
      }
    }).catch(() => {});
    return { panel, boundaries: b, entries };
  }

  // ---- live stream --------------------------------------------------------------------------
  const handlers = {};
  function on(kind, fn) { (handlers[kind] = handlers[kind] || []).push(fn); }
  function connect() {
    if (!window.EventSource) return;
    const live = document.getElementById("live");
    const es = new EventSource("/api/events");
    const setLive = (ok) => {
      if (!live) return;
      live.classList.toggle("off", !ok);
      live.classList.toggle("on", ok);
      const span = live.querySelector("span");
      span.dataset.i18n = ok ? "live.on" : "live.off";
      span.textContent = T(ok ? "live.on" : "live.off");
    };
    es.onopen = () => setLive(true);
    es.onerror = () => setLive(false);
    ["incident.created", "incident.updated", "unit.updated", "unit.moved", "flood.updated", "hotspots.ingested", "report.updated",
      "call.created", "call.updated", "call.popped", "caller.flagged",
      "hotspot.alert", "ground_check.updated", "heat_source.updated"].forEach((kind) => {
      es.addEventListener(kind, (msg) => {
        let ev;
        try { ev = JSON.parse(msg.data); } catch (e) { return; }
        window.SIGAP.lastEvent = ev;
        (handlers[kind] || []).forEach((fn) => fn(ev.data || {}, ev));
        (handlers["*"] || []).forEach((fn) => fn(ev.data || {}, ev));
      });
    });
    window.SIGAP.stream = es;
  }
  // Area alerts (a new nominal/high hotspot in a kecamatan or near a desa) reach the dispatcher and planner pages.
  on("hotspot.alert", (a) => {
    if (CONFIG.page !== "map" && CONFIG.page !== "planner") return;
    const where = a.near_desa ? " · " + a.near_desa : "";
    toast(`${T("alert.hotspot", "Peringatan titik panas")}: ${a.detected_at_wib || ""}${where} (${a.satellite || ""}, ${a.confidence || ""})`, "alert");
  });

  function toast(text, kind) {
    let box = document.getElementById("toasts");
    if (!box) { box = document.createElement("div"); box.id = "toasts"; document.body.appendChild(box); }
    const el = document.createElement("div");
    el.className = "toast " + (kind || "");
    el.textContent = text;
    box.appendChild(el);
    setTimeout(() => el.remove(), 6000);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const clock = document.getElementById("clock");
    if (clock) { const tick = () => { clock.textContent = window.I18N.clock(); }; tick(); setInterval(tick, 1000); }
    const out = document.getElementById("logout");
    if (out) out.addEventListener("click", async () => {
      try { await fetch("/api/auth/logout", { method: "POST", credentials: "same-origin", headers: { "X-Sigap-Csrf": "1" } }); } finally { location.href = "/login"; }
    });
  });

  window.SIGAP = {
    CONFIG, CATS, STATES, UTYPES, OPEN, STATUS_COLOUR, UNIT_COLOUR, UNIT_GROUP, api, layerData, label, esc, makeMap,
    standardLayers, liveLayers, hotspotLayer, floodLayer, legendHtml, on, connect, toast, ready: false,
  };
})();
