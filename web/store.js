// Runs kept in IndexedDB, saved after every round, so a reload loses nothing.

const DB = 'sclab';
const STORE = 'runs';

function database() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: 'id' });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function transact(mode, work) {
  const db = await database();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const result = work(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(result.result);
    tx.onerror = () => reject(tx.error);
  });
}

/** Store `run`; `around` may wrap the put, which copies the run on the calling thread. */
export const saveRun = (run, around = (put) => put()) => transact('readwrite', (s) => around(() => s.put(run)));
export const deleteRun = (id) => transact('readwrite', (s) => s.delete(id));
export const listRuns = async () =>
  (await transact('readonly', (s) => s.getAll())).sort((a, b) => b.created.localeCompare(a.created));
