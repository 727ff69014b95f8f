// Admin screens on the board page: each unit's notification channels (Telegram chat id, WhatsApp and SMS
// numbers; Web Push is the phone's own) and the paired crew phones, with revoke. Only for admins: the API refuses
// everyone else (GET/PUT /api/units/{id}/channels, GET /api/crew/devices, DELETE /api/crew/devices/{id}).
(function () {
  "use strict";
  const S = window.SIGAP;
  const T = (k, f) => window.I18N.t(k, f);
  const esc = S.esc;
  const $ = (id) => document.getElementById(id);
  const CHANNELS = ["telegram", "whatsapp", "sms"];

  function msg(text, bad) {
    const el = $("chan-msg");
    el.textContent = text;
    el.classList.toggle("error", !!bad);
  }
  const apiMessage = (e) => e.message;  // ApiError's message is already in the page's language

  async function loadChannels() {
    const unit = $("chan-unit").value;
    if (!unit) return;
    const d = await S.api(`/api/units/${unit}/channels`);
    // Arrowing through the list asks for each unit passed; an answer overtaken by a later pick is dropped, or a
    // slow answer for a unit passed over would fill the form of the unit now selected (and be saved to it).
    if ($("chan-unit").value !== unit) return;
    const by = Object.fromEntries(d.channels.map((c) => [c.channel, c.address]));
    for (const ch of CHANNELS) $("chan-" + ch).value = by[ch] || "";
    document.body.dataset.channelsUnit = unit;
  }

  async function saveChannels(ev) {
    ev.preventDefault();
    const unit = $("chan-unit").value;
    const channels = CHANNELS.filter((ch) => $("chan-" + ch).value.trim())
      .map((ch) => ({ channel: ch, address: $("chan-" + ch).value.trim() }));
    try {
      const d = await S.api(`/api/units/${unit}/channels`, { method: "PUT", json: { channels } });
      const by = Object.fromEntries(d.channels.map((c) => [c.channel, c.address]));
      for (const ch of CHANNELS) $("chan-" + ch).value = by[ch] || "";
      msg(T("cadm.saved").replace("{n}", String(d.channels.length)));
      document.body.dataset.channelsSaved = String(Date.now());
    } catch (e) {
      msg(apiMessage(e), true);
    }
  }

  function when(iso) { return iso ? window.I18N.wib(iso) : "–"; }

  async function loadDevices() {
    const d = await S.api("/api/crew/devices");
    const body = $("devices");
    body.innerHTML = d.devices.map((x) => `<tr data-device="${esc(x.id)}" class="${x.active ? "" : "revoked"}">` +
      `<td>${esc(x.callsign || x.unit_id)}</td><td>${esc(x.label || "–")}</td><td>${esc(when(x.created_at))}</td>` +
      `<td>${esc(when(x.last_seen_at))}</td>` +
      `<td>${esc(x.active ? T("cadm.active") : T("cadm.revoked") + " · " + when(x.revoked_at))}</td>` +
      `<td>${x.active ? `<button type="button" class="revoke" data-device="${esc(x.id)}">${esc(T("cadm.revoke"))}</button>` : ""}</td></tr>`
    ).join("") || `<tr><td colspan="6" class="muted">${esc(T("cadm.none"))}</td></tr>`;
    body.querySelectorAll("button.revoke").forEach((b) => b.addEventListener("click", () => revoke(b)));
    document.body.dataset.devices = String(d.count);
  }

  // Two presses: the first asks (the button says so and keeps the focus), the second revokes.
  async function revoke(button) {
    if (button.dataset.confirm !== "1") {
      button.dataset.confirm = "1";
      button.textContent = T("cadm.revoke_confirm");
      button.classList.add("danger");
      return;
    }
    try {
      await S.api(`/api/crew/devices/${button.dataset.device}`, { method: "DELETE" });
    } catch (e) {
      S.toast(apiMessage(e), "error");
    }
    await loadDevices();
    const first = $("devices").querySelector("button.revoke");
    if (first) first.focus();
  }

  async function init() {
    if ((S.CONFIG.user || {}).role !== "admin" || !$("crew-admin")) return;
    $("crew-admin").hidden = false;
    const units = (await S.api("/api/units")).units.slice().sort((a, b) => a.callsign.localeCompare(b.callsign));
    $("chan-unit").innerHTML = units.map((u) => `<option value="${esc(u.id)}">${esc(u.callsign)} · ${esc(u.name || u.type)}</option>`).join("");
    $("chan-unit").addEventListener("change", () => loadChannels().catch((e) => msg(apiMessage(e), true)));
    $("chan-form").addEventListener("submit", saveChannels);
    document.addEventListener("sigap:lang", () => loadDevices().catch(() => {}));
    await Promise.all([loadChannels(), loadDevices()]);
    document.body.dataset.crewAdmin = "1";
  }

  document.addEventListener("DOMContentLoaded", () => { init().catch((e) => { S.toast(e.message, "error"); console.error(e); }); });
})();
