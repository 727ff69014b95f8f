// Dispatcher map, units on the selected call (issue 15): each unit with its status and times, radio buttons
// (menuju lokasi / tiba / selesai) and release; sending any unit by search or from its map popup (a busy one
// only with an explicit "alihkan"); agencies informed; the unit status board beside the list.
(function () {
  "use strict";
  const S = window.SIGAP;
  const D = S.dispatcher;
  const st = D.state;
  const { $, T, esc, canWrite, callName, changeable } = D;
  const FREE = new Set(["tersedia", "kembali"]);
  const ON_CALL = new Set(["dikirim", "menuju_lokasi", "tiba"]);
  const hhmm = (iso) => (iso ? window.I18N.wib(iso) : "–");

  async function refresh(incidentId) {
    await st.live.refreshIncident(incidentId);
    if (st.selectedId === incidentId) D.renderPanel();
    renderBoard();
  }

  // Send units to a call in one action (all or none); a 409 names the units that could not go.
  async function send(incidentId, unitIds, { divert = false, btn = null } = {}) {
    if (btn) btn.disabled = true;
    try {
      const res = await S.api(`/api/incidents/${incidentId}/dispatch`, { method: "POST", json: { unit_ids: unitIds.map(Number), divert } });
      res.units.forEach((u) => st.live.upsertUnit(u));
      S.toast(T("as.sent").replace("{u}", res.units.map((u) => u.callsign).join(", ")).replace("{n}", res.incident_number), "ok");
      await refresh(incidentId);
      return res;
    } catch (e) {
      if (btn) btn.disabled = false;
      const why = (e.body && e.body.unavailable) || [];
      S.toast(why.length ? why.map((u) => `${u.callsign}: ${window.I18N.lang === "en" ? u.message_en : u.message_id}`).join("; ") : e.message, "error");
      return null;
    }
  }

  // A unit that is busy on another call goes only after the operator confirms the divert.
  async function sendOne(unitId, btn) {
    const inc = selectedCall();
    const entry = st.live.units.get(Number(unitId));
    if (!inc || !entry) return;
    const u = entry.data;
    if (ON_CALL.has(u.status)) {
      const ask = T("as.divert_confirm").replace("{u}", u.callsign).replace("{from}", u.incident_number || "?").replace("{to}", callName(inc));
      if (!window.confirm(ask)) return;
      await send(inc.id, [u.id], { divert: true, btn });
    } else {
      await send(inc.id, [u.id], { btn });
    }
  }

  function selectedCall() {
    const entry = st.selectedId !== null && st.live.incidents.get(st.selectedId);
    return entry && changeable(entry.data) && entry.data.lon !== null && entry.data.lon !== undefined ? entry.data : null;
  }

  async function step(inc, unitId, status, btn) {
    btn.disabled = true;
    try {
      const res = await S.api(`/api/incidents/${inc.id}/units/${unitId}/status`, { method: "POST", json: { status } });
      st.live.upsertUnit(res.unit);
      if (res.skipped.length) S.toast(T("as.skipped").replace("{u}", res.unit.callsign), "ok");
      await refresh(inc.id);
    } catch (e) { btn.disabled = false; S.toast(e.message, "error"); }
  }

  async function release(inc, unitId, callsign, btn) {
    const reason = window.prompt(T("as.release_reason").replace("{u}", callsign));
    if (reason === null) return;
    if (!reason.trim()) { S.toast(T("as.reason_required"), "error"); return; }
    btn.disabled = true;
    try {
      const res = await S.api(`/api/incidents/${inc.id}/units/${unitId}/release`, { method: "POST", json: { reason: reason.trim().slice(0, 500) } });
      st.live.upsertUnit(res.unit);
      await refresh(inc.id);
    } catch (e) { btn.disabled = false; S.toast(e.message, "error"); }
  }

  const STEP_LABEL = { dikirim: "as.step.dikirim", diterima: "as.step.diterima", menuju_lokasi: "as.step.menuju_lokasi",
    tiba: "as.step.tiba", selesai: "as.step.selesai", dilepas: "as.step.dilepas", dialihkan: "as.step.dialihkan" };

  function assignmentHtml(inc, a) {
    const times = [["dispatched_at", "as.t.sent"], ["enroute_at", "as.t.enroute"], ["arrived_at", "as.t.arrived"], ["released_at", "as.t.ended"]]
      .filter(([k]) => a[k]).map(([k, label]) => `${esc(T(label))} ${esc(hhmm(a[k]))}`).join(" · ");
    const reported = (a.reported || []).filter((r) => r.skipped.length).map((r) => esc(T("as.reported").replace("{s}", T(STEP_LABEL[r.step] || r.step)))).join(" ");
    let buttons = "";
    if (a.open && canWrite && changeable(inc)) {
      const b = (status, label, cls) => `<button type="button" class="a-step ${cls || ""}" data-unit="${esc(a.unit_id)}" data-status="${status}">${esc(T(label))}</button>`;
      buttons = `<div class="a-buttons">` +
        (["dikirim", "diterima"].includes(a.status) ? b("menuju_lokasi", "as.btn.enroute") : "") +
        (a.status !== "tiba" ? b("tiba", "as.btn.arrived") : "") +
        b("selesai", "as.btn.done") +
        `<button type="button" class="a-release danger" data-unit="${esc(a.unit_id)}" data-callsign="${esc(a.callsign)}">${esc(T("as.btn.release"))}</button></div>`;
    }
    const why = !a.open && a.release_reason ? ` <small class="muted">(${esc(a.release_reason)})</small>` : "";
    return `<li class="assignment${a.open ? "" : " ended"}" data-unit="${esc(a.unit_id)}" data-callsign="${esc(a.callsign)}" data-status="${esc(a.status)}">` +
      `<div><b>${esc(a.callsign)}</b> <small>${esc(S.label(S.UTYPES[a.unit_type]))}</small> ` +
      `<span class="a-status st-${esc(a.status)}">${esc(T(STEP_LABEL[a.status] || a.status))}</span>${why}</div>` +
      `<div class="small muted">${times}${reported ? " · " + reported : ""}</div>${buttons}</li>`;
  }

  function contactsHtml(inc) {
    const list = inc.agency_contacts || [];
    const shown = list.length ? `<ul class="contacts">` + list.map((c) =>
      `<li><b>${esc(c.agency.toUpperCase())}</b> · ${esc(T("ch." + c.channel, c.channel))} · ${esc(hhmm(c.at))}` +
      `${c.contact ? " · " + esc(c.contact) : ""}${c.by ? " · " + esc(c.by) : ""}${c.note ? `<br><small>${esc(c.note)}</small>` : ""}</li>`).join("") + "</ul>" : "";
    if (!canWrite || !changeable(inc)) return shown ? `<h3>${esc(T("as.contacts"))}</h3>${shown}` : "";
    const agencies = (S.CONFIG.agencies || []).map((a) => `<option value="${esc(a.code)}">${esc(a.code.toUpperCase())}</option>`).join("");
    const channels = ["telepon", "radio", "whatsapp", "langsung", "lainnya"].map((c) => `<option value="${c}">${esc(T("ch." + c, c))}</option>`).join("");
    return `<h3>${esc(T("as.contacts"))}</h3>${shown}<form id="contact-form" class="contact-form">` +
      `<select id="c-agency">${agencies}</select><select id="c-channel">${channels}</select>` +
      `<input id="c-contact" maxlength="200" placeholder="${esc(T("as.contact_who"))}">` +
      `<input id="c-note" maxlength="1000" placeholder="${esc(T("as.contact_note"))}">` +
      `<button type="submit" id="c-save">${esc(T("as.contact_save"))}</button></form>`;
  }

  // Units found by callsign, type (code or label) or agency; free ones first, then busy, then out of service.
  function search(q) {
    const needle = q.trim().toLowerCase();
    if (!needle) return [];
    const rank = (u) => (FREE.has(u.status) ? 0 : ON_CALL.has(u.status) ? 1 : 2);
    return [...st.live.units.values()].map((e) => e.data).filter((u) =>
      [u.callsign, u.type, u.agency, S.label(S.UTYPES[u.type]), u.name].some((v) => String(v || "").toLowerCase().includes(needle)))
      .sort((a, b) => rank(a) - rank(b) || String(a.callsign).localeCompare(String(b.callsign))).slice(0, 8);
  }

  function searchResultsHtml(inc, found) {
    return found.map((u) => {
      let action = "";
      if (FREE.has(u.status)) action = `<button type="button" class="primary s-send" data-unit="${esc(u.id)}">${esc(T("inc.dispatch"))}</button>`;
      else if (ON_CALL.has(u.status) && u.incident_id !== inc.id) action = `<button type="button" class="s-send divert" data-unit="${esc(u.id)}">${esc(T("as.divert"))}</button>`;
      return `<li data-unit="${esc(u.id)}"><b>${esc(u.callsign)}</b> <small>${esc(S.label(S.UTYPES[u.type]))} · ${esc(u.agency)}</small> ` +
        `<span class="b-st st-${esc(u.status)}">${esc(T("unit.status." + u.status, u.status))}${u.incident_number ? " · " + esc(u.incident_number) : ""}</span> ${action}</li>`;
    }).join("") || `<li class="muted">${esc(T("as.none_found"))}</li>`;
  }

  // The units block of the card: called by card.js after the panel is drawn.
  function renderAssignments(inc) {
    const box = $("units-on-call");
    if (!box) return;
    const list = inc.assignments || [];
    const open = list.filter((a) => a.open);
    let html = `<h3>${esc(T("as.title"))} <span class="count">${open.length}</span></h3>` +
      (list.length ? `<ul class="assignments">${list.map((a) => assignmentHtml(inc, a)).join("")}</ul>` : `<p class="muted small">${esc(T("as.none"))}</p>`);
    if (canWrite && changeable(inc) && inc.lon !== null && inc.lon !== undefined) {
      html += `<div class="unit-search"><input id="unit-search" autocomplete="off" placeholder="${esc(T("as.search"))}"><ul id="unit-found" class="found"></ul></div>`;
    }
    html += contactsHtml(inc);
    box.innerHTML = html;
    box.querySelectorAll("button.a-step").forEach((b) => b.addEventListener("click", () => step(inc, b.dataset.unit, b.dataset.status, b)));
    box.querySelectorAll("button.a-release").forEach((b) => b.addEventListener("click", () => release(inc, b.dataset.unit, b.dataset.callsign, b)));
    const input = $("unit-search");
    if (input) {
      const draw = () => {
        const out = $("unit-found");
        out.innerHTML = input.value.trim() ? searchResultsHtml(inc, search(input.value)) : "";
        out.querySelectorAll("button.s-send").forEach((b) => b.addEventListener("click", () => sendOne(b.dataset.unit, b)));
      };
      input.addEventListener("input", draw);
    }
    const form = $("contact-form");
    if (form) form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const btn = $("c-save");
      btn.disabled = true;
      try {
        await S.api(`/api/incidents/${inc.id}/contacts`, { method: "POST", json: {
          agency: $("c-agency").value, channel: $("c-channel").value,
          contact: $("c-contact").value.trim() || null, note: $("c-note").value.trim() || null } });
        await refresh(inc.id);
      } catch (e) { btn.disabled = false; S.toast(e.message, "error"); }
    });
  }

  // "Kirim ke kejadian terpilih" in a unit's popup while a call is selected.
  function unitPopupExtra(u) {
    const inc = canWrite ? selectedCall() : null;
    if (!inc || u.incident_id === inc.id || !(FREE.has(u.status) || ON_CALL.has(u.status))) return "";
    const label = ON_CALL.has(u.status) ? T("as.divert_to").replace("{n}", callName(inc)) : T("as.send_to").replace("{n}", callName(inc));
    return `<br><button type="button" class="unit-send${ON_CALL.has(u.status) ? " divert" : " primary"}" data-unit="${esc(u.id)}">${esc(label)}</button>`;
  }
  document.addEventListener("click", (ev) => {
    const b = ev.target.closest && ev.target.closest("button.unit-send");
    if (b) sendOne(b.dataset.unit, b).then(() => st.map && st.map.closePopup());
  });

  // The board beside the open calls, from the units the map holds; redrawn on unit events and every 15 s.
  const boardFilters = {};
  function renderBoard() {
    const box = $("dispatch-board");
    if (!box || !st.live) return;
    const n = S.board.render(box, [...st.live.units.values()].map((e) => e.data), boardFilters);
    const count = $("board-count");
    if (count) count.textContent = n;
  }
  setInterval(renderBoard, 15000);

  Object.assign(D, { renderAssignments, unitPopupExtra, renderBoard, sendUnits: send });
})();
