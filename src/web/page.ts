/**
 * The overview page: static HTML plus a small script that polls /api/overview every second and
 * fills the tables, and /api/samples every 5 s for the throughput chart (uPlot, served from
 * /assets). With basic auth, each table row has its controls (POSTs, confirmed first).
 * Everything from Redis is inserted as text (textContent), never as HTML.
 * Element ids and data-field attributes are what the browser test reads.
 */
import { byteRate, bytes, count, duration, eta } from '../lib/format.ts';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d2330; background: #f7f8fa; }
h1 { font-size: 1.3rem; margin: 0 0 .2rem; } h2 { font-size: 1.05rem; margin: 1.5rem 0 .5rem; }
.sub { color: #5b6478; margin-bottom: 1rem; }
table { border-collapse: collapse; width: 100%; background: #fff; box-shadow: 0 1px 2px #0002; }
th, td { padding: .35rem .6rem; text-align: right; border-bottom: 1px solid #e6e8ee; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; } td.reason { text-align: left; white-space: normal; }
th { background: #eef0f5; font-weight: 600; }
.bar { width: 160px; height: 10px; background: #e6e8ee; border-radius: 5px; overflow: hidden; display: inline-block; vertical-align: middle; }
.bar > span { display: block; height: 100%; background: #5a67d8; }
.failed { color: #c53030; font-weight: 600; } .missing { color: #b7791f; }
tr.total td { font-weight: 600; background: #f3f4f8; }
#state { font-weight: 600; } a { color: #434190; }
button { font: inherit; font-size: 12px; margin: 0 .15rem; padding: .1rem .45rem; border: 1px solid #b8bdd0; border-radius: 4px; background: #fff; cursor: pointer; }
button:hover { background: #eef0f5; } td.actions { white-space: nowrap; }
#chart-box { background: #fff; box-shadow: 0 1px 2px #0002; padding: .5rem; } #eta-line { margin: .3rem 0 .5rem; color: #33394a; }
`;

const SCRIPT = `
const $ = (id) => document.getElementById(id);
// The CLI's own formatting (lib/format.ts), embedded: the same units on the page and the terminal.
${count.toString()}
${bytes.toString()}
${byteRate.toString()}
${duration.toString()}
${eta.toString()}
const fmt = count;
function cell(tr, text, field, cls) {
  const td = document.createElement('td'); td.textContent = text;
  if (field) td.dataset.field = field; if (cls) td.className = cls; tr.appendChild(td); return td;
}
function tableRow(t, name, total) {
  const tr = document.createElement('tr'); tr.dataset.table = name; if (total) tr.className = 'total';
  cell(tr, name);
  const td = document.createElement('td'); const bar = document.createElement('div'); bar.className = 'bar';
  const fill = document.createElement('span'); fill.style.width = t.percent.toFixed(1) + '%'; bar.appendChild(fill);
  td.appendChild(bar); td.appendChild(document.createTextNode(' ' + t.percent.toFixed(1) + '%')); td.dataset.field = 'percent'; tr.appendChild(td);
  cell(tr, fmt(t.done) + ' / ' + fmt(t.keysExpected), 'keys');
  cell(tr, fmt(t.copied), 'copied'); cell(tr, fmt(t.skipped), 'skipped');
  cell(tr, fmt(t.missing), 'missing', t.missing ? 'missing' : ''); cell(tr, fmt(t.failed), 'failed', t.failed ? 'failed' : '');
  cell(tr, bytes(t.bytes), 'bytes'); cell(tr, t.objectsPerSecond.toFixed(1), 'objectsPerSecond');
  cell(tr, byteRate(t.bytesPerSecond), 'mbPerSecond'); cell(tr, eta(t.etaSeconds), 'eta');
  cell(tr, fmt(t.jobs.waiting) + ' / ' + fmt(t.jobs.active) + ' / ' + fmt(t.jobs.failed) + (t.paused ? ' (paused)' : ''), 'jobs');
  if (CONTROLS) { if (total) cell(tr, ''); else controls(tr, t); }
  return tr;
}
const CONTROLS = document.body.dataset.controls === '1';
async function act(table, action) {
  const text = { pause: 'Pause ' + table + '? Workers finish the batches they hold and take no more of this table until it is resumed.',
    resume: 'Resume ' + table + '?', 'retry-failed': 'Queue the failed keys of ' + table + ' again (jobs --retry-failed)?' }[action];
  if (!confirm(text)) return;
  const r = await fetch('api/tables/' + encodeURIComponent(table) + '/' + action, { method: 'POST', headers: { 'x-mastodon-s3-sync-action': '1' } });
  const body = await r.json().catch(() => ({}));
  $('action-result').textContent = r.ok ? (table + ': ' + action + ' done' + (body.requeued !== undefined ? ' (' + body.requeued + ' jobs queued again)' : '')) : (table + ': ' + action + ' refused: ' + (body.error || r.status));
  refresh();
}
async function showFailed(table) {
  const r = await fetch('api/tables/' + encodeURIComponent(table) + '/failed', { cache: 'no-store' });
  $('failed-title').hidden = false; $('failed-table').textContent = table;
  const body = $('failed'); body.replaceChildren();
  if (!r.ok) { const tr = document.createElement('tr'); const td = cell(tr, 'cannot read the failed batches (HTTP ' + r.status + ')', '', 'failed'); td.colSpan = 4; body.appendChild(tr); return; }
  const batches = await r.json();
  for (const b of batches) {
    const keys = b.failures.length ? b.failures : [{ key: '(the whole batch: ' + b.keys + ' keys)', reason: b.error }];
    for (const f of keys) {
      const tr = document.createElement('tr'); cell(tr, b.id); cell(tr, f.key, 'key', 'reason'); cell(tr, f.reason, 'reason', 'reason'); cell(tr, String(b.attempts)); body.appendChild(tr);
    }
  }
  if (batches.length === 0) { const tr = document.createElement('tr'); const td = cell(tr, 'no failed batches'); td.colSpan = 4; body.appendChild(tr); }
}
function button(td, label, action, table) {
  const b = document.createElement('button'); b.textContent = label; b.dataset.action = action;
  b.addEventListener('click', () => action === 'failed' ? showFailed(table) : act(table, action)); td.appendChild(b);
}
function controls(tr, t) {
  const td = document.createElement('td'); td.className = 'actions'; tr.appendChild(td);
  if (t.paused) button(td, 'resume', 'resume', t.table); else button(td, 'pause', 'pause', t.table);
  if (t.jobs.failed > 0) { button(td, 'retry failed', 'retry-failed', t.table); button(td, 'failed keys', 'failed', t.table); }
}
let chart = null;
function rateSeries(samples, table) {
  const xs = [], objects = [], mbs = [];
  const pick = (s) => table ? (s.tables[table] || { done: 0, bytes: 0 }) : s;
  for (let i = 1; i < samples.length; i++) {
    const a = pick(samples[i - 1]), b = pick(samples[i]); const dt = (samples[i].at - samples[i - 1].at) / 1000;
    if (dt <= 0) continue;
    xs.push(samples[i].at / 1000); objects.push(Math.max(0, (b.done - a.done) / dt)); mbs.push(Math.max(0, (b.bytes - a.bytes) / dt / 1048576));
  }
  return [xs, objects, mbs];
}
function etaText(samples) {
  if (samples.length < 2) return 'ETA: measuring';
  const last = samples[samples.length - 1];
  if (last.remaining === 0) return 'ETA: done';
  let first = samples[0];
  for (const s of samples) if (last.at - s.at <= 600000) { first = s; break; }
  const rate = (last.done - first.done) / Math.max(1, (last.at - first.at) / 1000);
  if (rate <= 0) return 'ETA: unknown (nothing done in the last ' + duration((last.at - first.at) / 1000) + ')';
  const seconds = last.remaining / rate;
  return 'ETA ' + new Date(last.at + seconds * 1000).toLocaleTimeString() + ' (in ' + eta(seconds) + '), ' + fmt(last.remaining) + ' keys left at ' + rate.toFixed(1) + ' objects/s';
}
async function refreshChart() {
  try {
    const r = await fetch('api/samples', { cache: 'no-store' }); if (!r.ok) return;
    const samples = await r.json();
    const select = $('chart-table'); const names = new Set(); for (const s of samples) for (const n of Object.keys(s.tables)) names.add(n);
    for (const n of names) if (![...select.options].some((o) => o.value === n)) { const o = document.createElement('option'); o.value = n; o.textContent = n; select.appendChild(o); }
    const data = rateSeries(samples, select.value);
    $('eta-line').textContent = etaText(samples);
    $('chart-box').dataset.points = String(data[0].length);
    if (typeof uPlot === 'undefined') return;
    if (!chart) {
      chart = new uPlot({ width: Math.min(1100, document.body.clientWidth - 40), height: 220,
        series: [{}, { label: 'objects/s', stroke: '#5a67d8', width: 2, scale: 'obj' }, { label: 'MiB/s', stroke: '#38a169', width: 2, scale: 'mb' }],
        axes: [{}, { scale: 'obj', label: 'objects/s' }, { scale: 'mb', side: 1, label: 'MiB/s', grid: { show: false } }],
        // The window grows with the run, up to the last hour (in the server's clock, the samples').
        scales: { x: { time: true, range: (u) => { const xs = u.data[0]; const now = xs.length ? xs[xs.length - 1] : Date.now() / 1000; const first = xs.length ? xs[0] : now; return [Math.max(now - 3600, Math.min(first, now - 60)), now]; } } } }, data, $('chart'));
    } else chart.setData(data);
  } catch (e) { /* the overview shows connection problems */ }
}
function render(o) {
  const body = $('tables'); body.replaceChildren();
  for (const t of o.tables) body.appendChild(tableRow(t, t.table, false));
  if (o.tables.length > 1) body.appendChild(tableRow(o.totals, 'all tables', true));
  if (o.tables.length === 0) { const tr = document.createElement('tr'); const td = cell(tr, 'Nothing queued yet: run "mastodon-s3-sync jobs".'); td.colSpan = CONTROLS ? 13 : 12; body.appendChild(tr); }
  const workers = $('workers'); workers.replaceChildren();
  for (const w of o.workers) {
    const tr = document.createElement('tr'); cell(tr, w.host + ' (pid ' + w.pid + ')');
    cell(tr, String(w.concurrency)); cell(tr, String(w.inFlight ?? 0), 'inFlight'); cell(tr, String(w.activeJobs)); cell(tr, eta((o.at - w.startedAt) / 1000)); workers.appendChild(tr);
  }
  $('worker-count').textContent = String(o.workers.length);
  const problems = $('problems'); problems.replaceChildren();
  for (const p of o.problems) {
    const tr = document.createElement('tr'); cell(tr, new Date(p.at).toISOString().replace('T', ' ').slice(0, 19));
    cell(tr, p.table); cell(tr, p.status, '', p.status); cell(tr, p.key, '', 'reason'); cell(tr, p.reason, '', 'reason'); problems.appendChild(tr);
  }
  if (o.problems.length === 0) { const tr = document.createElement('tr'); const td = cell(tr, 'none'); td.colSpan = 5; problems.appendChild(tr); }
  const t = o.totals; const finished = t.keysExpected > 0 && t.done >= t.keysExpected && t.jobs.waiting + t.jobs.active + t.jobs.delayed === 0;
  $('state').textContent = finished ? (o.follow ? 'following' : 'finished') : (o.workers.length ? 'running' : 'waiting for workers');
  $('updated').textContent = new Date(o.at).toLocaleTimeString();
  const f = o.follow; $('follow').hidden = !f;
  if (f) { $('follow-pass').textContent = String(f.pass); $('follow-lag').textContent = f.lagSeconds.toFixed(1) + ' s'; $('follow-pending').textContent = fmt(f.pendingBatches); }
}
async function refresh() {
  try {
    const r = await fetch('api/overview', { cache: 'no-store' });
    if (!r.ok) throw new Error('HTTP ' + r.status);
    render(await r.json()); $('error').textContent = '';
  } catch (e) { $('error').textContent = 'cannot reach the overview (' + e.message + '), retrying'; }
}
refresh(); setInterval(refresh, 1000);
refreshChart(); setInterval(refreshChart, 5000);
$('chart-table').addEventListener('change', () => { if (chart) chart.destroy(); chart = null; $('chart').replaceChildren(); refreshChart(); });
`;

export function overviewPage(title: string, authenticated: boolean): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>mastodon-s3-sync</title><link rel="stylesheet" href="assets/uplot.css"><style>${STYLE}</style></head>
<body data-controls="${authenticated ? '1' : '0'}">
<h1>mastodon-s3-sync</h1>
<div class="sub">${escapeHtml(title)} · <span id="state">loading</span> · updated <span id="updated">-</span> ·
workers: <span id="worker-count">0</span> · <a href="queues">queues (Bull Board${authenticated ? '' : ', read-only'})</a>
<span id="follow" hidden>· follow: pass <span id="follow-pass">-</span>, lag <span id="follow-lag">-</span> (<span id="follow-pending">0</span> batches pending)</span>
<span id="error" class="failed"></span></div>
<table><thead><tr><th>table</th><th>progress</th><th>keys done / expected</th><th>copied</th><th>skipped</th><th>missing</th><th>failed</th><th>bytes</th><th>objects/s</th><th>bytes/s</th><th>ETA</th><th>jobs waiting / active / failed</th>${authenticated ? '<th>actions</th>' : ''}</tr></thead>
<tbody id="tables"></tbody></table>
<div id="action-result" class="sub"></div>
<h2>Throughput, last hour <select id="chart-table"><option value="">all tables</option></select></h2>
<div id="chart-box" data-points="0"><div id="eta-line">ETA: measuring</div><div id="chart"></div></div>
<h2 id="failed-title" hidden>Failed batches of <span id="failed-table"></span></h2>
<table><tbody id="failed"></tbody></table>
<h2>Workers</h2>
<table><thead><tr><th>worker</th><th>concurrency</th><th>copies in flight</th><th>batches in progress</th><th>up</th></tr></thead><tbody id="workers"></tbody></table>
<h2>Latest problems</h2>
<table><thead><tr><th>when (UTC)</th><th>table</th><th>status</th><th>key</th><th>reason</th></tr></thead><tbody id="problems"></tbody></table>
<script src="assets/uplot.js"></script>
<script>${SCRIPT}</script>
</body></html>
`;
}
