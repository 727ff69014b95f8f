// Dispatcher map, safer drafting (issue 16): a located draft is not moved by a stray map click (it asks
// "Pindahkan lokasi?"); before "Buat kejadian" the open calls of any category nearby are shown as a bold
// banner (gabungkan / tetap buat baru); an AML SMS is previewed by the server exactly as the call will be
// recorded, with the age of its fix.
(function () {
  "use strict";
  const S = window.SIGAP;
  const D = S.dispatcher;
  const st = D.state;
  const { $, T, esc, km, callName } = D;

  // ---- moving a located draft --------------------------------------------------------------------
  function askMove(latlng) {
    st.pendingMove = latlng;
    if (st.moveMarker) st.map.removeLayer(st.moveMarker);
    st.moveMarker = L.circleMarker(latlng, { radius: 7, color: "#455a64", weight: 2, dashArray: "2 3", fillOpacity: 0.1, interactive: false }).addTo(st.map);
    const box = $("move-ask");
    box.hidden = false;
    box.innerHTML = `<b>${esc(T("move.ask"))}</b> <small>${esc(T("move.hint"))}</small><div class="row buttons">` +
      `<button type="button" id="move-yes" class="primary">${esc(T("move.yes"))}</button>` +
      `<button type="button" id="move-no">${esc(T("move.no"))}</button></div>`;
    $("move-yes").addEventListener("click", () => { const at = st.pendingMove; closeMove(); D.startDraft(at); });
    $("move-no").addEventListener("click", closeMove);
    $("move-no").focus();
  }
  function closeMove() {
    st.pendingMove = null;
    if (st.moveMarker) { st.map.removeLayer(st.moveMarker); st.moveMarker = null; }
    const box = $("move-ask");
    if (box) { box.hidden = true; box.innerHTML = ""; }
  }
  // A map click while a draft already has its location: ask, never move silently.
  function draftClick(latlng) {
    if (st.pickFor === null && st.draftOpen && st.draftAt) { askMove(latlng); return true; }
    return false;
  }

  // ---- open calls near the draft -----------------------------------------------------------------
  async function checkNearby(latlng) {
    const box = $("dup-banner");
    st.dupPending = false;
    box.hidden = true;
    box.innerHTML = "";
    delete box.dataset.checked;
    let data;
    try { data = await S.api(`/api/incidents/nearby?lon=${latlng.lng.toFixed(6)}&lat=${latlng.lat.toFixed(6)}`); }
    catch (e) { box.dataset.checked = "1"; return; }  // the banner is a help, never a condition for recording
    if (!st.draftAt || st.draftAt.lat !== latlng.lat || st.draftAt.lng !== latlng.lng) return;
    box.dataset.checked = "1";  // answered (tests and the UI bench wait for it)
    if (!data.items.length) return;
    st.dupPending = true;
    box.hidden = false;
    box.innerHTML = `<div class="dup-title"><i class="fa-solid fa-triangle-exclamation"></i> ` +
      `${esc(T("dup.title").replace("{km}", km(data.radius_m)).replace("{min}", data.minutes))}</div><ul>` +
      data.items.map((i) => `<li data-id="${i.id}">${D.priorityChip(i)} <b>${esc(i.number)}</b> · ${esc(S.label(S.CATS[i.category]))}` +
        ` · ${esc(km(i.distance_m))} · ${esc(Math.round(i.minutes_ago))} ${esc(T("inc.minutes"))}` +
        ` <button type="button" class="dup-join" data-id="${i.id}" data-number="${esc(i.number)}">${esc(T("dup.join"))}</button></li>`).join("") +
      `</ul><button type="button" id="dup-new" class="dup-new">${esc(T("dup.new"))}</button>`;
    box.querySelectorAll("button.dup-join").forEach((b) => b.addEventListener("click", () => joinCall(Number(b.dataset.id), b.dataset.number, b)));
    $("dup-new").addEventListener("click", () => { st.dupPending = false; box.hidden = true; $("create-incident").focus(); });
  }
  // "Gabungkan": no new incident; this caller's details go into the open call's log, and that call opens.
  async function joinCall(id, number, btn) {
    btn.disabled = true;
    const parts = [$("f-caller").value, $("f-phone").value].filter((x) => x && x.trim()).join(" · ");
    const text = `${T("dup.note")}${parts ? " (" + parts + ")" : ""}: ${$("f-description").value || "–"}`;
    try {
      const updated = await S.api(`/api/incidents/${id}/notes`, { method: "POST", json: { text } });
      st.live.upsertIncident(updated);
      D.clearDraft();
      S.toast(T("dup.joined").replace("{n}", number), "ok");
      D.select(id);
    } catch (e) {
      btn.disabled = false;
      S.toast(e.message, "error");
    }
  }
  // Called before creating: a shown banner must be answered first.
  function dupUnanswered() {
    if (!st.dupPending) return false;
    $("form-error").textContent = T("dup.answer");
    $("form-error").hidden = false;
    const first = document.querySelector("#dup-banner button");
    if (first) first.focus();
    return true;
  }

  // ---- AML preview -------------------------------------------------------------------------------
  function amlAgeHtml(aml) {
    if (!aml || aml.age_s === undefined || aml.age_s === null) return "";
    const age = Math.max(0, aml.age_s);
    // Days for a fix days old (a replayed or stored message): "60759.3 jam" tells no one anything.
    const when = age >= 2 * 86400 ? T("aml.days").replace("{n}", Math.floor(age / 86400)) : window.I18N.duration(age);
    return aml.stale
      ? ` <span class="badge warn aml-age stale"><i class="fa-solid fa-clock"></i> ${esc(T("aml.stale").replace("{t}", when))}</span>`
      : ` <span class="badge ok aml-age">${esc(T("aml.age").replace("{t}", when))}</span>`;
  }
  async function previewAml(text) {
    const err = $("aml-error");
    err.hidden = true;
    let p;
    try { p = await S.api("/api/aml/preview", { method: "POST", json: { aml: text } }); }
    catch (e) {
      // The call would be refused the same way: say so here, before anything is drafted.
      err.textContent = e.message;
      err.hidden = false;
      return;
    }
    const at = p.lat !== null && p.lat !== undefined ? L.latLng(p.lat, p.lon) : null;
    if (at) st.map.setView(at, Math.max(st.map.getZoom(), 14));
    st.draftAml = text;  // the draft that starts now keeps this preview
    st.draftAmlPreview = p;
    D.startDraft(at, null, text);
  }

  Object.assign(D, { draftClick, closeMove, checkNearby, dupUnanswered, amlAgeHtml, previewAml });
})();
