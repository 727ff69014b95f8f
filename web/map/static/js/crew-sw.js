/* SIGAP 112 crew page service worker: the app shell is cached so the page opens with no network.
 * Shell files are fetched from the network first (always the newest when online) and from the cache when
 * offline. The API is never cached: taps and positions wait in the page's IndexedDB outbox instead. */
"use strict";
const SHELL = __SHELL__;
const CACHE = "sigap-crew-v1";

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin || !SHELL.includes(url.pathname)) return;
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((c) => c.put(url.pathname, copy));
        }
        return response;
      })
      .catch(() => caches.match(url.pathname)),
  );
});

// Web Push: a dispatch arrives even when the page is closed (payload encrypted for this phone, RFC 8291).
self.addEventListener("push", (event) => {
  let doc = {};
  try { doc = event.data ? event.data.json() : {}; } catch (e) { doc = { text: event.data && event.data.text() }; }
  event.waitUntil(self.registration.showNotification("SIGAP 112: tugas baru " + (doc.number || ""), {
    body: doc.text || "", tag: "dispatch-" + (doc.assignment_id || ""), renotify: true, requireInteraction: true,
    vibrate: [400, 150, 400, 150, 400], icon: "/static/crew-icon.svg", data: { url: "/crew" },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(self.clients.matchAll({ type: "window" }).then((list) => {
    for (const c of list) if (new URL(c.url).pathname === "/crew") return c.focus();
    return self.clients.openWindow("/crew");
  }));
});
