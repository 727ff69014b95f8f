// Dispatcher map, wiring (loaded last): the map and its layers, the controls, the live stream.
(function () {
  "use strict";
  const S = window.SIGAP;
  const D = S.dispatcher;
  const st = D.state;
  const { $, canWrite } = D;

  async function init() {
    const map = st.map = S.makeMap("map");
    window.SIGAP.map = map;
    const routeLayer = st.routeLayer = L.layerGroup();
    const accuracyLayer = st.accuracyLayer = L.layerGroup();
    const live = st.live = S.liveLayers(map, { onIncidentClick: (inc) => D.select(inc.id), unitPopupExtra: D.unitPopupExtra });
    window.SIGAP.live = live;
    const std = await S.standardLayers(map, { legendOpen: false });
    map.addLayer(live.incLayer);
    map.addLayer(live.unitLayer);
    map.addLayer(routeLayer);
    map.addLayer(accuracyLayer);
    std.panel.add("units", { layer: live.unitLayer, swatch: "background:#2e7d32;border-radius:50%" });
    std.panel.add("incidents", { layer: live.incLayer, swatch: "background:#e53935;border-radius:50%" });
    std.panel.add("route", { layer: routeLayer, swatchClass: "line", swatch: "background:#6a1b9a" });
    S.layerData("/api/floods?status=active").then((g) => {
      if (g && g.features) { const fl = S.floodLayer(g); map.addLayer(fl); std.panel.add("floods", { layer: fl, swatch: "background:#42a5f5" }); }
    }).catch(() => {});
    S.layerData("/api/hotspots?window=24h").then((g) => {
      if (g && g.features) { const hl = S.hotspotLayer(g); map.addLayer(hl); std.panel.add("hotspots", { layer: hl, swatch: "background:#f4511e;border-radius:50%" }); }
    }).catch(() => {});
    D.fillCategories();
    D.desaSearch(std.boundaries._desa.features);
    D.initHistory(std.boundaries._desa.features);
    D.initKeys();
    if (canWrite) {
      map.on("click", (ev) => D.onPoint(ev.latlng));
      $("no-location").addEventListener("click", () => { if (st.pickFor !== null) D.stopPick(); D.startDraft(null); });
      $("aml-open").addEventListener("click", () => { $("aml-box").hidden = !$("aml-box").hidden; if (!$("aml-box").hidden) $("aml-text").focus(); });
      $("aml-use").addEventListener("click", D.useAml);
      document.addEventListener("keydown", (ev) => { if (ev.key === "Escape" && st.pickFor !== null) D.stopPick(); });
      $("incident-form").addEventListener("submit", D.createIncident);
      $("cancel-draft").addEventListener("click", D.clearDraft);
    }
    document.addEventListener("sigap:incidents", () => D.renderList());
    document.addEventListener("sigap:lang", () => { D.fillCategories(); D.renderList(); D.renderPanel(); });
    S.on("incident.created", async (d) => {
      if (d.lon !== undefined && d.lon !== null) live.upsertIncident(d);
      const full = await live.refreshIncident(d.id);
      // Someone else's new call that nobody has taken yet: sound, flash, toast (callcard list.js).
      if (full && full.created_by !== (S.CONFIG.user || {}).username) D.announceNewCall(full);
    });
    S.on("incident.updated", async (d) => {
      live.upsertIncident(d);
      await live.refreshIncident(d.id);
      // Not under an operator's hands: an edit in progress keeps its text, and its save meets the version check.
      if (d.id === st.selectedId && st.editingId !== d.id) D.renderPanel();
    });
    S.on("unit.updated", (d) => { live.upsertUnit(d); D.renderBoard(); });
    S.on("unit.moved", (d) => live.upsertUnit(d));
    // A call named in a unit's popup or on the board opens its card; /map#incident=ID (from /board) too.
    document.addEventListener("sigap:open-incident", (ev) => D.select(ev.detail));
    S.connect();
    await Promise.all([live.loadIncidents(), live.loadUnits()]);
    D.renderList();
    D.renderBoard();
    const wanted = /#incident=(\d+)/.exec(location.hash);
    if (wanted) await D.select(Number(wanted[1]));
    window.SIGAP.readyAt = performance.now();
    document.body.dataset.ready = "1";
  }
  document.addEventListener("DOMContentLoaded", () => init().catch((e) => { S.toast(e.message, "error"); console.error(e); }));
})();
