// Planner map (BPBD): FIRMS hotspots over a window with confidence/satellite filters, H3 density, Gi* clusters
// and repeat burning, per-kecamatan/desa tables, exports of what is on screen, area alerts, ground checks
// ("cek lapangan"), static heat sources, and flood zones drawn (Leaflet-Geoman, bundled), imported and edited.
(function () {
  "use strict";
  const S = window.SIGAP;
  const T = (k, f) => window.I18N.t(k, f);
  const esc = S.esc;
  const $ = (id) => document.getElementById(id);
  const CAN_WRITE = !!S.CONFIG.can_write;

  // Planner words (Bahasa Indonesia first); the shared dictionary keeps the words every page uses.
  const WORDS = {
    id: {
      "alert.title": "Peringatan wilayah", "alert.none": "Tidak ada peringatan 24 jam terakhir.",
      "alert.kecamatan": "di desa", "alert.dekat_desa": "dekat desa",
      "f.conf": "Keyakinan", "f.sat": "Satelit", "f.sat.all": "semua", "f.static": "tampilkan sumber tetap",
      "conf.high": "tinggi", "conf.nominal": "nominal", "conf.low": "rendah",
      "view.title": "Tampilan", "view.hex": "Kepadatan", "view.gi": "Klaster Gi*", "view.persist": "Berulang",
      "hex.size": "Ukuran heksagon", "hex.6": "Besar ~36 km²", "hex.7": "Sedang ~5 km²", "hex.8": "Kecil ~0,7 km²",
      "export.title": "Unduh yang tampil", "tab.title": "Per wilayah", "tab.kec": "Kecamatan", "tab.desa": "Desa",
      "tab.count": "Titik", "tab.high": "Tinggi", "tab.last": "Terakhir",
      "gc.title": "Cek lapangan", "gc.hint": "Klik titik panas atau heksagon klaster, lalu \"Buat cek lapangan\".",
      "gc.create": "Buat cek lapangan", "gc.created": "Cek lapangan dibuat", "gc.none": "Belum ada cek lapangan.",
      "gc.pending": "menunggu hasil", "gc.record": "Catat hasil", "gc.cause": "Sebab", "gc.area": "Luas (ha)",
      "gc.save": "Simpan hasil", "gc.false_share": "Alarm palsu per satelit",
      "res.api_aktif": "Api aktif", "res.sudah_padam": "Sudah padam", "res.bukan_api": "Bukan api",
      "res.tidak_terjangkau": "Tidak terjangkau",
      "cause.pantulan_atap": "pantulan atap", "cause.industri": "industri", "cause.lainnya": "lainnya",
      "hot.static": "sumber tetap", "hot.date_only": "tanggal saja", "hot.in_cell": "titik panas",
      "hot.desa_more": "desa lain", "gi.hot99": "klaster panas 99 %", "gi.hot95": "klaster panas 95 %",
      "gi.cold95": "klaster dingin 95 %", "gi.cold99": "klaster dingin 99 %", "gi.ns": "tidak bermakna",
      "persist.days": "hari terbakar", "persist.run": "berturut-turut",
      "flood.draw": "Gambar zona", "src.draw": "Sumber panas tetap",
      "flood.draw.hint": "Klik titik-titik di peta; klik titik pertama untuk menutup.",
      "flood.import": "Impor berkas (GeoJSON, Shapefile .zip, GeoPackage)", "flood.import.go": "Impor",
      "flood.import.none": "Pilih berkas dulu.", "flood.import.done": "zona dibuat",
      "flood.repaired": "diperbaiki", "flood.rejected": "ditolak", "flood.roads": "Ruas jalan/sungai terputus",
      "flood.share": "Bagian terendam", "zone.new": "Zona baru", "zone.edit": "Ubah zona", "zone.name": "Nama",
      "zone.level": "Tingkat", "zone.status": "Status", "zone.active": "aktif", "zone.ended": "selesai",
      "zone.since": "Aktif sejak", "zone.save": "Simpan", "zone.edit_shape": "Ubah bentuk",
      "zone.saved": "Zona disimpan", "src.kind": "Jenis sumber", "src.new": "Sumber panas tetap baru",
      "src.saved": "Sumber panas disimpan", "src.layer": "Sumber panas tetap", "src.delete": "Hapus sumber ini",
    },
    en: {
      "alert.title": "Area alerts", "alert.none": "No alerts in the last 24 h.",
      "alert.kecamatan": "in village", "alert.dekat_desa": "near village",
      "f.conf": "Confidence", "f.sat": "Satellite", "f.sat.all": "all", "f.static": "show static sources",
      "conf.high": "high", "conf.nominal": "nominal", "conf.low": "low",
      "view.title": "View", "view.hex": "Density", "view.gi": "Gi* clusters", "view.persist": "Repeat burning",
      "hex.size": "Hexagon size", "hex.6": "Large ~36 km²", "hex.7": "Medium ~5 km²", "hex.8": "Small ~0.7 km²",
      "export.title": "Download what is shown", "tab.title": "Per area", "tab.kec": "District", "tab.desa": "Village",
      "tab.count": "Hotspots", "tab.high": "High", "tab.last": "Last",
      "gc.title": "Ground checks", "gc.hint": "Click a hotspot or a cluster hexagon, then \"Create ground check\".",
      "gc.create": "Create ground check", "gc.created": "Ground check created", "gc.none": "No ground checks yet.",
      "gc.pending": "awaiting result", "gc.record": "Record result", "gc.cause": "Cause", "gc.area": "Area (ha)",
      "gc.save": "Save result", "gc.false_share": "False alarms per satellite",
      "res.api_aktif": "Active fire", "res.sudah_padam": "Already out", "res.bukan_api": "Not a fire",
      "res.tidak_terjangkau": "Unreachable",
      "cause.pantulan_atap": "roof reflection", "cause.industri": "industry", "cause.lainnya": "other",
      "hot.static": "static source", "hot.date_only": "date only", "hot.in_cell": "hotspots",
      "hot.desa_more": "other villages", "gi.hot99": "hot cluster 99 %", "gi.hot95": "hot cluster 95 %",
      "gi.cold95": "cold cluster 95 %", "gi.cold99": "cold cluster 99 %", "gi.ns": "not significant",
      "persist.days": "days burning", "persist.run": "in a row",
      "flood.draw": "Draw zone", "src.draw": "Static heat source",
      "flood.draw.hint": "Click points on the map; click the first point to close.",
      "flood.import": "Import a file (GeoJSON, zipped Shapefile, GeoPackage)", "flood.import.go": "Import",
      "flood.import.none": "Choose a file first.", "flood.import.done": "zones created",
      "flood.repaired": "repaired", "flood.rejected": "rejected", "flood.roads": "Road/river links cut",
      "flood.share": "Share flooded", "zone.new": "New zone", "zone.edit": "Edit zone", "zone.name": "Name",
      "zone.level": "Level", "zone.status": "Status", "zone.active": "active", "zone.ended": "ended",
      "zone.since": "Active since", "zone.save": "Save", "zone.edit_shape": "Edit shape",
      "zone.saved": "Zone saved", "src.kind": "Source kind", "src.new": "New static heat source",
      "src.saved": "Heat source saved", "src.layer": "Static heat sources", "src.delete": "Delete this source",
    },
  };
  const P = (k) => (WORDS[window.I18N.lang === "en" ? "en" : "id"][k] || WORDS.id[k] || k);
  function applyWords() { document.querySelectorAll("[data-p]").forEach((el) => { el.textContent = P(el.dataset.p); }); }

  let map, panel;
  const hotLayer = L.layerGroup(), h3Layer = L.layerGroup(), floodGroup = L.layerGroup();
  const sourceLayer = L.layerGroup(), checkLayer = L.layerGroup(), alertLayer = L.layerGroup();
  let windowSel = "24h", res = 7, since = null, until = null, h3Max = 1, view = "hex", tableSel = "kecamatan";
  let floods = [], editing = null, drawn = null, drawKind = "flood", cellSeq = 0, hotSeq = 0;

  // ---- the query every hotspot view shares --------------------------------------------------
  function query() {
    const q = new URLSearchParams({ window: windowSel });
    if (windowSel === "custom") { if (since) q.set("since", since + "T00:00:00+07:00"); if (until) q.set("until", until + "T23:59:59+07:00"); }
    const conf = [...document.querySelectorAll(".f-conf:checked")].map((c) => c.value);
    if (conf.length && conf.length < 3) q.set("confidence", conf.join(","));
    const sat = $("f-sat").value;
    if (sat) q.set("satellite", sat);
    if (!$("f-static").checked) q.set("include_static", "false");
    return q;
  }
  // The window as the export API's `datetime` interval (start/end, ISO UTC; '..' open), before any answer.
  function interval() {
    const now = new Date();
    const hours = { "24h": 24, "7d": 168, "30d": 720 }[windowSel];
    if (hours) return new Date(now - hours * 3.6e6).toISOString() + "/" + now.toISOString();
    const a = since ? new Date(since + "T00:00:00+07:00").toISOString() : "..";
    const b = until ? new Date(until + "T23:59:59+07:00").toISOString() : now.toISOString();
    return a + "/" + b;
  }
  // The filter the server applied to the points on the map (echoed in its answer): the exports ask for the same
  // window, confidence, satellites and static sources, within the map's view, so the file holds what is shown.
  let shownFilter = null;
  function exportLinks() {
    const b = map.getBounds();
    const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(5)).join(",");
    const f = shownFilter;
    const q = new URLSearchParams({ bbox, datetime: f ? `${f.since || ".."}/${f.until}` : interval() });
    if (f) {
      if (f.confidence) q.set("confidence", f.confidence.join(","));
      if (f.satellite) q.set("satellite", f.satellite.join(","));
      if (f.include_static === false) q.set("include_static", "false");
    } else {
      const own = query();
      ["confidence", "satellite", "include_static"].forEach((k) => { if (own.has(k)) q.set(k, own.get(k)); });
    }
    document.querySelectorAll(".export a[data-fmt]").forEach((a) => {
      a.href = `/api/export/hotspots.${a.dataset.fmt}?${q}`;
      a.setAttribute("download", `titik-panas.${a.dataset.fmt}`);
    });
  }

  // ---- hotspots -------------------------------------------------------------------------------
  // What a marker and its popup use: the answer for 20,000 points carries nothing else.
  const HOT_PROPERTIES = "acq_time,acq_time_wib,confidence,satellite,desa_name,date_only,static_source_id";
  const HOT_COLOUR = { high: "#b71c1c", nominal: "#f4511e", low: "#ffb300" };
  const HOT_AGE = { fresh: { weight: 1.5, color: "#212121", fillOpacity: 0.95 }, day: { weight: 0.5, color: "#6d4c41", fillOpacity: 0.7 }, old: { weight: 0.5, color: "#6d4c41", fillOpacity: 0.4 } };
  function hotTime(p) { return p.date_only ? p.acq_time_wib : window.I18N.wib(p.acq_time); }
  function hotPopup(p) {
    const conf = Object.hasOwn(HOT_COLOUR, p.confidence ?? "") ? p.confidence : "nominal";
    return `<b>${esc(T("layer.hotspots"))}</b><br>${esc(T("hot.conf"))}: ${esc(T("hot." + conf))}` +
      `<br>${esc(hotTime(p))}${p.satellite ? "<br>" + esc(p.satellite) : ""}${p.desa_name ? "<br>" + esc(p.desa_name) : ""}` +
      (p.static_source_id ? `<br><span class="badge warn">${esc(P("hot.static"))}</span>` : "") +
      (CAN_WRITE ? `<br><button type="button" class="gc-create" data-hotspot="${esc(p.id)}">${esc(P("gc.create"))}</button>` : "");
  }
  function hotspotLayer(g) {
    // Many points: one canvas; few: SVG paths (each a DOM element a person or a test can point at).
    const renderer = g.features.length > 3000 ? L.canvas({ pane: "hotspots" }) : undefined;
    return L.geoJSON(g, {
      pane: "hotspots",
      pointToLayer: (f, latlng) => {
        const p = f.properties;
        const conf = Object.hasOwn(HOT_COLOUR, p.confidence ?? "") ? p.confidence : "nominal";
        const hours = (Date.now() - Date.parse(p.acq_time)) / 3.6e6;
        const age = hours < 6 && !p.date_only ? "fresh" : hours < 24 ? "day" : "old";
        const style = p.static_source_id ? { weight: 1.5, color: "#6a1b9a", fillOpacity: 0.35, dashArray: "2 2" } : HOT_AGE[age];
        return L.circleMarker(latlng, { pane: "hotspots", renderer, radius: 5, fillColor: HOT_COLOUR[conf], className: `hot-marker hot-${age}`, ...style })
          .bindPopup(() => hotPopup(p));
      },
    });
  }
  const RAMP = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"];
  const GI = { hot99: "#b2182b", hot95: "#ef8a62", cold95: "#67a9cf", cold99: "#2166ac", ns: "#f7f7f7" };
  function rampColour(v) { return RAMP[Math.min(RAMP.length - 1, Math.floor((v / Math.max(h3Max, 1)) * (RAMP.length - 0.001)))]; }
  function cellTip(p) {
    // HexagonProperties: the desa with most detections and how many desa the cell touches, never the cell id.
    const where = p.desa_name ? esc(p.desa_name) + (p.desa_count > 1 ? ` + ${p.desa_count - 1} ${esc(P("hot.desa_more"))}` : "") : "–";
    return `${where}<br>${p.count} ${esc(P("hot.in_cell"))} · ${esc(P("hex." + res))}`;
  }
  function cellPopup(cell, text) {
    return text + (CAN_WRITE ? `<br><button type="button" class="gc-create" data-cell="${esc(cell)}">${esc(P("gc.create"))}</button>` : "");
  }

  async function loadHotspots() {
    const q = query();
    exportLinks();
    const seq = ++hotSeq;
    // "ready" once the points, hexagons and table of the latest filter are all drawn (tests wait on it).
    document.body.dataset.hotspots = "loading";
    const g = await S.layerData("/api/hotspots?" + q + "&limit=50000&properties=" + HOT_PROPERTIES);
    if (seq !== hotSeq) return;
    hotLayer.clearLayers();
    shownFilter = g && g.filter ? g.filter : null;
    exportLinks();
    if (g && g.features) {
      hotLayer.addLayer(hotspotLayer(g));
      const stat = g.features.filter((f) => f.properties.static_source_id).length;
      $("hotspot-summary").textContent = `${g.features.length} ${T("hot.count")}` + (stat ? ` (${stat} ${P("hot.static")})` : "");
    } else {
      $("hotspot-summary").textContent = T("inc.unavailable");
    }
    await Promise.all([loadCells(q), loadTable(q)]);
    if (seq === hotSeq) document.body.dataset.hotspots = "ready";
  }

  async function loadCells(q) {
    q = new URLSearchParams(q);
    q.set("res", res);
    // The old cells stay on the map until the new answer is in (no blank map while it loads).
    const seq = ++cellSeq;
    const path = { hex: "/api/hotspots/h3?", gi: "/api/hotspots/clusters?", persist: "/api/hotspots/persistence?" }[view];
    const h = await S.layerData(path + q + (view === "persist" ? "&min_days=2" : ""));
    if (seq !== cellSeq) return;  // a newer request (another filter, size or view) owns the layer
    h3Layer.clearLayers();
    if (view === "hex") {
      if (h && h.features) {
        h3Max = Math.max(1, ...h.features.map((f) => f.properties.count));
        h3Layer.addLayer(L.geoJSON(h, {
          pane: "h3",
          style: (f) => ({ color: "#7f2704", weight: 0.5, fillColor: rampColour(f.properties.count), fillOpacity: 0.6 }),
          onEachFeature: (f, layer) => { layer.bindTooltip(cellTip(f.properties)); layer.bindPopup(() => cellPopup(f.properties.h3, cellTip(f.properties))); },
        }));
      }
      $("h3-legend").innerHTML = RAMP.map((c, i) => `<span style="background:${c}" title="${Math.round((i / RAMP.length) * h3Max)}+"></span>`).join("") + `<small>0 … ${h3Max}</small>`;
    } else if (view === "gi") {
      if (h && h.features) {
        h3Layer.addLayer(L.geoJSON(h, {
          pane: "h3",
          style: (f) => ({ color: "#555", weight: 0.5, fillColor: GI[f.properties.class] || "#eee", fillOpacity: 0.65 }),
          onEachFeature: (f, layer) => {
            const p = f.properties;
            const text = `${esc(P("gi." + p.class))}<br>${p.value} ${esc(P("hot.in_cell"))} · z = ${p.z === null ? "–" : p.z.toFixed(2)} · ${esc(P("hex." + res))}`;
            layer.bindTooltip(text);
            layer.bindPopup(() => cellPopup(p.h3, text));
          },
        }));
      }
      $("h3-legend").innerHTML = ["hot99", "hot95", "cold95", "cold99"].map((k) => `<span class="lg-item"><span class="sq" style="background:${GI[k]}"></span>${esc(P("gi." + k))}</span>`).join(" ");
    } else {
      const days = h && h.features ? Math.max(2, ...h.features.map((f) => f.properties.days_burned)) : 2;
      if (h && h.features) {
        h3Layer.addLayer(L.geoJSON(h, {
          pane: "h3",
          style: (f) => ({ color: "#4a148c", weight: 0.5, fillColor: "#7b1fa2", fillOpacity: 0.2 + 0.6 * (f.properties.days_burned / days) }),
          onEachFeature: (f, layer) => {
            const p = f.properties;
            const text = `${p.days_burned} ${esc(P("persist.days"))} · ${p.longest_run} ${esc(P("persist.run"))} · ${esc(P("hex." + res))}`;
            layer.bindTooltip(text);
            layer.bindPopup(() => cellPopup(p.h3, text));
          },
        }));
      }
      $("h3-legend").innerHTML = `<small>2 … ${days} ${esc(P("persist.days"))}</small>`;
    }
  }

  async function loadTable(q) {
    const path = tableSel === "desa" ? "/api/hotspots/by-desa?" : "/api/hotspots/by-kecamatan?";
    const data = await S.layerData(path + q);
    const box = $("area-table");
    if (!data) { box.textContent = T("inc.unavailable"); return; }
    const rows = data.rows.filter((r) => r.count > 0);
    const name = (r) => (tableSel === "desa" ? `${r.desa_name} <small>${esc(r.kecamatan)}</small>` : esc(r.kecamatan));
    box.innerHTML = `<table class="tbl" id="area-rows"><thead><tr><th>${esc(P(tableSel === "desa" ? "tab.desa" : "tab.kec"))}</th>` +
      `<th class="num">${esc(P("tab.count"))}</th><th class="num">${esc(P("tab.high"))}</th><th>${esc(P("tab.last"))}</th></tr></thead><tbody>` +
      rows.map((r) => `<tr><td>${tableSel === "desa" ? esc(r.desa_name) + ` <small>${esc(r.kecamatan)}</small>` : name(r)}</td><td class="num">${r.count}</td>` +
        `<td class="num">${r.high_confidence}</td><td><small>${esc(r.last_seen_wib || "–")}</small></td></tr>`).join("") +
      `</tbody></table>` + (rows.length ? "" : `<p class="muted">0 ${esc(T("hot.count"))}</p>`);
  }

  // ---- area alerts ----------------------------------------------------------------------------
  const alerts = new Map();
  function alertText(a) {
    const conf = P("conf." + (a.confidence || "nominal"));
    const where = a.near_desa ? `${esc(P(a.reason === "kecamatan" ? "alert.kecamatan" : "alert.dekat_desa"))} ${esc(a.near_desa)}` : "";
    return `<b>${esc(a.detected_at_wib || window.I18N.wib(a.detected_at))}</b> · ${esc(a.satellite || "")} · ${esc(conf)}<br>${where}` +
      (a.reason === "dekat_desa" && a.near_desa_m !== null ? ` (${(a.near_desa_m / 1000).toFixed(1)} km)` : "");
  }
  function renderAlerts() {
    const list = [...alerts.values()].sort((a, b) => b.id - a.id);
    $("alert-list").innerHTML = list.length ? list.map((a) => `<li data-alert="${esc(a.id)}"><i class="fa-solid fa-fire"></i> <span>${alertText(a)}</span></li>`).join("")
      : `<li class="muted">${esc(P("alert.none"))}</li>`;
    $("alert-list").querySelectorAll("li[data-alert]").forEach((li) => li.addEventListener("click", () => {
      const a = alerts.get(Number(li.dataset.alert));
      if (a) map.setView([a.lat, a.lon], 13);
    }));
    alertLayer.clearLayers();
    list.forEach((a) => alertLayer.addLayer(L.circleMarker([a.lat, a.lon], { pane: "alerts", radius: 11, color: "#b71c1c", weight: 2.5, fill: false, className: "alert-ring" }).bindTooltip(alertText(a))));
  }
  async function loadAlerts() {
    const data = await S.layerData("/api/hotspots/alerts?hours=24");
    if (data) data.alerts.forEach((a) => alerts.set(a.id, a));
    renderAlerts();
  }

  // ---- ground checks --------------------------------------------------------------------------
  const RESULTS = ["api_aktif", "sudah_padam", "bukan_api", "tidak_terjangkau"];
  const CAUSES = ["pantulan_atap", "industri", "lainnya"];
  const RESULT_COLOUR = { api_aktif: "#b71c1c", sudah_padam: "#6d4c41", bukan_api: "#2e7d32", tidak_terjangkau: "#757575" };
  let checks = [];
  function checkForm(c) {
    return `<form class="gc-result edit" data-check="${esc(c.id)}" data-version="${esc(c.version)}">` +
      `<select name="result">${RESULTS.map((r) => `<option value="${r}">${esc(P("res." + r))}</option>`).join("")}</select>` +
      `<label class="gc-cause" hidden>${esc(P("gc.cause"))}<select name="cause">${CAUSES.map((r) => `<option value="${r}">${esc(P("cause." + r))}</option>`).join("")}</select></label>` +
      `<label class="gc-area">${esc(P("gc.area"))}<input name="area_ha" type="number" min="0" step="0.1"></label>` +
      `<button type="submit">${esc(P("gc.save"))}</button></form>`;
  }
  function renderChecks() {
    const ul = $("check-list");
    ul.innerHTML = checks.length ? checks.map((f) => {
      const c = f.properties;
      const res = c.result ? `<b style="color:${RESULT_COLOUR[c.result]}">${esc(P("res." + c.result))}</b>${c.cause ? " · " + esc(P("cause." + c.cause)) : ""}${c.area_ha !== null ? " · " + c.area_ha + " ha" : ""}` : `<em>${esc(P("gc.pending"))}</em>`;
      return `<li data-check="${esc(c.id)}"><span><b>${esc(c.incident_number || "#" + c.incident_id)}</b> · ${esc(c.satellite || "")} · ${esc(P("conf." + (c.confidence || "nominal")))}<br>` +
        `<small>${esc(c.detected_at_wib || "")}</small><br><span class="gc-res">${res}</span></span>` +
        (CAN_WRITE && !c.result ? checkForm(c) : "") + "</li>";
    }).join("") : `<li class="muted">${esc(P("gc.none"))}</li>`;
    ul.querySelectorAll("form.gc-result").forEach((form) => {
      const sync = () => {
        const r = form.elements.result.value;
        form.querySelector(".gc-cause").hidden = r !== "bukan_api";
        form.querySelector(".gc-area").hidden = r !== "api_aktif";
      };
      form.elements.result.addEventListener("change", sync);
      sync();
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const r = form.elements.result.value;
        const body = { result: r, version: Number(form.dataset.version) };
        if (r === "bukan_api") body.cause = form.elements.cause.value;
        if (r === "api_aktif" && form.elements.area_ha.value !== "") body.area_ha = Number(form.elements.area_ha.value);
        try {
          await S.api(`/api/ground-checks/${form.dataset.check}/result`, { method: "POST", json: body });
          await Promise.all([loadChecks(), loadSources(), loadHotspots()]);
        } catch (e) { S.toast(e.message, "error"); }
      });
    });
    checkLayer.clearLayers();
    checks.forEach((f) => {
      const c = f.properties;
      const [lon, lat] = f.geometry.coordinates;
      checkLayer.addLayer(L.marker([lat, lon], {
        icon: L.divIcon({ className: "gc-icon", html: `<span style="background:${c.result ? RESULT_COLOUR[c.result] : "#fd8d3c"}"><i class="fa-solid fa-binoculars"></i></span>`, iconSize: [24, 24], iconAnchor: [12, 12] }),
        title: c.incident_number || "",
      }).bindTooltip(`${esc(P("gc.title"))} ${esc(c.incident_number || "")}: ${esc(c.result ? P("res." + c.result) : P("gc.pending"))}`));
    });
  }
  async function loadChecks() {
    const data = await S.layerData("/api/ground-checks?limit=200");
    checks = (data && data.features) || [];
    renderChecks();
    const st = await S.layerData("/api/ground-checks/stats");
    $("check-stats").innerHTML = st && st.by_satellite.length ? `<b>${esc(P("gc.false_share"))}</b>: ` +
      st.by_satellite.map((r) => `${esc(r.key)} ${r.false_alarms}/${r.checked} (${Math.round((r.false_alarm_share || 0) * 100)}%)`).join(" · ") : "";
  }
  async function createCheck(body) {
    try {
      const out = await S.api("/api/ground-checks", { method: "POST", json: body });
      S.toast(`${P("gc.created")}: ${out.properties.incident_number}`);
      map.closePopup();
      await loadChecks();
    } catch (e) { S.toast(e.message, "error"); }
  }

  // ---- static heat sources --------------------------------------------------------------------
  async function loadSources() {
    const g = await S.layerData("/api/heat-sources");
    sourceLayer.clearLayers();
    if (g && g.features) {
      sourceLayer.addLayer(L.geoJSON(g, {
        pane: "sources",
        style: { color: "#6a1b9a", weight: 1.5, fillColor: "#ce93d8", fillOpacity: 0.35, dashArray: "4 2" },
        onEachFeature: (f, layer) => {
          const text = `${esc(P("src.layer"))}: ${esc(f.properties.name)} (${esc(f.properties.kind_label)})`;
          layer.bindTooltip(text);
          if (CAN_WRITE) layer.bindPopup(`${text}<br><button type="button" class="src-delete" data-source="${esc(f.properties.id)}">${esc(P("src.delete"))}</button>`);
        },
      }));
    }
  }

  // ---- flood zones: list, affected desa, draw, import, edit -----------------------------------
  async function loadFloods() {
    const g = await S.layerData("/api/floods");
    floodGroup.clearLayers();
    const ul = $("flood-list");
    floods = (g && g.features) || [];
    if (!floods.length) { ul.innerHTML = `<li class="muted">${esc(T(g ? "flood.none" : "inc.unavailable"))}</li>`; return; }
    floodGroup.addLayer(S.floodLayer(g, (f) => select(f)));
    ul.innerHTML = floods.map((f) => {
      const p = f.properties;
      return `<li data-id="${esc(p.id)}"><span class="sq" style="background:#42a5f5"></span><span><b>${esc(p.name || "#" + p.id)}</b><br><small>${esc(T("sev." + p.severity, p.severity))} · ${esc(P(p.status === "active" ? "zone.active" : "zone.ended"))} · ${esc(window.I18N.wib(p.observed_at))}</small></span></li>`;
    }).join("");
    ul.querySelectorAll("li[data-id]").forEach((li) => li.addEventListener("click", () => {
      const f = floods.find((x) => String(x.properties.id) === li.dataset.id);
      if (f) { map.fitBounds(L.geoJSON(f).getBounds(), { maxZoom: 12 }); select(f); }
    }));
  }
  function select(f) {
    showAffected(f);
    if (CAN_WRITE) openForm("flood", f);
  }
  async function showAffected(f) {
    const box = $("flood-affected");
    box.innerHTML = "…";
    const data = await S.layerData(`/api/floods/${f.properties.id}/affected`);
    // FloodAffected (api/schemas/floods.py): desa with their flooded share (sorted here, largest first), roads cut.
    const rows = data ? [...data.desa].sort((a, b) => b.share - a.share) : [];
    box.dataset.zone = f.properties.id;
    box.innerHTML = `<h3>${esc(T("flood.affected"))} (${rows.length})</h3><table class="tbl" id="affected-rows"><thead><tr><th>${esc(P("tab.desa"))}</th><th>${esc(P("tab.kec"))}</th><th class="num">${esc(P("flood.share"))}</th></tr></thead><tbody>` +
      rows.map((d) => `<tr><td>${esc(d.desa_name)}</td><td>${esc(d.kecamatan || "")}</td><td class="num">${Math.round(d.share * 100)}%</td></tr>`).join("") + "</tbody></table>" +
      (data ? `<p class="small">${esc(P("flood.roads"))}: <b id="roads-cut">${data.roads_cut.available ? data.roads_cut.count : "–"}</b></p>` : "");
  }
  function localInput(iso) {
    if (!iso) return "";
    const d = new Date(new Date(iso).getTime() + 7 * 3.6e6);  // WIB wall time for the datetime-local field
    return d.toISOString().slice(0, 16);
  }
  function openForm(kind, feature) {
    drawKind = kind;
    editing = feature || null;
    const form = $("zone-form");
    form.hidden = false;
    $("z-kind-row").hidden = kind !== "source";
    $("z-severity").closest("label").hidden = kind === "source";
    $("z-status").closest("label").hidden = kind === "source";
    $("z-observed").closest("label").hidden = kind === "source";
    $("z-edit-shape").hidden = !feature;
    const t = $("zone-form-title");
    t.dataset.p = kind === "source" ? "src.new" : feature ? "zone.edit" : "zone.new";
    t.textContent = P(t.dataset.p);
    const p = feature ? feature.properties : {};
    $("z-name").value = p.name || "";
    $("z-severity").value = p.severity || "sedang";
    $("z-status").value = p.status || "active";
    $("z-observed").value = localInput(p.observed_at);
  }
  function closeForm() {
    $("zone-form").hidden = true;
    if (drawn) { map.removeLayer(drawn); drawn = null; }
    if (editing && editing._shape) { editing._shape.pm.disable(); map.removeLayer(editing._shape); }
    editing = null;
  }
  function startDraw(kind) {
    closeForm();
    openForm(kind, null);
    $("flood-message").textContent = P("flood.draw.hint");
    map.pm.enableDraw("Polygon", { snappable: false, allowSelfIntersection: true, templineStyle: { color: "#0d47a1" }, pathOptions: { color: "#0d47a1", fillOpacity: 0.3 } });
  }
  async function saveForm(ev) {
    ev.preventDefault();
    const shape = drawn || (editing && editing._shape);
    const geometry = shape ? shape.toGeoJSON().geometry : null;
    try {
      if (drawKind === "source") {
        if (!geometry) throw new Error(P("flood.draw.hint"));
        await S.api("/api/heat-sources", { method: "POST", json: { type: "Feature", geometry, properties: { name: $("z-name").value, kind: $("z-kind").value } } });
        S.toast(P("src.saved"));
        closeForm();
        await Promise.all([loadSources(), loadHotspots()]);
        return;
      }
      const observed = $("z-observed").value ? new Date($("z-observed").value + ":00+07:00").toISOString() : null;
      const props = { name: $("z-name").value, severity: $("z-severity").value, status: $("z-status").value, observed_at: observed };
      let out;
      if (editing) {
        const body = Object.assign({ version: editing.properties.version }, props);
        if (geometry) body.geometry = geometry;
        out = await S.api(`/api/floods/${editing.properties.id}`, { method: "PATCH", json: body });
      } else {
        if (!geometry) throw new Error(P("flood.draw.hint"));
        out = await S.api("/api/floods", { method: "POST", json: { type: "Feature", geometry, properties: props } });
      }
      // CreatedFloodZone.repair_reason: a self-intersecting drawing is repaired by the API, and says so.
      const repaired = out.repair_reason || (out.properties && out.properties.attributes && out.properties.attributes.repaired);
      $("flood-message").textContent = P("zone.saved") + (repaired ? ` (${P("flood.repaired")}: ${repaired})` : "");
      $("flood-message").className = "small";
      closeForm();
      await loadFloods();
      const f = floods.find((x) => x.properties.id === out.id);
      if (f) showAffected(f);
    } catch (e) {
      // The API's validation message (e.g. a polygon with no area): nothing was stored.
      $("flood-message").textContent = e.message;
      $("flood-message").className = "small error-text";
    }
  }
  async function importFile(ev) {
    ev.preventDefault();
    const file = $("flood-file").files[0];
    const msg = $("flood-message");
    msg.className = "small";
    if (!file) { msg.textContent = P("flood.import.none"); return; }
    const form = new FormData();
    form.append("file", file, file.name);
    try {
      const out = await S.api("/api/floods/import", { method: "POST", form });
      msg.innerHTML = `<b>${out.created.length} ${esc(P("flood.import.done"))}</b>` +
        out.repaired.map((r) => `<br>#${r.feature} ${esc(P("flood.repaired"))}: ${esc(r.reason)}`).join("") +
        out.rejected.map((r) => `<br>#${r.feature} ${esc(P("flood.rejected"))}: ${esc(r.reason)}`).join("");
      await loadFloods();
    } catch (e) { msg.textContent = e.message; msg.className = "small error-text"; }
  }

  // ---- page -----------------------------------------------------------------------------------
  async function init() {
    map = S.makeMap("map");
    window.SIGAP.map = map;
    map.createPane("alerts").style.zIndex = 425;
    map.createPane("sources").style.zIndex = 395;  // above the hexagons, so a source can be clicked
    [floodGroup, sourceLayer, h3Layer, hotLayer, checkLayer, alertLayer].forEach((l) => map.addLayer(l));
    // A link can name the window (/planner?window=30d), as the buttons do.
    const asked = new URLSearchParams(location.search).get("window");
    const btn = asked && document.querySelector(`#window-seg button[data-window='${CSS.escape(asked)}']`);
    if (btn && asked !== "custom") {
      windowSel = asked;
      document.querySelectorAll("#window-seg button").forEach((x) => x.classList.toggle("on", x === btn));
    }
    // The data is asked for at once, while the boundary layers load (they do not depend on each other).
    const loads = Promise.all([loadHotspots(), loadFloods(), loadAlerts(), loadChecks(), loadSources()]);
    const std = await S.standardLayers(map, { legend: { incidents: false, units: false }, network: false });
    panel = std.panel;
    panel.add("floods", { layer: floodGroup, swatch: "background:#42a5f5" });
    panel.add("h3", { layer: h3Layer, swatch: "background:linear-gradient(90deg,#fdd0a2,#7f2704)" });
    panel.add("hotspots", { layer: hotLayer, swatch: "background:#f4511e;border-radius:50%" });
    applyWords();
    document.addEventListener("sigap:lang", () => { applyWords(); renderAlerts(); renderChecks(); loadHotspots(); });
    const seg = (id, attr, fn) => document.querySelectorAll(`#${id} button`).forEach((b) => b.addEventListener("click", () => {
      document.querySelectorAll(`#${id} button`).forEach((x) => x.classList.toggle("on", x === b));
      fn(b.dataset[attr]);
    }));
    seg("window-seg", "window", (w) => { windowSel = w; $("custom-window").hidden = w !== "custom"; if (w !== "custom") loadHotspots(); });
    seg("res-seg", "res", (r) => { res = Number(r); loadCells(query()); });
    seg("view-seg", "view", (v) => { view = v; loadCells(query()); });
    seg("table-seg", "table", (t) => { tableSel = t; loadTable(query()); });
    $("w-apply").addEventListener("click", () => { since = $("w-since").value || null; until = $("w-until").value || null; loadHotspots(); });
    document.querySelectorAll(".f-conf, #f-sat, #f-static").forEach((el) => el.addEventListener("change", () => loadHotspots()));
    map.on("moveend", exportLinks);
    map.on("popupopen", (ev) => {
      ev.popup.getElement().querySelectorAll("button.src-delete").forEach((b) => b.addEventListener("click", async () => {
        try {
          await S.api(`/api/heat-sources/${b.dataset.source}`, { method: "DELETE" });
          map.closePopup();
          await Promise.all([loadSources(), loadHotspots()]);
        } catch (e) { S.toast(e.message, "error"); }
      }));
      ev.popup.getElement().querySelectorAll("button.gc-create").forEach((b) => b.addEventListener("click", () =>
        createCheck(b.dataset.hotspot ? { hotspot_id: Number(b.dataset.hotspot) } : { cluster_cell: b.dataset.cell })));
    });
    if (CAN_WRITE && map.pm) {
      map.on("pm:create", (e) => { drawn = e.layer; $("flood-message").textContent = ""; });
      $("flood-draw").addEventListener("click", () => startDraw("flood"));
      $("source-draw").addEventListener("click", () => startDraw("source"));
      $("z-edit-shape").addEventListener("click", () => {
        if (!editing) return;
        editing._shape = L.geoJSON(editing).getLayers()[0];
        editing._shape.addTo(map);
        editing._shape.pm.enable({ allowSelfIntersection: true });
      });
      $("zone-form").addEventListener("submit", saveForm);
      $("z-cancel").addEventListener("click", () => { map.pm.disableDraw(); closeForm(); });
      $("flood-import").addEventListener("submit", importFile);
    } else {
      ["flood-tools", "flood-import"].forEach((id) => { $(id).hidden = true; });
    }
    S.on("hotspots.ingested", () => loadHotspots());
    S.on("flood.updated", () => loadFloods());
    S.on("heat_source.updated", () => { loadSources(); loadHotspots(); });
    S.on("ground_check.updated", () => loadChecks());
    S.on("hotspot.alert", (a) => { alerts.set(a.id, a); renderAlerts(); });
    S.connect();
    // Zones written by another process on SpatiaLite (the `sigap import-flood` command) send no live event
    // (PostGIS does, through NOTIFY): the list is also re-read every minute.
    setInterval(() => { if (!document.hidden && $("zone-form").hidden) loadFloods(); }, 60_000);
    await loads;
    document.body.dataset.ready = "1";
  }
  document.addEventListener("DOMContentLoaded", () => init().catch((e) => { S.toast(e.message, "error"); console.error(e); }));
})();
