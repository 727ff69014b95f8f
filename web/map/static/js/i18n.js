// Bahasa Indonesia by default, English on request; the choice is kept in localStorage.
(function () {
  "use strict";
  const EN = {
    "nav.map": "Dispatcher map", "nav.planner": "Planner map", "nav.leader": "Situation",
    "live.on": "live", "live.off": "disconnected", "logout": "Log out",
    "login.subtitle": "Call Center 112, Barito Selatan regency", "login.username": "Username",
    "login.password": "Password", "login.submit": "Log in",
    "call.title": "New call", "call.hint": "Click the map or search a village to start an incident.",
    "search.placeholder": "Search village…", "form.category": "Category", "form.description": "Description",
    "form.caller": "Caller name", "form.phone": "Phone", "form.create": "Create incident", "form.cancel": "Cancel",
    "list.open": "Open incidents", "list.empty": "No open incidents.",
    "alert.hotspot": "Hotspot alert", "hot.title": "Fire hotspots (FIRMS)", "win.24h": "24 h", "win.7d": "7 days", "win.30d": "30 days", "win.custom": "Custom",
    "win.since": "From", "win.until": "Until", "win.apply": "Apply", "h3.title": "H3 hexagon density",
    "flood.title": "Flood zones", "flood.none": "No active flood zones.", "flood.affected": "Affected villages",
    "tile.open": "Open incidents", "tile.today": "Calls today", "tile.hotspots": "Hotspots 24 h",
    "tile.flooded": "Flooded villages",
    "tile.dispatch": "9 in 10 calls dispatched within (30 days)", "tile.dispatch.half": "Half of the calls dispatched within (30 days)",
    "tile.scene": "In 9 of 10 calls a unit on scene within (30 days)", "tile.scene.half": "In half of the calls a unit on scene within (30 days)",
    "tile.target": "target {t}: met for {pct} %", "tile.no_calls": "no calls yet",
    "chart.status": "Open incidents by status", "chart.kecamatan": "Open incidents by district",
    "chart.response": "Response", "chart.flooded": "Flooded villages", "updated": "Updated",
    "chart.daily_half": "Per day: half of the calls had a unit on scene within this time.",
    "flooded.rule": "a village counts when at least {pct} % of it is under water",
    "resp.today": "Today", "resp.30d": "Last 30 days",
    "resp.dispatch.p90": "9 in 10 calls were dispatched within {t}.",
    "resp.dispatch.half": "Half of the calls were dispatched within {t}.",
    "resp.dispatch.target": "Dispatch target {t}: met for {k} of {n} calls ({pct} %).",
    "resp.dispatch.none": "No call received units yet.",
    "resp.scene.p90": "In 9 of 10 calls the unit reached the scene within {t}.",
    "resp.scene.half": "In half of the calls the unit reached the scene within {t}.",
    "resp.scene.target": "On-scene target {t}: met for {k} of {n} calls ({pct} %).",
    "resp.scene.none": "No unit has reached a scene yet.",
    "w.seconds": "seconds", "w.minutes": "minutes", "w.hours": "hours",
    "reports.title": "Situation reports", "reports.daily": "Make daily report", "reports.weekly": "Weekly",
    "reports.range": "Range", "reports.english": "in English", "reports.none": "No reports yet.",
    "reports.time": "The daily report is made at {t} WIB.", "reports.time_off": "The scheduled daily report is off.",
    "reports.asked": "Report requested; it appears here when ready.",
    "reports.kind.daily": "Daily", "reports.kind.weekly": "Weekly", "reports.kind.range": "Range",
    "reports.file.pdf": "PDF", "reports.file.html": "Offline map",
    "reports.status.pending": "waiting", "reports.status.running": "being made", "reports.status.failed": "failed",
    "layer.kabupaten": "Regencies (Kalteng)", "layer.kecamatan": "Districts", "layer.desa": "Villages",
    "layer.rivers": "Rivers", "layer.network": "Roads / network", "layer.floods": "Flood zones",
    "layer.hotspots": "Hotspots", "layer.h3": "H3 density", "layer.incidents": "Incidents", "layer.units": "Units",
    "layer.route": "Recommended route", "legend": "Legend", "layers": "Layers", "approx": "approximate",
    "loc.inside": "Inside Barito Selatan", "loc.outside": "Outside Barito Selatan", "loc.desa": "Village",
    "loc.kecamatan": "District", "loc.kabupaten": "Regency", "loc.nearest": "Nearest village",
    "loc.river": "To river", "loc.road": "To road", "loc.gap": "in a gap between villages",
    "loc.overlap": "in an overlap of villages", "inc.status": "Status", "inc.created": "Call at",
    "inc.location": "Location", "inc.recs": "Recommended units", "inc.dispatch": "Dispatch",
    "inc.dispatched": "Dispatched", "inc.no_recs": "No unit can be recommended.", "inc.eta": "ETA",
    "inc.distance": "distance", "inc.move": "Move to", "inc.close": "Close", "inc.agencies": "Agencies",
    "inc.duplicates": "Possible duplicates", "inc.unavailable": "Service not available yet",
    "inc.minutes": "min", "inc.merge": "Merge", "inc.merged_into": "Merged into",
    "inc.merged_from": "Merged from",
    "inc.merge_confirm": "Merge {dup} into {keep}? {dup} is cancelled as a duplicate; both histories are kept.",
    "inc.merged_ok": "{dup} merged into {keep}",
    "call.no_location": "Record without a location",
    "form.no_location": "Location unknown: the call is recorded as Needs location and can be located later.",
    "inc.caller": "Caller", "inc.source": "Location from", "src.coordinates": "coordinates",
    "src.place": "place name", "src.aml": "AML (handset)", "inc.set_location": "Set location on the map",
    "inc.move_location": "Move location", "inc.pick_cancel": "Cancel choosing a location",
    "inc.pick_hint": "Click the map or search a village for the location of {n} (Esc cancels)",
    "inc.located": "Location of {n} updated", "iv.call_to_dispatch": "Call → dispatch",
    "iv.dispatch_to_scene": "Dispatch → on scene", "iv.call_to_resolved": "Call → resolved",
    "place.centre": "Approximate: centre of {name}", "place.ambiguous": "Several places match; choose one:",
    "place.not_found": "Not found; perhaps:",
    "call.aml": "Paste an AML SMS", "aml.placeholder": "A\"ML=1;lt=…;lg=…;rd=… as the phone sent it",
    "aml.use": "Use the AML location", "aml.from": "Location from the phone (AML)",
    "inc.edit": "edit", "inc.save": "Save", "layer.failed": "A map layer could not be loaded",
    "aml.no_fix": "The AML message has no position fix: the call is recorded as Needs location.",
    "unit.status.tersedia": "available", "unit.status.bertugas": "on duty", "unit.status.offline": "offline",
    "unit.age": "last position", "unit.stale": "stale", "ago": "ago", "min": "min", "s": "s", "h": "h",
    "hot.conf": "confidence", "hot.age": "age", "hot.count": "hotspots", "hot.low": "low",
    "hot.nominal": "nominal", "hot.high": "high", "hot.recent": "< 6 h", "hot.old": "older",
    "sev.rendah": "low", "sev.sedang": "medium", "sev.tinggi": "high", "readonly": "Read-only view",
    "created": "Incident created", "error": "Error", "none": "none", "route.approx": "route over an approximate network",
  };
  const KEY = "sigap.lang";
  let lang = localStorage.getItem(KEY) === "en" ? "en" : "id";
  const ID = {};  // Indonesian strings are the ones written in the HTML; collected on first apply.

  function t(key, fallback) {
    if (lang === "en" && EN[key]) return EN[key];
    return ID[key] || fallback || key;
  }
  function apply(root) {
    (root || document).querySelectorAll("[data-i18n]").forEach((el) => {
      const k = el.dataset.i18n;
      if (!(k in ID)) ID[k] = el.textContent;
      el.textContent = lang === "en" && EN[k] ? EN[k] : ID[k];
    });
    (root || document).querySelectorAll("[data-i18n-placeholder]").forEach((el) => {
      const k = el.dataset.i18nPlaceholder;
      if (!(("ph:" + k) in ID)) ID["ph:" + k] = el.placeholder;
      el.placeholder = lang === "en" && EN[k] ? EN[k] : ID["ph:" + k];
    });
    (root || document).querySelectorAll("[data-i18n-id]").forEach((el) => {
      el.textContent = lang === "en" ? el.dataset.i18nEn : el.dataset.i18nId;
    });
    document.documentElement.lang = lang;
    const btn = document.getElementById("lang");
    if (btn) btn.textContent = lang === "en" ? "ID" : "EN";
  }
  // Indonesian fallbacks for strings only built in JS.
  const ID_JS = {
    "live.on": "langsung", "live.off": "terputus", "list.empty": "Tidak ada kejadian terbuka.",
    "flood.none": "Tidak ada zona banjir aktif.", "flood.affected": "Desa terdampak",
    "alert.hotspot": "Peringatan titik panas",
    "layer.kabupaten": "Kabupaten (Kalteng)", "layer.kecamatan": "Kecamatan", "layer.desa": "Desa / kelurahan",
    "layer.rivers": "Sungai", "layer.network": "Jalan / jaringan", "layer.floods": "Zona banjir",
    "layer.hotspots": "Titik panas", "layer.h3": "Kepadatan H3", "layer.incidents": "Kejadian",
    "layer.units": "Unit", "layer.route": "Rute rekomendasi", "legend": "Legenda", "layers": "Lapisan", "approx": "perkiraan",
    "loc.inside": "Di dalam Barito Selatan", "loc.outside": "Di luar Barito Selatan", "loc.desa": "Desa",
    "loc.kecamatan": "Kecamatan", "loc.kabupaten": "Kabupaten", "loc.nearest": "Desa terdekat",
    "loc.river": "Ke sungai", "loc.road": "Ke jalan", "loc.gap": "di celah antar desa",
    "loc.overlap": "di tumpang tindih desa", "inc.status": "Status", "inc.created": "Panggilan",
    "inc.location": "Lokasi", "inc.recs": "Unit rekomendasi", "inc.dispatch": "Kirim",
    "inc.dispatched": "Terkirim", "inc.no_recs": "Tidak ada unit yang bisa direkomendasikan.", "inc.eta": "ETA",
    "inc.distance": "jarak", "inc.move": "Ubah ke", "inc.close": "Tutup", "inc.agencies": "Instansi",
    "inc.duplicates": "Kemungkinan ganda", "inc.unavailable": "Layanan belum tersedia",
    "inc.minutes": "mnt", "inc.merge": "Gabungkan", "inc.merged_into": "Digabung ke",
    "inc.merged_from": "Gabungan dari",
    "inc.merge_confirm": "Gabungkan {dup} ke {keep}? {dup} dibatalkan sebagai duplikat; riwayat keduanya tetap tersimpan.",
    "inc.merged_ok": "{dup} digabung ke {keep}",
    "form.no_location": "Lokasi belum diketahui: panggilan dicatat sebagai Perlu lokasi dan lokasinya bisa diisi nanti.",
    "inc.caller": "Pelapor", "inc.source": "Lokasi dari", "src.coordinates": "koordinat",
    "src.place": "nama tempat", "src.aml": "AML (ponsel)", "inc.set_location": "Tentukan lokasi di peta",
    "inc.move_location": "Pindahkan lokasi", "inc.pick_cancel": "Batal memilih lokasi",
    "inc.pick_hint": "Klik peta atau cari desa untuk lokasi {n} (Esc untuk batal)",
    "inc.located": "Lokasi {n} diperbarui", "iv.call_to_dispatch": "Panggilan → kirim",
    "iv.dispatch_to_scene": "Kirim → tiba", "iv.call_to_resolved": "Panggilan → selesai",
    "place.centre": "Perkiraan: pusat {name}", "place.ambiguous": "Beberapa tempat cocok; pilih salah satu:",
    "place.not_found": "Tidak ditemukan; mungkin maksudnya:",
    "aml.from": "Lokasi dari ponsel (AML)", "inc.edit": "ubah", "inc.save": "Simpan",
    "layer.failed": "Lapisan peta gagal dimuat",
    "aml.no_fix": "Pesan AML tanpa posisi: panggilan dicatat sebagai Perlu lokasi.",
    "unit.status.tersedia": "tersedia", "unit.status.bertugas": "bertugas", "unit.status.offline": "offline",
    "unit.age": "posisi terakhir", "unit.stale": "usang", "ago": "lalu", "min": "mnt", "s": "dtk", "h": "jam",
    "hot.conf": "keyakinan", "hot.age": "umur", "hot.count": "titik panas", "hot.low": "rendah",
    "hot.nominal": "sedang", "hot.high": "tinggi", "hot.recent": "< 6 jam", "hot.old": "lebih lama",
    "sev.rendah": "rendah", "sev.sedang": "sedang", "sev.tinggi": "tinggi", "readonly": "Tampilan hanya baca",
    "created": "Kejadian dibuat", "error": "Galat", "none": "tidak ada", "route.approx": "rute di jaringan perkiraan",
    "tile.dispatch": "9 dari 10 panggilan dikirim dalam (30 hari)", "tile.dispatch.half": "Separuh panggilan dikirim dalam (30 hari)",
    "tile.scene": "Pada 9 dari 10 panggilan unit tiba dalam (30 hari)", "tile.scene.half": "Pada separuh panggilan unit tiba dalam (30 hari)",
    "tile.target": "target {t}: tercapai {pct} %", "tile.no_calls": "belum ada panggilan",
    "chart.daily_half": "Per hari: pada separuh panggilan unit tiba dalam waktu ini.",
    "flooded.rule": "desa dihitung bila paling sedikit {pct} % luasnya terendam",
    "resp.today": "Hari ini", "resp.30d": "30 hari terakhir",
    "resp.dispatch.p90": "9 dari 10 panggilan dikirim dalam {t}.",
    "resp.dispatch.half": "Separuh panggilan dikirim dalam {t}.",
    "resp.dispatch.target": "Target kirim {t}: tercapai pada {k} dari {n} panggilan ({pct} %).",
    "resp.dispatch.none": "Belum ada panggilan yang dikirimi unit.",
    "resp.scene.p90": "Pada 9 dari 10 panggilan, unit tiba di lokasi dalam {t}.",
    "resp.scene.half": "Pada separuh panggilan, unit tiba di lokasi dalam {t}.",
    "resp.scene.target": "Target tiba {t}: tercapai pada {k} dari {n} panggilan ({pct} %).",
    "resp.scene.none": "Belum ada unit yang tiba di lokasi.",
    "w.seconds": "detik", "w.minutes": "menit", "w.hours": "jam",
    "reports.none": "Belum ada laporan.", "reports.time": "Laporan harian dibuat pukul {t} WIB.",
    "reports.time_off": "Laporan harian terjadwal dimatikan.",
    "reports.asked": "Laporan diminta; muncul di sini setelah siap.",
    "reports.kind.daily": "Harian", "reports.kind.weekly": "Mingguan", "reports.kind.range": "Rentang",
    "reports.file.pdf": "PDF", "reports.file.html": "Peta luring",
    "reports.status.pending": "menunggu", "reports.status.running": "sedang dibuat", "reports.status.failed": "gagal",
  };
  Object.assign(ID, ID_JS);

  const wibFmt = new Intl.DateTimeFormat("id-ID", {
    timeZone: "Asia/Jakarta", day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit", hour12: false,
  });
  const wibClock = new Intl.DateTimeFormat("id-ID", {
    timeZone: "Asia/Jakarta", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });
  function wib(iso) {
    if (!iso) return "–";
    const d = iso instanceof Date ? iso : new Date(iso);
    return isNaN(d) ? "–" : wibFmt.format(d).replace(".", ":") + " WIB";
  }
  function clock() { return wibClock.format(new Date()).replace(/\./g, ":") + " WIB"; }
  function duration(seconds) {
    if (seconds === null || seconds === undefined || !isFinite(seconds)) return "–";
    const s = Math.round(seconds);
    if (s < 60) return s + " " + t("s");
    if (s < 3600) return Math.round(s / 60) + " " + t("min");
    return (s / 3600).toFixed(1) + " " + t("h");
  }
  function setLang(next) {
    lang = next;
    localStorage.setItem(KEY, lang);
    apply();
    document.dispatchEvent(new CustomEvent("sigap:lang", { detail: lang }));
  }
  window.I18N = { t, apply, wib, clock, duration, setLang, get lang() { return lang; } };
  document.addEventListener("DOMContentLoaded", () => {
    apply();
    const btn = document.getElementById("lang");
    if (btn) btn.addEventListener("click", () => setLang(lang === "en" ? "id" : "en"));
  });
})();
