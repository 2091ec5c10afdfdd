// The page's handle on the engine worker: requests as promises, run events and status lines
// as callbacks, and Cancel through a shared flag the busy worker reads between tokens.

export class LabClient {
  constructor({ onEvent, onStatus }) {
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.pending = new Map();
    this.nextId = 1;
    this.cancelFlag = null;
    this.start();
  }

  start() {
    this.worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    this.worker.onmessage = ({ data }) => {
      if (data.event) this.onEvent(data.event);
      else if (data.status) this.onStatus(data.status);
      else this.settle(data);
    };
    this.worker.onerror = (e) => this.failAll(new Error(e.message || 'the engine worker stopped'));
  }

  settle({ id, ok, value, error }) {
    const request = this.pending.get(id);
    if (!request) return;
    this.pending.delete(id);
    if (ok) request.resolve(value);
    else request.reject(new Error(error));
  }

  failAll(error) {
    for (const request of this.pending.values()) request.reject(error);
    this.pending.clear();
  }

  request(type, payload = {}) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, type, ...payload });
    });
  }

  run(config) {
    // A SharedArrayBuffer exists only on a cross-origin-isolated page (sclab serve sends the headers).
    this.cancelFlag = self.crossOriginIsolated ? new Int32Array(new SharedArrayBuffer(4)) : null;
    return this.request('run', { config, cancel: this.cancelFlag?.buffer ?? null });
  }

  /** Stop the run within one token; without a shared flag the worker is replaced instead. */
  cancel() {
    if (this.cancelFlag) {
      Atomics.store(this.cancelFlag, 0, 1);
      return false;
    }
    this.worker.terminate();
    this.failAll(new Error('cancelled'));
    this.start();
    return true;
  }
}
