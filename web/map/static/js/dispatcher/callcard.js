// Dispatcher map, the call card's own parts (issue 16): priority, time in state, who has taken the call, the
// call log (notes, newest first) and ending a call with a disposition (closing, and cancelling kept apart from
// the normal status buttons). card.js places these sections; unit assignment lives elsewhere (units.js).
(function () {
  "use strict";
  const S = window.SIGAP;
  const D = S.dispatcher;
  const st = D.state;
  const { $, T, esc, callName, changeable, canWrite } = D;
  const CFG = S.CONFIG;
  const PRIORITIES = ["P1", "P2", "P3"];
  const ENDING = new Set(["batal", "ditutup"]);

  // ---- priority and time in state --------------------------------------------------------------
  const rank = (inc) => PRIORITIES.indexOf(inc.priority || "P2");
  const since = (inc) => Date.parse(inc.state_since || inc.created_at) || Date.now();
  const secondsInState = (inc) => Math.max(0, (Date.now() - since(inc)) / 1000);

  // none | amber | red for the call's time in its state (thresholds per state and priority, from settings).
  function timerLevel(inc) {
    if (!S.OPEN.has(inc.status)) return "none";
    const limits = ((CFG.state_timers || {})[inc.status] || {})[inc.priority || "P2"];
    if (!limits) return "none";
    const s = secondsInState(inc);
    return s >= limits[1] ? "red" : s >= limits[0] ? "amber" : "none";
  }
  function clockText(seconds) {
    const s = Math.floor(seconds);
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const two = (x) => String(x).padStart(2, "0");
    return h ? `${h}:${two(m)}:${two(r)}` : `${m}:${two(r)}`;
  }
  function priorityChip(inc) {
    const p = inc.priority || "P2";
    return `<span class="prio prio-${esc(p)}" title="${esc(T("prio." + p))}">${esc(p)}</span>`;
  }
  function timerChip(inc) {
    if (!S.OPEN.has(inc.status)) return "";
    const level = timerLevel(inc);
    return `<span class="timer t-${level}" data-timer="${esc(inc.id)}" title="${esc(T("timer.in_state"))}">` +
      `${esc(clockText(secondsInState(inc)))}</span>`;
  }
  // Open calls by priority (P1 first), then by how long they have waited in their state (longest first).
  function byUrgency(a, b) {
    return rank(a) - rank(b) || since(a) - since(b) || a.id - b.id;
  }
  // The clocks tick without redrawing anything else (a focused element keeps its focus).
  function tickTimers() {
    document.querySelectorAll("[data-timer]").forEach((el) => {
      const entry = st.live && st.live.incidents.get(Number(el.dataset.timer));
      if (!entry) return;
      const inc = entry.data;
      el.textContent = clockText(secondsInState(inc));
      el.className = "timer t-" + timerLevel(inc);
    });
  }
  setInterval(tickTimers, 1000);

  function claimText(inc) {
    return inc.claimed_by ? T("claim.by").replace("{who}", inc.claimed_by) : T("claim.none");
  }

  // ---- the card's sections ----------------------------------------------------------------------
  function priorityHtml(inc) {
    const edit = changeable(inc);
    const buttons = PRIORITIES.map((p) =>
      `<button type="button" class="prio-btn prio-${p}${(inc.priority || "P2") === p ? " on" : ""}" data-prio="${p}"` +
      `${edit ? "" : " disabled"} aria-pressed="${(inc.priority || "P2") === p}" title="${esc(T("prio." + p))}">${p}</button>`).join("");
    return `<div class="kv prio-row">${esc(T("prio.label"))}: <span class="prio-group" role="group">${buttons}</span> ${timerChip(inc)}</div>`;
  }
  function claimHtml(inc) {
    if (!S.OPEN.has(inc.status)) return "";
    const mine = inc.claimed_by && inc.claimed_by === (CFG.user || {}).username;
    const btn = changeable(inc)
      ? `<button type="button" id="claim-call" class="${inc.claimed_by ? "" : "primary"}">${esc(T(mine ? "claim.release" : "claim.take"))}</button>`
      : "";
    return `<div class="kv claim" id="claim-line"><i class="fa-solid fa-headset"></i> <span>${esc(claimText(inc))}</span> ${btn}</div>`;
  }
  function notesHtml(inc) {
    const notes = inc.notes || [];
    // Read-only once the call has ended (history); the API still takes a late note from another client.
    const form = changeable(inc)
      ? `<form id="note-form" class="note-form"><label class="sr-only" for="note-text">${esc(T("note.add"))}</label>` +
        `<textarea id="note-text" rows="2" maxlength="2000" placeholder="${esc(T("note.placeholder"))}"></textarea>` +
        `<button type="submit" id="note-save">${esc(T("note.add"))}</button></form>`
      : "";
    const list = notes.length
      ? `<ul class="notes" id="notes">` + notes.map((n) =>
        `<li><small>${esc(window.I18N.wib(n.at))}${n.by ? " · " + esc(n.by) : ""}</small><div class="note-text">${esc(n.text)}</div></li>`).join("") + "</ul>"
      : `<p class="muted small" id="notes">${esc(T("note.none"))}</p>`;
    return `<h3>${esc(T("note.title"))}</h3>${form}${list}`;
  }
  function dispositionHtml(inc) {
    if (!inc.disposition) return "";
    const label = window.I18N.lang === "en" ? inc.disposition_label_en : inc.disposition_label_id;
    return `<div class="kv"><b>${esc(T("disp.label"))}:</b> <span id="disposition">${esc(label || inc.disposition)}</span></div>`;
  }
  // Cancelling sits apart from the status buttons, behind a reason and a confirmation.
  function cancelHtml(inc) {
    const next = (S.STATES[inc.status] || {}).next || [];
    if (!changeable(inc) || !next.includes("batal")) return "";
    return `<div class="danger-zone"><button type="button" id="cancel-call" class="danger">` +
      `<i class="fa-solid fa-ban"></i> ${esc(T("cancel.button"))}</button></div>`;
  }
  // The normal forward step(s): ending states other than cancel are asked for a disposition too.
  function stepStates(inc) {
    const next = (S.STATES[inc.status] || {}).next || [];
    return canWrite ? next.filter((s) => s !== "batal") : [];
  }

  // ---- the disposition dialog -------------------------------------------------------------------
  function askDisposition(inc, to) {
    return new Promise((resolve) => {
      const old = $("disp-dialog");
      if (old) old.remove();
      const dlg = document.createElement("dialog");
      dlg.id = "disp-dialog";
      dlg.className = "disp-dialog";
      const title = to === "batal" ? T("cancel.title") : T("close.title");
      dlg.innerHTML = `<form method="dialog" id="disp-form"><h3>${esc(title.replace("{n}", callName(inc)))}</h3>` +
        `<label>${esc(T("disp.choose"))}<select id="disp-select" aria-required="true"><option value="">—</option>` +
        (CFG.dispositions || []).map((d) => `<option value="${esc(d.code)}">${esc(S.label(d))}</option>`).join("") +
        `</select></label><label>${esc(T("disp.note"))}<input id="disp-note" maxlength="1000"></label>` +
        `<p class="error" id="disp-error" role="alert" hidden></p>` +
        `<div class="row buttons"><button type="submit" value="ok" id="disp-ok" class="${to === "batal" ? "danger" : "primary"}">` +
        `${esc(T(to === "batal" ? "cancel.confirm" : "close.confirm"))}</button>` +
        `<button type="button" id="disp-back">${esc(T("disp.back"))}</button></div></form>`;
      document.body.appendChild(dlg);
      const done = (value) => { dlg.close(); dlg.remove(); resolve(value); };
      $("disp-back").addEventListener("click", () => done(null));
      dlg.addEventListener("cancel", (ev) => { ev.preventDefault(); done(null); });
      $("disp-form").addEventListener("submit", (ev) => {
        ev.preventDefault();
        const code = $("disp-select").value;
        if (!code) { $("disp-error").textContent = T("disp.required"); $("disp-error").hidden = false; $("disp-select").focus(); return; }
        done({ disposition: code, note: $("disp-note").value.trim() || null });
      });
      dlg.showModal();
      $("disp-select").focus();
    });
  }

  // ---- writes -----------------------------------------------------------------------------------
  async function write(inc, path, json, btn) {
    if (btn) btn.disabled = true;
    try {
      const updated = await S.api(path, { method: "POST", json });
      st.live.upsertIncident(updated);
      D.renderPanel();
      return updated;
    } catch (e) {
      if (btn) btn.disabled = false;
      S.toast(e.message, "error");
      if (e.status === 409) { await st.live.refreshIncident(inc.id); D.renderPanel(); }
      return null;
    }
  }
  async function setPriority(inc, p) {
    if (!changeable(inc) || (inc.priority || "P2") === p) return;
    try {
      const updated = await S.api(`/api/incidents/${inc.id}`, { method: "PATCH", json: { version: inc.version, priority: p } });
      st.live.upsertIncident(updated);
      D.renderPanel();
    } catch (e) {
      S.toast(e.message, "error");
      if (e.status === 409) { await st.live.refreshIncident(inc.id); D.renderPanel(); }
    }
  }
  async function moveTo(inc, to, btn) {
    let extra = {};
    if (ENDING.has(to)) {
      const answer = await askDisposition(inc, to);
      if (!answer) return;
      extra = answer;
    }
    await write(inc, `/api/incidents/${inc.id}/transition`, { to, version: inc.version, ...extra }, btn);
  }
  async function claim(inc, btn) {
    const mine = inc.claimed_by && inc.claimed_by === (CFG.user || {}).username;
    return write(inc, `/api/incidents/${inc.id}/claim`, { release: !!mine }, btn);
  }
  async function addNote(inc) {
    const box = $("note-text");
    const text = box.value;
    if (!text.trim()) { box.focus(); return; }
    box.value = "";  // sent: a redraw while it is stored must not bring it back (it is put back if refused)
    const updated = await write(inc, `/api/incidents/${inc.id}/notes`, { text }, $("note-save"));
    const again = $("note-text");
    if (again && !updated && !again.value) again.value = text;
    if (again) again.focus();
  }

  // Handlers on the card just drawn by card.js.
  function wireCallCard(panel, inc) {
    panel.querySelectorAll("button.prio-btn").forEach((b) => b.addEventListener("click", () => setPriority(inc, b.dataset.prio)));
    const c = $("claim-call");
    if (c) c.addEventListener("click", () => claim(inc, c));
    const form = $("note-form");
    if (form) {
      form.addEventListener("submit", (ev) => { ev.preventDefault(); addNote(inc); });
      // Ctrl+Enter saves; Enter alone is a new line in the note.
      $("note-text").addEventListener("keydown", (ev) => { if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); addNote(inc); } });
    }
    const cancel = $("cancel-call");
    if (cancel) cancel.addEventListener("click", () => moveTo(inc, "batal", cancel));
  }

  Object.assign(D, {
    priorityChip, timerChip, timerLevel, byUrgency, claimText, priorityHtml, claimHtml, notesHtml,
    dispositionHtml, cancelHtml, stepStates, wireCallCard, moveTo, setPriority, claim, askDisposition,
  });
})();
