// Dispatcher map, the keyboard (issue 16): a whole call without the mouse. Shortcuts work whenever the focus
// is not in a text field; "?" shows them all. The map's markers are out of the tab order (sigap.js); the
// open list's rows and the card's buttons are.
(function () {
  "use strict";
  const S = window.SIGAP;
  const D = S.dispatcher;
  const st = D.state;
  const { $, T, esc } = D;

  const KEYS = [
    ["N", "keys.new"], ["/", "keys.search"], ["1–9, 0", "keys.category"], ["Enter", "keys.create"],
    ["P", "keys.priority"], ["A", "keys.take"], ["D", "keys.dispatch"], ["C", "keys.note"],
    ["J / K", "keys.next"], ["H", "keys.history"], ["Esc", "keys.escape"], ["?", "keys.help"],
  ];

  function typing(el) {
    if (!el) return false;
    const tag = el.tagName;
    return tag === "TEXTAREA" || (tag === "INPUT" && !["checkbox", "radio", "button", "submit"].includes(el.type)) || el.isContentEditable;
  }

  function cheatSheet() {
    let dlg = $("keys-dialog");
    if (dlg && dlg.open) { dlg.close(); return; }
    if (dlg) dlg.remove();
    dlg = document.createElement("dialog");
    dlg.id = "keys-dialog";
    dlg.className = "keys-dialog";
    dlg.innerHTML = `<h3>${esc(T("keys.title"))}</h3><table>` +
      KEYS.map(([k, label]) => `<tr><td><kbd>${esc(k)}</kbd></td><td>${esc(T(label))}</td></tr>`).join("") +
      `</table><div class="row buttons"><button type="button" id="keys-close">${esc(T("inc.close"))}</button></div>`;
    document.body.appendChild(dlg);
    $("keys-close").addEventListener("click", () => dlg.close());
    dlg.showModal();
    $("keys-close").focus();
  }

  function selected() {
    const entry = st.selectedId !== null && st.live.incidents.get(st.selectedId);
    return entry ? entry.data : null;
  }
  function focusCard() {
    const panel = $("incident-panel");
    if (panel && !panel.hidden) { panel.setAttribute("tabindex", "-1"); panel.focus({ preventScroll: false }); }
  }
  function nextCall(step) {
    const order = D.openOrder();
    if (!order.length) return;
    const at = order.findIndex((i) => i.id === st.selectedId);
    const next = order[(at + step + order.length) % order.length];
    D.select(next.id).then(focusCard);
  }
  function setCategory(n) {
    const sel = $("f-category");
    const cats = S.CONFIG.categories || [];
    const i = n === 0 ? 9 : n - 1;
    if (!sel || $("incident-form").hidden || i >= cats.length) return false;
    sel.value = cats[i].code;
    sel.dispatchEvent(new Event("change"));
    return true;
  }

  function onKey(ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const el = document.activeElement;
    // In the category list a digit picks by number and Enter records the call.
    if (el && el.id === "f-category") {
      if (/^[0-9]$/.test(ev.key)) { ev.preventDefault(); setCategory(Number(ev.key)); return; }
      if (ev.key === "Enter") { ev.preventDefault(); $("incident-form").requestSubmit(); return; }
    }
    if (typing(el) || (el && el.tagName === "SELECT")) return;
    if (document.querySelector("dialog[open]") && ev.key !== "?") return;
    const inc = selected();
    const k = ev.key;
    let done = true;
    if (k === "?") cheatSheet();
    else if (k === "n" || k === "N" || k === "/") {
      D.showTab("open");
      const box = $("desa-search");
      if (box) { box.value = ""; box.focus(); box.scrollIntoView({ block: "nearest" }); } else done = false;
    } else if (/^[0-9]$/.test(k) && st.draftOpen) done = setCategory(Number(k));
    else if ((k === "p" || k === "P") && inc && D.changeable(inc)) {
      const order = ["P1", "P2", "P3"];
      D.setPriority(inc, order[(order.indexOf(inc.priority || "P2") + 1) % 3]);
    } else if ((k === "a" || k === "A") && inc && D.changeable(inc)) D.claim(inc, $("claim-call"));
    else if ((k === "d" || k === "D") && inc) {
      const btn = document.querySelector("#recs li.rec.top button.dispatch:not(:disabled)");
      if (btn) btn.click(); else done = false;
    } else if ((k === "c" || k === "C") && $("note-text")) { $("note-text").focus(); }
    else if (k === "j" || k === "J") nextCall(1);
    else if (k === "k" || k === "K") nextCall(-1);
    else if (k === "h" || k === "H") D.showTab("history");
    else if (k === "Escape" && st.draftOpen) D.clearDraft();
    else done = false;
    if (done) ev.preventDefault();
  }

  function initKeys() {
    document.addEventListener("keydown", onKey);
    const help = $("keys-help");
    if (help) help.addEventListener("click", cheatSheet);
  }

  Object.assign(D, { initKeys, cheatSheet, focusCard });
})();
