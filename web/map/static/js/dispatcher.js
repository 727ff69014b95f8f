// Dispatcher map: a click or a village search starts an incident; ranked units, route, dispatch, status.
(function () {
  "use strict";
  const S = window.SIGAP;
  const T = (k, f) => window.I18N.t(k, f);
  const esc = S.esc;
  const canWrite = !!S.CONFIG.can_write;
  let map, live, routeLayer, accuracyLayer, draftMarker = null, draftAt = null, selectedId = null, recCache = null;
  let draftOpen = false;  // the new-call form is open, with a point (draftAt) or without one
  let draftPlace = null;  // the place the point stands for, when it came from the village search
  let draftAml = null;    // the raw AML SMS the point came from; the server parses and keeps it
  let pickFor = null;     // an open call waiting for the next map click (or village) as its location
  let editingId = null;   // the call whose details are being corrected in the panel

  const $ = (id) => document.getElementById(id);
  const km = (m) => (m === null || m === undefined ? "–" : m >= 1000 ? (m / 1000).toFixed(1) + " km" : Math.round(m) + " m");
  const callName = (inc) => inc.number || "#" + inc.id;
  // A call an operator may still change: open and not folded into another.
  const changeable = (inc) => canWrite && S.OPEN.has(inc.status) && !inc.merged_into;

  function fillCategories() {
    const sel = $("f-category");
    if (!sel) return;
    const keep = sel.value;
    sel.innerHTML = S.CONFIG.categories.map((c) => `<option value="${c.code}">${esc(S.label(c))}</option>`).join("");
    if (keep) sel.value = keep;
  }

  function placeHtml(place) {
    if (!place) return "";
    const size = place.radius_m ? ` (±${km(place.radius_m)})` : "";
    return `<div class="badge warn">${esc(T("place.centre").replace("{name}", place.name))}${esc(size)}</div>`;
  }

  // The handset's own fix: lt/lg/rd read here only to preview the point; the server parses the message in full
  // (and says which attribute is broken when it is).
  function amlFix(text) {
    const attr = (k) => { const m = new RegExp("(?:^|;)" + k + "=([^;]*)").exec(text); return m ? m[1].trim() : null; };
    const lat = Number(attr("lt")), lon = Number(attr("lg")), rd = Number(attr("rd"));
    const fix = attr("lt") !== null && attr("lg") !== null && isFinite(lat) && isFinite(lon) && !(lat === 0 && lon === 0);
    return { at: fix ? L.latLng(lat, lon) : null, radius: isFinite(rd) && rd > 0 ? rd : null };
  }
  function amlHtml(text) {
    if (!text) return "";
    const { radius } = amlFix(text);
    return `<div class="badge ok">${esc(T("aml.from"))}${radius ? " (±" + esc(km(radius)) + ")" : ""}</div>`;
  }
  function useAml() {
    const text = $("aml-text").value.trim();
    if (!text) return;
    const { at } = amlFix(text);
    if (at) map.setView(at, Math.max(map.getZoom(), 14));
    startDraft(at, null, text);
  }

  function locateHtml(a) {
    const rows = [];
    const inside = a.inside_regency;
    rows.push(`<div class="badge ${inside ? "ok" : "warn"}">${esc(T(inside ? "loc.inside" : "loc.outside"))}</div>`);
    if (a.desa) rows.push(`<div><b>${esc(T("loc.desa"))}:</b> ${esc(a.desa.name)} <small>(${esc(a.desa.code)})</small></div>`);
    if (a.kecamatan) rows.push(`<div><b>${esc(T("loc.kecamatan"))}:</b> ${esc(a.kecamatan.name)}</div>`);
    if (a.kabupaten && !inside) rows.push(`<div><b>${esc(T("loc.kabupaten"))}:</b> ${esc(a.kabupaten.name)}</div>`);
    if (a.nearest_desa) rows.push(`<div><b>${esc(T("loc.nearest"))}:</b> ${esc(a.nearest_desa.name)} · ${km(a.nearest_desa.distance_m)}</div>`);
    if (a.match === "gap") rows.push(`<div class="muted">${esc(T("loc.gap"))}</div>`);
    if (a.match === "overlap") rows.push(`<div class="muted">${esc(T("loc.overlap"))}</div>`);
    rows.push(`<div><b>${esc(T("loc.river"))}:</b> ${a.river ? esc(a.river.name) + " · " + km(a.river.distance_m) : "–"}` +
      ` · <b>${esc(T("loc.road"))}:</b> ${a.road ? km(a.road.distance_m) + (a.road.source === "derived" ? " (" + esc(T("approx")) + ")" : "") : "–"}</div>`);
    rows.push(`<div class="muted mono">${a.lat.toFixed(5)}, ${a.lon.toFixed(5)}</div>`);
    return rows.join("");
  }

  // A point from the map or the village search: the location of the call being picked for, or a new call.
  function onPoint(latlng) {
    if (pickFor !== null) setLocation(pickFor, latlng);
    else startDraft(latlng);
  }

  async function startDraft(latlng, place, aml) {
    if (!canWrite) return;
    draftAt = latlng;
    draftPlace = place || null;
    draftAml = aml || null;
    draftOpen = true;
    const form = $("incident-form");
    form.hidden = false;
    $("form-error").hidden = true;
    if (!latlng) {
      // The caller cannot say where yet: the call is recorded all the same and waits as perlu_lokasi.
      if (draftMarker) { map.removeLayer(draftMarker); draftMarker = null; }
      $("locate-answer").innerHTML = `<div class="badge warn">${esc(T(draftAml ? "aml.no_fix" : "form.no_location"))}</div>`;
      $("locate-answer").dataset.ready = "1";
      $("f-category").focus();
      return;
    }
    if (draftMarker) map.removeLayer(draftMarker);
    // A place name is an area, not a pin: the draft shows how far the caller may be.
    draftMarker = draftPlace && draftPlace.radius_m
      ? L.circle(latlng, { radius: draftPlace.radius_m, color: "#d50000", weight: 2, fillOpacity: 0.08, dashArray: "6 4" }).addTo(map)
      : L.circleMarker(latlng, { radius: 9, color: "#d50000", weight: 3, fillOpacity: 0.2, dashArray: "3 3" }).addTo(map);
    $("locate-answer").innerHTML = `<span class="muted">…</span>`;
    try {
      const a = await S.api(`/api/locate?lon=${latlng.lng.toFixed(6)}&lat=${latlng.lat.toFixed(6)}`);
      // A kecamatan name places the call in the kecamatan, not in the desa its centre happens to fall in.
      if (draftPlace && !["desa", "kelurahan"].includes(draftPlace.kind)) a.desa = null;
      $("locate-answer").innerHTML = placeHtml(draftPlace) + amlHtml(draftAml) + locateHtml(a);
      $("locate-answer").dataset.ready = "1";
    } catch (e) {
      $("locate-answer").innerHTML = `<span class="error">${esc(e.message)}</span>`;
    }
  }
  function clearDraft() {
    if (draftMarker) { map.removeLayer(draftMarker); draftMarker = null; }
    draftAt = null;
    draftPlace = null;
    draftAml = null;
    draftOpen = false;
    const form = $("incident-form");
    if (form) { form.hidden = true; form.reset(); delete $("locate-answer").dataset.ready; }
  }

  async function createIncident(ev) {
    ev.preventDefault();
    if (!draftOpen) return;
    const btn = $("create-incident");
    btn.disabled = true;
    try {
      const inc = await S.api("/api/incidents", {
        method: "POST",
        json: {
          category: $("f-category").value,
          description: $("f-description").value || null,
          caller_name: $("f-caller").value || null,
          caller_phone: $("f-phone").value || null,
          location: draftAml ? { aml: draftAml } : draftPlace ? { place: draftPlace.code }
            : draftAt ? { lon: Number(draftAt.lng.toFixed(6)), lat: Number(draftAt.lat.toFixed(6)) } : null,
        },
      });
      live.upsertIncident(inc);
      clearDraft();
      if ($("aml-text")) { $("aml-text").value = ""; $("aml-box").hidden = true; }
      S.toast(`${T("created")}: ${inc.number}`, "ok");
      select(inc.id);
    } catch (e) {
      $("form-error").textContent = e.status === 404 ? T("inc.unavailable") : e.message;
      $("form-error").hidden = false;
    } finally {
      btn.disabled = false;
    }
  }

  // A write on a call that failed: say why; on 409 (someone changed it first) show the call as it now stands.
  async function writeFailed(e, incidentId) {
    S.toast(e.message, "error");
    if (e.status === 409) { await live.refreshIncident(incidentId); renderPanel(); }
  }

  // ---- locating a call after the fact ------------------------------------------------------
  function startPick(inc) {
    pickFor = inc.id;
    document.body.classList.add("picking");
    S.toast(T("inc.pick_hint").replace("{n}", callName(inc)));
    renderPanel();
  }
  function stopPick() {
    pickFor = null;
    document.body.classList.remove("picking");
    renderPanel();
  }

  async function setLocation(incidentId, latlng, place) {
    const entry = live.incidents.get(incidentId);
    stopPick();
    if (!entry) return;
    const inc = entry.data;
    try {
      const updated = await S.api(`/api/incidents/${incidentId}`, {
        method: "PATCH",
        json: { version: inc.version, location: place ? { place: place.code }
          : { lon: Number(latlng.lng.toFixed(6)), lat: Number(latlng.lat.toFixed(6)) } },
      });
      live.upsertIncident(updated);
      S.toast(T("inc.located").replace("{n}", callName(updated)), "ok");
      await select(incidentId);
    } catch (e) {
      await writeFailed(e, incidentId);
    }
  }

  // ---- the selected incident ----------------------------------------------------------------
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
    routeLayer.clearLayers();
    const g = rec && routeGeometry(rec);
    if (!g) return;
    const derived = (rec.sources || []).includes("derived");
    const layer = L.geoJSON(g, { pane: "route", style: { color: "#6a1b9a", weight: 5, opacity: 0.85, dashArray: derived ? "10 6" : null } });
    layer.bindTooltip(`${esc(rec.callsign || rec.unit_id)} · ${window.I18N.duration(rec.eta_s)}${derived ? " · " + esc(T("route.approx")) : ""}`, { sticky: true });
    routeLayer.addLayer(layer);
    if (!map.hasLayer(routeLayer)) map.addLayer(routeLayer);
  }

  async function loadRecommendations(inc) {
    const box = $("recs");
    if (!box) return;
    if (inc.lon === null || inc.lon === undefined || !S.OPEN.has(inc.status) || ["tiba"].includes(inc.status)) { box.innerHTML = ""; routeLayer.clearLayers(); return; }
    box.innerHTML = `<span class="muted">…</span>`;
    let data;
    try { data = await S.api(`/api/incidents/${inc.id}/recommendations?k=3`); }
    catch (e) { box.innerHTML = `<p class="muted">${esc(e.status === 404 ? T("inc.unavailable") : e.message)}</p>`; return; }
    if (selectedId !== inc.id) return;
    const recs = flattenRecs(data);
    recCache = recs;
    if (!recs.length) { box.innerHTML = `<p class="muted">${esc(T("inc.no_recs"))}</p>`; routeLayer.clearLayers(); return; }
    const dispatchable = canWrite && ["baru", "diverifikasi", "dikirim", "menuju_lokasi"].includes(inc.status);
    box.innerHTML = `<ol class="recs">` + recs.map((r, i) => {
      const u = (live.units.get(r.unit_id) || {}).data || {};
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
    const raw = recCache && recCache.find((r) => String(r.unit_id) === String(unitId));
    try {
      const res = await S.api(`/api/incidents/${incidentId}/dispatch`, { method: "POST", json: { unit_ids: [raw ? raw.unit_id : unitId] } });
      btn.textContent = T("inc.dispatched");
      btn.classList.add("done");
      const inc = res && res.incident ? res.incident : res && res.id === incidentId ? res : null;
      if (inc) live.upsertIncident(inc); else await live.refreshIncident(incidentId);
      live.loadUnits();
      renderPanel();
    } catch (e) {
      btn.disabled = false;
      S.toast(e.message, "error");
    }
  }

  async function transition(inc, to, btn) {
    btn.disabled = true;
    try {
      const updated = await S.api(`/api/incidents/${inc.id}/transition`, { method: "POST", json: { to, version: inc.version } });
      live.upsertIncident(updated && updated.id ? updated : inc);
      if (!updated || !updated.id) await live.refreshIncident(inc.id);
      renderPanel();
    } catch (e) {
      btn.disabled = false;
      await writeFailed(e, inc.id);
    }
  }

  const incLink = (id, number) => `<a href="#" class="inc-link" data-id="${esc(id)}">${esc(callName({ id, number }))}</a>`;
  const numberOf = (id) => ((live.incidents.get(id) || {}).data || {}).number;

  // Possible duplicates, each one click from its own panel and, while this call is open, from a merge into
  // it; and the merges already made, either way.
  function mergeHtml(inc, dups) {
    const canMerge = changeable(inc);
    let html = "";
    if (dups.length) {
      html += `<div class="kv warn">${esc(T("inc.duplicates"))}:</div><ul class="dups">` + dups.map((d) =>
        `<li data-dup="${esc(d.id)}">${incLink(d.id, d.number)} · ${esc(km(d.distance_m))} · ${esc(d.minutes_apart)} ${esc(T("inc.minutes"))}` +
        (canMerge ? ` <button type="button" class="merge" data-id="${esc(d.id)}" data-number="${esc(callName(d))}">${esc(T("inc.merge"))}</button>` : "") +
        "</li>").join("") + "</ul>";
    }
    if (inc.merged_into) html += `<div class="kv warn">${esc(T("inc.merged_into"))}: ${incLink(inc.merged_into, numberOf(inc.merged_into))}</div>`;
    if ((inc.merged_from || []).length) {
      html += `<div class="kv small">${esc(T("inc.merged_from"))}: ${inc.merged_from.map((id) => incLink(id, numberOf(id))).join(", ")}</div>`;
    }
    return html;
  }

  // Where the point came from and how sure it is: coordinates, a place name, or the handset's AML message.
  function sourceHtml(inc) {
    if (!inc.location_source) return "";
    const loc = inc.location || {};
    let what = T("src." + inc.location_source);
    if (inc.location_source === "place" && loc.place) what += `: ${loc.place.name}`;
    if (inc.location_source === "aml" && loc.aml && loc.aml.method) what += ` · ${String(loc.aml.method).toUpperCase()}`;
    const acc = inc.accuracy_m !== null && inc.accuracy_m !== undefined ? ` · ±${km(inc.accuracy_m)}` : "";
    return `<div class="kv small">${esc(T("inc.source"))}: ${esc(what)}${esc(acc)}</div>`;
  }

  function callerHtml(inc) {
    if (!inc.caller_name && !inc.caller_phone) return "";
    const phone = inc.caller_phone
      ? `<a href="tel:${esc(inc.caller_phone.replace(/[^0-9+]/g, ""))}">${esc(inc.caller_phone)}</a>` : "";
    return `<div class="kv">${esc(T("inc.caller"))}: ${esc(inc.caller_name || "")}${inc.caller_name && phone ? " · " : ""}${phone}</div>`;
  }

  function intervalsHtml(inc) {
    const iv = inc.intervals || {};
    const parts = [["call_to_dispatch_s", "iv.call_to_dispatch"], ["dispatch_to_scene_s", "iv.dispatch_to_scene"],
      ["call_to_resolved_s", "iv.call_to_resolved"]]
      .filter(([k]) => iv[k] !== null && iv[k] !== undefined)
      .map(([k, label]) => `${esc(T(label))} <b>${esc(window.I18N.duration(iv[k]))}</b>`);
    return parts.length ? `<div class="kv small intervals">${parts.join(" · ")}</div>` : "";
  }

  // Correcting a call: the category (which changes the agencies and unit types), the description, the caller.
  function editHtml(inc) {
    const opts = S.CONFIG.categories.map((c) =>
      `<option value="${esc(c.code)}"${c.code === inc.category ? " selected" : ""}>${esc(S.label(c))}</option>`).join("");
    const v = (x) => esc(x || "");
    return `<form id="edit-form" class="edit">` +
      `<label>${esc(T("form.category"))}<select id="e-category">${opts}</select></label>` +
      `<label>${esc(T("form.description"))}<textarea id="e-description" rows="2" maxlength="2000">${v(inc.description)}</textarea></label>` +
      `<div class="row"><label>${esc(T("form.caller"))}<input id="e-caller" maxlength="120" value="${v(inc.caller_name)}"></label>` +
      `<label>${esc(T("form.phone"))}<input id="e-phone" maxlength="32" inputmode="tel" value="${v(inc.caller_phone)}"></label></div>` +
      `<div class="row buttons"><button type="submit" class="primary" id="edit-save">${esc(T("inc.save"))}</button>` +
      `<button type="button" id="edit-cancel">${esc(T("form.cancel"))}</button></div></form>`;
  }

  const EDIT_FIELDS = { category: "e-category", description: "e-description", caller_name: "e-caller", caller_phone: "e-phone" };

  async function saveEdit(inc) {
    // Only what changed: a field left alone is not overwritten with what this screen last saw.
    const body = { version: inc.version };
    Object.entries(EDIT_FIELDS).forEach(([k, id]) => {
      const value = $(id).value || null;
      if ((inc[k] || null) !== value) body[k] = value;
    });
    const btn = $("edit-save");
    btn.disabled = true;
    try {
      const updated = await S.api(`/api/incidents/${inc.id}`, { method: "PATCH", json: body });
      live.upsertIncident(updated);
      editingId = null;
      renderPanel();
    } catch (e) {
      btn.disabled = false;
      await writeFailed(e, inc.id);
      // After a 409 the form shows the call as it now stands: this operator's own changes are typed back in,
      // so saving again applies just those on the current version.
      if (e.status === 409) Object.entries(body).forEach(([k, value]) => { if (EDIT_FIELDS[k]) $(EDIT_FIELDS[k]).value = value ?? ""; });
    }
  }

  function locateButtonHtml(inc) {
    if (!changeable(inc)) return "";
    const located = inc.lon !== null && inc.lon !== undefined;
    const label = pickFor === inc.id ? T("inc.pick_cancel") : T(located ? "inc.move_location" : "inc.set_location");
    return `<div class="kv"><button type="button" id="pick-location" class="${located ? "" : "primary"}">` +
      `<i class="fa-solid fa-location-crosshairs"></i> ${esc(label)}</button></div>`;
  }

  // Fold this call into an earlier one: this one is cancelled as merged, both keep their history.
  async function mergeInto(inc, keepId, keepNumber, btn) {
    const ask = T("inc.merge_confirm").replace("{dup}", callName(inc)).replace("{keep}", keepNumber);
    if (!window.confirm(ask)) return;
    btn.disabled = true;
    try {
      const kept = await S.api(`/api/incidents/${keepId}/merge`, { method: "POST", json: { duplicate_id: inc.id, duplicate_version: inc.version } });
      live.upsertIncident(kept);
      await live.refreshIncident(inc.id);
      S.toast(T("inc.merged_ok").replace("{dup}", callName(inc)).replace("{keep}", keepNumber), "ok");
      await select(keepId);
    } catch (e) {
      btn.disabled = false;
      await writeFailed(e, inc.id);
    }
  }

  function renderPanel() {
    const panel = $("incident-panel");
    const entry = selectedId !== null && live.incidents.get(selectedId);
    accuracyLayer.clearLayers();
    if (!entry) { panel.hidden = true; routeLayer.clearLayers(); return; }
    const inc = entry.data;
    // How far the caller may really be from the pin: a GPS fix is metres, a village name kilometres.
    if (inc.lat !== null && inc.lat !== undefined && inc.accuracy_m > 0) {
      accuracyLayer.addLayer(L.circle([inc.lat, inc.lon], { radius: inc.accuracy_m, color: "#d50000", weight: 1,
        dashArray: "4 4", fillOpacity: 0.06, interactive: false }));
    }
    const st = S.STATES[inc.status];
    const next = canWrite && st ? st.next : [];
    const ag = inc.agencies || {};
    const dups = inc.possible_duplicates || [];
    panel.hidden = false;
    panel.dataset.incident = inc.id;
    panel.dataset.status = inc.status;
    panel.innerHTML =
      `<h2><span class="cat-chip" style="background:${(S.CATS[inc.category] || {}).colour || "#555"}"><i class="fa-solid fa-${(S.CATS[inc.category] || {}).icon || "circle"}"></i></span> ` +
      `${esc(callName(inc))} <button type="button" class="close" id="panel-close" title="${esc(T("inc.close"))}">×</button></h2>` +
      (editingId === inc.id ? editHtml(inc) :
        `<div class="kv"><b>${esc(S.label(S.CATS[inc.category]))}</b>` +
        (changeable(inc)
          ? ` <button type="button" class="link" id="edit-call">${esc(T("inc.edit"))}</button>` : "") + "</div>") +
      `<div class="kv">${esc(T("inc.status"))}: <span class="status-chip" id="panel-status" style="border-color:${S.STATUS_COLOUR[inc.status]}">${esc(S.label(st))}</span></div>` +
      `<div class="kv">${esc(T("inc.created"))}: ${esc(window.I18N.wib(inc.created_at))}</div>` +
      `<div class="kv">${esc(T("inc.location"))}: ${esc(inc.desa_name || "–")}${inc.kecamatan_name ? ", " + esc(inc.kecamatan_name) : ""}${inc.inside_regency === false ? " · " + esc(T("loc.outside")) : ""}</div>` +
      sourceHtml(inc) +
      (inc.description && editingId !== inc.id ? `<div class="kv desc">${esc(inc.description)}</div>` : "") +
      (editingId !== inc.id ? callerHtml(inc) : "") +
      intervalsHtml(inc) +
      (ag.primary ? `<div class="kv small">${esc(T("inc.agencies"))}: ${esc([].concat(ag.primary || []).map((a) => a.code || a).join(", "))}${(ag.supporting || []).length ? " (+ " + esc(ag.supporting.map((a) => a.code || a).join(", ")) + ")" : ""}</div>` : "") +
      mergeHtml(inc, dups) +
      locateButtonHtml(inc) +
      (next.length ? `<div class="transitions">${esc(T("inc.move"))}: ` + next.map((s) =>
        `<button type="button" class="tr ${s === "batal" ? "danger" : ""}" data-to="${s}">${esc(S.label(S.STATES[s]))}</button>`).join("") + "</div>" : "") +
      `<h3>${esc(T("inc.recs"))}</h3><div id="recs"></div>` +
      (inc.transitions ? `<ul class="timeline">` + inc.transitions.map((tr) =>
        `<li><span class="dotc" style="background:${S.STATUS_COLOUR[tr.status]}"></span>${esc(S.label(S.STATES[tr.status]))} · ${esc(window.I18N.wib(tr.at))}${tr.by ? " · " + esc(tr.by) : ""}</li>`).join("") + "</ul>" : "");
    $("panel-close").addEventListener("click", () => { selectedId = null; renderPanel(); });
    panel.querySelectorAll("button.tr").forEach((b) => b.addEventListener("click", () => transition(inc, b.dataset.to, b)));
    panel.querySelectorAll("a.inc-link").forEach((a) => a.addEventListener("click", (ev) => { ev.preventDefault(); select(Number(a.dataset.id)); }));
    panel.querySelectorAll("button.merge").forEach((b) => b.addEventListener("click", () => mergeInto(inc, Number(b.dataset.id), b.dataset.number, b)));
    const edit = $("edit-call");
    if (edit) edit.addEventListener("click", () => { editingId = inc.id; renderPanel(); $("e-category").focus(); });
    const form = $("edit-form");
    if (form) {
      form.addEventListener("submit", (ev) => { ev.preventDefault(); saveEdit(inc); });
      $("edit-cancel").addEventListener("click", () => { editingId = null; renderPanel(); });
    }
    const pick = $("pick-location");
    if (pick) pick.addEventListener("click", () => (pickFor === inc.id ? stopPick() : startPick(inc)));
    loadRecommendations(inc);
  }

  async function select(id) {
    selectedId = id;
    const full = await live.refreshIncident(id);
    const inc = full || (live.incidents.get(id) || {}).data;
    if (inc && inc.lat !== null && inc.lat !== undefined) map.panTo([inc.lat, inc.lon]);
    renderPanel();
    renderList();
  }

  function renderList() {
    const ul = $("incident-list");
    const open = [...live.incidents.values()].map((e) => e.data).filter((i) => S.OPEN.has(i.status))
      .sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)));
    $("open-count").textContent = open.length;
    if (!open.length) { ul.innerHTML = `<li class="muted">${esc(T("list.empty"))}</li>`; return; }
    ul.innerHTML = open.slice(0, 100).map((i) => {
      const c = S.CATS[i.category] || {};
      // A call without a point is not on the map: the list is where it must not be missed.
      const cls = [i.id === selectedId ? "sel" : "", i.status === "perlu_lokasi" ? "needs-location" : ""].join(" ").trim();
      return `<li data-id="${i.id}" class="${cls}"><span class="cat-chip" style="background:${c.colour || "#555"}"><i class="fa-solid fa-${c.icon || "circle"}"></i></span>` +
        `<span><b>${esc(callName(i))}</b> · ${esc(S.label(c))}<br><small>${esc(i.desa_name || "–")} · ${esc(window.I18N.wib(i.created_at))}</small></span>` +
        `<span class="status-chip" style="border-color:${S.STATUS_COLOUR[i.status]}">${esc(S.label(S.STATES[i.status]))}</span></li>`;
    }).join("");
    ul.querySelectorAll("li[data-id]").forEach((li) => li.addEventListener("click", () => select(Number(li.dataset.id) || li.dataset.id)));
  }

  // The village search: a name picked from the list goes by its code, anything typed goes to the server's
  // place search (tolerant of case, spacing and small typos, kecamatan too). A call placed this way is stored
  // by place name, with the size of the place as its accuracy, not as a pin at the village centre.
  function desaSearch(features) {
    const input = $("desa-search");
    if (!input) return;
    const byLabel = new Map();
    features.forEach((f) => byLabel.set(`${f.properties.nama} (${f.properties.kecamatan})`, f.properties.kode));
    $("desa-list").innerHTML = [...byLabel.keys()].sort().map((k) => `<option value="${esc(k)}">`).join("");
    const go = async (query) => {
      const q = (query || input.value).trim();
      if (!q) return;
      let res;
      try { res = await S.api(`/api/places?q=${encodeURIComponent(byLabel.get(q) || q)}`); }
      catch (e) { S.toast(e.message, "error"); return; }
      const box = $("place-candidates");
      box.innerHTML = "";
      if (res.place) { input.value = ""; choosePlace(res.place); return; }
      // Ambiguous or not found: the candidates, one click each.
      box.innerHTML = `<div class="muted small">${esc(T(res.status === "ambiguous" ? "place.ambiguous" : "place.not_found"))}</div>` +
        res.candidates.map((c) => `<button type="button" class="cand" data-code="${esc(c.code)}">${esc(c.name)}` +
          `${c.parent ? ` <small>(${esc(c.parent)})</small>` : ""}</button>`).join("");
      box.querySelectorAll("button.cand").forEach((b) => b.addEventListener("click", () => go(b.dataset.code)));
    };
    input.addEventListener("change", () => go());
    input.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { ev.preventDefault(); go(); } });
  }

  function choosePlace(place) {
    const at = L.latLng(place.lat, place.lon);
    if (place.radius_m) map.fitBounds(at.toBounds(place.radius_m * 2.4), { maxZoom: 14, animate: false });
    else map.setView(at, Math.max(map.getZoom(), 12));
    if (pickFor !== null) setLocation(pickFor, at, place);
    else startDraft(at, place);
  }

  async function init() {
    map = S.makeMap("map");
    window.SIGAP.map = map;
    routeLayer = L.layerGroup();
    accuracyLayer = L.layerGroup();
    live = S.liveLayers(map, { onIncidentClick: (inc) => select(inc.id) });
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
    fillCategories();
    desaSearch(std.boundaries._desa.features);
    if (canWrite) {
      map.on("click", (ev) => onPoint(ev.latlng));
      $("no-location").addEventListener("click", () => { if (pickFor !== null) stopPick(); startDraft(null); });
      $("aml-open").addEventListener("click", () => { $("aml-box").hidden = !$("aml-box").hidden; if (!$("aml-box").hidden) $("aml-text").focus(); });
      $("aml-use").addEventListener("click", useAml);
      document.addEventListener("keydown", (ev) => { if (ev.key === "Escape" && pickFor !== null) stopPick(); });
      $("incident-form").addEventListener("submit", createIncident);
      $("cancel-draft").addEventListener("click", clearDraft);
    }
    document.addEventListener("sigap:incidents", () => renderList());
    document.addEventListener("sigap:lang", () => { fillCategories(); renderList(); renderPanel(); });
    S.on("incident.created", async (d) => {
      if (d.lon !== undefined && d.lon !== null) live.upsertIncident(d);
      await live.refreshIncident(d.id);
    });
    S.on("incident.updated", async (d) => {
      live.upsertIncident(d);
      await live.refreshIncident(d.id);
      // Not under an operator's hands: an edit in progress keeps its text, and its save meets the version check.
      if (d.id === selectedId && editingId !== d.id) renderPanel();
    });
    S.on("unit.updated", (d) => live.upsertUnit(d));
    S.on("unit.moved", (d) => live.upsertUnit(d));
    S.connect();
    await Promise.all([live.loadIncidents(), live.loadUnits()]);
    renderList();
    window.SIGAP.readyAt = performance.now();
    document.body.dataset.ready = "1";
  }
  document.addEventListener("DOMContentLoaded", () => init().catch((e) => { S.toast(e.message, "error"); console.error(e); }));
})();
