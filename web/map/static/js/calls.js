// The calls report page (supervisors, leaders): /api/calls/report for a WIB month or range, as tables and bars,
// with the CSV and XLSX exports of the same period.
(function () {
  "use strict";
  const S = window.SIGAP;
  const esc = S.esc;
  const $ = (id) => document.getElementById(id);
  const en = () => window.I18N.lang === "en";
  const TYPES = ["darurat", "informasi", "iseng", "ghost", "salah_sambung", "panggilan_ulang", "uji", "tak_terjawab"];
  let last = null;

  function query() {
    const since = $("cr-since").value, until = $("cr-until").value, month = $("cr-month").value;
    if (since && until) return `since=${since}&until=${until}`;
    return month ? `month=${month}` : "";
  }

  // A table whose numeric column also draws a bar (widths set through the DOM, not inline style attributes).
  function barTable(el, rows, head) {
    const max = Math.max(1, ...rows.map((r) => r[r.length - 1]));
    el.innerHTML = `<table class="cr-table"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}<th></th></tr></thead><tbody>` +
      rows.map((r) => `<tr>${r.map((v) => `<td>${esc(String(v))}</td>`).join("")}<td class="bar"><span data-w="${(100 * r[r.length - 1]) / max}"></span></td></tr>`).join("") +
      "</tbody></table>";
    el.querySelectorAll("span[data-w]").forEach((s) => { s.style.width = s.dataset.w + "%"; });
  }

  function secs(v) { return v === null || v === undefined ? "–" : v < 120 ? `${Math.round(v)} s` : `${(v / 60).toFixed(1)} min`; }

  function render(r) {
    const t = (id, e) => (en() ? e : id);
    barTable($("cr-types"), r.by_type.map((x) => [en() ? x.label_en : x.label_id, `${(100 * x.share).toFixed(1)} %`, x.count]),
      [t("Jenis", "Type"), "%", t("Jumlah", "Count")]);
    const hours = $("cr-hours");
    const max = Math.max(1, ...r.by_hour);
    hours.innerHTML = r.by_hour.map((n, h) => `<div class="h" title="${String(h).padStart(2, "0")}:00 · ${n}"><span data-h="${(100 * n) / max}"></span><small>${h}</small></div>`).join("");
    hours.querySelectorAll("span[data-h]").forEach((s) => { s.style.height = s.dataset.h + "%"; });
    const iv = r.intervals;
    $("cr-intervals").innerHTML = `<table class="cr-table"><thead><tr><th></th><th>n</th><th>P50</th><th>P90</th><th>P95</th></tr></thead><tbody>` +
      [[t("Jawab → kirim unit", "Answer → dispatch"), iv.answer_to_dispatch], [t("Kirim → tiba", "Dispatch → arrival"), iv.dispatch_to_arrival]]
        .map(([name, v]) => `<tr><td>${esc(name)}</td><td>${v.count}</td><td>${secs(v.p50_s)}</td><td>${secs(v.p90_s)}</td><td>${secs(v.p95_s)}</td></tr>`).join("") + "</tbody></table>";
    barTable($("cr-categories"), r.emergency.by_category.map((c) => [c.name, c.count]), [t("Kategori", "Category"), t("Jumlah", "Count")]);
    barTable($("cr-agencies"), r.emergency.by_agency.map((a) => [a.name, a.count]), [t("Instansi", "Agency"), t("Jumlah", "Count")]);
    barTable($("cr-kecamatan"), r.emergency.by_kecamatan.map((k) => [k.name, k.count]), ["Kecamatan", t("Jumlah", "Count")]);
    const grid = (el, rows, first) => {
      el.innerHTML = `<table class="cr-table"><thead><tr><th>${esc(first)}</th><th>${t("Jumlah", "Total")}</th>${TYPES.map((x) => `<th>${esc(x)}</th>`).join("")}</tr></thead><tbody>` +
        rows.map(([k, total, by]) => `<tr><td>${esc(k)}</td><td><b>${total}</b></td>${TYPES.map((x) => `<td>${by[x] || ""}</td>`).join("")}</tr>`).join("") + "</tbody></table>";
    };
    grid($("cr-days"), r.by_day.map((d) => [d.day, d.total, d.by_type]), t("Tanggal", "Day"));
    grid($("cr-operators"), r.operators.map((o) => [o.operator, o.total, o.by_type]), "Operator");
    const q = query();
    $("cr-csv").href = `/api/calls/report.csv${q ? "?" + q : ""}`;
    $("cr-xlsx").href = `/api/calls/report.xlsx${q ? "?" + q : ""}`;
    document.body.dataset.ready = "1";
    document.body.dataset.total = String(r.total);
  }

  async function load() {
    $("cr-error").hidden = true;
    try {
      const q = query();
      last = await S.api(`/api/calls/report${q ? "?" + q : ""}`);
      render(last);
    } catch (e) {
      $("cr-error").textContent = e.message;
      $("cr-error").hidden = false;
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const now = new Date(Date.now() + 7 * 3600 * 1000);
    $("cr-month").value = now.toISOString().slice(0, 7);
    $("cr-form").addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
    document.addEventListener("sigap:lang", () => { if (last) render(last); });
    // New and typed calls refresh the figures (at most every few seconds).
    let refresh = null;
    const later = () => { if (!refresh) refresh = setTimeout(() => { refresh = null; load(); }, 3000); };
    S.on("call.created", later);
    S.on("call.updated", later);
    S.connect();
    load();
  });
})();
