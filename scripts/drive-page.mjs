#!/usr/bin/env node
// Headless Chromium (Debian's, through playwright-core, as the e2e tests drive it) for
// `sclab bench --browser`: reads a job `{ "steps": [{ "url", "upload", "script", "arg" }, …] }`
// as JSON on stdin; each step opens `url` (when given; `${previous}` in it is the previous step's
// answer), chooses the local file `upload.path` in the file input `upload.selector` (when given)
// and runs `script` in the page as the body of an async function of `arg`. Prints the last
// step's answer as JSON on stdout.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const job = JSON.parse(readFileSync(0, 'utf8'));
const profile = mkdtempSync(join(tmpdir(), 'sclab-bench-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(0); // a benchmark runs for many minutes
  let previous = '';
  for (const { url, upload, script, arg } of job.steps) {
    if (url) await page.goto(url.replaceAll('${previous}', String(previous)));
    if (upload) await page.setInputFiles(upload.selector, upload.path);
    previous = await page.evaluate(`(async (arg) => { ${script} })(${JSON.stringify(arg ?? null)})`);
  }
  process.stdout.write(JSON.stringify(previous));
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
