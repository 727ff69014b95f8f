// Planner map: FIRMS hotspots over a time window, H3 density at a chosen resolution, flood zones.
(function () {
  "use strict";
  const S = window.SIGAP;
  const T = (k, f) => window.I18N.t(k, f);
  const esc = S.esc;
  const $ = (id) => document.getElementById(id);
  let map, panel, hotLayer = L.layerGroup(), h3Layer = L.layerGroup(), floodGroup = L.layerGroup();
  let windowSel = "24h", res = 7, since = null, until = null, h3Max = 1;

  function query() {
    const q = new URLSearchParams({ window: windowSel });
    if (windowSel === "custom") { if (since) q.set("since", since + "T00:00:00+07:00"); if (until) q.set("until", until + "T23:59:59+07:00"); }
    return q;
  }
  const RAMP = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"];
  function rampColour(v) { return RAMP[Math.min(RAMP.length - 1, Math.floor((v / Math.max(h3Max, 1)) * (RAMP.length - 0.001)))]; }

  async function loadHotspots() {
    const q = query();
    const g = await S.layerData("/api/hotspots?" + q);
    hotLayer.clearLayers();
    if (g && g.features) {
      hotLayer.addLayer(S.hotspotLayer(g));
      $("hotspot-summary").textContent = `${g.features.length} ${T("hot.count")}`;
    } else {
      $("hotspot-summary").textContent = T("inc.unavailable");
    }
    q.set("res", res);
    const h = await S.layerData("/api/hotspots/h3?" + q);
    h3Layer.clearLayers();
    if (h && h.features) {
      // HexagonProperties (api/schemas/hotspots.py): h3 is the cell, count its detections.
      h3Max = Math.max(1, ...h.features.map((f) => f.properties.count));
      h3Layer.addLayer(L.geoJSON(h, {
        pane: "h3",
        style: (f) => ({ color: "#7f2704", weight: 0.5, fillColor: rampColour(f.properties.count), fillOpacity: 0.6 }),
        onEachFeature: (f, layer) => layer.bindTooltip(`${esc(f.properties.h3)}: ${f.properties.count}`),
      }));
    }
    $("h3-legend").innerHTML = RAMP.map((c, i) => `<span style="background:${c}" title="${Math.round((i / RAMP.length) * h3Max)}+"></span>`).join("") +
      `<small>0 … ${h3Max}</small>`;
  }

  async function loadFloods() {
    const g = await S.layerData("/api/floods");
    floodGroup.clearLayers();
    const ul = $("flood-list");
    const feats = (g && g.features) || [];
    if (!feats.length) { ul.innerHTML = `<li class="muted">${esc(T(g ? "flood.none" : "inc.unavailable"))}</li>`; return; }
    floodGroup.addLayer(S.floodLayer(g, (f) => showAffected(f)));
    ul.innerHTML = feats.map((f) => {
      const p = f.properties;  // FloodZoneProperties (api/schemas/floods.py)
      const id = p.id;
      return `<li data-id="${esc(id)}"><span class="sq" style="background:#42a5f5"></span><span><b>${esc(p.name || "#" + id)}</b><br><small>${esc(T("sev." + p.severity, p.severity))} · ${esc(p.status || "")} · ${esc(window.I18N.wib(p.observed_at))}</small></span></li>`;
    }).join("");
    ul.querySelectorAll("li[data-id]").forEach((li) => li.addEventListener("click", () => {
      const f = feats.find((x) => String(x.properties.id) === li.dataset.id);
      if (f) { map.fitBounds(L.geoJSON(f).getBounds(), { maxZoom: 12 }); showAffected(f); }
    }));
  }

  async function showAffected(f) {
    const box = $("flood-affected");
    box.innerHTML = "…";
    const data = await S.layerData(`/api/floods/${f.properties.id}/affected`);
    // FloodAffected.desa (api/schemas/floods.py): desa_name, kecamatan, share of the desa under water.
    const rows = data ? data.desa : [];
    box.innerHTML = `<h3>${esc(T("flood.affected"))} (${rows.length})</h3><ul class="list compact">` +
      rows.map((d) => `<li>${esc(d.desa_name)}${d.kecamatan ? " · " + esc(d.kecamatan) : ""} · ${Math.round(d.share * 100)}%</li>`).join("") + "</ul>";
  }

  async function init() {
    map = S.makeMap("map");
    window.SIGAP.map = map;
    const std = await S.standardLayers(map, { legend: { incidents: false, units: false }, network: false });
    panel = std.panel;
    [floodGroup, h3Layer, hotLayer].forEach((l) => map.addLayer(l));
    panel.add("floods", { layer: floodGroup, swatch: "background:#42a5f5" });
    panel.add("h3", { layer: h3Layer, swatch: "background:linear-gradient(90deg,#fdd0a2,#7f2704)" });
    panel.add("hotspots", { layer: hotLayer, swatch: "background:#f4511e;border-radius:50%" });
    document.querySelectorAll("#window-seg button").forEach((b) => b.addEventListener("click", () => {
      document.querySelectorAll("#window-seg button").forEach((x) => x.classList.toggle("on", x === b));
      windowSel = b.dataset.window;
      $("custom-window").hidden = windowSel !== "custom";
      if (windowSel !== "custom") loadHotspots();
    }));
    $("w-apply").addEventListener("click", () => { since = $("w-since").value || null; until = $("w-until").value || null; loadHotspots(); });
    document.querySelectorAll("#res-seg button").forEach((b) => b.addEventListener("click", () => {
      document.querySelectorAll("#res-seg button").forEach((x) => x.classList.toggle("on", x === b));
      res = Number(b.dataset.res);
      loadHotspots();
    }));
    S.on("hotspots.ingested", () => loadHotspots());
    S.on("flood.updated", () => loadFloods());
    S.connect();
    await Promise.all([loadHotspots(), loadFloods()]);
    document.body.dataset.ready = "1";
  }
  document.addEventListener("DOMContentLoaded", () => init().catch((e) => { S.toast(e.message, "error"); console.error(e); }));
})();
