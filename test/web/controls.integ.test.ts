/**
 * The dashboard's controls and chart in real headless Chromium against a real distributed run
 * (Redis, PostgreSQL, s3rver, `jobs`, a `worker`, `dashboard` spawned as an admin would):
 *
 * - pause stops one table while the others go on; resume lets it finish;
 * - a failed batch's keys are listed with their reasons; "retry failed" requeues exactly it;
 * - the throughput chart draws points from the live run (test-artifacts/dashboard-chart.png);
 * - each action asks first and is logged with its user;
 * - without basic auth there are no controls and the POSTs are refused; a cross-origin POST, or
 *   one without the dashboard's header, is refused; no action answers a GET; no secret shows.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { type Browser, chromium, type Page } from 'playwright-core';
import { fakeInstance, referencedKeys } from '../../dev/fake-instance.ts';
import { runCli } from '../helpers/cli.ts';
import type { TestDatabase } from '../helpers/pg.ts';
import { dropPrefix, REDIS_URL, testPrefix } from '../helpers/redis.ts';
import { startServing } from '../helpers/serving.ts';
import {
  describeRun,
  type RunningCli,
  removeTempInis,
  s3Section,
  sleep,
  startCli,
  tempIni,
  uniqueBytes,
} from '../helpers/sync-env.ts';
import { startWorld, type World } from '../helpers/world.ts';

const SOURCE_KEYS = { accessKeyId: 'CTL-SRC-ACCESS-1', secretAccessKey: 'ctl-src-Secret-z1x2c3' };
const DEST_KEYS = { accessKeyId: 'CTL-DST-ACCESS-2', secretAccessKey: 'ctl-dst-Secret-v4b5n6' };
const USER = 'admin';
const PASSWORD = 'ctl-Board-Pass-m7q8w9';
const SECRETS = [...Object.values(SOURCE_KEYS), ...Object.values(DEST_KEYS), PASSWORD];
const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts');
const AUTH = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
/** A media row whose file name holds a backslash: both its keys are refused as unsafe, every time. */
const BAD_ID = '109999999999999990';

const rows = fakeInstance({ media: 200, seed: 19 });
const keys = referencedKeys(rows);
const prefix = testPrefix('controls');

let world: World;
let db: TestDatabase;
let browser: Browser;
const running: RunningCli[] = [];

function config(withAuth: boolean): string {
  return tempIni(
    s3Section('source', { endpoint: world.source.endpoint, ...SOURCE_KEYS }, 'ctl-source') +
      s3Section('destination', { endpoint: world.destProxy!.endpoint, ...DEST_KEYS }, 'ctl-dest') +
      db.iniSection() +
      `[queue]\nredis = ${REDIS_URL}\nprefix = ${prefix}\nbatch_size = 20\nconcurrency = 2\nlock_seconds = 3\nattempts = 1\n\n` +
      `[dashboard]\nsample_seconds = 1\n${withAuth ? `user = ${USER}\npassword = ${PASSWORD}\n` : ''}`,
  );
}

async function startDashboard(ini: string) {
  const dashboard = await startServing(
    ['dashboard', '--config', ini, '--port', '0', '--log-level', 'info'],
    'dashboard',
  );
  running.push(dashboard.run);
  return dashboard;
}

const asNumber = (text: string) => Number(text.replace(/,/g, ''));
async function cell(page: Page, table: string, field: string): Promise<number> {
  return asNumber(
    (await page.locator(`tr[data-table="${table}"] td[data-field="${field}"]`).textContent()) ?? '0',
  );
}
const doneOf = async (page: Page, table: string) =>
  (await cell(page, table, 'copied')) +
  (await cell(page, table, 'skipped')) +
  (await cell(page, table, 'failed'));

async function until(what: string, check: () => Promise<boolean>, ms = 90_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}`);
}

before(async () => {
  world = await startWorld({
    dbPrefix: 'msst_controls',
    source: { bucket: 'ctl-source', keys: SOURCE_KEYS },
    dest: { buckets: ['ctl-dest'], keys: DEST_KEYS },
    rows,
    objects: keys.map((k) => ({ key: k.key, body: uniqueBytes(k), contentType: k.contentType })),
    destProxy: { latencyMs: 40, record: false },
  });
  db = world.db;
  await db.client.query(
    `INSERT INTO media_attachments (id, type, file_file_name, file_content_type, file_file_size, remote_url, created_at, updated_at, shortcode)
     VALUES ($1, 0, 'bad\\name.png', 'image/png', 10, '', now(), now(), 'ctlbadrow')`,
    [BAD_ID],
  );
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
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

describe('dashboard controls and chart', () => {
  it('pause, resume, failed keys, retry failed, the chart; each action confirmed and logged', async () => {
    const ini = config(true);
    const queued = await runCli(['jobs', '--config', ini, '--log-level', 'warn']);
    assert.equal(queued.code, 0, describeRun(queued));
    const dashboard = await startDashboard(ini);
    const context = await browser.newContext({ httpCredentials: { username: USER, password: PASSWORD } });
    const page = await context.newPage();
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.accept();
    });
    await page.goto(dashboard.url);
    await page.locator('tr[data-table="media_attachments"] button[data-action="pause"]').waitFor();

    // Paused before any worker runs: the other tables are copied, this one waits.
    await page.locator('tr[data-table="media_attachments"] button[data-action="pause"]').click();
    await page.locator('#action-result').filter({ hasText: 'media_attachments: pause done' }).waitFor();
    assert.match(dialogs.at(-1)!, /Pause media_attachments\?/);
    await page
      .locator('tr[data-table="media_attachments"] td[data-field="jobs"]')
      .filter({ hasText: '(paused)' })
      .waitFor();
    const worker = startCli(['worker', '--config', ini, '--log-level', 'warn'], 240_000);
    running.push(worker);
    const others = ['accounts', 'custom_emojis', 'preview_cards'];
    await until('the other tables copied', async () => {
      for (const table of others) {
        const expected = keys.filter((k) => k.table === table).length;
        if ((await doneOf(page, table)) < expected) return false;
      }
      return true;
    });
    await sleep(1500);
    assert.equal(await doneOf(page, 'media_attachments'), 0, 'a paused table makes no progress');
    const expectedMedia = keys.filter((k) => k.table === 'media_attachments').length + 2;

    await page.locator('tr[data-table="media_attachments"] button[data-action="resume"]').click();
    await page.locator('#action-result').filter({ hasText: 'media_attachments: resume done' }).waitFor();
    await page.locator('#state').filter({ hasText: 'finished' }).waitFor({ timeout: 120_000 });
    assert.equal(await doneOf(page, 'media_attachments'), expectedMedia);

    // The bad row's batch failed: its keys, with their reasons.
    await page.locator('tr[data-table="media_attachments"] button[data-action="failed"]').click();
    await page.locator('#failed td').filter({ hasText: 'bad\\name.png' }).first().waitFor();
    const failedText = (await page.locator('#failed').textContent()) ?? '';
    assert.match(failedText, /unsafe key/);
    assert.equal(await page.locator('#failed tr').count(), 2, 'the two keys of the bad row');

    // Retry failed: exactly that batch is queued again (as jobs --retry-failed does).
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue('media_attachments', { connection, prefix });
    try {
      const [failedJob] = await queue.getFailed();
      assert.ok(failedJob);
      await page.locator('tr[data-table="media_attachments"] button[data-action="retry-failed"]').click();
      await page.locator('#action-result').filter({ hasText: '(1 jobs queued again)' }).waitFor();
      await until('the retry job ran', async () => {
        const failed = await queue.getFailed();
        return failed.length === 1 && failed[0]!.id === `${failedJob.id}-retry1`;
      });
      const [retried] = await queue.getFailed();
      assert.deepEqual(
        (retried!.data as { keys: Array<{ key: string }> }).keys.map((k) => k.key).sort(),
        (failedJob.data as { failures: Array<{ key: string }> }).failures.map((f) => f.key).sort(),
        'only the failed keys were queued again',
      );
    } finally {
      await queue.close();
      connection.disconnect();
    }
    assert.equal(dialogs.length, 3, dialogs.join(' | '));

    // The chart: points from this run, an ETA line.
    await until(
      'chart points',
      async () => Number(await page.locator('#chart-box').getAttribute('data-points')) >= 3,
    );
    await page.locator('#chart canvas').first().waitFor();
    assert.match((await page.locator('#eta-line').textContent()) ?? '', /^ETA/);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-chart.png'), fullPage: true });

    // Logged with who did it.
    for (const action of ['pause', 'resume', 'retry-failed']) {
      assert.match(dashboard.log(), new RegExp(`dashboard action.*${action}|${action}.*dashboard action`));
    }
    assert.match(dashboard.log(), /user[=:" ]+"?admin/);

    // Cross-site and header-less POSTs are refused even with the right password; GET does nothing.
    const actionUrl = `${dashboard.url}api/tables/accounts/pause`;
    const crossOrigin = await fetch(actionUrl, {
      method: 'POST',
      headers: { authorization: AUTH, origin: 'http://evil.example', 'x-mastodon-s3-sync-action': '1' },
    });
    assert.equal(crossOrigin.status, 403);
    const noHeader = await fetch(actionUrl, { method: 'POST', headers: { authorization: AUTH } });
    assert.equal(noHeader.status, 403);
    const viaGet = await fetch(actionUrl, { headers: { authorization: AUTH } });
    assert.equal(viaGet.status, 404);
    const withoutPassword = await fetch(actionUrl, {
      method: 'POST',
      headers: { 'x-mastodon-s3-sync-action': '1' },
    });
    assert.equal(withoutPassword.status, 401);
    assert.equal(
      (
        await fetch(`${dashboard.url}api/overview`, { headers: { authorization: AUTH } }).then((r) =>
          r.json(),
        )
      ).tables.find((t: { table: string }) => t.table === 'accounts').paused,
      false,
    );

    // No secret in any page or API answer.
    const answers = await Promise.all(
      [
        '',
        'api/overview',
        'api/problems',
        'api/samples',
        'api/tables/media_attachments/failed',
        'metrics',
      ].map((path) =>
        fetch(`${dashboard.url}${path}`, { headers: { authorization: AUTH } }).then((r) => r.text()),
      ),
    );
    for (const secret of SECRETS)
      assert.ok(!answers.join('\n').includes(secret) && !dashboard.log().includes(secret));
    await context.close();
    worker.child.kill('SIGTERM');
    assert.equal((await worker.done).code, 0);
  });

  it('without basic auth: no controls on the page, and the POSTs are refused', async () => {
    const dashboard = await startDashboard(config(false));
    const page = await browser.newPage();
    await page.goto(dashboard.url);
    await page.locator('tr[data-table="accounts"]').waitFor();
    assert.equal(await page.locator('button[data-action]').count(), 0);
    const refused = await fetch(`${dashboard.url}api/tables/accounts/pause`, {
      method: 'POST',
      headers: { 'x-mastodon-s3-sync-action': '1' },
    });
    assert.equal(refused.status, 403);
    assert.match((await refused.json()).error, /read-only/);
    await page.close();
  });
});
