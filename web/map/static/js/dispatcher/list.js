// Dispatcher map, the open calls: by priority (P1 first), then by how long each has waited in its state; every
// row shows its priority, the clock of its state (amber, then red past its limits), and who has taken it. A
// call without a point is flagged (it is not on the map). Rows are focusable: Enter opens the call.
(function () {
  "use strict";
  const S = window.SIGAP;
  const D = S.dispatcher;
  const st = D.state;
  const { $, T, esc, callName } = D;
  const fresh = new Set();  // calls that arrived unclaimed and still flash

  function renderList() {
    const ul = $("incident-list");
    const focused = document.activeElement && document.activeElement.closest && document.activeElement.closest("#incident-list li[data-id]");
    const keepFocus = focused ? focused.dataset.id : null;
    const open = [...st.live.incidents.values()].map((e) => e.data).filter((i) => S.OPEN.has(i.status)).sort(D.byUrgency);
    $("open-count").textContent = open.length;
    if (!open.length) { ul.innerHTML = `<li class="muted">${esc(T("list.empty"))}</li>`; return; }
    ul.innerHTML = open.slice(0, 100).map((i) => {
      const c = S.CATS[i.category] || {};
      if (i.claimed_by) fresh.delete(i.id);
      // A call without a point is not on the map: the list is where it must not be missed.
      const cls = [i.id === st.selectedId ? "sel" : "", i.status === "perlu_lokasi" ? "needs-location" : "",
        fresh.has(i.id) ? "flash" : "", i.claimed_by ? "claimed" : "unclaimed"].join(" ").trim();
      return `<li data-id="${i.id}" class="${cls}" tabindex="0" role="button" aria-label="${esc(callName(i) + " " + S.label(c))}">` +
        `${D.priorityChip(i)}<span class="cat-chip" style="background:${c.colour || "#555"}"><i class="fa-solid fa-${c.icon || "circle"}"></i></span>` +
        `<span><b>${esc(callName(i))}</b> · ${esc(S.label(c))}<br><small>${esc(i.desa_name || "–")} · ${esc(window.I18N.wib(i.created_at))}` +
        ` · <span class="claimer">${esc(D.claimText(i))}</span></small></span>` +
        `<span class="status-col"><span class="status-chip" style="border-color:${S.STATUS_COLOUR[i.status]}">${esc(S.label(S.STATES[i.status]))}</span>${D.timerChip(i)}</span></li>`;
    }).join("");
    ul.querySelectorAll("li[data-id]").forEach((li) => {
      const id = Number(li.dataset.id) || li.dataset.id;
      li.addEventListener("click", () => D.select(id));
      li.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); D.select(id); } });
    });
    if (keepFocus) { const li = ul.querySelector(`li[data-id="${CSS.escape(keepFocus)}"]`); if (li) li.focus(); }
  }

  // A new call nobody has taken: a short sound (bundled file), a flash in the list and a toast.
  let audio = null;
  function announceNewCall(inc) {
    if (!inc || inc.claimed_by) return;
    fresh.add(inc.id);
    document.body.dataset.lastNewCall = String(inc.id);
    try {
      audio = audio || new Audio("/static/audio/new-call.wav");
      audio.currentTime = 0;
      const played = audio.play();
      if (played && played.catch) played.catch(() => {});  // a browser may refuse sound before any click
    } catch (e) { /* no sound device: the flash and the toast still show */ }
    S.toast(T("newcall.toast").replace("{n}", callName(inc)).replace("{c}", S.label(S.CATS[inc.category])), "warn");
    renderList();
  }

  // The open calls in list order, for "next call" (J/K).
  function openOrder() {
    return [...st.live.incidents.values()].map((e) => e.data).filter((i) => S.OPEN.has(i.status)).sort(D.byUrgency);
  }

  Object.assign(D, { renderList, announceNewCall, openOrder });
})();
