// Dispatcher map, the open calls: newest first, a call without a point flagged (it is not on the map).
(function () {
  "use strict";
  const S = window.SIGAP;
  const D = S.dispatcher;
  const st = D.state;
  const { $, T, esc, callName } = D;

  function renderList() {
    const ul = $("incident-list");
    const open = [...st.live.incidents.values()].map((e) => e.data).filter((i) => S.OPEN.has(i.status))
      .sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)));
    $("open-count").textContent = open.length;
    if (!open.length) { ul.innerHTML = `<li class="muted">${esc(T("list.empty"))}</li>`; return; }
    ul.innerHTML = open.slice(0, 100).map((i) => {
      const c = S.CATS[i.category] || {};
      // A call without a point is not on the map: the list is where it must not be missed.
      const cls = [i.id === st.selectedId ? "sel" : "", i.status === "perlu_lokasi" ? "needs-location" : ""].join(" ").trim();
      return `<li data-id="${i.id}" class="${cls}"><span class="cat-chip" style="background:${c.colour || "#555"}"><i class="fa-solid fa-${c.icon || "circle"}"></i></span>` +
        `<span><b>${esc(callName(i))}</b> · ${esc(S.label(c))}<br><small>${esc(i.desa_name || "–")} · ${esc(window.I18N.wib(i.created_at))}</small></span>` +
        `<span class="status-chip" style="border-color:${S.STATUS_COLOUR[i.status]}">${esc(S.label(S.STATES[i.status]))}</span></li>`;
    }).join("");
    ul.querySelectorAll("li[data-id]").forEach((li) => li.addEventListener("click", () => D.select(Number(li.dataset.id) || li.dataset.id)));
  }

  Object.assign(D, { renderList });
})();
