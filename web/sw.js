// Offline after the first visit: the page, its scripts and the wasm build are kept in a cache
// and served from it when the network (or the server) is gone. The large model and data files
// are cached by the worker itself (assets.js), so they pass through here untouched.

const SHELL = 'sclab-shell-v1';

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin || url.pathname.startsWith('/static/')) {
    return;
  }
  // Network first, so a rebuilt lab shows at once; the cache when offline.
  event.respondWith(
    fetch(event.request)
      .then(async (response) => {
        if (response.ok) {
          const cache = await caches.open(SHELL);
          await cache.put(event.request, response.clone());
        }
        return response;
      })
      .catch(async () => (await caches.match(event.request, { ignoreSearch: true })) ?? Response.error()),
  );
});
