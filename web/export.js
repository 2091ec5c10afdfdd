// Downloads of a run, in the command line's formats: the results file (a header line, then one
// line per item) and the report's CSV tables.

function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

const stem = (run) => `sclab-${run.config.task}-${run.created.slice(0, 19).replaceAll(':', '-')}`;

export function downloadJsonLines(run, items) {
  const lines = [];
  if (run.header) lines.push(JSON.stringify({ type: 'header', ...run.header }));
  for (const item of items) lines.push(JSON.stringify({ type: 'item', ...item }));
  download(`${stem(run)}.jsonl`, `${lines.join('\n')}\n`, 'application/jsonl');
}

export function downloadCsv(run, tables) {
  for (const [name, text] of tables) download(`${stem(run)}-${name}`, text, 'text/csv');
}
