#!/usr/bin/env node
// Real-browser test of the dashboard (web-static/) against a running stack.
//
// Creates 55 things and a dynamic group through the REST API, opens BW_TEST_URL + '/' in the
// system Chromium (playwright-core, never a downloaded browser), then drives the page the way a
// user would, finding elements by role and label: server status, a rejected and an accepted
// bearer token, the Things table and its "Load more" paging, the Query field (valid, glob and
// invalid queries, a late reply), the Groups list. Screenshots go to tests/browser/artifacts/ (git-ignored). Whatever happens, the created
// things and group are deleted again.
//
// Env: BW_TEST_URL, BW_TEST_ADMIN_TOKEN (from tests/harness/stack.sh's test.env; unset -> exit 77)
//      CHROMIUM_PATH   browser binary (default /usr/bin/chromium)
//      BW_BROWSER_ARTIFACTS  screenshot directory (default tests/browser/artifacts)
// Output: one line per check, last line exactly "N passed, M failed"; exit 1 when M > 0.
// The whole run is bounded by RUN_TIMEOUT_MS + CLEANUP_TIMEOUT_MS (55 s); every wait by WAIT_MS.

import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RUN_TIMEOUT_MS = 50_000; // + at most CLEANUP_TIMEOUT_MS when it fires
const CLEANUP_TIMEOUT_MS = 5_000;
const WAIT_MS = 10_000;
const LAUNCH_TIMEOUT_MS = 20_000;
const API_TIMEOUT_MS = 10_000;

const BASE = (process.env.BW_TEST_URL || '').replace(/\/+$/, '');
const ADMIN = process.env.BW_TEST_ADMIN_TOKEN || '';
if (!BASE || !ADMIN) {
  console.log('dashboard: BW_TEST_URL or BW_TEST_ADMIN_TOKEN unset (no running stack): skipped');
  process.exit(77);
}

// playwright-core is pinned in tools/package.json, so resolve it from there.
const require = createRequire(new URL('../../tools/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARTIFACTS = process.env.BW_BROWSER_ARTIFACTS ||
  fileURLToPath(new URL('./artifacts/', import.meta.url));

// Names start with a digit so they sort before most other things and groups in a shared
// database: the page shows the first 50 things (and 100 groups) ordered by name.
const RUN = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
const PREFIX = `0ui-${RUN}`;
const THINGS = [
  { name: `${PREFIX}-a`, hardware_type: 'esp32-v2', firmware_version: '1.2.0',
    attributes: { site: 'north' } },
  { name: `${PREFIX}-b`, hardware_type: 'esp32-v2', firmware_version: '1.3.0',
    attributes: { site: 'south' } },
  // Markup in a value must be shown as text, never parsed.
  { name: `${PREFIX}-c`, hardware_type: 'rpi4', attributes: { site: 'north', note: '<b>x</b>' } },
];
// Enough more things for a second page of the table (the page asks for 50 at a time).
const PAGED = Array.from({ length: 52 }, (_, i) => ({
  name: `${PREFIX}-p${String(i).padStart(3, '0')}`, hardware_type: 'sim' }));
const GROUP = { name: `${PREFIX}-north`, type: 'dynamic',
  query: `name ~ "${PREFIX}-*" and attributes.site = north` };

// A job over things a and b, and a draft firmware release, for the Jobs and Releases tables.
const JOB = { job_id: `${PREFIX}-job`, document: { op: 'ui' },
  targets: [{ type: 'thing', name: THINGS[0].name }, { type: 'thing', name: THINGS[1].name }] };
const RELEASE = { product: `${PREFIX}-fw`, firmware_version: '3.1.4', security_version: 2,
  hardware_types: ['esp32-v2'] };

const results = { passed: 0, failed: 0 };
const created = []; // API paths of what this run created, deleted at the end
let browserContext = null;
let userDataDir = null;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function cleanupProfile() {
  if (userDataDir) {
    rmSync(userDataDir, { recursive: true, force: true });
    userDataDir = null;
  }
}

// The watchdog: a hung browser or server must not hang the suite. It still tries, briefly, to
// close the browser and delete what was created.
const watchdog = setTimeout(async () => {
  console.log(`FAIL dashboard: whole run exceeded ${RUN_TIMEOUT_MS} ms`);
  const closing = browserContext ? browserContext.close().catch(() => {}) : null;
  await Promise.race([Promise.all([closing, deleteCreated()]), sleep(CLEANUP_TIMEOUT_MS)]);
  cleanupProfile();
  console.log(`${results.passed} passed, ${results.failed + 1} failed`);
  process.exit(1); // playwright kills a browser it launched that is still running
}, RUN_TIMEOUT_MS);
watchdog.unref();

// api: one REST call with the admin token; returns { status, body } (body null when empty).
async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${ADMIN}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(BASE + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(API_TIMEOUT_MS),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

// deleteCreated: deletes everything in `created` (the group first, as it refers to the things),
// eight requests at a time; returns the list of problems.
async function deleteCreated() {
  const problems = [];
  const paths = created.splice(0);
  const del = async (path) => {
    try {
      const r = await api('DELETE', path);
      if (r.status !== 204) problems.push(`${path}: HTTP ${r.status}`);
    } catch (e) {
      problems.push(`${path}: ${e.message}`);
    }
  };
  if (paths[0] && paths[0].startsWith('/api/v1/groups/')) await del(paths.shift());
  for (let i = 0; i < paths.length; i += 8) await Promise.all(paths.slice(i, i + 8).map(del));
  return problems;
}

async function apiExpect(method, path, body, status) {
  const r = await api(method, path, body);
  if (r.status !== status) {
    throw new Error(`${method} ${path}: HTTP ${r.status}, wanted ${status}: ` +
      JSON.stringify(r.body));
  }
  return r.body;
}

// until: polls probe() until accept(value) holds; throws with the last value after timeoutMs.
async function until(what, probe, accept, timeoutMs = WAIT_MS) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await probe();
      if (accept(last)) return last;
    } catch (e) {
      last = `error: ${e.message}`;
    }
    if (Date.now() >= deadline) {
      const seen = JSON.stringify(last) ?? String(last);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ` +
        (seen.length > 300 ? `${seen.slice(0, 300)}…` : seen));
    }
    await sleep(100);
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

// A check runs only while every earlier "required" check passed; otherwise it fails at once,
// so one broken step cannot burn the time budget on timeouts.
let blockedBy = null;
async function check(name, fn, { required = false } = {}) {
  const t0 = Date.now();
  if (blockedBy) {
    results.failed++;
    console.log(`FAIL ${name}: not run, "${blockedBy}" failed`);
    return;
  }
  try {
    await fn();
    results.passed++;
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    results.failed++;
    console.log(`FAIL ${name} (${Date.now() - t0} ms): ${e.message}`);
    if (required) blockedBy = name;
  }
}

// Data rows of the Things table as arrays of cell texts, read in one go (no torn reads).
function tableRows(page) {
  return page.getByRole('table', { name: 'Things' }).evaluate((table) =>
    [...table.querySelectorAll('tbody tr')].map((tr) =>
      [...tr.querySelectorAll('td')].map((td) => td.textContent)));
}

const names = (rows) => rows.map((r) => r[0]);

async function search(page, query) {
  await page.getByLabel('Query', { exact: true }).fill(query);
  await page.getByRole('button', { name: 'Search' }).click();
}

async function screenshot(page, file) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, file);
  await page.screenshot({ path, fullPage: true, timeout: WAIT_MS });
  console.log(`     screenshot: ${path}`);
}

async function main() {
  let page = null;
  let me = null;
  const pageErrors = [];

  await check('api: create things and a dynamic group', async () => {
    me = await apiExpect('GET', '/api/v1/whoami', undefined, 200);
    for (const t of THINGS) {
      await apiExpect('POST', '/api/v1/things', t, 201);
      created.push(`/api/v1/things/${t.name}`);
    }
    const bulk = await apiExpect('POST', '/api/v1/things/bulk', { things: PAGED }, 200);
    created.push(...PAGED.map((t) => `/api/v1/things/${t.name}`));
    assert(bulk.created === PAGED.length, `bulk created ${JSON.stringify(bulk)}`);
    await apiExpect('POST', '/api/v1/groups', GROUP, 201);
    created.unshift(`/api/v1/groups/${GROUP.name}`); // first out: it refers to the things
    await apiExpect('POST', '/api/v1/jobs', JOB, 201);
    created.push(`/api/v1/jobs/${JOB.job_id}?force=true`);
    const release = await apiExpect('POST', '/api/v1/firmware/releases', RELEASE, 201);
    created.push(`/api/v1/firmware/releases/${release.id}`);
  }, { required: true });

  await check('browser: launch chromium and open the dashboard', async () => {
    userDataDir = mkdtempSync(join(tmpdir(), 'bw-chromium-'));
    browserContext = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      timeout: LAUNCH_TIMEOUT_MS,
      viewport: { width: 1280, height: 900 },
    });
    browserContext.setDefaultTimeout(WAIT_MS);
    browserContext.setDefaultNavigationTimeout(WAIT_MS);
    page = browserContext.pages()[0] || await browserContext.newPage();
    page.on('pageerror', (e) => pageErrors.push(`uncaught: ${e.message}`));
    page.on('console', (msg) => {
      // The browser logs every 4xx fetch; the test provokes 400 and 401 on purpose.
      if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text()))
        pageErrors.push(`console: ${msg.text()}`);
    });
    const res = await page.goto(BASE + '/', { waitUntil: 'load' });
    assert(res && res.status() === 200, `GET / answered ${res && res.status()}`);
    assert(await page.title() === 'Bellwether', `title is "${await page.title()}"`);
  }, { required: true });

  const whoami = () => page.getByRole('region', { name: 'API token' }).getByRole('status');
  const thingsAlert = () => page.getByRole('region', { name: 'Things' }).getByRole('alert');

  await check('page: server status shows ready', async () => {
    const ready = page.getByRole('status', { name: 'Server status' });
    await until('status "ready"', () => ready.textContent(), (t) => t.trim() === 'ready');
  });

  await check('page: a fresh profile says "no token"', async () => {
    await until('"no token"', () => whoami().textContent(), (t) => t.trim() === 'no token');
  });

  await check('auth: a wrong token is rejected with 401', async () => {
    await page.getByLabel('Bearer token').fill(`bw_${'A'.repeat(43)}`);
    await page.getByRole('button', { name: 'Use token' }).click();
    await until('"token rejected"', () => whoami().textContent(),
      (t) => /^token rejected \(401: /.test(t.trim()));
  });

  await check('auth: the admin token signs in', async () => {
    const field = page.getByLabel('Bearer token');
    await field.fill(ADMIN);
    await page.getByRole('button', { name: 'Use token' }).click();
    const want = `signed in as ${me.name} (${me.role})`;
    await until(`"${want}"`, () => whoami().textContent(), (t) => t.trim() === want);
    assert(await field.inputValue() === '', 'the token field was not cleared');
    const html = await page.content();
    assert(!html.includes(ADMIN), 'the token appears in the page');
  }, { required: true });

  await check('things: the created things are listed with their fields', async () => {
    const rows = await until('things a, b and c in the table', () => tableRows(page),
      (r) => THINGS.every((t) => names(r).includes(t.name)));
    const a = rows.find((r) => r[0] === THINGS[0].name);
    assert(a[1] === 'esp32-v2' && a[2] === '1.2.0' && a[3] === 'site=north',
      `row a is ${JSON.stringify(a)}`);
    assert(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(a[4]), `updated is "${a[4]}"`);
    const c = rows.find((r) => r[0] === THINGS[2].name);
    assert(c[1] === 'rpi4' && c[2] === '', `row c is ${JSON.stringify(c)}`);
    assert(c[3].split(', ').sort().join(', ') === 'note=<b>x</b>, site=north',
      `row c attributes are "${c[3]}"`);
    const bold = await page.getByRole('table', { name: 'Things' }).locator('b').count();
    assert(bold === 0, 'an attribute value was rendered as markup');
    await screenshot(page, 'dashboard.png');
  });

  await check('groups: the dynamic group is listed with its query', async () => {
    const list = page.getByRole('list', { name: 'Groups' });
    const want = `${GROUP.name} (dynamic: ${GROUP.query})`;
    await until('the group in the list', () => list.getByRole('listitem').allTextContents(),
      (items) => items.includes(want));
  });

  const jobsTable = () => page.getByRole('table', { name: 'Jobs' });
  const jobRow = () => jobsTable().evaluate((table, id) => {
    const tr = [...table.querySelectorAll('tbody tr')]
      .find((r) => r.querySelector('td').textContent === id);
    return tr ? [...tr.querySelectorAll('td')].map((td) => td.textContent) : null;
  }, JOB.job_id);

  await check('jobs: the job is listed with its status and progress', async () => {
    const row = await until('the job row', jobRow, (r) => r !== null);
    assert(row[1] === 'IN_PROGRESS' && row[2].trim() === '0/2' && row[6] === '2',
      `job row is ${JSON.stringify(row)}`);
    const bar = page.getByRole('progressbar', { name: `${JOB.job_id}: 0 of 2 finished` });
    assert(await bar.count() === 1, 'no labelled progress bar for the job');
  });

  const execRows = () => page.getByRole('table', { name: 'Executions' }).evaluate((table) =>
    [...table.querySelectorAll('tbody tr')].map((tr) =>
      [...tr.querySelectorAll('td')].map((td) => td.textContent)));

  await check('jobs: clicking a job shows its executions', async () => {
    await page.getByRole('button', { name: `Show executions of ${JOB.job_id}` }).click();
    const rows = await until('two executions', execRows, (r) => r.length === 2);
    const things = rows.map((r) => r[0]).sort();
    assert(JSON.stringify(things) === JSON.stringify([THINGS[0].name, THINGS[1].name]),
      `executions of ${things.join(' ')}`);
    assert(rows.every((r) => r[1] === 'QUEUED' && r[2] === '1'), JSON.stringify(rows));
    const title = await page.getByRole('heading', { name: `Executions of ${JOB.job_id}` }).count();
    assert(title === 1, 'no "Executions of <job>" heading');
  });

  await check('jobs: "Cancel" asks first, then cancels the job and its executions', async () => {
    const cancel = page.getByRole('button', { name: `Cancel ${JOB.job_id}` });
    page.once('dialog', (d) => d.dismiss());
    await cancel.click();
    await sleep(300);
    let row = await jobRow();
    assert(row[1] === 'IN_PROGRESS', `dismissed dialog still canceled: ${JSON.stringify(row)}`);
    page.once('dialog', (d) => d.accept());
    await cancel.click();
    row = await until('status CANCELED', jobRow, (r) => r && r[1] === 'CANCELED');
    assert(row[2].trim() === '2/2', `progress after cancel: ${row[2]}`);
    await until('executions CANCELED', execRows,
      (r) => r.length === 2 && r.every((x) => x[1] === 'CANCELED'));
    assert(await cancel.count() === 0, 'a canceled job still has a Cancel button');
    const api = await apiExpect('GET', `/api/v1/jobs/${JOB.job_id}`, undefined, 200);
    assert(api.status === 'CANCELED', `API says ${api.status}`);
    await screenshot(page, 'dashboard-jobs.png');
  });

  await check('releases: the draft release is listed', async () => {
    const rows = await until('the release row', () => page.getByRole('table',
      { name: 'Firmware releases' }).evaluate((table) => [...table.querySelectorAll('tbody tr')]
      .map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent))),
    (r) => r.some((x) => x[0] === RELEASE.product));
    const r = rows.find((x) => x[0] === RELEASE.product);
    assert(r[1] === '3.1.4' && r[2] === '2' && r[3] === 'esp32-v2' && r[4] === 'draft',
      `release row is ${JSON.stringify(r)}`);
  });

  await check('query: "name = <thing>" leaves only that row', async () => {
    const name = THINGS[1].name;
    await search(page, `name = ${name}`);
    await until(`only ${name}`, async () => names(await tableRows(page)),
      (n) => n.length === 1 && n[0] === name);
    const alert = (await thingsAlert().textContent()).trim();
    assert(alert === '', `unexpected alert "${alert}"`);
  });

  await check('query: a glob and an attribute select two rows', async () => {
    await search(page, GROUP.query);
    const want = [THINGS[0].name, THINGS[2].name].sort();
    await until(want.join(' and '), async () => names(await tableRows(page)).sort(),
      (n) => JSON.stringify(n) === JSON.stringify(want));
  });

  const more = () => page.getByRole('button', { name: 'Load more' });
  const pagedQuery = `name ~ "${PREFIX}-p*"`;

  await check('paging: "Load more" appends the second page, then hides', async () => {
    await search(page, pagedQuery);
    await until('a first page of 50', async () => (await tableRows(page)).length,
      (n) => n === 50);
    assert(await more().isVisible(), '"Load more" hidden with a next page');
    await more().click();
    const rows = await until('all 52 rows', () => tableRows(page), (r) => r.length === 52);
    const want = PAGED.map((t) => t.name);
    assert(JSON.stringify(names(rows)) === JSON.stringify(want),
      `rows out of order or duplicated: ${names(rows).join(' ')}`);
    await until('"Load more" hidden', () => more().isVisible(), (v) => v === false);
  });

  await check('paging: "Load more" keeps the submitted query, not an edited field', async () => {
    await search(page, pagedQuery);
    await until('a first page of 50', async () => (await tableRows(page)).length,
      (n) => n === 50);
    await page.getByLabel('Query', { exact: true }).fill(`name = ${THINGS[0].name}`);
    await more().click();
    const rows = await until('52 rows', () => tableRows(page), (r) => r.length >= 52);
    assert(rows.length === 52 && names(rows).every((n) => n.startsWith(`${PREFIX}-p`)),
      `rows after "Load more": ${names(rows).join(' ')}`);
  });

  await check('query: a late reply of an earlier search does not overwrite a newer one',
    async () => {
      const slow = `name = ${THINGS[0].name}`;
      const isSlow = (url) => new URL(url).searchParams.get('query') === slow;
      await page.route(isSlow, async (route) => {
        await sleep(1000);
        await route.continue().catch(() => {});
      });
      try {
        const slowDone = page.waitForResponse((r) => isSlow(r.url()));
        await search(page, slow);
        await search(page, `name = ${THINGS[1].name}`);
        await slowDone;
        await sleep(300); // let the page handle the late reply
        const rows = names(await tableRows(page));
        assert(JSON.stringify(rows) === JSON.stringify([THINGS[1].name]),
          `rows after the late reply: ${rows.join(' ')}`);
      } finally {
        await page.unroute(isSlow);
      }
    });

  await check('query: an invalid query shows an error alert and no rows', async () => {
    await search(page, pagedQuery);
    await until('"Load more" shown', () => more().isVisible(), (v) => v === true);
    await search(page, 'name = = x');
    await until('the invalid_query alert', () => thingsAlert().textContent(),
      (t) => /^400: invalid query/.test(t.trim()));
    const rows = await tableRows(page);
    assert(rows.length === 0, `${rows.length} rows shown with the error`);
    assert(!(await more().isVisible()), '"Load more" still shown with the error');
    await screenshot(page, 'dashboard-invalid-query.png');
  });

  await check('query: clearing the query clears the alert and lists all again', async () => {
    await search(page, '');
    await until('things a, b and c back', async () => names(await tableRows(page)),
      (n) => THINGS.every((t) => n.includes(t.name)));
    const alert = (await thingsAlert().textContent()).trim();
    assert(alert === '', `alert still says "${alert}"`);
  });

  await check('auth: a rejected token clears the data shown', async () => {
    await page.getByLabel('Bearer token').fill(`bw_${'B'.repeat(43)}`);
    await page.getByRole('button', { name: 'Use token' }).click();
    await until('"token rejected"', () => whoami().textContent(),
      (t) => /^token rejected \(401: /.test(t.trim()));
    const rows = await tableRows(page);
    const groups = await page.getByRole('list', { name: 'Groups' }).getByRole('listitem').count();
    assert(rows.length === 0 && groups === 0,
      `still shown: ${rows.length} things, ${groups} groups`);
    assert(!(await more().isVisible()), '"Load more" still shown');
  });

  await check('page: no script errors', async () => {
    assert(pageErrors.length === 0, pageErrors.join('; '));
  });
}

// Deletes what main() created; counted as a check so leftovers are noticed.
async function cleanup() {
  await check('api: delete the created group and things', async () => {
    const problems = await deleteCreated();
    assert(problems.length === 0, problems.slice(0, 5).join('; ') +
      (problems.length > 5 ? ` and ${problems.length - 5} more` : ''));
  });
}

try {
  await main();
} catch (e) {
  results.failed++;
  console.log(`FAIL dashboard: ${e.stack || e.message}`);
} finally {
  if (browserContext) {
    await Promise.race([browserContext.close().catch(() => {}), sleep(WAIT_MS)]);
  }
  cleanupProfile();
  blockedBy = null;
  await cleanup();
}
console.log(`${results.passed} passed, ${results.failed} failed`);
process.exit(results.failed > 0 ? 1 : 0);
