// Dispatcher map, the selected call's card: details, history, edits, state changes, location, duplicates, merge.
(function () {
  "use strict";
  const S = window.SIGAP;
  const D = S.dispatcher;
  const st = D.state;
  const { $, T, esc, km, canWrite, callName, changeable } = D;

  // A write on a call that failed: say why; on 409 (someone changed it first) show the call as it now stands.
  async function writeFailed(e, incidentId) {
    S.toast(e.message, "error");
    if (e.status === 409) { await st.live.refreshIncident(incidentId); renderPanel(); }
  }

  // ---- locating a call after the fact ------------------------------------------------------
  function startPick(inc) {
    st.pickFor = inc.id;
    document.body.classList.add("picking");
    S.toast(T("inc.pick_hint").replace("{n}", callName(inc)));
    renderPanel();
  }
  function stopPick() {
    st.pickFor = null;
    document.body.classList.remove("picking");
    renderPanel();
  }

  async function setLocation(incidentId, latlng, place) {
    const entry = st.live.incidents.get(incidentId);
    stopPick();
    if (!entry) return;
    const inc = entry.data;
    try {
      const updated = await S.api(`/api/incidents/${incidentId}`, {
        method: "PATCH",
        json: { version: inc.version, location: place ? { place: place.code }
          : { lon: Number(latlng.lng.toFixed(6)), lat: Number(latlng.lat.toFixed(6)) } },
      });
      st.live.upsertIncident(updated);
      S.toast(T("inc.located").replace("{n}", callName(updated)), "ok");
      await select(incidentId);
    } catch (e) {
      await writeFailed(e, incidentId);
    }
  }

  const incLink = (id, number) => `<a href="#" class="inc-link" data-id="${esc(id)}">${esc(callName({ id, number }))}</a>`;
  const numberOf = (id) => ((st.live.incidents.get(id) || {}).data || {}).number;

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
    // The AML fix's age when the call was taken, flagged when stale (drafting.js).
    const age = inc.location_source === "aml" ? D.amlAgeHtml(loc.aml) : "";
    return `<div class="kv small">${esc(T("inc.source"))}: ${esc(what)}${esc(acc)}${age}</div>`;
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
      st.live.upsertIncident(updated);
      st.editingId = null;
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
    const label = st.pickFor === inc.id ? T("inc.pick_cancel") : T(located ? "inc.move_location" : "inc.set_location");
    return `<div class="kv"><button type="button" id="pick-location" class="${located ? "" : "primary"}">` +
      `<i class="fa-solid fa-location-crosshairs"></i> ${esc(label)}</button></div>`;
  }

  // Fold this call into an earlier one: this one is cancelled as merged, both keep their history.
  async function mergeInto(inc, keepId, keepNumber, btn) {
    // Every {dup} and {keep} filled in (String.replace with a string changes only the first).
    const ask = T("inc.merge_confirm").replaceAll("{dup}", callName(inc)).replaceAll("{keep}", keepNumber);
    if (!window.confirm(ask)) return;
    btn.disabled = true;
    try {
      const kept = await S.api(`/api/incidents/${keepId}/merge`, { method: "POST", json: { duplicate_id: inc.id, duplicate_version: inc.version } });
      st.live.upsertIncident(kept);
      await st.live.refreshIncident(inc.id);
      S.toast(T("inc.merged_ok").replaceAll("{dup}", callName(inc)).replaceAll("{keep}", keepNumber), "ok");
      await select(keepId);
    } catch (e) {
      btn.disabled = false;
      await writeFailed(e, inc.id);
    }
  }

  function renderPanel() {
    const panel = $("incident-panel");
    const entry = st.selectedId !== null && st.live.incidents.get(st.selectedId);
    st.accuracyLayer.clearLayers();
    if (!entry) { panel.hidden = true; st.routeLayer.clearLayers(); return; }
    const inc = entry.data;
    // How far the caller may really be from the pin: a GPS fix is metres, a village name kilometres.
    if (inc.lat !== null && inc.lat !== undefined && inc.accuracy_m > 0) {
      st.accuracyLayer.addLayer(L.circle([inc.lat, inc.lon], { radius: inc.accuracy_m, color: "#d50000", weight: 1,
        dashArray: "4 4", fillOpacity: 0.06, interactive: false }));
    }
    const state = S.STATES[inc.status];
    // Call card (callcard.js): forward steps here; cancelling sits apart, closing asks for a disposition.
    const next = D.stepStates(inc);
    // Until the whole call is read (GET), an entry may hold only an event's fields (IncidentEvent).
    const ag = inc.agencies || { primary: [], supporting: [] };
    const dups = inc.possible_duplicates || [];
    // A live update redraws the card: what the operator was typing into it (a note, a search) and where the
    // cursor was are kept, so no keystroke is lost to an update of the same call.
    const typed = panel.dataset.incident === String(inc.id)
      ? [...panel.querySelectorAll("textarea[id], input[id][type=text], input[id][type=search], input[id]:not([type])")]
        .filter((e) => e.value).map((e) => [e.id, e.value])
      : [];
    const focused = panel.contains(document.activeElement) && document.activeElement.id ? document.activeElement.id : null;
    // The units proposed for this call stay on the redrawn card while they are brought up to date (units.js):
    // blanking them on every live update took the "d" key and the dispatch buttons away for a moment.
    const shownRecs = $("recs");
    const keptRecs = shownRecs && shownRecs.dataset.incident === String(inc.id) ? shownRecs : null;
    panel.hidden = false;
    panel.dataset.incident = inc.id;
    panel.dataset.status = inc.status;
    panel.innerHTML =
      `<h2><span class="cat-chip" style="background:${(S.CATS[inc.category] || {}).colour || "#555"}"><i class="fa-solid fa-${(S.CATS[inc.category] || {}).icon || "circle"}"></i></span> ` +
      `${esc(callName(inc))} <button type="button" class="close" id="panel-close" title="${esc(T("inc.close"))}">×</button></h2>` +
      (st.editingId === inc.id ? editHtml(inc) :
        `<div class="kv"><b>${esc(S.label(S.CATS[inc.category]))}</b>` +
        (changeable(inc)
          ? ` <button type="button" class="link" id="edit-call">${esc(T("inc.edit"))}</button>` : "") + "</div>") +
      `<div class="kv">${esc(T("inc.status"))}: <span class="status-chip" id="panel-status" style="border-color:${S.STATUS_COLOUR[inc.status]}">${esc(S.label(state))}</span></div>` +
      D.priorityHtml(inc) + D.claimHtml(inc) + D.dispositionHtml(inc) +
      `<div class="kv">${esc(T("inc.created"))}: ${esc(window.I18N.wib(inc.created_at))}</div>` +
      `<div class="kv">${esc(T("inc.location"))}: ${esc(inc.desa_name || "–")}${inc.kecamatan_name ? ", " + esc(inc.kecamatan_name) : ""}${inc.inside_regency === false ? " · " + esc(T("loc.outside")) : ""}</div>` +
      sourceHtml(inc) +
      (inc.description && st.editingId !== inc.id ? `<div class="kv desc">${esc(inc.description)}</div>` : "") +
      (st.editingId !== inc.id ? callerHtml(inc) : "") +
      intervalsHtml(inc) +
      (ag.primary.length ? `<div class="kv small">${esc(T("inc.agencies"))}: ${esc(ag.primary.map((a) => a.code).join(", "))}${ag.supporting.length ? " (+ " + esc(ag.supporting.map((a) => a.code).join(", ")) + ")" : ""}</div>` : "") +
      mergeHtml(inc, dups) +
      locateButtonHtml(inc) +
      (next.length ? `<div class="transitions">${esc(T("inc.move"))}: ` + next.map((s) =>
        `<button type="button" class="tr" data-to="${s}">${esc(S.label(S.STATES[s]))}</button>`).join("") + "</div>" : "") +
      `<div id="units-on-call"></div>` +
      (S.OPEN.has(inc.status) ? `<h3>${esc(T("inc.recs"))}</h3><div id="recs"></div>` : "") +
      (inc.transitions ? `<h3>${esc(T("inc.timeline"))}</h3><ul class="timeline">` + inc.transitions.map((tr) =>
        `<li><span class="dotc" style="background:${S.STATUS_COLOUR[tr.status]}"></span>${esc(S.label(S.STATES[tr.status]))} · ${esc(window.I18N.wib(tr.at))}${tr.by ? " · " + esc(tr.by) : ""}${tr.note ? ` · <span class="note">${esc(tr.note)}</span>` : ""}</li>`).join("") + "</ul>" : "") +
      D.notesHtml(inc) + D.cancelHtml(inc);
    if (keptRecs && $("recs")) $("recs").replaceWith(keptRecs);
    $("panel-close").addEventListener("click", () => { st.selectedId = null; renderPanel(); });
    panel.querySelectorAll("button.tr").forEach((b) => b.addEventListener("click", () => D.moveTo(inc, b.dataset.to, b)));
    D.wireCallCard(panel, inc);
    typed.forEach(([id, value]) => { const e = $(id); if (e && !e.value) e.value = value; });
    if (focused && $(focused)) {
      const e = $(focused);
      e.focus();
      if (typeof e.setSelectionRange === "function" && e.value) e.setSelectionRange(e.value.length, e.value.length);
    }
    panel.querySelectorAll("a.inc-link").forEach((a) => a.addEventListener("click", (ev) => { ev.preventDefault(); select(Number(a.dataset.id)); }));
    panel.querySelectorAll("button.merge").forEach((b) => b.addEventListener("click", () => mergeInto(inc, Number(b.dataset.id), b.dataset.number, b)));
    const edit = $("edit-call");
    if (edit) edit.addEventListener("click", () => { st.editingId = inc.id; renderPanel(); $("e-category").focus(); });
    const form = $("edit-form");
    if (form) {
      form.addEventListener("submit", (ev) => { ev.preventDefault(); saveEdit(inc); });
      $("edit-cancel").addEventListener("click", () => { st.editingId = null; renderPanel(); });
    }
    const pick = $("pick-location");
    if (pick) pick.addEventListener("click", () => (st.pickFor === inc.id ? stopPick() : startPick(inc)));
    D.renderAssignments(inc);
    D.loadRecommendations(inc);
  }

  async function select(id) {
    st.selectedId = id;
    const full = await st.live.refreshIncident(id);
    const inc = full || (st.live.incidents.get(id) || {}).data;
    if (inc && inc.lat !== null && inc.lat !== undefined) st.map.panTo([inc.lat, inc.lon]);
    renderPanel();
    D.renderList();
  }

  Object.assign(D, { renderPanel, select, setLocation, startPick, stopPick });
})();
