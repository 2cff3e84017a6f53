/**
 * The dashboard in real headless Chromium (Debian's, driven by playwright-core), against a
 * real run: Redis, PostgreSQL, s3rver, `jobs` and a `worker` spawned as an admin would.
 * The overview shows the run's counts while it runs and exactly the final ones after;
 * basic auth refuses a wrong password; no secret appears in any page; a screenshot is saved
 * to test-artifacts/dashboard.png. `jobs --follow`'s pass and lag show in the header
 * (test-artifacts/dashboard-follow.png).
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { fakeInstance, referencedKeys, snowflake } from '../../dev/fake-instance.ts';
import type { Proxy as RecordingProxy } from '../../dev/proxy.ts';
import type { S3Server } from '../../dev/s3.ts';
import { runCli } from '../helpers/cli.ts';
import type { TestDatabase } from '../helpers/pg.ts';
import { dropPrefix, REDIS_URL, testPrefix } from '../helpers/redis.ts';
import { startServing } from '../helpers/serving.ts';
import {
  describeRun,
  type RunningCli,
  removeTempInis,
  s3Section,
  seedDatabase,
  sleep,
  startCli,
  tempIni,
  uniqueBytes,
} from '../helpers/sync-env.ts';
import { startWorld, type World } from '../helpers/world.ts';

const SOURCE_KEYS = { accessKeyId: 'DASH-SRC-ACCESS-1', secretAccessKey: 'dash-src-Secret-u7i8o9' };
const DEST_KEYS = { accessKeyId: 'DASH-DST-ACCESS-2', secretAccessKey: 'dash-dst-Secret-p0a1s2' };
const DASH_PASSWORD = 'dash-Board-Pass-x3c4v5';
const SECRETS = [...Object.values(SOURCE_KEYS), ...Object.values(DEST_KEYS), DASH_PASSWORD];
const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts');

const rows = fakeInstance({ media: 300, seed: 5 });
const keys = referencedKeys(rows);
const MISSING = keys[7]!.key;

let world: World;
let db: TestDatabase;
let source: S3Server;
let slow: RecordingProxy;
let browser: Browser;
const prefix = testPrefix('dash');
const running: RunningCli[] = [];

function config(extra = ''): string {
  return tempIni(
    s3Section('source', { endpoint: source.endpoint, ...SOURCE_KEYS }, 'dash-source') +
      s3Section('destination', { endpoint: slow.endpoint, ...DEST_KEYS }, 'dash-dest') +
      db.iniSection() +
      `[queue]\nredis = ${REDIS_URL}\nprefix = ${prefix}\nbatch_size = 40\nconcurrency = 4\nlock_seconds = 3\n\n${extra}`,
  );
}

/** Starts `dashboard --port 0` and returns its URL, read from its log line. */
async function startDashboard(ini: string) {
  const dashboard = await startServing(['dashboard', '--config', ini, '--port', '0'], 'dashboard');
  running.push(dashboard.run);
  return dashboard;
}

async function cellText(page: Page, table: string, field: string): Promise<string> {
  return (await page.locator(`tr[data-table="${table}"] td[data-field="${field}"]`).textContent()) ?? '';
}

const asNumber = (text: string) => Number(text.replace(/,/g, ''));

before(async () => {
  world = await startWorld({
    dbPrefix: 'msst_dash',
    source: { bucket: 'dash-source', keys: SOURCE_KEYS },
    dest: { buckets: ['dash-dest'], keys: DEST_KEYS },
    rows,
    objects: keys
      .filter((k) => k.key !== MISSING)
      .map((k) => ({ key: k.key, body: uniqueBytes(k), contentType: k.contentType })),
    destProxy: { latencyMs: 25, record: false },
  });
  ({ db, source } = world);
  slow = world.destProxy!;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

after(async () => {
  for (const run of running) run.child.kill('SIGKILL');
  await Promise.all(running.map((r) => r.done.catch(() => {})));
  await browser?.close();
  removeTempInis();
  await dropPrefix(REDIS_URL, prefix).catch(() => {});
  await world?.stop();
});

describe('dashboard', () => {
  it('shows the counts of a run while it runs and after it ended', async () => {
    const ini = config();
    const { url } = await startDashboard(ini);
    const page = await browser.newPage();
    await page.goto(url);
    await page
      .locator('#state')
      .filter({ hasText: /waiting|running|finished/ })
      .waitFor();
    assert.match((await page.locator('#tables').textContent()) ?? '', /Nothing queued yet/);

    const queued = await runCli(['jobs', '--config', ini, '--log-level', 'warn', '--json']);
    assert.equal(queued.code, 0, describeRun(queued));
    const worker = startCli(['worker', '--config', ini, '--log-level', 'warn'], 240_000);
    running.push(worker);

    // During the run: some objects copied, not all.
    let during = 0;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const copied = asNumber(await cellText(page, 'media_attachments', 'copied').catch(() => '0'));
      if (copied > 0) {
        during = copied;
        break;
      }
      await sleep(100);
    }
    assert.ok(during > 0, 'the page showed copies while the run was going');
    assert.equal(await page.locator('#worker-count').textContent(), '1');

    // After: the page shows exactly what `status --json` reports.
    await page.locator('#state').filter({ hasText: 'finished' }).waitFor({ timeout: 120_000 });
    await sleep(1500); // one more refresh
    const status = JSON.parse((await runCli(['status', '--config', ini, '--json'])).stdout) as {
      tables: Array<{
        table: string;
        copied: number;
        skipped: number;
        missing: number;
        failed: number;
        done: number;
      }>;
      totals: { copied: number; missing: number; done: number; keysExpected: number };
    };
    assert.equal(status.totals.done, keys.length);
    assert.equal(status.totals.missing, 1);
    assert.equal(status.totals.copied, keys.length - 1);
    for (const t of status.tables) {
      assert.equal(asNumber(await cellText(page, t.table, 'copied')), t.copied, `${t.table} copied`);
      assert.equal(asNumber(await cellText(page, t.table, 'missing')), t.missing, `${t.table} missing`);
      assert.equal(asNumber(await cellText(page, t.table, 'failed')), t.failed, `${t.table} failed`);
    }
    assert.equal(
      await cellText(page, 'all tables', 'keys'),
      `${keys.length.toLocaleString('en-US')} / ${keys.length.toLocaleString('en-US')}`,
    );
    assert.match(await cellText(page, 'all tables', 'percent'), /100\.0%/);
    // The missing key is listed among the latest problems, with its reason.
    const problems = (await page.locator('#problems').textContent()) ?? '';
    assert.ok(problems.includes(MISSING), problems);
    assert.match(problems, /not found at the source/);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });

    // Bull Board is mounted, read-only without credentials.
    const board = await page.goto(`${url}queues`);
    assert.equal(board?.status(), 200);
    const html = `${await page.content()}${JSON.stringify(await (await fetch(`${url}api/overview`)).json())}`;
    for (const secret of SECRETS) assert.ok(!html.includes(secret), 'no secret in the pages');
    const retry = await fetch(`${url}queues/api/queues/media_attachments/retry/failed`, { method: 'PUT' });
    assert.notEqual(retry.status, 200, 'no state-changing endpoint without auth');
    await page.close();
    worker.child.kill('SIGTERM');
    assert.equal((await worker.done).code, 0);
  });

  it("shows jobs --follow's pass and lag: 0 when caught up, growing while its batches wait", async () => {
    const ini = config();
    const { url } = await startDashboard(ini);
    const page = await browser.newPage();
    await page.goto(url);
    // The bulk pass queues every row again (follow batches have their own ids); the worker
    // finds everything at the destination.
    const bulkWorker = startCli(['worker', '--config', ini, '--log-level', 'warn'], 120_000);
    running.push(bulkWorker);
    const follower = startCli(
      ['jobs', '--follow', '--interval', '1s', '--config', ini, '--log-level', 'warn'],
      120_000,
    );
    running.push(follower);
    await page.locator('#follow').waitFor({ state: 'visible', timeout: 30_000 });
    // Pass 2 has begun (the bulk pass is over) and the lag is 0.
    await page
      .locator('#follow-pass')
      .filter({ hasText: /^([2-9]|\d\d+)$/ })
      .waitFor({ timeout: 60_000 });
    await page
      .locator('#follow-lag')
      .filter({ hasText: /^0\.0 s$/ })
      .waitFor({ timeout: 60_000 });
    assert.equal(await page.locator('#state').textContent(), 'following');
    bulkWorker.child.kill('SIGTERM');
    assert.equal((await bulkWorker.done).code, 0);

    // New rows while no worker runs: the pass waits for its batches, the lag grows.
    await seedDatabase(db, {
      media_attachments: [0, 1, 2].map((i) => ({
        id: snowflake(Date.now() + i, i),
        type: 0,
        file_file_name: `dashfollow${i}aaaabbbb.png`,
        file_content_type: 'image/png',
        file_file_size: null,
        file_storage_schema_version: 1,
        remote_url: '',
      })),
    });
    const deadline = Date.now() + 30_000;
    let lag = 0;
    while (Date.now() < deadline && lag < 2) {
      lag = Number.parseFloat((await page.locator('#follow-lag').textContent()) ?? '0');
      await sleep(200);
    }
    assert.ok(lag >= 2, `lag shown while the pass waits: ${lag}`);
    assert.notEqual(await page.locator('#follow-pending').textContent(), '0');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-follow.png'), fullPage: true });

    // A worker takes the batches: the pass ends, the lag is 0 again.
    const worker = startCli(['worker', '--config', ini, '--log-level', 'warn'], 120_000);
    running.push(worker);
    await page
      .locator('#follow-lag')
      .filter({ hasText: /^0\.0 s$/ })
      .waitFor({ timeout: 60_000 });
    follower.child.kill('SIGTERM');
    assert.equal((await follower.done).code, 0);
    await page.locator('#follow').waitFor({ state: 'hidden', timeout: 10_000 });
    await page.close();
    worker.child.kill('SIGTERM');
    assert.equal((await worker.done).code, 0);
  });

  it('basic auth: a wrong password is refused, the right one is let in', async () => {
    const ini = config(`[dashboard]\nuser = admin\npassword = ${DASH_PASSWORD}\n`);
    const { url } = await startDashboard(ini);
    const wrong = await browser.newContext({ httpCredentials: { username: 'admin', password: 'not-it' } });
    const refused = await (await wrong.newPage()).goto(url);
    assert.equal(refused?.status(), 401);
    await wrong.close();
    for (const path of ['api/overview', 'queues', 'queues/api/queues']) {
      assert.equal((await fetch(`${url}${path}`)).status, 401, `${path} without credentials`);
    }
    const right = await browser.newContext({
      httpCredentials: { username: 'admin', password: DASH_PASSWORD },
    });
    const page = await right.newPage();
    const ok = await page.goto(url);
    assert.equal(ok?.status(), 200);
    await page.locator('tr[data-table="media_attachments"]').waitFor();
    assert.ok(!(await page.content()).includes(DASH_PASSWORD));
    await right.close();
  });

  it('refuses to listen off loopback without basic auth (exit 2, names the key)', async () => {
    const result = await runCli(['dashboard', '--config', config(), '--host', '0.0.0.0', '--port', '0']);
    assert.equal(result.code, 2, describeRun(result));
    assert.match(result.stderr, /\[dashboard\] password: .*requires basic auth/);
  });
});
