// Where the page's time goes, as User Timing measures named `sclab:<part>`: the worker's parts
// of each round (its `timing` event) and the page's own work on its main thread (the
// transcript, drawing, persisting). DevTools shows them; `sclab bench --browser --experiment`
// sums them. Work done per streamed token is summed and recorded once per round, so a run keeps
// about fifteen entries a round rather than one a token; a new run clears them.

const summed = new Map();

function record(name, start, duration) {
  performance.measure(`sclab:${name}`, { start, duration });
}

/** Run `work` and record its time as part `name`. */
export function timed(name, work) {
  const start = performance.now();
  try {
    return work();
  } finally {
    record(name, start, performance.now() - start);
  }
}

/** Run `work` and add its time to part `name`'s sum, recorded by the next `recordRound`. */
export function summedTime(name, work) {
  const start = performance.now();
  try {
    return work();
  } finally {
    summed.set(name, (summed.get(name) ?? 0) + performance.now() - start);
  }
}

/** Record a round: the worker's `[part, ms]` pairs and the page's sums since the last round. */
export function recordRound(workerMs) {
  const now = performance.now();
  for (const [name, ms] of [...workerMs, ...summed]) record(name, now - ms, ms);
  summed.clear();
}

/** Forget the parts recorded so far (a new run starts); other measures stay. */
export function clearTimings() {
  const names = new Set(performance.getEntriesByType('measure').map((m) => m.name).filter((n) => n.startsWith('sclab:')));
  for (const name of names) performance.clearMeasures(name);
  summed.clear();
}
