// Dispatcher map, units for the selected call: ranked by travel time, the route of one, dispatch with a click.
(function () {
  "use strict";
  const S = window.SIGAP;
  const D = S.dispatcher;
  const st = D.state;
  const { $, T, esc, km, canWrite } = D;

  // Every recommended unit of every type (Recommendations.recommendations: type -> ranked units), fastest first.
  function ranked(data) {
    return Object.values(data.recommendations).flat().sort((a, b) => a.eta_s - b.eta_s);
  }
  function drawRoute(rec) {
    const routeLayer = st.routeLayer;
    routeLayer.clearLayers();
    if (!rec) return;
    const derived = rec.sources.includes("derived");
    const layer = L.geoJSON(rec.route, { pane: "route", style: { color: "#6a1b9a", weight: 5, opacity: 0.85, dashArray: derived ? "10 6" : null } });
    layer.bindTooltip(`${esc(rec.callsign)} · ${window.I18N.duration(rec.eta_s)}${derived ? " · " + esc(T("route.approx")) : ""}`, { sticky: true });
    routeLayer.addLayer(layer);
    if (!st.map.hasLayer(routeLayer)) st.map.addLayer(routeLayer);
  }

  async function loadRecommendations(inc) {
    const box = $("recs");
    if (!box) return;
    if (inc.lon === null || inc.lon === undefined || !S.OPEN.has(inc.status) || ["tiba"].includes(inc.status)) { box.innerHTML = ""; st.routeLayer.clearLayers(); return; }
    box.innerHTML = `<span class="muted">…</span>`;
    let data;
    try { data = await S.api(`/api/incidents/${inc.id}/recommendations?k=3`); }
    catch (e) { box.innerHTML = `<p class="muted">${esc(e.message)}</p>`; return; }
    if (st.selectedId !== inc.id) return;
    const recs = ranked(data);
    if (!recs.length) { box.innerHTML = `<p class="muted">${esc(T("inc.no_recs"))}</p>`; st.routeLayer.clearLayers(); return; }
    const dispatchable = canWrite && ["baru", "diverifikasi", "dikirim", "menuju_lokasi"].includes(inc.status);
    box.innerHTML = `<ol class="recs">` + recs.map((r, i) =>
      `<li class="rec${i === 0 ? " top" : ""}" data-i="${i}" data-unit="${esc(r.id)}">` +
        `<div><b>${esc(r.callsign)}</b> <small>${esc(S.label(S.UTYPES[r.type]))}</small><br><small>${esc(T("inc.eta"))} <b>${window.I18N.duration(r.eta_s)}</b> · ${km(r.distance_m)}` +
        `${r.sources.includes("derived") ? " · " + esc(T("approx")) : ""}</small></div>` +
        (dispatchable ? `<button type="button" class="primary dispatch" data-unit="${esc(r.id)}">${esc(T("inc.dispatch"))}</button>` : "") + "</li>",
    ).join("") + "</ol>";
    drawRoute(recs[0]);
    box.querySelectorAll("li.rec").forEach((li) => li.addEventListener("click", (ev) => {
      if (ev.target.closest("button")) return;
      box.querySelectorAll("li.rec").forEach((x) => x.classList.remove("sel"));
      li.classList.add("sel");
      drawRoute(recs[Number(li.dataset.i)]);
    }));
    box.querySelectorAll("button.dispatch").forEach((b) => b.addEventListener("click", () => dispatch(inc.id, b.dataset.unit, b)));
  }

  async function dispatch(incidentId, unitId, btn) {
    btn.disabled = true;
    const live = st.live;
    try {
      const res = await S.api(`/api/incidents/${incidentId}/dispatch`, { method: "POST", json: { unit_ids: [Number(unitId)] } });
      btn.textContent = T("inc.dispatched");
      btn.classList.add("done");
      // DispatchOut: the units sent as they now are; the incident itself is read again whole.
      res.units.forEach((u) => live.upsertUnit(u));
      await live.refreshIncident(incidentId);
      D.renderPanel();
    } catch (e) {
      btn.disabled = false;
      S.toast(e.message, "error");
    }
  }

  Object.assign(D, { loadRecommendations });
})();
