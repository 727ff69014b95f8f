// Dispatcher map, units for the selected call: ranked by travel time, the route of one, dispatch with a click.
(function () {
  "use strict";
  const S = window.SIGAP;
  const D = S.dispatcher;
  const st = D.state;
  const { $, T, esc, km, canWrite } = D;

  function flattenRecs(data) {
    if (!data) return [];
    let list = [];
    if (Array.isArray(data)) list = data;
    else if (Array.isArray(data.recommendations)) list = data.recommendations;
    else if (data.recommendations && typeof data.recommendations === "object") list = Object.values(data.recommendations).flat();
    else if (Array.isArray(data.units)) list = data.units;
    else if (data.by_type) list = Object.values(data.by_type).flat();
    return list.slice().sort((a, b) => (a.eta_s ?? Infinity) - (b.eta_s ?? Infinity));
  }
  function routeGeometry(r) {
    const g = r.route;
    if (!g) return null;
    return g.type === "Feature" || g.type === "FeatureCollection" ? g : { type: "Feature", geometry: g, properties: {} };
  }
  function drawRoute(rec) {
    const routeLayer = st.routeLayer;
    routeLayer.clearLayers();
    const g = rec && routeGeometry(rec);
    if (!g) return;
    const derived = (rec.sources || []).includes("derived");
    const layer = L.geoJSON(g, { pane: "route", style: { color: "#6a1b9a", weight: 5, opacity: 0.85, dashArray: derived ? "10 6" : null } });
    layer.bindTooltip(`${esc(rec.callsign || rec.unit_id)} · ${window.I18N.duration(rec.eta_s)}${derived ? " · " + esc(T("route.approx")) : ""}`, { sticky: true });
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
    catch (e) { box.innerHTML = `<p class="muted">${esc(e.status === 404 ? T("inc.unavailable") : e.message)}</p>`; return; }
    if (st.selectedId !== inc.id) return;
    const recs = flattenRecs(data);
    st.recCache = recs;
    if (!recs.length) { box.innerHTML = `<p class="muted">${esc(T("inc.no_recs"))}</p>`; st.routeLayer.clearLayers(); return; }
    const dispatchable = canWrite && ["baru", "diverifikasi", "dikirim", "menuju_lokasi"].includes(inc.status);
    box.innerHTML = `<ol class="recs">` + recs.map((r, i) => {
      const u = (st.live.units.get(r.unit_id) || {}).data || {};
      const name = r.callsign || u.callsign || r.unit_id;
      const typ = S.label(S.UTYPES[r.type || r.unit_type || u.type]);
      return `<li class="rec${i === 0 ? " top" : ""}" data-i="${i}" data-unit="${esc(r.unit_id)}">` +
        `<div><b>${esc(name)}</b> <small>${esc(typ)}</small><br><small>${esc(T("inc.eta"))} <b>${window.I18N.duration(r.eta_s)}</b> · ${km(r.distance_m)}` +
        `${(r.sources || []).includes("derived") ? " · " + esc(T("approx")) : ""}</small></div>` +
        (dispatchable ? `<button type="button" class="primary dispatch" data-unit="${esc(r.unit_id)}">${esc(T("inc.dispatch"))}</button>` : "") + "</li>";
    }).join("") + "</ol>";
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
    const raw = st.recCache && st.recCache.find((r) => String(r.unit_id) === String(unitId));
    try {
      const res = await S.api(`/api/incidents/${incidentId}/dispatch`, { method: "POST", json: { unit_ids: [raw ? raw.unit_id : unitId] } });
      btn.textContent = T("inc.dispatched");
      btn.classList.add("done");
      const inc = res && res.incident ? res.incident : res && res.id === incidentId ? res : null;
      if (inc) live.upsertIncident(inc); else await live.refreshIncident(incidentId);
      live.loadUnits();
      D.renderPanel();
    } catch (e) {
      btn.disabled = false;
      S.toast(e.message, "error");
    }
  }

  Object.assign(D, { loadRecommendations });
})();
