// The phone face's service worker (served as /m/sw.js, scope /m): keeps the page shell and the last
// state so /m opens without a network; the page itself says it is offline and queues actions.
"use strict";

const CACHE = "jiayuan-m-v1";
const STATIC = [
  "/static/css/pages/phone.css",
  "/static/js/phone.js",
  "/static/phone/icon-192.png",
  "/static/phone/icon-512.png",
  "/m/manifest.webmanifest",
];
// Fetched fresh when online (and kept), answered from the cache when not.
const FRESH_FIRST = ["/m", "/api/v1/m/state"];
const SNAPSHOT = /^\/api\/v1\/m\/cases\/\d+\/snapshot\.jpg$/;

// What to say when offline with no page kept: the page sends its words, in its language (a worker has no
// catalog of its own), and they are kept with the page; without them the answer is an empty 503.
const WORDS = "/m/offline-words";

self.addEventListener("message", (event) => {
  const text = event.data && event.data.offline;
  if (typeof text !== "string") return;
  const words = new Response(text, { headers: { "content-type": "text/plain; charset=utf-8" } });
  event.waitUntil(caches.open(CACHE).then((cache) => cache.put(WORDS, words)));
});

async function keep(cache, request, response) {
  // Never keep a redirect (to the sign-in page) or an error under the page's address.
  if (response.ok && !response.redirected && response.type === "basic") {
    await cache.put(request, response.clone());
  }
  return response;
}

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(STATIC);
    try {
      await keep(cache, new Request("/m"), await fetch("/m", { credentials: "same-origin" }));
    } catch (e) {
      // offline while installing: the page is kept the next time it is opened
    }
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (FRESH_FIRST.includes(url.pathname)) {
    event.respondWith((async () => {
      const cache = await caches.open(CACHE);
      try {
        return await keep(cache, new Request(url.pathname), await fetch(request));
      } catch (e) {
        const kept = await cache.match(url.pathname);
        if (kept) return kept;
        const words = await cache.match(WORDS);
        return new Response(words ? await words.text() : "", {
          status: 503, headers: { "content-type": "text/plain; charset=utf-8" },
        });
      }
    })());
  } else if (SNAPSHOT.test(url.pathname)) {
    // A case's evidence never changes under its address: kept once seen, so it shows offline too.
    event.respondWith((async () => {
      const cache = await caches.open(CACHE);
      const kept = await cache.match(url.pathname);
      if (kept) return kept;
      return keep(cache, new Request(url.pathname), await fetch(request));
    })());
  } else if (STATIC.includes(url.pathname)) {
    event.respondWith((async () => {
      const cache = await caches.open(CACHE);
      const kept = await cache.match(url.pathname);
      const fetched = fetch(request).then((r) => keep(cache, new Request(url.pathname), r)).catch(() => null);
      return kept || (await fetched) || Response.error();
    })());
  }
});
