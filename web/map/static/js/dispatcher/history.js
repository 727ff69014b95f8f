// Dispatcher map, history (Riwayat) and the search box's calls and units (issue 16): calls of any state,
// filtered (number, phone, desa/kecamatan, category, priority, disposition, operator, dates, words in the
// description or the call log), a page at a time; a row opens the same card, read-only once the call ended.
(function () {
  "use strict";
  const S = window.SIGAP;
  const D = S.dispatcher;
  const st = D.state;
  const { $, T, esc, callName } = D;
  const PAGE = 20;
  let offset = 0;
  let total = 0;

  function showTab(which) {
    const history = which === "history";
    $("open-view").hidden = history;
    $("history-view").hidden = !history;
    $("tab-open").classList.toggle("on", !history);
    $("tab-history").classList.toggle("on", history);
    $("tab-open").setAttribute("aria-selected", String(!history));
    $("tab-history").setAttribute("aria-selected", String(history));
    if (history) $("h-number").focus();
  }

  function fillFilters(desaFeatures) {
    const opts = (list) => list.map((x) => `<option value="${esc(x.code)}">${esc(S.label(x))}</option>`).join("");
    const any = `<option value="">${esc(T("hist.any"))}</option>`;
    $("h-category").innerHTML = any + opts(S.CONFIG.categories || []);
    $("h-disposition").innerHTML = any + opts(S.CONFIG.dispositions || []);
    const kec = [...new Set(desaFeatures.map((f) => f.properties.kecamatan))].sort();
    $("h-kecamatan").innerHTML = any + kec.map((k) => `<option value="${esc(k)}">${esc(k)}</option>`).join("");
    $("desa-names").innerHTML = [...new Set(desaFeatures.map((f) => f.properties.nama))].sort()
      .map((n) => `<option value="${esc(n)}">`).join("");
  }

  // WIB calendar days as UTC instants: from the start of `since` to the end of `until`.
  function dayStart(d) { return d ? `${d}T00:00:00+07:00` : null; }
  function dayAfter(d) {
    if (!d) return null;
    const next = new Date(Date.parse(`${d}T00:00:00+07:00`) + 86400000);
    return next.toISOString();
  }

  function params() {
    const p = new URLSearchParams();
    const put = (k, v) => { if (v !== null && v !== undefined && String(v).trim() !== "") p.set(k, String(v).trim()); };
    put("number", $("h-number").value);
    put("phone", $("h-phone").value);
    put("q", $("h-q").value);
    put("kecamatan", $("h-kecamatan").value);
    put("desa", $("h-desa").value);
    put("category", $("h-category").value);
    put("priority", $("h-priority").value);
    put("disposition", $("h-disposition").value);
    put("operator", $("h-operator").value);
    put("since", dayStart($("h-since").value));
    put("until", dayAfter($("h-until").value));
    p.set("limit", PAGE);
    p.set("offset", offset);
    return p;
  }

  function rowHtml(i) {
    const c = S.CATS[i.category] || {};
    const disp = i.disposition ? ` · ${esc(window.I18N.lang === "en" ? i.disposition_label_en : i.disposition_label_id)}` : "";
    return `<li data-id="${i.id}" tabindex="0" role="button">${D.priorityChip(i)}` +
      `<span class="cat-chip" style="background:${c.colour || "#555"}"><i class="fa-solid fa-${c.icon || "circle"}"></i></span>` +
      `<span><b>${esc(callName(i))}</b> · ${esc(S.label(c))}<br><small>${esc(i.desa_name || i.kecamatan_name || "–")} · ` +
      `${esc(window.I18N.wib(i.created_at))}${disp}${i.caller_phone ? " · " + esc(i.caller_phone) : ""}</small></span>` +
      `<span class="status-chip" style="border-color:${S.STATUS_COLOUR[i.status]}">${esc(S.label(S.STATES[i.status]))}</span></li>`;
  }

  function wireRows(ul, items) {
    ul.querySelectorAll("li[data-id]").forEach((li) => {
      const id = Number(li.dataset.id);
      const open = () => { const hit = items.find((x) => x.id === id); if (hit) st.live.upsertIncident(hit); D.select(id); };
      li.addEventListener("click", open);
      li.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); open(); } });
    });
  }

  async function search(ev) {
    if (ev) { ev.preventDefault(); offset = 0; }
    const ul = $("history-list");
    ul.innerHTML = `<li class="muted">…</li>`;
    let data;
    try { data = await S.api(`/api/incidents?${params()}`); }
    catch (e) { ul.innerHTML = `<li class="error">${esc(e.message)}</li>`; return; }
    total = data.total;
    $("history-count").textContent = T("hist.count").replace("{from}", total ? offset + 1 : 0)
      .replace("{to}", offset + data.returned).replace("{total}", data.total_capped ? total + "+" : total);
    ul.innerHTML = data.items.length ? data.items.map(rowHtml).join("") : `<li class="muted">${esc(T("hist.none"))}</li>`;
    wireRows(ul, data.items);
    $("h-prev").disabled = offset === 0;
    $("h-next").disabled = offset + data.returned >= total && !data.total_capped;
  }

  // The search box: a call number or a phone number (no letters) finds calls; a name that is not a place
  // finds units and calls too. Results go under the box, typed, each one click (or Enter) away.
  async function searchAll(q, box) {
    let res;
    try { res = await S.api(`/api/search?q=${encodeURIComponent(q)}`); }
    catch (e) { S.toast(e.message, "error"); return false; }
    const calls = res.calls || [], units = res.units || [];
    if (!calls.length && !units.length) return false;
    if (calls.length === 1 && !units.length && !/[a-z]/i.test(q)) { D.select(calls[0].id); box.innerHTML = ""; return true; }
    box.innerHTML = `<div class="muted small">${esc(T("search.found"))}</div><div class="cands">` +
      calls.map((c) => `<button type="button" class="cand hit-call" data-id="${c.id}"><i class="fa-solid fa-phone"></i> ${esc(c.number)}` +
        ` <small>${esc(S.label(S.STATES[c.status]))}${c.caller_phone ? " · " + esc(c.caller_phone) : ""}</small></button>`).join("") +
      units.map((u) => `<button type="button" class="cand hit-unit" data-id="${u.id}"><i class="fa-solid fa-truck"></i> ${esc(u.callsign)}` +
        ` <small>${esc(T("unit.status." + u.status, u.status))}</small></button>`).join("") + "</div>";
    box.querySelectorAll("button.hit-call").forEach((b) => b.addEventListener("click", () => { D.select(Number(b.dataset.id)); box.innerHTML = ""; }));
    box.querySelectorAll("button.hit-unit").forEach((b) => b.addEventListener("click", () => {
      const u = st.live.units.get(Number(b.dataset.id));
      if (u && u.marker) { st.map.setView(u.marker.getLatLng(), Math.max(st.map.getZoom(), 14)); u.marker.openPopup(); }
      box.innerHTML = "";
    }));
    const first = box.querySelector("button.cand");
    if (first) first.focus();
    return true;
  }

  function initHistory(desaFeatures) {
    if (!$("history-form")) return;
    fillFilters(desaFeatures);
    $("tab-open").addEventListener("click", () => showTab("open"));
    $("tab-history").addEventListener("click", () => { showTab("history"); if (!$("history-list").children.length) search(); });
    $("history-form").addEventListener("submit", search);
    $("history-form").addEventListener("reset", () => setTimeout(() => { offset = 0; search(); }));
    $("h-prev").addEventListener("click", () => { offset = Math.max(0, offset - PAGE); search(); });
    $("h-next").addEventListener("click", () => { if (offset + PAGE < total) { offset += PAGE; search(); } });
  }

  Object.assign(D, { initHistory, showTab, searchAll, historySearch: search });
})();
