// The experiment form: to and from an experiment config (docs/JSON.md), and the config in the
// URL hash so that a link reproduces a run.

const $ = (id) => document.getElementById(id);
const INSTRUCTION_FIELDS = ['moral', 'review', 'immoral', 'baseline', 'neutral_review', 'first_answer_prefix', 'review_answer_prefix'];

const optionalNumber = (id) => ($(id).value.trim() === '' ? null : Number($(id).value));

/** A comma-separated list of round numbers ('' → []); throws naming `field` when it is not one. */
function roundList(text, field) {
  const t = text.trim();
  if (t === '') return [];
  const rounds = t.split(',').map((r) => Number(r.trim()));
  if (rounds.some((r) => !Number.isInteger(r) || r < 1)) {
    throw new Error(`${field}: "${text}" is not a list of rounds like 2,5,8`);
  }
  return rounds;
}

function immoralRounds(text) {
  const t = text.trim();
  if (t === '' || t === 'none') return 'none';
  if (t === 'all') return 'all';
  return { rounds: roundList(t, 'immoral rounds') };
}

function immoralText(value) {
  if (!value || value === 'none') return '';
  if (value === 'all') return 'all';
  return value.rounds.join(',');
}

/** The config the form describes; throws with a field name when a field is invalid. */
export function readConfig() {
  const task = $('task').value;
  const instructions = Object.fromEntries(INSTRUCTION_FIELDS.map((f) => [f, $(`ins-${f}`).value]));
  if (instructions.immoral.trim() === '') instructions.immoral = null;
  if (instructions.baseline.trim() === '') instructions.baseline = null;
  const config = {
    task,
    subset: $('subset').value,
    prompt: task === 'custom' ? $('prompt').value : null,
    offset: Number($('offset').value) || 0,
    limit: Math.max(1, Number($('limit').value) || 1),
    rounds: Number($('rounds').value),
    baseline: $('baseline').checked,
    instructions,
    immoral_rounds: immoralRounds($('immoral-rounds').value),
    review: $('review').value,
    reask_rounds: roundList($('reask-rounds').value, 're-asked rounds'),
    option_scoring: $('option-scoring').value,
    samples: Number($('samples').value),
    temperature: Number($('temperature').value),
    max_tokens: optionalNumber('max-tokens'),
    clustering: $('clustering').value || null,
    concept: $('concept').value || null,
    layer: optionalNumber('layer'),
    seed: Number($('seed').value),
  };
  for (const field of ['rounds', 'samples', 'seed', 'offset']) {
    if (!Number.isInteger(config[field]) || config[field] < 0) throw new Error(`${field}: a whole number, please`);
  }
  return config;
}

/** Fill the form from a config (missing fields keep what the form shows). */
export function writeConfig(config) {
  const set = (id, value) => {
    if (value !== undefined) $(id).value = value ?? '';
  };
  set('task', config.task);
  set('subset', config.subset);
  set('prompt', config.prompt);
  set('offset', config.offset);
  set('limit', config.limit);
  set('rounds', config.rounds);
  set('samples', config.samples);
  set('temperature', config.temperature);
  set('max-tokens', config.max_tokens);
  set('clustering', config.clustering);
  set('concept', config.concept);
  set('layer', config.layer);
  set('seed', config.seed);
  set('review', config.review);
  set('option-scoring', config.option_scoring);
  if (config.reask_rounds !== undefined) $('reask-rounds').value = (config.reask_rounds ?? []).join(',');
  if (config.baseline !== undefined) $('baseline').checked = Boolean(config.baseline);
  if (config.immoral_rounds !== undefined) $('immoral-rounds').value = immoralText(config.immoral_rounds);
  if (config.instructions) {
    for (const f of INSTRUCTION_FIELDS) $(`ins-${f}`).value = config.instructions[f] ?? '';
  }
  showTaskFields();
}

export function showTaskFields() {
  const task = $('task').value;
  $('prompt-field').hidden = task !== 'custom';
  $('subset-field').hidden = task !== 'bbq';
  $('items-fields').hidden = task === 'custom';
}

const toBase64Url = (text) =>
  btoa(String.fromCodePoint(...new TextEncoder().encode(text))).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
const fromBase64Url = (b64) =>
  new TextDecoder().decode(Uint8Array.from(atob(b64.replaceAll('-', '+').replaceAll('_', '/')), (c) => c.codePointAt(0)));

export function configToHash(config) {
  return `#config=${toBase64Url(JSON.stringify(config))}`;
}

/** The config in the URL hash: `null` when there is none; throws when it cannot be read. */
export function configFromHash(hash) {
  const match = /^#config=([A-Za-z0-9_-]+)$/.exec(hash);
  if (!hash || hash === '#') return null;
  if (!match) throw new Error('the link does not hold a lab configuration');
  let config;
  try {
    config = JSON.parse(fromBase64Url(match[1]));
  } catch {
    throw new Error('the configuration in the link is damaged');
  }
  if (typeof config !== 'object' || config === null || typeof config.task !== 'string') {
    throw new Error('the configuration in the link names no task');
  }
  return config;
}
