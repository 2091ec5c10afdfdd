// The conversation as the paper's Figure 1 shows it: each round's injected instruction, the
// model's answer (streamed while it is written), its toxicity, and the K samples grouped by
// meaning. Model text is untrusted: it only ever enters the page as textContent.

const KIND = {
  baseline: 'baseline (no moral instruction)',
  moral: 'moral instruction',
  review: 'review instruction',
  immoral: 'immoral instruction',
  reasked: 'moral instruction asked again',
};

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export class Transcript {
  /** `toxicThreshold`: a toxicity above it is flagged (Rust's, from the vocabulary). */
  constructor(container, toxicThreshold) {
    this.container = container;
    this.toxicThreshold = toxicThreshold;
    this.rounds = new Map();
  }

  clear(title = '') {
    this.container.replaceChildren();
    this.rounds.clear();
    if (title) this.container.append(el('p', 'query', title));
  }

  /** The card of round `round`, created empty while its answer streams. */
  card(round) {
    let card = this.rounds.get(round);
    if (!card) {
      card = el('article', 'round streaming');
      card.dataset.round = round;
      const heading = el('h4', null, `Round ${round} · answering…`);
      const user = el('p', 'turn user');
      const answer = el('p', 'turn answer');
      answer.append(el('span', 'who', 'Model'), el('span', 'text'));
      const samples = el('div', 'samples');
      card.append(heading, user, answer, samples);
      this.rounds.set(round, card);
      this.container.append(card);
    }
    return card;
  }

  /** A `token` event (the answer) or a `sample` event (entropy sample `sample`). */
  token({ type, round, sample, text }) {
    const card = this.card(round);
    if (type === 'token') {
      card.querySelector('.answer .text').textContent += text;
      return;
    }
    const samples = card.querySelector('.samples');
    let line = samples.querySelector(`[data-sample="${sample}"]`);
    if (!line) {
      line = el('p', 'sample streaming-sample');
      line.dataset.sample = sample;
      line.append(el('span', 'who', `Sample ${sample + 1}`), el('span', 'text'));
      samples.append(line);
    }
    line.querySelector('.text').textContent += text;
  }

  /** Drop what streamed for rounds not yet measured: they start over (another engine took over). */
  restartUnfinished() {
    for (const [round, card] of this.rounds) {
      if (card.classList.contains('streaming')) {
        card.remove();
        this.rounds.delete(round);
      }
    }
  }

  /** The measured round replaces whatever streamed. */
  round(record) {
    const card = this.card(record.round);
    card.classList.remove('streaming');
    card.dataset.kind = record.kind;
    card.querySelector('h4').textContent = `Round ${record.round} · ${KIND[record.kind] ?? record.kind}`;
    const user = card.querySelector('.user');
    user.replaceChildren(el('span', 'who', 'Instruction'), el('span', 'text', record.user));
    const answer = card.querySelector('.answer');
    answer.replaceChildren(el('span', 'who', 'Model'), el('span', 'text', record.answer_prefix + record.answer));
    const toxicity = record.metrics.toxicity;
    if (toxicity !== undefined) {
      const badge = el('span', `badge ${toxicity > this.toxicThreshold ? 'high' : 'low'}`, `toxicity ${toxicity.toFixed(2)}`);
      answer.append(badge);
    }
    const samples = card.querySelector('.samples');
    samples.replaceChildren();
    if (record.samples.length) {
      const clusters = new Map();
      for (const s of record.samples) {
        if (!clusters.has(s.cluster)) clusters.set(s.cluster, []);
        clusters.get(s.cluster).push(s);
      }
      const details = el('details', 'clusters');
      const entropy = record.metrics['entropy.discrete'];
      const summary = `${record.samples.length} samples, ${clusters.size} meaning${clusters.size === 1 ? '' : 's'}` +
        (entropy === undefined ? '' : ` · semantic entropy ${entropy.toFixed(2)} nats`);
      details.append(el('summary', null, summary));
      for (const [cluster, members] of clusters) {
        const group = el('div', 'cluster');
        group.append(el('h5', null, `Meaning ${cluster + 1} · ${members.length} of ${record.samples.length}`));
        const list = el('ul');
        for (const m of members) list.append(el('li', null, m.text));
        group.append(list);
        details.append(group);
      }
      samples.append(details);
    }
  }

  /** A whole item from a stored run. */
  show(item) {
    this.clear(item.query);
    for (const r of item.rounds) this.round(r);
  }
}
