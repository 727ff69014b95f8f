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

  // The response plan's agencies to inform (they have no units): named, with how to record the contact.
  function notifyHtml(plan) {
    if (!plan || !plan.notify.length) return "";
    const names = plan.notify.map((a) => a.code.toUpperCase()).join("/");
    return `<p class="notify"><i class="fa-solid fa-phone"></i> ${esc(T("plan.notify").replace("{a}", names))}</p>`;
  }

  // Boats left out because their crews would walk too far from the landing: said, not hidden.
  function boatsHtml(data) {
    const far = (data.left_out || []).filter((u) => u.detail === "boat_walk");
    return far.length ? `<p class="small muted boat-walk">${far.map((u) => `${esc(u.callsign)}: ${esc(window.I18N.lang === "en" ? u.message_en : u.message_id)}`).join("<br>")}</p>` : "";
  }

  async function loadRecommendations(inc) {
    const box = $("recs");
    if (!box) return;
    const shown = box.dataset.incident === String(inc.id);
    if (inc.lon === null || inc.lon === undefined || !S.OPEN.has(inc.status) || ["tiba"].includes(inc.status)) {
      box.innerHTML = ""; delete box.dataset.incident; st.routeLayer.clearLayers(); return;
    }
    // A list already shown for this call stays usable while the new one loads (renderPanel keeps it).
    if (!shown) box.innerHTML = `<span class="muted">…</span>`;
    const asked = (st.recsAsked = (st.recsAsked || 0) + 1);
    let data;
    try { data = await S.api(`/api/incidents/${inc.id}/recommendations?k=3`); }
    catch (e) {
      // On a bad network the last list stays rather than an error in its place; a first load says what failed.
      if (!shown) box.innerHTML = `<p class="muted">${esc(e.message)}</p>`;
      return;
    }
    if (st.selectedId !== inc.id || asked !== st.recsAsked) return;  // another call's, or an answer overtaken
    const plan = data.plan;
    const recs = ranked(data);
    if (!recs.length) { box.dataset.incident = inc.id; box.innerHTML = notifyHtml(plan) + (plan && plan.notify.length && !data.types.length ? "" : `<p class="muted">${esc(T("inc.no_recs"))}</p>`); st.routeLayer.clearLayers(); return; }
    const dispatchable = canWrite && ["baru", "diverifikasi", "dikirim", "menuju_lokasi"].includes(inc.status);
    // The plan pre-selected (nearest first per type); the dispatcher confirms or changes it and sends at once.
    // Picks the dispatcher changed by hand survive a refresh of the list; otherwise the plan's pre-selection.
    const byHand = shown && box.dataset.picked === "hand"
      ? new Set([...box.querySelectorAll("input.pick:checked")].map((c) => Number(c.dataset.unit))) : null;
    const picked = byHand || new Set(dispatchable && !(inc.assignments || []).some((a) => a.open) ? (plan ? plan.selected : []) : []);
    box.dataset.incident = inc.id;
    const wants = plan && plan.units.length ? `<p class="small muted plan">${esc(T("plan.title"))}: ` +
      plan.units.map((u) => `${u.count}× ${esc(S.label(S.UTYPES[u.type]))}`).join(", ") +
      (plan.short.length ? ` · <span class="warn">${esc(T("plan.short"))}: ${plan.short.map((x) => `${esc(x.type)} ${x.found}/${x.count}`).join(", ")}</span>` : "") + "</p>" : "";
    box.innerHTML = notifyHtml(plan) + wants + `<ol class="recs">` + recs.map((r, i) =>
      `<li class="rec${i === 0 ? " top" : ""}" data-i="${i}" data-unit="${esc(r.id)}">` +
        (dispatchable ? `<input type="checkbox" class="pick" data-unit="${esc(r.id)}" aria-label="${esc(r.callsign)}"${picked.has(r.id) ? " checked" : ""}>` : "") +
        `<div class="grow"><b>${esc(r.callsign)}</b> <small>${esc(S.label(S.UTYPES[r.type]))}</small><br><small>${esc(T("inc.eta"))} <b>${r.eta_range_s ? `${window.I18N.duration(r.eta_range_s[0])}–${window.I18N.duration(r.eta_range_s[1])}` : window.I18N.duration(r.eta_s)}</b> · ${km(r.distance_m)}` +
        `${r.sources.includes("derived") ? " · " + esc(T("approx")) : ""}</small></div>` +
        (dispatchable ? `<button type="button" class="primary dispatch" data-unit="${esc(r.id)}">${esc(T("inc.dispatch"))}</button>` : "") + "</li>",
    ).join("") + "</ol>" +
      boatsHtml(data) +
      (dispatchable ? `<button type="button" class="primary" id="send-picked">${esc(T("plan.send"))} (<span id="picked-n">${picked.size}</span>)</button>` : "");
    drawRoute(recs[0]);
    box.querySelectorAll("li.rec").forEach((li) => li.addEventListener("click", (ev) => {
      if (ev.target.closest("button") || ev.target.closest("input")) return;
      box.querySelectorAll("li.rec").forEach((x) => x.classList.remove("sel"));
      li.classList.add("sel");
      drawRoute(recs[Number(li.dataset.i)]);
    }));
    box.querySelectorAll("input.pick").forEach((c) => c.addEventListener("change", () => {
      box.dataset.picked = "hand";
      $("picked-n").textContent = box.querySelectorAll("input.pick:checked").length;
    }));
    const many = $("send-picked");
    if (many) many.addEventListener("click", () => {
      const ids = [...box.querySelectorAll("input.pick:checked")].map((c) => Number(c.dataset.unit));
      if (!ids.length) { S.toast(T("plan.none_picked"), "error"); return; }
      D.sendUnits(inc.id, ids, { btn: many });
    });
    box.querySelectorAll("button.dispatch").forEach((b) => b.addEventListener("click", () => dispatch(inc.id, b.dataset.unit, b)));
  }

  async function dispatch(incidentId, unitId, btn) {
    const res = await D.sendUnits(incidentId, [unitId], { btn });
    if (res) { btn.textContent = T("inc.dispatched"); btn.classList.add("done"); }
  }

  Object.assign(D, { loadRecommendations });
})();
