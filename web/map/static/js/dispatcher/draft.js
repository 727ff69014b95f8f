// Dispatcher map, a new call: the draft from a map click, a place name, a pasted AML SMS or no location at all.
(function () {
  "use strict";
  const S = window.SIGAP;
  const D = S.dispatcher;
  const st = D.state;
  const { $, T, esc, km, canWrite } = D;

  function fillCategories() {
    const sel = $("f-category");
    if (!sel) return;
    const keep = sel.value;
    // Numbered: in the list a digit picks the category (keys.js), 0 for the tenth.
    sel.innerHTML = S.CONFIG.categories.map((c, i) => `<option value="${c.code}">${i < 10 ? (i + 1) % 10 + " · " : ""}${esc(S.label(c))}</option>`).join("");
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
    // The server's preview (drafting.js) when there is one: the same parse the call will get.
    const p = st.draftAmlPreview;
    const radius = p ? p.accuracy_m : amlFix(text).radius;
    return `<div class="badge ok">${esc(T("aml.from"))}${radius ? " (±" + esc(km(radius)) + ")" : ""}</div>` +
      D.amlAgeHtml(p && p.location && p.location.aml);
  }
  function useAml() {
    const text = $("aml-text").value.trim();
    if (!text) return;
    D.previewAml(text);
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
    if (st.pickFor !== null) D.setLocation(st.pickFor, latlng);
    else if (!D.draftClick(latlng)) startDraft(latlng);
  }

  async function startDraft(latlng, place, aml) {
    if (!canWrite) return;
    const map = st.map;
    st.draftAt = latlng;
    st.draftPlace = place || null;
    if (st.draftAml !== (aml || null)) st.draftAmlPreview = null;
    st.draftAml = aml || null;
    st.draftOpen = true;
    D.closeMove();
    const form = $("incident-form");
    form.hidden = false;
    $("form-error").hidden = true;
    if ($("form-candidates")) $("form-candidates").innerHTML = "";
    if (!latlng) {
      // The caller cannot say where yet: the call is recorded all the same and waits as perlu_lokasi.
      if (st.draftMarker) { map.removeLayer(st.draftMarker); st.draftMarker = null; }
      $("locate-answer").innerHTML = `<div class="badge warn">${esc(T(st.draftAml ? "aml.no_fix" : "form.no_location"))}</div>` +
        (st.draftAml ? D.amlAgeHtml(((st.draftAmlPreview || {}).location || {}).aml) : "");
      $("dup-banner").hidden = true;
      st.dupPending = false;
      $("locate-answer").dataset.ready = "1";
      $("f-category").focus();
      return;
    }
    if (st.draftMarker) map.removeLayer(st.draftMarker);
    // A place name is an area, not a pin: the draft shows how far the caller may be.
    st.draftMarker = st.draftPlace && st.draftPlace.radius_m
      ? L.circle(latlng, { radius: st.draftPlace.radius_m, color: "#d50000", weight: 2, fillOpacity: 0.08, dashArray: "6 4" }).addTo(map)
      : L.circleMarker(latlng, { radius: 9, color: "#d50000", weight: 3, fillOpacity: 0.2, dashArray: "3 3" }).addTo(map);
    $("locate-answer").innerHTML = `<span class="muted">…</span>`;
    try {
      const a = await S.api(`/api/locate?lon=${latlng.lng.toFixed(6)}&lat=${latlng.lat.toFixed(6)}`);
      // A kecamatan name places the call in the kecamatan, not in the desa its centre happens to fall in.
      if (st.draftPlace && !["desa", "kelurahan"].includes(st.draftPlace.kind)) a.desa = null;
      $("locate-answer").innerHTML = placeHtml(st.draftPlace) + amlHtml(st.draftAml) + locateHtml(a);
      $("locate-answer").dataset.ready = "1";
      D.checkNearby(latlng);
      // Keyboard: the next thing to give is the category (a digit), then Enter.
      if (!document.activeElement || !["TEXTAREA", "INPUT"].includes(document.activeElement.tagName) || document.activeElement.id === "desa-search") $("f-category").focus();
    } catch (e) {
      $("locate-answer").innerHTML = `<span class="error">${esc(e.message)}</span>`;
    }
  }
  function clearDraft() {
    if (st.draftMarker) { st.map.removeLayer(st.draftMarker); st.draftMarker = null; }
    st.draftAt = null;
    st.draftPlace = null;
    st.draftAml = null;
    st.draftAmlPreview = null;
    st.draftOpen = false;
    st.dupPending = false;
    D.closeMove();
    if ($("dup-banner")) { $("dup-banner").hidden = true; $("dup-banner").innerHTML = ""; }
    const form = $("incident-form");
    if (form) { form.hidden = true; form.reset(); delete $("locate-answer").dataset.ready; $("form-candidates").innerHTML = ""; }
  }

  async function createIncident(ev) {
    ev.preventDefault();
    if (!st.draftOpen || D.dupUnanswered()) return;
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
          location: st.draftAml ? { aml: st.draftAml } : st.draftPlace ? { place: st.draftPlace.code }
            : st.draftAt ? { lon: Number(st.draftAt.lng.toFixed(6)), lat: Number(st.draftAt.lat.toFixed(6)) } : null,
          // The desk call this incident comes from (a PBX pop): it becomes the incident's call. Without it the
          // server records the incident's call itself.
          call_id: st.draftCallId || null,
        },
      });
      st.live.upsertIncident(inc);
      // The operator who records a call has taken it: the others see "ditangani: <operator>" live.
      S.api(`/api/incidents/${inc.id}/claim`, { method: "POST", json: {} }).then((c) => st.live.upsertIncident(c)).catch(() => {});
      clearDraft();
      if ($("aml-text")) { $("aml-text").value = ""; $("aml-box").hidden = true; }
      S.toast(`${T("created")}: ${inc.number}`, "ok");
      D.select(inc.id).then(D.focusCard);
    } catch (e) {
      $("form-error").textContent = e.message;
      $("form-error").hidden = false;
      // A place name the server does not know (404: suggestions) or cannot tell apart (422: candidates): the
      // places it offers, one click each to draft the call there; the typed details stay in the form.
      const body = e.body || {};
      const offered = body.field === "location.place" ? body.suggestions || body.candidates || [] : [];
      candidatesHtml($("form-candidates"), offered, choosePlace);
    } finally {
      btn.disabled = false;
    }
  }

  // Candidate places as buttons in `box`; a click hands the place to `pick`.
  function candidatesHtml(box, places, pick) {
    if (!box) return;
    box.innerHTML = places.map((c, i) => `<button type="button" class="cand" data-i="${i}">${esc(c.name)}` +
      `${c.parent ? ` <small>(${esc(c.parent)})</small>` : ""}</button>`).join("");
    box.querySelectorAll("button.cand").forEach((b) => b.addEventListener("click", () => pick(places[Number(b.dataset.i)])));
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
      const box = $("place-candidates");
      // A call number or a phone number (no letters): the calls it names (GET /api/search), not a place.
      if (!/\p{L}/u.test(q) && !/^\d{2}(\.\d{2}){1,2}(\.\d{4})?$/.test(byLabel.get(q) || q)) {
        box.innerHTML = "";
        if (!(await D.searchAll(q, box))) box.innerHTML = `<div class="muted small">${esc(T("search.nothing"))}</div>`;
        return;
      }
      let res;
      try { res = await S.api(`/api/places?q=${encodeURIComponent(byLabel.get(q) || q)}`); }
      catch (e) { if (!(await D.searchAll(q, box))) S.toast(e.message, "error"); return; }
      box.innerHTML = "";
      if (res.place) { input.value = ""; choosePlace(res.place); return; }
      // Not a place: perhaps a unit's callsign or a call.
      if (res.status === "not_found" && (await D.searchAll(q, box))) return;
      // Ambiguous or not found: the candidates, one click each.
      box.innerHTML = `<div class="muted small">${esc(T(res.status === "ambiguous" ? "place.ambiguous" : "place.not_found"))}</div>` +
        `<div class="cands"></div>`;
      candidatesHtml(box.querySelector(".cands"), res.candidates, (c) => go(c.code));
    };
    input.addEventListener("change", () => go());
    input.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { ev.preventDefault(); go(); } });
  }

  function choosePlace(place) {
    const map = st.map;
    const at = L.latLng(place.lat, place.lon);
    if (place.radius_m) map.fitBounds(at.toBounds(place.radius_m * 2.4), { maxZoom: 14, animate: false });
    else map.setView(at, Math.max(map.getZoom(), 12));
    if (st.pickFor !== null) D.setLocation(st.pickFor, at, place);
    else startDraft(at, place);
  }

  Object.assign(D, { fillCategories, useAml, onPoint, startDraft, clearDraft, createIncident, desaSearch });
})();
