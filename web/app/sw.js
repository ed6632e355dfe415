/* The phone app's service worker: keeps the shell (web/app files and the vendor libraries listed in
   /app/shell.json, built from web/dist/vendor/manifest.json) so the app opens with no network.
   The app's own files are fetched fresh when the network answers within 3 s, else taken from the cache;
   vendor files come from the cache. API calls (/api/) are never touched: the app's sync engine owns them. */
"use strict";
const PREFIX = "fieldcheck-shell-";

async function precache() {
  const shell = await (await fetch("/app/shell.json", { cache: "no-store" })).json();
  const name = PREFIX + shell.version;
  if ((await caches.keys()).includes(name)) return name;  // this version is already kept
  const cache = await caches.open(name);
  await cache.addAll(shell.urls.map((u) => new Request(u, { cache: "no-store" })));
  await cache.put("/app/shell.json", new Response(JSON.stringify(shell), { headers: { "content-type": "application/json" } }));
  for (const other of await caches.keys()) if (other.startsWith(PREFIX) && other !== name) await caches.delete(other);
  return name;
}

self.addEventListener("install", (event) => { event.waitUntil(precache().then(() => self.skipWaiting())); });
self.addEventListener("activate", (event) => { event.waitUntil(self.clients.claim()); });
self.addEventListener("message", (event) => { if (event.data === "refresh-shell") event.waitUntil(precache()); });

async function current() {
  const names = (await caches.keys()).filter((n) => n.startsWith(PREFIX));
  return caches.open(names[names.length - 1] || PREFIX + "empty");
}

function withTimeout(promise, ms) {
  return Promise.race([promise, new Promise((_, no) => setTimeout(() => no(new Error("timeout")), ms))]);
}

async function fresh(request, key) {
  const cache = await current();
  try {
    const answer = await withTimeout(fetch(request, { cache: "no-store" }), 3000);
    if (answer.ok) { await cache.put(key, answer.clone()); return answer; }
    const kept = await cache.match(key);
    return kept || answer;
  } catch (e) {
    const kept = await cache.match(key);
    if (kept) return kept;
    throw e;
  }
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/static/vendor/")) {
    event.respondWith(current().then((c) => c.match(url.pathname)).then((hit) => hit || fetch(event.request)));
  } else if (event.request.mode === "navigate" && (url.pathname === "/app" || url.pathname.startsWith("/app/"))) {
    event.respondWith(fresh(event.request, "/app/"));
  } else if (url.pathname.startsWith("/app/") && url.pathname !== "/app/sw.js") {
    event.respondWith(fresh(event.request, url.pathname));
  }
});
