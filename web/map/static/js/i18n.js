// Bahasa Indonesia by default, English on request; the choice is kept in localStorage.
(function () {
  "use strict";
  const EN = {
    "nav.map": "Dispatcher map", "nav.planner": "Planner map", "nav.leader": "Situation",
    "live.on": "live", "live.off": "disconnected", "logout": "Log out",
    "login.subtitle": "Call Center 112, Barito Selatan regency", "login.username": "Username",
    "login.password": "Password", "login.submit": "Log in",
    "call.title": "New call", "call.hint": "Click the map or search a village to start an incident.",
    "search.placeholder": "Village, call number, phone or unit…", "form.category": "Category", "form.description": "Description",
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
    // Call card (issue 16)
    "prio.label": "Priority", "prio.P1": "P1: life at risk now", "prio.P2": "P2: urgent", "prio.P3": "P3: can wait",
    "timer.in_state": "Time in this state", "claim.by": "handled by: {who}", "claim.none": "not taken yet",
    "claim.take": "Take", "claim.release": "Release", "note.title": "Call log", "note.add": "Add note",
    "note.placeholder": "Note (Ctrl+Enter saves; corrections are new notes)", "note.none": "No notes yet.",
    "disp.label": "Disposition", "disp.choose": "Reason (disposition)", "disp.note": "Note (optional)",
    "disp.required": "Choose a reason first.", "disp.back": "Back", "cancel.button": "Cancel call…",
    "cancel.title": "Cancel {n}?", "cancel.confirm": "Yes, cancel the call", "close.title": "Close {n}?",
    "close.confirm": "Close the call", "newcall.toast": "New call {n} · {c}: nobody has taken it",
    "hist.title": "History", "hist.number": "Call number", "hist.text": "Words in description or notes",
    "hist.any": "all", "hist.operator": "Operator", "hist.search": "Search", "hist.reset": "Clear",
    "hist.prev": "‹ Previous", "hist.next": "Next ›", "hist.count": "{from}–{to} of {total} calls",
    "inc.timeline": "Timeline",
    "keys.title": "Keyboard shortcuts", "keys.new": "New call: the search box", "keys.search": "Search: village, call number, phone, unit",
    "keys.category": "Category by its number (in the new call)", "keys.create": "Create the call (in the category list)",
    "keys.priority": "Priority of the open call: P1 → P2 → P3", "keys.take": "Take / release the open call",
    "keys.dispatch": "Dispatch the proposed (top) unit", "keys.note": "Write a note", "keys.next": "Next / previous call in the list",
    "keys.history": "History", "keys.escape": "Cancel the draft / close", "keys.help": "This list",

    "move.ask": "Move the location here?", "move.hint": "The call already has a location.", "move.yes": "Move",
    "move.no": "Keep it", "dup.title": "Open calls within {km} in the last {min} min: the same incident?",
    "dup.join": "Merge into this", "dup.new": "Create a new one anyway", "dup.note": "Additional caller",
    "dup.joined": "Caller added to {n}", "dup.answer": "Open calls nearby: merge into one or create a new one anyway.",
    "aml.days": "{n} days", "aml.age": "fix {t} old", "aml.stale": "fix is {t} old: the caller may have moved",

    "net.failed": "The server cannot be reached (network down?); try again.",
    "hist.none": "No call matches.", "search.found": "Calls and units:", "search.nothing": "No call or unit found.",
    "crew.notify": "Notifications", "crew.unacked": "Not acknowledged", "crew.resend": "Resend",
    "crew.resent": "Notification sent again",
    "crew.pair": "Pair a crew phone", "crew.pair_short": "HP", "crew.pair_hint": "Scan the code or type it on",
    "crew.valid_until": "valid until", "crew.close": "Close",
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

    // Call card (issue 16)
    "prio.label": "Prioritas", "prio.P1": "P1: nyawa terancam sekarang", "prio.P2": "P2: mendesak", "prio.P3": "P3: bisa menunggu",
    "timer.in_state": "Lama dalam status ini", "claim.by": "ditangani: {who}", "claim.none": "belum diambil",
    "claim.take": "Ambil", "claim.release": "Lepas", "note.title": "Catatan panggilan", "note.add": "Tambah catatan",
    "note.placeholder": "Catatan (Ctrl+Enter menyimpan; koreksi ditulis sebagai catatan baru)", "note.none": "Belum ada catatan.",
    "disp.label": "Disposisi", "disp.choose": "Alasan (disposisi)", "disp.note": "Catatan (boleh kosong)",
    "disp.required": "Pilih alasan dulu.", "disp.back": "Kembali", "cancel.button": "Batalkan panggilan…",
    "cancel.title": "Batalkan {n}?", "cancel.confirm": "Ya, batalkan panggilan", "close.title": "Tutup {n}?",
    "close.confirm": "Tutup panggilan", "newcall.toast": "Panggilan baru {n} · {c}: belum ada yang mengambil",
    "hist.count": "{from}–{to} dari {total} panggilan", "hist.none": "Tidak ada panggilan yang cocok.",
    "inc.timeline": "Linimasa",
    "keys.title": "Pintasan papan ketik", "keys.new": "Panggilan baru: kotak pencarian", "keys.search": "Cari: desa, nomor panggilan, telepon, unit",
    "keys.category": "Kategori menurut nomornya (di panggilan baru)", "keys.create": "Buat kejadian (di daftar kategori)",
    "keys.priority": "Prioritas panggilan yang terbuka: P1 → P2 → P3", "keys.take": "Ambil / lepas panggilan yang terbuka",
    "keys.dispatch": "Kirim unit usulan (teratas)", "keys.note": "Tulis catatan", "keys.next": "Panggilan berikut / sebelumnya di daftar",
    "keys.history": "Riwayat", "keys.escape": "Batalkan draf / tutup", "keys.help": "Daftar ini",

    "move.ask": "Pindahkan lokasi ke sini?", "move.hint": "Panggilan ini sudah punya lokasi.", "move.yes": "Pindahkan",
    "move.no": "Tetap", "dup.title": "Panggilan terbuka dalam {km} selama {min} mnt terakhir: kejadian yang sama?",
    "dup.join": "Gabungkan", "dup.new": "Tetap buat baru", "dup.note": "Pelapor tambahan",
    "dup.joined": "Pelapor ditambahkan ke {n}", "dup.answer": "Ada panggilan terbuka di dekatnya: gabungkan atau tetap buat baru.",
    "aml.days": "{n} hari", "aml.age": "posisi {t} lalu", "aml.stale": "posisi sudah {t}: pelapor mungkin sudah berpindah",

    "net.failed": "Server tidak terjangkau (jaringan putus?); coba lagi.",
    "hist.any": "semua", "search.found": "Panggilan dan unit:", "search.nothing": "Tidak ada panggilan atau unit.",
    "crew.notify": "Notifikasi", "crew.unacked": "Belum menjawab", "crew.resend": "Kirim ulang",
    "crew.resent": "Notifikasi dikirim ulang",
    "crew.pair": "Pasangkan HP kru", "crew.pair_short": "HP", "crew.pair_hint": "Pindai kode atau ketik di",
    "crew.valid_until": "berlaku sampai", "crew.close": "Tutup",
  };
  // Units on calls, the status board, response plans (issue 15).
  const UNITS_ID = {
    "unit.status.dikirim": "dikirim", "unit.status.menuju_lokasi": "menuju lokasi", "unit.status.tiba": "tiba",
    "unit.status.kembali": "kembali", "unit.status.tidak_tersedia": "tidak tersedia", "unit.on_call": "Bertugas di",
    "as.title": "Unit di kejadian ini", "as.none": "Belum ada unit dikirim.", "as.step.dikirim": "dikirim",
    "as.step.diterima": "diterima", "as.step.menuju_lokasi": "menuju lokasi", "as.step.tiba": "tiba di lokasi",
    "as.step.selesai": "selesai", "as.step.dilepas": "dilepas", "as.step.dialihkan": "dialihkan",
    "as.t.sent": "dikirim", "as.t.enroute": "menuju", "as.t.arrived": "tiba", "as.t.ended": "berakhir",
    "as.btn.enroute": "Menuju lokasi", "as.btn.arrived": "Tiba", "as.btn.done": "Selesai", "as.btn.release": "Lepas",
    "as.release_reason": "Alasan melepas {u} dari kejadian ini:", "as.reason_required": "Alasan wajib diisi.",
    "as.reported": "{s} dilaporkan tanpa langkah sebelumnya", "as.skipped": "{u}: langkah terlewat dicatat apa adanya",
    "as.search": "Kirim unit lain: cari tanda panggil, jenis atau instansi…", "as.none_found": "Tidak ada unit yang cocok.",
    "as.divert": "Alihkan", "as.divert_confirm": "{u} sedang bertugas di {from}. Alihkan ke {to}?",
    "as.send_to": "Kirim ke kejadian terpilih ({n})", "as.divert_to": "Alihkan ke kejadian terpilih ({n})",
    "as.sent": "{u} dikirim ke {n}", "as.contacts": "Instansi yang dihubungi", "as.contact_who": "Siapa yang dihubungi",
    "as.contact_note": "Catatan", "as.contact_save": "Catat",
    "ch.telepon": "telepon", "ch.radio": "radio", "ch.whatsapp": "WhatsApp", "ch.langsung": "langsung", "ch.lainnya": "lainnya",
    "plan.title": "Rencana respons", "plan.send": "Kirim terpilih", "plan.short": "kurang",
    "plan.none_picked": "Pilih minimal satu unit.", "plan.notify": "Beri tahu {a} (tidak ada unit yang dikirim)",
    "board.title": "Papan status unit", "board.own_page": "layar sendiri", "board.type": "Jenis", "board.agency": "Instansi",
    "board.all": "semua", "board.callsign": "Unit", "board.status": "Status", "board.call": "Kejadian",
    "board.in_status": "Lama status", "board.position": "Umur posisi",
  };
  const UNITS_EN = {
    "unit.status.dikirim": "dispatched", "unit.status.menuju_lokasi": "en route", "unit.status.tiba": "on scene",
    "unit.status.kembali": "returning", "unit.status.tidak_tersedia": "out of service", "unit.on_call": "On call",
    "as.title": "Units on this call", "as.none": "No unit sent yet.", "as.step.dikirim": "dispatched",
    "as.step.diterima": "acknowledged", "as.step.menuju_lokasi": "en route", "as.step.tiba": "on scene",
    "as.step.selesai": "cleared", "as.step.dilepas": "released", "as.step.dialihkan": "diverted",
    "as.t.sent": "sent", "as.t.enroute": "en route", "as.t.arrived": "on scene", "as.t.ended": "ended",
    "as.btn.enroute": "En route", "as.btn.arrived": "On scene", "as.btn.done": "Cleared", "as.btn.release": "Release",
    "as.release_reason": "Why is {u} released from this call?", "as.reason_required": "A reason is required.",
    "as.reported": "{s} reported without the step before", "as.skipped": "{u}: the skipped step is recorded as reported",
    "as.search": "Send another unit: search callsign, type or agency…", "as.none_found": "No unit matches.",
    "as.divert": "Divert", "as.divert_confirm": "{u} is busy on {from}. Divert to {to}?",
    "as.send_to": "Send to the selected call ({n})", "as.divert_to": "Divert to the selected call ({n})",
    "as.sent": "{u} sent to {n}", "as.contacts": "Agencies informed", "as.contact_who": "Who was reached",
    "as.contact_note": "Note", "as.contact_save": "Record",
    "ch.telepon": "phone", "ch.radio": "radio", "ch.whatsapp": "WhatsApp", "ch.langsung": "in person", "ch.lainnya": "other",
    "plan.title": "Response plan", "plan.send": "Send selected", "plan.short": "short",
    "plan.none_picked": "Select at least one unit.", "plan.notify": "Inform {a} (no units to send)",
    "board.title": "Unit status board", "board.own_page": "own screen", "board.type": "Type", "board.agency": "Agency",
    "board.all": "all", "board.callsign": "Unit", "board.status": "Status", "board.call": "Call",
    "board.in_status": "In status", "board.position": "Position age", "nav.board": "Unit board",
  };
  // The crew page (/crew): strings its JS writes; those in its HTML are collected from the page itself.
  const CREW_ID = {
    "crew.tap.terima": "Terima", "crew.tap.menuju_lokasi": "Menuju lokasi", "crew.tap.tiba": "Tiba",
    "crew.tap.selesai": "Selesai", "crew.tap.butuh_bantuan": "Butuh bantuan", "crew.tap.tidak_tersedia": "Tidak tersedia",
    "crew.tap.tersedia": "Tersedia",
    "crew.st.tersedia": "Tersedia", "crew.st.dikirim": "Dikirim", "crew.st.diterima": "Diterima",
    "crew.st.menuju_lokasi": "Menuju lokasi", "crew.st.tiba": "Tiba", "crew.st.kembali": "Kembali",
    "crew.st.tidak_tersedia": "Tidak tersedia", "crew.st.offline": "Offline",
    "crew.leg.road": "Jalan", "crew.leg.river": "Sungai", "crew.leg.ferry": "Feri", "crew.leg.landing": "Dermaga",
    "crew.leg.offnetwork": "Jalan kaki", "crew.min": "mnt",
    "crew.eta.route": "ETA {m} menit lewat rute ({km} km)", "crew.eta": "ETA {m} menit", "crew.straight": "jarak lurus {km} km",
    "crew.call": "Telepon {n}", "crew.sent": "Terkirim: ", "crew.replayed": "Sudah tercatat: ", "crew.recorded": "Tercatat: ",
    "crew.not_applied": "{a} tidak berlaku: {why}", "crew.can": " (bisa: {can})", "crew.new_job": "TUGAS BARU: ",
    "crew.gps.none": "tidak didukung", "crew.gps.off": "tidak ada", "crew.code_bad": "Kode tidak berlaku. Minta kode baru ke operator 112.",
    "crew.pair_failed": "Gagal memasangkan", "crew.no_network": "Tidak ada jaringan; coba lagi.",
    "cadm.saved": "Tersimpan: {n} saluran", "cadm.active": "aktif", "cadm.revoked": "dicabut", "cadm.revoke": "Cabut",
    "cadm.revoke_confirm": "Yakin cabut? Tekan lagi", "cadm.none": "Belum ada HP kru yang dipasangkan.",
  };
  const CREW_EN = {
    "crew.brand": "SIGAP 112 · Crew", "crew.pair.title": "Pair this phone",
    "crew.pair.hint": "Ask the 112 operator for the 8-letter code (or scan its QR), then type it here.",
    "crew.pair.code": "CODE", "crew.pair.label": "Phone / crew name (optional)", "crew.pair.submit": "Pair",
    "crew.idle.title": "No assignment", "crew.idle.status": "Unit status:", "crew.nav": "Navigate",
    "crew.outbox": "Queue:", "crew.gps": "GPS:",
    "crew.tap.terima": "Acknowledge", "crew.tap.menuju_lokasi": "En route", "crew.tap.tiba": "On scene",
    "crew.tap.selesai": "Cleared", "crew.tap.butuh_bantuan": "Need backup", "crew.tap.tidak_tersedia": "Unavailable",
    "crew.tap.tersedia": "Available",
    "crew.st.tersedia": "Available", "crew.st.dikirim": "Dispatched", "crew.st.diterima": "Acknowledged",
    "crew.st.menuju_lokasi": "En route", "crew.st.tiba": "On scene", "crew.st.kembali": "Returning",
    "crew.st.tidak_tersedia": "Unavailable", "crew.st.offline": "Offline",
    "crew.leg.road": "Road", "crew.leg.river": "River", "crew.leg.ferry": "Ferry", "crew.leg.landing": "Landing",
    "crew.leg.offnetwork": "On foot", "crew.min": "min",
    "crew.eta.route": "ETA {m} min by route ({km} km)", "crew.eta": "ETA {m} min", "crew.straight": "straight line {km} km",
    "crew.call": "Call {n}", "crew.sent": "Sent: ", "crew.replayed": "Already recorded: ", "crew.recorded": "Recorded: ",
    "crew.not_applied": "{a} does not apply: {why}", "crew.can": " (can: {can})", "crew.new_job": "NEW ASSIGNMENT: ",
    "crew.gps.none": "not supported", "crew.gps.off": "none", "crew.code_bad": "Code not valid. Ask the 112 operator for a new one.",
    "crew.pair_failed": "Pairing failed", "crew.no_network": "No network; try again.",
    "cadm.channels": "Unit notification channels", "cadm.unit": "Unit", "cadm.telegram": "Telegram (chat id)",
    "cadm.whatsapp": "WhatsApp number", "cadm.sms": "SMS number",
    "cadm.webpush": "Web Push: switched on from the crew's own phone (notification permission on the /crew page).",
    "cadm.save": "Save channels", "cadm.devices": "Paired crew phones", "cadm.d.unit": "Unit", "cadm.d.label": "Phone name",
    "cadm.d.paired": "Paired", "cadm.d.seen": "Last seen", "cadm.d.state": "State",
    "cadm.saved": "Saved: {n} channels", "cadm.active": "active", "cadm.revoked": "revoked", "cadm.revoke": "Revoke",
    "cadm.revoke_confirm": "Sure? Press again", "cadm.none": "No crew phone paired yet.",
  };
  Object.assign(EN, UNITS_EN, CREW_EN);
  Object.assign(ID, ID_JS, UNITS_ID, CREW_ID);

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
