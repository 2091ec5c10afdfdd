// Fetching the lab's assets into the browser's Cache API, with byte progress: the second
// visit (or a classroom without network) starts from the cache.

const CACHE = 'sclab-assets-v1';

/** The asset at `url` as a Blob, from the cache or downloaded now. */
export async function cachedBlob(url, onProgress = () => {}) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(url);
  if (hit) {
    const blob = await hit.blob();
    onProgress(blob.size, blob.size);
    return blob;
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const total = Number(response.headers.get('content-length')) || 0;
  const reader = response.body.getReader();
  const chunks = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    onProgress(loaded, total);
  }
  const blob = new Blob(chunks);
  await cache.put(url, new Response(blob, { headers: { 'content-type': 'application/octet-stream' } }));
  // The cached copy is backed by disk; the downloaded chunks can go.
  const stored = await cache.match(url);
  return stored ? stored.blob() : blob;
}

export async function cachedBytes(url, onProgress) {
  return new Uint8Array(await (await cachedBlob(url, onProgress)).arrayBuffer());
}

export async function cachedText(url, onProgress) {
  return (await cachedBlob(url, onProgress)).text();
}

/** A value the page computed (a measured concept) kept under a key of its own. */
export async function remember(key, text) {
  const cache = await caches.open(CACHE);
  await cache.put(new Request(`/remembered/${key}`), new Response(text));
}

export async function recall(key) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(new Request(`/remembered/${key}`));
  return hit ? hit.text() : null;
}
