// Log in with the OAuth2 password form; the platform sets the HttpOnly cookie the map pages read.
(function () {
  "use strict";
  const form = document.getElementById("login-form");
  const err = document.getElementById("login-error");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    err.hidden = true;
    const body = new URLSearchParams({ username: form.username.value.trim(), password: form.password.value });
    try {
      const r = await fetch("/api/auth/token", { method: "POST", body, credentials: "same-origin" });
      const data = await r.json().catch(() => ({}));
      if (!r.ok) throw new Error((window.I18N.lang === "en" ? data.message_en : data.message_id) || data.message || "HTTP " + r.status);
      const next = new URLSearchParams(location.search).get("next");
      // Only our own paths: never bounce a fresh login to another site.
      location.href = next && /^\/[a-z]*$/.test(next) ? next : "/";
    } catch (e) {
      err.textContent = e.message;
      err.hidden = false;
    }
  });
})();
