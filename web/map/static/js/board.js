// The unit status board: every unit with its callsign, type, agency, status, call, time in status and position
// age, filtered by type and agency; a status that lasts past its threshold turns amber, past `red_factor` times it
// red. Drawn on the dispatcher page (from the units the map holds) and on its own page /board (a second screen).
(function () {
  "use strict";
  const S = window.SIGAP;
  const T = (k, f) => window.I18N.t(k, f);
  const esc = S.esc;
  // Who may pair a crew phone and resend a dispatch (POST /api/units/{id}/pairing, /api/assignments/{id}/notify).
  const CAN_DISPATCH = ["dispatcher", "supervisor", "admin"].includes((S.CONFIG.user || {}).role);

  // The level of a unit from how long it is in its status (seconds) and the thresholds (minutes per status).
  function level(u, now) {
    const limits = S.CONFIG.board_thresholds || {};
    const factor = S.CONFIG.board_red_factor || 2;
    const limit = limits[u.status];
    if (!limit || !u.status_at) return "ok";
    const secs = (now - new Date(u.status_at).getTime()) / 1000;
    if (secs > limit * 60 * factor) return "red";
    if (secs > limit * 60) return "amber";
    return "ok";
  }
  const since = (iso, now) => (iso ? (now - new Date(iso).getTime()) / 1000 : null);

  // Crews (issue 17): units that have not acknowledged a dispatch, and per unit on a call how each channel's
  // notification went; fetched every few seconds while a board is shown, and drawn with it.
  const crew = { alerts: [], byUnit: {}, last: null, timer: null };
  async function pollCrew() {
    try {
      const d = await S.api("/api/crew/alerts");
      crew.alerts = d.alerts || [];
      crew.byUnit = d.by_unit || {};
      if (crew.last) render(...crew.last);
    } catch (e) { /* the board stays as it is; the next poll tries again */ }
  }
  function crewBar() {
    if (!crew.alerts.length) return "";
    const canResend = CAN_DISPATCH;
    return `<div class="crew-alerts" role="alert">` + crew.alerts.map((a) =>
      `<div class="crew-alert" data-callsign="${esc(a.callsign)}" data-assignment="${esc(a.assignment_id)}">` +
      `<b>${esc(T("crew.unacked"))}: ${esc(a.callsign)}</b> · ${esc(a.incident_number)} · ` +
      `${esc(window.I18N.duration(a.waiting_s))} ` +
      a.attempts.map((x) => `<span class="n-chip n-${esc(x.status)}">${esc(x.channel)}: ${esc(x.status)}</span>`).join(" ") +
      (canResend ? ` <button type="button" class="crew-resend" data-assignment="${esc(a.assignment_id)}">${esc(T("crew.resend"))}</button>` : "") +
      `</div>`).join("") + `</div>`;
  }
  function notifyCell(u) {
    const list = crew.byUnit[String(u.id)] || [];
    return list.map((x) => `<span class="n-chip n-${esc(x.status)}" title="${esc(x.detail || "")}">${esc(x.channel)}: ${esc(x.status)}</span>`).join(" ") || "–";
  }

  // A pairing code for a unit's crew phone: 8 characters and a QR code (drawn by the server as SVG), 10 minutes.
  async function pairDialog(unitId) {
    let d;
    try { d = await S.api(`/api/units/${unitId}/pairing`, { method: "POST" }); }
    catch (e) { S.toast(e.message, "error"); return; }
    let dlg = document.getElementById("crew-pair-dialog");
    if (!dlg) {
      dlg = document.createElement("dialog");
      dlg.id = "crew-pair-dialog";
      document.body.appendChild(dlg);
    }
    const until = new Date(d.expires_at).toLocaleTimeString(window.I18N.lang === "en" ? "en-GB" : "id-ID",
      { timeZone: "Asia/Jakarta", hour: "2-digit", minute: "2-digit" }) + " WIB";
    dlg.innerHTML = `<h3>${esc(T("crew.pair"))} · ${esc(d.callsign)}</h3><div class="crew-qr">${d.qr_svg}</div>` +
      `<p class="crew-code" data-code="${esc(d.code)}">${esc(d.code.slice(0, 4))} ${esc(d.code.slice(4))}</p>` +
      `<p>${esc(T("crew.pair_hint"))} <b>/crew</b> · ${esc(T("crew.valid_until"))} ${esc(until)}</p>` +
      `<button type="button" class="crew-pair-close">${esc(T("crew.close"))}</button>`;
    dlg.querySelector(".crew-pair-close").addEventListener("click", () => dlg.close());
    dlg.showModal();
  }

  // Draws the board into `box` from `units` (UnitFields); `filters` {type, agency} ("" = all). Call links
  // raise sigap:open-incident.
  function render(box, units, filters) {
    crew.last = [box, units, filters];
    if (!crew.timer) { crew.timer = setInterval(pollCrew, 3000); pollCrew(); }
    const now = Date.now();
    const f = filters || {};
    const types = [...new Set(units.map((u) => u.type))].sort();
    const agencies = [...new Set(units.map((u) => u.agency))].sort();
    const shown = units.filter((u) => (!f.type || u.type === f.type) && (!f.agency || u.agency === f.agency))
      .sort((a, b) => String(a.callsign).localeCompare(String(b.callsign)));
    const opt = (v, cur, text) => `<option value="${esc(v)}"${v === cur ? " selected" : ""}>${esc(text)}</option>`;
    const counts = {};
    shown.forEach((u) => { counts[u.status] = (counts[u.status] || 0) + 1; });
    box.innerHTML = crewBar() +
      `<div class="board-filters"><label>${esc(T("board.type"))} <select class="b-type">${opt("", f.type, T("board.all"))}` +
      types.map((t) => opt(t, f.type, S.label(S.UTYPES[t]))).join("") + `</select></label> ` +
      `<label>${esc(T("board.agency"))} <select class="b-agency">${opt("", f.agency, T("board.all"))}` +
      agencies.map((a) => opt(a, f.agency, a)).join("") + `</select></label>` +
      `<span class="board-counts">${Object.entries(counts).map(([s, n]) => `<span class="b-st st-${esc(s)}">${esc(T("unit.status." + s, s))} ${n}</span>`).join(" ")}</span></div>` +
      `<div class="board-scroll"><table class="board-table"><thead><tr><th>${esc(T("board.callsign"))}</th><th>${esc(T("board.type"))}</th>` +
      `<th>${esc(T("board.agency"))}</th><th>${esc(T("board.status"))}</th><th>${esc(T("board.call"))}</th>` +
      `<th>${esc(T("board.in_status"))}</th><th>${esc(T("board.position"))}</th><th>${esc(T("crew.notify"))}</th></tr></thead><tbody>` +
      shown.map((u) => {
        const lv = level(u, now);
        const pos = u.position_at ? since(u.position_at, now) : u.position_age_s;
        return `<tr class="lv-${lv}" data-unit="${esc(u.id)}" data-callsign="${esc(u.callsign)}" data-level="${lv}">` +
          `<td><b>${esc(u.callsign)}</b>` +
          (CAN_DISPATCH ? ` <button type="button" class="crew-pair" data-unit="${esc(u.id)}" title="${esc(T("crew.pair"))}">${esc(T("crew.pair_short"))}</button>` : "") +
          `</td><td>${esc(S.label(S.UTYPES[u.type]))}</td><td>${esc(u.agency)}</td>` +
          `<td class="b-status"><span class="b-st st-${esc(u.status)}">${esc(T("unit.status." + u.status, u.status))}</span></td>` +
          `<td>${u.incident_id ? `<a href="#" class="unit-call" data-id="${esc(u.incident_id)}">${esc(u.incident_number || "#" + u.incident_id)}</a>` : "–"}</td>` +
          `<td>${esc(window.I18N.duration(since(u.status_at, now)))}</td>` +
          `<td>${esc(window.I18N.duration(pos))}</td><td class="b-notify">${notifyCell(u)}</td></tr>`;
      }).join("") + "</tbody></table></div>";
    box.querySelector(".b-type").addEventListener("change", (ev) => { f.type = ev.target.value; render(box, units, f); });
    box.querySelector(".b-agency").addEventListener("change", (ev) => { f.agency = ev.target.value; render(box, units, f); });
    box.querySelectorAll(".crew-pair").forEach((b) => b.addEventListener("click", () => pairDialog(b.dataset.unit)));
    box.querySelectorAll(".crew-resend").forEach((b) => b.addEventListener("click", async () => {
      b.disabled = true;
      try {
        await S.api(`/api/assignments/${b.dataset.assignment}/notify`, { method: "POST" });
        S.toast(T("crew.resent"));
        document.body.dataset.crewResent = b.dataset.assignment;
      } catch (e) { S.toast(e.message, "error"); }
      pollCrew();
    }));
    return shown.length;
  }

  // The board page: /api/board once, then unit events; redrawn every 15 s as times grow.
  async function page() {
    const box = document.getElementById("board");
    const units = new Map();
    const filters = {};
    const draw = () => { document.getElementById("board-count").textContent = render(box, [...units.values()], filters); };
    const data = await S.api("/api/board");
    data.units.forEach((u) => units.set(u.id, u));
    S.on("unit.updated", (d) => { units.set(d.id, Object.assign({}, units.get(d.id) || {}, d)); draw(); });
    S.on("unit.moved", (d) => { units.set(d.id, Object.assign({}, units.get(d.id) || {}, d)); draw(); });
    document.addEventListener("sigap:lang", draw);
    // A call link opens the dispatcher map on that call.
    document.addEventListener("sigap:open-incident", (ev) => { location.href = "/map#incident=" + ev.detail; });
    S.connect();
    draw();
    setInterval(draw, 15000);
    document.body.dataset.ready = "1";
  }

  S.board = { render, level, page };
  document.addEventListener("DOMContentLoaded", () => {
    if (document.body.classList.contains("page-board")) page().catch((e) => { S.toast(e.message, "error"); console.error(e); });
  });
})();
