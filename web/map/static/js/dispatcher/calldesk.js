// Dispatcher map, the call desk: the caller's history and flag as soon as a number is known (typed, popped by
// the PBX, or in the incident form), a call recorded in two keys (F2, then the type's digit), the callback list.
// The platform never drops or hides a call: a flagged number is shown as flagged, the operator decides.
(function () {
  "use strict";
  const S = window.SIGAP;
  const D = S.dispatcher;
  const st = D.state;
  const { $, esc } = D;

  const TEXT = {
    id: {
      title: "Meja panggilan", number: "Nomor penelepon", keys: "F2 lalu angka: catat panggilan bukan darurat",
      armed: "Tekan angka jenis panggilan (Esc batal)", history: "Riwayat nomor", none: "Belum pernah menelepon.",
      calls: "panggilan", pranks: "iseng", flagged: "DITANDAI", until: "sampai", incidents: "Kejadian",
      last_location: "Lokasi terakhir", callbacks: "Panggilan balik", callbacks_none: "Tidak ada yang perlu ditelepon balik.",
      reached: "Tersambung", no_answer: "Tidak diangkat", recorded: "Panggilan dicatat", popped: "Panggilan masuk",
      unreadable: "nomor tidak terbaca", emergency: "Darurat → kejadian", linked: "Panggilan ditautkan ke",
      current: "Panggilan aktif", line: "jalur", tried: "dicoba", join: "Gabung ke", flag: "Tandai nomor",
      flag_reason: "Alasan menandai nomor ini (wajib):", unflag: "Cabut tanda", flagged_ok: "Nomor ditandai",
    },
    en: {
      title: "Call desk", number: "Caller number", keys: "F2 then a digit: record a non-emergency call",
      armed: "Press the call type's digit (Esc cancels)", history: "Number history", none: "Never called before.",
      calls: "calls", pranks: "pranks", flagged: "FLAGGED", until: "until", incidents: "Incidents",
      last_location: "Last location", callbacks: "Call backs", callbacks_none: "Nobody to call back.",
      reached: "Reached", no_answer: "No answer", recorded: "Call recorded", popped: "Incoming call",
      unreadable: "unreadable number", emergency: "Emergency → incident", linked: "Call linked to",
      current: "Current call", line: "line", tried: "tried", join: "Join", flag: "Flag number",
      flag_reason: "Why flag this number (required):", unflag: "Revoke flag", flagged_ok: "Number flagged",
    },
  };
  // The digit of each type (F2 first); darurat opens the incident form instead of recording at once.
  const TYPES = [
    ["1", "iseng", "Iseng / prank", "Prank"],
    ["2", "ghost", "Ghost (diam)", "Ghost (silent)"],
    ["3", "salah_sambung", "Salah sambung", "Wrong number"],
    ["4", "informasi", "Informasi", "Information"],
    ["5", "panggilan_ulang", "Panggilan ulang", "Follow-up"],
    ["6", "uji", "Uji coba", "Test"],
    ["7", "tak_terjawab", "Tak terjawab", "Missed"],
  ];
  const TYPE_LABEL = Object.fromEntries(TYPES.map(([, code, id, en]) => [code, { id, en }]));
  TYPE_LABEL.darurat = { id: "Darurat", en: "Emergency" };
  TYPE_LABEL.belum = { id: "Belum diketik", en: "Not typed" };
  const tx = (k) => TEXT[window.I18N.lang === "en" ? "en" : "id"][k];
  const typeLabel = (code) => { const l = TYPE_LABEL[code] || { id: code, en: code }; return window.I18N.lang === "en" ? l.en : l.id; };
  const me = (S.CONFIG.user || {}).username;
  const canFlag = ["supervisor", "admin"].includes((S.CONFIG.user || {}).role);
  const OPEN = S.OPEN || new Set();

  const desk = { call: null, number: "", armed: false, historyFor: null, seq: 0 };
  S.calldesk = desk;

  function render() {
    const box = $("calldesk");
    if (!box) return;
    box.innerHTML = `
      <h2><i class="fa-solid fa-phone-volume"></i> <span>${esc(tx("title"))}</span></h2>
      <div id="cd-current" class="cd-current" hidden></div>
      <label><span>${esc(tx("number"))}</span><input id="cd-number" inputmode="tel" autocomplete="off" maxlength="200"></label>
      <div id="cd-history" class="cd-history" aria-live="polite"></div>
      <p class="muted small" id="cd-hint">${esc(tx("keys"))}</p>
      <div class="cd-keys" id="cd-keys">
        ${TYPES.map(([k, code]) => `<button type="button" class="cd-key" data-type="${code}" title="F2 ${k}"><kbd>${k}</kbd> ${esc(typeLabel(code))}</button>`).join("")}
        <button type="button" class="cd-key danger" data-type="darurat" title="F2 9"><kbd>9</kbd> ${esc(tx("emergency"))}</button>
      </div>
      <details id="cd-callbacks" class="cd-callbacks"><summary>${esc(tx("callbacks"))} <span class="count" id="cd-callback-count">0</span></summary><ul id="cd-callback-list" class="list"></ul></details>`;
    const input = $("cd-number");
    input.value = desk.number;
    input.addEventListener("input", () => { desk.number = input.value; if (desk.call && desk.call.caller_raw !== input.value) desk.call = null; renderCurrent(); showHistory(input.value); });
    box.querySelectorAll(".cd-key").forEach((b) => b.addEventListener("click", () => choose(b.dataset.type)));
    renderCurrent();
    if (desk.historyFor) showHistory(desk.historyFor, true);
    loadCallbacks();
  }

  function renderCurrent() {
    const el = $("cd-current");
    if (!el) return;
    const c = desk.call;
    el.hidden = !c;
    if (!c) { el.innerHTML = ""; return; }
    el.innerHTML = `<b>${esc(tx("current"))}</b> #${c.id} · ${esc(c.caller_number || c.caller_raw || "–")}` +
      `${c.line ? ` · ${esc(tx("line"))} ${esc(c.line)}` : ""}${c.type ? ` · <span class="badge">${esc(typeLabel(c.type))}</span>` : ""}`;
  }

  // The history of a number, fetched once the number is long enough to mean something; a later answer for an
  // older number (typing on) is ignored.
  let timer = null;
  function showHistory(number, now) {
    clearTimeout(timer);
    const n = (number || "").trim();
    const box = $("cd-history");
    if (n.replace(/\D/g, "").length < 4) { if (box) box.innerHTML = ""; desk.historyFor = null; return; }
    const go = async () => {
      const seq = ++desk.seq;
      let h;
      try { h = await S.api(`/api/callers/${encodeURIComponent(n)}`); } catch (e) { if (box) box.innerHTML = `<span class="error">${esc(e.message)}</span>`; return; }
      if (seq !== desk.seq) return;
      desk.historyFor = n;
      renderHistory(h);
    };
    if (now) go(); else timer = setTimeout(go, 250);
  }

  function renderHistory(h) {
    const box = $("cd-history");
    if (!box) return;
    box.dataset.number = h.number || "";
    const parts = [];
    if (h.flag) {
      parts.push(`<div class="cd-flag" role="alert"><i class="fa-solid fa-flag"></i> <b>${esc(tx("flagged"))}</b>: ${esc(h.flag.reason)}` +
        `${h.flag.expires_at ? ` <small>(${esc(tx("until"))} ${esc(window.I18N.wib(h.flag.expires_at))})</small>` : ""}</div>`);
    }
    parts.push(`<div class="cd-number mono">${esc(h.number || h.raw || "–")}${h.number_ok ? "" : ` <span class="badge warn">${esc(tx("unreadable"))}</span>`}</div>`);
    if (!h.total) {
      parts.push(`<div class="muted">${esc(tx("none"))}</div>`);
    } else {
      parts.push(`<div class="cd-counts"><b>${h.total}</b> ${esc(tx("calls"))} · <b class="${h.prank_count ? "warn-text" : ""}">${h.prank_count}</b> ${esc(tx("pranks"))}</div>`);
      parts.push(`<div class="cd-types">${Object.entries(h.by_type).map(([t, n]) => `<span class="badge t-${esc(t)}">${esc(typeLabel(t))} ${n}</span>`).join(" ")}</div>`);
      parts.push(`<ul class="cd-recent">${h.calls.slice(0, 5).map((c) => `<li><small>${esc(c.at_wib)}</small> ${esc(typeLabel(c.type || "belum"))}${c.incident_id ? ` · #${c.incident_id}` : ""}</li>`).join("")}</ul>`);
    }
    if (h.incidents.length) {
      parts.push(`<div><b>${esc(tx("incidents"))}:</b> ${h.incidents.slice(0, 5).map((i) => `<button type="button" class="link cd-inc" data-id="${i.id}">${esc(i.number)}</button>` +
        (OPEN.has(i.status) ? ` <button type="button" class="cd-join" data-id="${i.id}">${esc(tx("join"))} ${esc(i.number)}</button>` : "")).join(" ")}</div>`);
    }
    if (canFlag && h.number) {
      parts.push(h.flag ? `<button type="button" class="link cd-unflag" data-id="${h.flag.id}">${esc(tx("unflag"))}</button>`
        : `<button type="button" class="link cd-flag-btn">${esc(tx("flag"))}</button>`);
    }
    if (h.last_location) {
      const l = h.last_location;
      parts.push(`<div><b>${esc(tx("last_location"))}:</b> <button type="button" class="link cd-loc">${l.lat.toFixed(5)}, ${l.lon.toFixed(5)}</button> <small>${esc(window.I18N.wib(l.at))}</small></div>`);
    }
    box.innerHTML = parts.join("");
    box.dataset.ready = "1";
    box.querySelectorAll(".cd-inc").forEach((b) => b.addEventListener("click", () => D.select(Number(b.dataset.id))));
    // An emergency call about an incident already open: the call joins it (darurat, linked), no new incident.
    box.querySelectorAll(".cd-join").forEach((b) => b.addEventListener("click", () => join(Number(b.dataset.id))));
    const flagBtn = box.querySelector(".cd-flag-btn");
    if (flagBtn) flagBtn.addEventListener("click", async () => {
      const reason = window.prompt(tx("flag_reason"));
      if (!reason || !reason.trim()) return;
      try {
        await S.api(`/api/callers/${encodeURIComponent(h.number)}/flags`, { method: "POST", json: { reason: reason.trim() } });
        S.toast(tx("flagged_ok"), "ok");
        showHistory(h.number, true);
      } catch (e) { S.toast(e.message, "error"); }
    });
    const unflagBtn = box.querySelector(".cd-unflag");
    if (unflagBtn) unflagBtn.addEventListener("click", async () => {
      try { await S.api(`/api/flags/${unflagBtn.dataset.id}`, { method: "DELETE" }); showHistory(h.number, true); }
      catch (e) { S.toast(e.message, "error"); }
    });
    const loc = box.querySelector(".cd-loc");
    if (loc) loc.addEventListener("click", () => st.map.setView([h.last_location.lat, h.last_location.lon], 15));
  }

  // F2 arms the bar, a digit records: two keys for a non-emergency call (9 opens the incident form).
  function arm(on) {
    desk.armed = on;
    const box = $("calldesk");
    if (box) box.classList.toggle("armed", on);
    const hint = $("cd-hint");
    if (hint) hint.textContent = tx(on ? "armed" : "keys");
  }
  document.addEventListener("keydown", (ev) => {
    if (!D.canWrite) return;
    if (ev.key === "F2") { ev.preventDefault(); arm(!desk.armed); return; }
    if (!desk.armed) return;
    if (ev.key === "Escape") { arm(false); return; }
    const hit = TYPES.find(([k]) => k === ev.key);
    if (hit || ev.key === "9") { ev.preventDefault(); arm(false); choose(hit ? hit[1] : "darurat"); }
  }, true);

  async function choose(type) {
    if (type === "darurat") { startEmergency(); return; }
    const number = ($("cd-number") || {}).value || desk.number || null;
    try {
      let call;
      if (desk.call && desk.call.id) {
        call = await S.api(`/api/calls/${desk.call.id}`, { method: "PATCH", json: { type } });
      } else {
        call = await S.api("/api/calls", { method: "POST", json: { type, number: number || null } });
      }
      S.toast(`${tx("recorded")}: ${typeLabel(call.type)} · ${call.caller_number || "–"}`, "ok");
      // Not an emergency: the draft the pop opened for this caller goes away.
      if (desk.draftFromPop && st.draftOpen) D.clearDraft();
      desk.draftFromPop = false;
      document.body.dataset.lastCall = String(call.id);
      desk.call = null;
      desk.number = "";
      desk.historyFor = null;
      const input = $("cd-number");
      if (input) input.value = "";
      const box = $("cd-history");
      if (box) { box.innerHTML = ""; delete box.dataset.ready; }
      renderCurrent();
      loadCallbacks();
    } catch (e) {
      S.toast(e.message, "error");
    }
  }

  async function join(incidentId) {
    const c = desk.call;
    const number = ($("cd-number") || {}).value || null;
    try {
      const call = c && c.id
        ? await S.api(`/api/calls/${c.id}`, { method: "PATCH", json: { type: "darurat", incident_id: incidentId } })
        : await S.api("/api/calls", { method: "POST", json: { type: "darurat", number, incident_id: incidentId } });
      S.toast(`${tx("linked")} #${incidentId}`, "ok");
      document.body.dataset.lastCall = String(call.id);
      if (desk.draftFromPop && st.draftOpen) D.clearDraft();
      desk.call = null;
      desk.draftFromPop = false;
      renderCurrent();
      if (desk.historyFor) showHistory(desk.historyFor, true);
      D.select(incidentId);
    } catch (e) { S.toast(e.message, "error"); }
  }

  // An emergency: the incident form, pre-filled with the caller's number (and the AML fix when there is one).
  function startEmergency() {
    const c = desk.call;
    const at = c && c.lat !== null && c.lat !== undefined ? L.latLng(c.lat, c.lon) : null;
    if (at) st.map.setView(at, Math.max(st.map.getZoom(), 14));
    D.startDraft(at);
    const phone = $("f-phone");
    if (phone) phone.value = (c && (c.caller_number || c.caller_raw)) || ($("cd-number") || {}).value || "";
    desk.pendingEmergency = c ? c.id : "new";
    const cat = $("f-category");
    if (cat) cat.focus();
  }

  // An incident created from the form: the server records its darurat call with it, or makes the popped call
  // (named by call_id) that call: one call per ring, whatever else created incidents meanwhile.
  const createIncident = D.createIncident;
  D.createIncident = async function (ev) {
    const before = st.selectedId;
    const c = desk.call;
    st.draftCallId = c && c.id ? c.id : null;
    try {
      await createIncident(ev);
    } finally {
      st.draftCallId = null;
    }
    if (st.draftOpen || st.selectedId === before || st.selectedId === null) return;
    desk.call = null;
    desk.pendingEmergency = null;
    renderCurrent();
  };

  // The PBX popped a call on this operator's extension: the call, its number's history, a pre-filled draft.
  async function popped(d) {
    if (!D.canWrite || d.operator !== me) return;
    let call;
    try { call = (await S.api(`/api/calls?limit=5&number=${encodeURIComponent(d.caller_number || "")}`)).items.find((c) => c.id === d.call_id); } catch (e) { call = null; }
    desk.call = call || { id: d.call_id, caller_number: d.caller_number, caller_raw: d.caller_number, line: d.line, lat: null, lon: null };
    desk.number = d.caller_number || "";
    const input = $("cd-number");
    if (input) input.value = desk.number;
    renderCurrent();
    const box = $("calldesk");
    if (box) { box.classList.add("ringing"); setTimeout(() => box.classList.remove("ringing"), 4000); box.scrollIntoView({ block: "start" }); }
    S.toast(`${tx("popped")}: ${d.caller_number || "–"}`, "ok");
    document.body.dataset.popped = String(d.call_id);
    showHistory(desk.number, true);
    // The draft waits pre-filled: number in the form, no location yet (an AML SMS fills it in).
    D.startDraft(null);
    desk.draftFromPop = true;
    const phone = $("f-phone");
    if (phone) phone.value = desk.number;
  }

  async function callUpdated(d) {
    if (desk.call && d.id === desk.call.id && (d.changed || []).includes("location")) {
      try {
        const page = await S.api(`/api/calls?number=${encodeURIComponent(desk.call.caller_number || "")}&limit=5`);
        const c = page.items.find((x) => x.id === d.id);
        if (c) {
          desk.call = c;
          if (c.lat !== null && st.draftOpen && !st.draftAt) {
            const at = L.latLng(c.lat, c.lon);
            st.map.setView(at, Math.max(st.map.getZoom(), 14));
            D.startDraft(at);
          }
        }
      } catch (e) { /* the location stays on the call; the operator can still type it */ }
    }
    if (d.callback_status || (d.changed || []).includes("callback")) loadCallbacks();
  }

  async function loadCallbacks() {
    const list = $("cd-callback-list");
    if (!list) return;
    let page;
    try { page = await S.api("/api/callbacks?limit=50"); } catch (e) { return; }
    $("cd-callback-count").textContent = page.total;
    list.innerHTML = page.items.length ? page.items.map((c) => `<li data-id="${c.id}">
        <span class="mono">${esc(c.caller_number || c.caller_raw || "–")}</span> <small>${esc(c.at_wib)} · ${esc(typeLabel(c.type))}${c.callback_attempts ? ` · ${esc(tx("tried"))} ${c.callback_attempts}×` : ""}</small>
        <span class="cd-cb-actions"><button type="button" data-outcome="tersambung">${esc(tx("reached"))}</button>
        <button type="button" data-outcome="tidak_diangkat">${esc(tx("no_answer"))}</button></span></li>`).join("")
      : `<li class="muted">${esc(tx("callbacks_none"))}</li>`;
    list.querySelectorAll("button[data-outcome]").forEach((b) => b.addEventListener("click", async () => {
      const id = b.closest("li").dataset.id;
      try { await S.api(`/api/calls/${id}/callback`, { method: "POST", json: { outcome: b.dataset.outcome } }); loadCallbacks(); }
      catch (e) { S.toast(e.message, "error"); }
    }));
  }

  // A number typed in the incident form shows its history too.
  document.addEventListener("input", (ev) => {
    if (ev.target && ev.target.id === "f-phone" && !desk.call) {
      desk.number = ev.target.value;
      const input = $("cd-number");
      if (input) input.value = desk.number;
      showHistory(desk.number);
    }
  });

  document.addEventListener("DOMContentLoaded", () => {
    if (!$("calldesk")) return;
    render();
    S.on("call.popped", popped);
    S.on("call.updated", callUpdated);
    S.on("call.created", callUpdated);
    S.on("caller.flagged", (d) => { if (desk.historyFor && d.number) showHistory(desk.historyFor, true); });
    document.addEventListener("sigap:lang", render);
  });
  Object.assign(D, { calldesk: { showHistory, choose, popped, loadCallbacks } });
})();
