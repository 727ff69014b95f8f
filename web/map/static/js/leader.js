// Leader view (read-only figures): /api/stats/summary in plain words ("9 dari 10 panggilan dikirim dalam 2 menit"),
// small SVG charts, a large live map with incidents clustered, and the situation reports (list, download, make).
(function () {
  "use strict";
  const S = window.SIGAP;
  const T = (k, f) => window.I18N.t(k, f);
  const esc = S.esc;
  const $ = (id) => document.getElementById(id);
  const REFRESH_MS = 30000;
  const REPORT_POLL_MS = 3000;
  let last = null, pending = null, live = null, reports = null, reportTimer = null;
  const fill = (text, vals) => text.replace(/\{(\w+)\}/g, (m, k) => (k in vals ? vals[k] : m));

  // A span as people say it, minutes rounded up: "45 detik", "2 menit", "1 jam 5 menit".
  function spanWords(seconds) {
    if (seconds === null || seconds === undefined || !isFinite(seconds)) return "–";
    if (seconds < 60) return `${Math.max(1, Math.ceil(seconds))} ${T("w.seconds")}`;
    const m = Math.ceil(seconds / 60);
    if (m < 90) return `${m} ${T("w.minutes")}`;
    const h = Math.floor(m / 60), r = m % 60;
    return `${h} ${T("w.hours")}` + (r ? ` ${r} ${T("w.minutes")}` : "");
  }

  // The sentences of one interval (dispatch | scene) over 30 days: "9 of 10" only from 10 measured calls on.
  function sentences(which, p, target) {
    if (!p || !p.n) return [T(`resp.${which}.none`)];
    const out = [];
    if (p.n >= 10 && p.p90_s !== null) out.push(fill(T(`resp.${which}.p90`), { t: spanWords(p.p90_s) }));
    else if (p.n >= 2 && p.median_s !== null) out.push(fill(T(`resp.${which}.half`), { t: spanWords(p.median_s) }));
    const k = p.within_target || 0;
    out.push(fill(T(`resp.${which}.target`), { t: spanWords(target), k, n: p.n, pct: Math.round((100 * k) / p.n) }));
    return out;
  }

  // A horizontal bar chart as inline SVG: rows of [label, value, colour].
  function bars(rows, opts) {
    opts = opts || {};
    if (!rows.length) return `<p class="muted">${esc(T("none"))}</p>`;
    const w = 320, rowH = 22, labelW = opts.labelW || 120, h = rows.length * rowH + 4;
    const max = Math.max(1, ...rows.map((r) => r[1] || 0));
    const fmt = opts.fmt || ((v) => String(v));
    return `<svg viewBox="0 0 ${w} ${h}" role="img">` + rows.map(([lab, v, colour], i) => {
      const y = i * rowH + 2, bw = ((v || 0) / max) * (w - labelW - 50);
      return `<text x="${labelW - 6}" y="${y + 14}" text-anchor="end">${esc(lab)}</text>` +
        `<rect x="${labelW}" y="${y + 3}" width="${Math.max(bw, v ? 2 : 0)}" height="${rowH - 8}" rx="2" fill="${colour || "#546e7a"}"></rect>` +
        `<text x="${labelW + bw + 4}" y="${y + 14}">${esc(v === null || v === undefined ? "–" : fmt(v))}</text>`;
    }).join("") + "</svg>";
  }

  function render(s) {
    const r = s.response, targets = r.targets;
    const d30 = r.call_to_dispatch.last_30d, s30 = r.call_to_scene.last_30d;
    $("t-open").textContent = s.open_total;
    $("t-today").textContent = s.calls_today;
    // Tiles: "9 dari 10 panggilan dikirim dalam" 2 menit (30 days); under it, how often the target was met.
    const tile = (id, p, target, which) => {
      const nine = p.n >= 10 && p.p90_s !== null;
      $(`t-${id}`).textContent = spanWords(nine ? p.p90_s : p.median_s);
      $(`t-${id}-k`).textContent = T(nine ? `tile.${which}` : `tile.${which}.half`);
      $(`t-${id}-s`).textContent = p.n ? fill(T("tile.target"), { t: spanWords(target), pct: Math.round((100 * (p.within_target || 0)) / p.n) }) : T("tile.no_calls");
    };
    tile("dispatch", d30, targets.dispatch_s, "dispatch");
    tile("scene", s30, targets.scene_s, "scene");
    $("t-hotspots").textContent = s.hotspots_24h;
    $("t-flooded").textContent = s.flooded_desa_count;
    const rule = fill(T("flooded.rule"), { pct: Math.round(s.flooded_share * 1000) / 10 });
    $("t-flooded-s").textContent = rule;
    $("flooded-rule").textContent = rule;
    $("response-words").innerHTML = [
      `<li class="h">${esc(T("resp.today"))}</li>`,
      ...sentences("dispatch", r.call_to_dispatch.today, targets.dispatch_s).map((x) => `<li>${esc(x)}</li>`),
      ...sentences("scene", r.call_to_scene.today, targets.scene_s).map((x) => `<li>${esc(x)}</li>`),
      `<li class="h">${esc(T("resp.30d"))}</li>`,
      ...sentences("dispatch", d30, targets.dispatch_s).map((x) => `<li>${esc(x)}</li>`),
      ...sentences("scene", s30, targets.scene_s).map((x) => `<li>${esc(x)}</li>`),
    ].join("");
    $("c-status").innerHTML = bars(s.open_by_status.map((row) => [window.I18N.lang === "en" ? row.label_en : row.label_id, row.count, S.STATUS_COLOUR[row.status]]));
    $("c-kecamatan").innerHTML = bars(s.open_by_kecamatan.map((row) => [row.name, row.count, "#5d4037"]));
    // Half of the calls (median) per day over 30 days, call -> on scene, as bars of the last 10 days.
    $("c-response").innerHTML = bars(r.daily.slice(-10).map((day) => [day.date.slice(5), day.median_s, "#b71c1c"]),
      { fmt: spanWords, labelW: 60 }) + `<p class="muted small">${esc(T("chart.daily_half"))}</p>`;
    $("flooded-list").innerHTML = s.flooded_desa.length
      ? s.flooded_desa.slice(0, 20).map((row) => `<li><span class="sq" style="background:#42a5f5;opacity:${0.3 + 0.7 * row.share}"></span><span>${esc(row.name)} <small class="muted">${esc(row.kecamatan || "")} · ${Math.round(row.share * 100)}%</small></span></li>`).join("")
      : `<li class="muted">${esc(T("none"))}</li>`;
    $("updated-at").textContent = window.I18N.wib(s.generated_at);
  }

  async function refresh() {
    try {
      last = await S.api("/api/stats/summary");
      render(last);
      document.body.dataset.ready = "1";
      document.body.dataset.openTotal = last.open_total;
    } catch (e) { S.toast(e.message, "error"); }
  }
  // A burst of events becomes one refresh.
  function soon() { if (!pending) pending = setTimeout(() => { pending = null; refresh(); }, 500); }

  // ---- reports -----------------------------------------------------------------------------
  const kb = (n) => (n >= 1048576 ? (n / 1048576).toFixed(1) + " MB" : Math.max(1, Math.round(n / 1024)) + " kB");
  function renderReports() {
    if (!reports) return;
    $("report-time").textContent = reports.report_time === "off" ? T("reports.time_off") : fill(T("reports.time"), { t: reports.report_time });
    $("report-list").innerHTML = reports.reports.length ? reports.reports.map((r) => {
      const kind = T("reports.kind." + r.kind);
      const files = r.files.map((f) => `<a class="dl" href="${esc(f.url)}" download="${esc(f.name)}" data-kind="${esc(f.kind)}"><i class="fa-solid ${f.kind === "pdf" ? "fa-file-pdf" : "fa-map"}"></i> ${esc(T("reports.file." + f.kind))} <small>${kb(f.size)}</small></a>`).join(" ");
      const state = r.status === "ready" ? "" : `<span class="rstatus ${esc(r.status)}">${esc(T("reports.status." + r.status))}</span>`;
      const why = r.status === "failed" && r.error ? `<br><small class="error">${esc(r.error.slice(0, 160))}</small>` : "";
      return `<li data-report="${r.id}" data-status="${esc(r.status)}"><span><b>${esc(kind)}</b> ${r.lang === "en" ? "(EN) " : ""}${state}<br><small class="muted">${esc(r.period_wib)}</small>${why}<br>${files}</span></li>`;
    }).join("") : `<li class="muted">${esc(T("reports.none"))}</li>`;
  }
  async function loadReports() {
    try { reports = await S.api("/api/reports?limit=15"); renderReports(); } catch (e) { S.toast(e.message, "error"); return; }
    // While one is being made, look again shortly; otherwise the list changes only when asked.
    clearTimeout(reportTimer);
    if (reports.reports.some((r) => r.status === "pending" || r.status === "running")) reportTimer = setTimeout(loadReports, REPORT_POLL_MS);
  }
  async function makeReport(kind) {
    const body = { kind, lang: $("report-en").checked ? "en" : "id" };
    if (kind === "range") { body.from = $("report-from").value || null; body.to = $("report-to").value || null; }
    try {
      await S.api("/api/reports", { method: "POST", json: body });
      S.toast(T("reports.asked"), "ok");
      loadReports();
    } catch (e) { S.toast(e.message, "error"); }
  }

  // ---- map ---------------------------------------------------------------------------------
  async function initMap() {
    const map = S.makeMap("map");
    live = S.liveLayers(map, { cluster: true });
    const std = await S.standardLayers(map, { network: false, legendOpen: true });
    map.addLayer(live.incLayer);
    map.addLayer(live.unitLayer);
    std.panel.add("units", { layer: live.unitLayer, swatch: "background:#2e7d32;border-radius:50%" });
    std.panel.add("incidents", { layer: live.incLayer, swatch: "background:#e53935;border-radius:50%" });
    S.layerData("/api/floods?status=active").then((g) => {
      if (g && g.features) { const fl = S.floodLayer(g); map.addLayer(fl); std.panel.add("floods", { layer: fl, swatch: "background:#42a5f5" }); }
    }).catch(() => {});
    S.layerData("/api/hotspots?window=24h").then((g) => {
      if (g && g.features) { const hl = S.hotspotLayer(g); map.addLayer(hl); std.panel.add("hotspots", { layer: hl, swatch: "background:#f4511e;border-radius:50%" }); }
    }).catch(() => {});
    await Promise.all([live.loadIncidents(), live.loadUnits()]);
    document.body.dataset.mapReady = "1";
  }

  document.addEventListener("DOMContentLoaded", () => {
    refresh();
    setInterval(refresh, REFRESH_MS);
    if (S.CONFIG.can_report) {
      $("report-make").hidden = false;
      document.querySelectorAll("#report-make button[data-kind]").forEach((b) => b.addEventListener("click", () => makeReport(b.dataset.kind)));
    }
    loadReports();
    document.addEventListener("sigap:lang", () => { if (last) render(last); renderReports(); });
    S.on("incident.created", (d) => { soon(); if (live) live.refreshIncident(d.id); });
    S.on("incident.updated", (d) => { soon(); if (live) live.refreshIncident(d.id); });
    S.on("unit.updated", (d) => live && live.upsertUnit(d));
    S.on("hotspots.ingested", soon);
    S.on("flood.updated", soon);
    S.on("report.updated", () => loadReports());  // a report asked for here or made at the report time
    S.connect();
    initMap().catch((e) => console.error(e));
  });
})();
