// The page's URL state as a pure function pair (`node --test tests/unit/`): a link reproduces a
// setup exactly, and a damaged one is explained rather than half-applied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configFromHash, configToHash } from '../../web/controls.js';

test('a config survives the round trip through the URL hash, text in any script included', () => {
  const config = {
    task: 'custom',
    prompt: 'Décris une infirmière 👩‍⚕️ — "quoted" & <b>tagged</b>',
    rounds: 7,
    immoral_rounds: { rounds: [2, 5] },
    instructions: { moral: 'Ünïcödé {query}', review: '+/=' },
  };
  const hash = configToHash(config);
  assert.match(hash, /^#config=[A-Za-z0-9_-]+$/, 'URL-safe base64 without padding');
  assert.deepEqual(configFromHash(hash), config);
});

test('no hash means no shared config', () => {
  assert.equal(configFromHash(''), null);
  assert.equal(configFromHash('#'), null);
});

test('a damaged or foreign hash is refused with a reason', () => {
  assert.throws(() => configFromHash('#section-2'), /does not hold a lab configuration/);
  assert.throws(() => configFromHash('#config=bm90IGpzb24'), /damaged/); // "not json"
  assert.throws(() => configFromHash('#config=e30'), /names no task/); // "{}"
  assert.throws(() => configFromHash(`#config=${btoa('[1,2]').replace(/=+$/, '')}`), /names no task/);
  assert.throws(() => configFromHash('#config=!!'), /does not hold a lab configuration/);
});
