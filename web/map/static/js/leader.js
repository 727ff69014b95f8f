// Leader view (read-only): the figures of /api/stats/summary as tiles and small SVG charts, plus a live map.
(function () {
  "use strict";
  const S = window.SIGAP;
  const T = (k, f) => window.I18N.t(k, f);
  const esc = S.esc;
  const $ = (id) => document.getElementById(id);
  const REFRESH_MS = 30000;
  let last = null, pending = null, live = null;

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

  // Daily median call -> on scene over 30 days as a small line chart.
  function sparkline(daily) {
    const pts = daily.filter((d) => d.median_s !== null);
    if (pts.length < 2) return "";
    const w = 320, h = 70, max = Math.max(...pts.map((d) => d.p90_s || d.median_s));
    const x = (i) => 10 + (i / (pts.length - 1)) * (w - 20);
    const y = (v) => h - 12 - (v / max) * (h - 24);
    const line = (key) => pts.map((d, i) => `${x(i).toFixed(1)},${y(d[key] || 0).toFixed(1)}`).join(" ");
    return `<svg viewBox="0 0 ${w} ${h}" role="img"><polyline points="${line("p90_s")}" fill="none" stroke="#ef9a9a" stroke-width="1.5"/>` +
      `<polyline points="${line("median_s")}" fill="none" stroke="#b71c1c" stroke-width="2"/>` +
      `<text x="10" y="${h - 1}">${esc(pts[0].date)}</text><text x="${w - 10}" y="${h - 1}" text-anchor="end">${esc(pts[pts.length - 1].date)}</text></svg>`;
  }

  function render(s) {
    const resp = s.response.call_to_scene;
    $("t-open").textContent = s.open_total;
    $("t-today").textContent = s.calls_today;
    $("t-median").textContent = window.I18N.duration(resp.today.median_s);
    $("t-p90").textContent = window.I18N.duration(resp.last_30d.p90_s);
    $("t-hotspots").textContent = s.hotspots_24h;
    $("t-flooded").textContent = s.flooded_desa_count;
    $("c-status").innerHTML = bars(s.open_by_status.map((r) => [window.I18N.lang === "en" ? r.label_en : r.label_id, r.count, S.STATUS_COLOUR[r.status]]));
    $("c-kecamatan").innerHTML = bars(s.open_by_kecamatan.map((r) => [r.name, r.count, "#5d4037"]));
    const d = s.response.call_to_dispatch;
    $("c-response").innerHTML = bars([
      [T("tile.median").replace(/ .*/, "") + " · 24h", resp.today.median_s, "#b71c1c"],
      ["P90 · 24h", resp.today.p90_s, "#ef9a9a"],
      [T("tile.median").replace(/ .*/, "") + " · 30d", resp.last_30d.median_s, "#b71c1c"],
      ["P90 · 30d", resp.last_30d.p90_s, "#ef9a9a"],
      ["→ " + T("inc.dispatched") + " · 30d", d.last_30d.median_s, "#1565c0"],
    ], { fmt: window.I18N.duration, labelW: 130 }) + sparkline(s.response.daily);
    $("flooded-list").innerHTML = s.flooded_desa.length
      ? s.flooded_desa.slice(0, 20).map((r) => `<li><span class="sq" style="background:#42a5f5;opacity:${0.3 + 0.7 * r.share}"></span><span>${esc(r.name)} <small class="muted">${esc(r.kecamatan || "")} · ${Math.round(r.share * 100)}%</small></span></li>`).join("")
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

  async function initMap() {
    const map = S.makeMap("map");
    live = S.liveLayers(map, {});
    const std = await S.standardLayers(map, { network: false, legendOpen: false });
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
  }

  document.addEventListener("DOMContentLoaded", () => {
    refresh();
    setInterval(refresh, REFRESH_MS);
    document.addEventListener("sigap:lang", () => last && render(last));
    S.on("incident.created", (d) => { soon(); if (live) live.refreshIncident(d.id); });
    S.on("incident.updated", (d) => { soon(); if (live) live.refreshIncident(d.id); });
    S.on("unit.updated", (d) => live && live.upsertUnit(d));
    S.on("hotspots.ingested", soon);
    S.on("flood.updated", soon);
    S.connect();
    initMap().catch((e) => console.error(e));
  });
})();
