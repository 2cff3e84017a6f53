/**
 * The overview page: static HTML plus a small script that polls /api/overview every second and
 * fills the tables. Everything from Redis is inserted as text (textContent), never as HTML.
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
  return tr;
}
function render(o) {
  const body = $('tables'); body.replaceChildren();
  for (const t of o.tables) body.appendChild(tableRow(t, t.table, false));
  if (o.tables.length > 1) body.appendChild(tableRow(o.totals, 'all tables', true));
  if (o.tables.length === 0) { const tr = document.createElement('tr'); const td = cell(tr, 'Nothing queued yet: run "mastodon-s3-sync jobs".'); td.colSpan = 12; body.appendChild(tr); }
  const workers = $('workers'); workers.replaceChildren();
  for (const w of o.workers) {
    const tr = document.createElement('tr'); cell(tr, w.host + ' (pid ' + w.pid + ')');
    cell(tr, String(w.concurrency)); cell(tr, String(w.activeJobs)); cell(tr, eta((o.at - w.startedAt) / 1000)); workers.appendChild(tr);
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
`;

export function overviewPage(title: string, authenticated: boolean): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>mastodon-s3-sync</title><style>${STYLE}</style></head>
<body>
<h1>mastodon-s3-sync</h1>
<div class="sub">${escapeHtml(title)} · <span id="state">loading</span> · updated <span id="updated">-</span> ·
workers: <span id="worker-count">0</span> · <a href="queues">queues (Bull Board${authenticated ? '' : ', read-only'})</a>
<span id="follow" hidden>· follow: pass <span id="follow-pass">-</span>, lag <span id="follow-lag">-</span> (<span id="follow-pending">0</span> batches pending)</span>
<span id="error" class="failed"></span></div>
<table><thead><tr><th>table</th><th>progress</th><th>keys done / expected</th><th>copied</th><th>skipped</th><th>missing</th><th>failed</th><th>bytes</th><th>objects/s</th><th>bytes/s</th><th>ETA</th><th>jobs waiting / active / failed</th></tr></thead>
<tbody id="tables"></tbody></table>
<h2>Workers</h2>
<table><thead><tr><th>worker</th><th>concurrency</th><th>batches in progress</th><th>up</th></tr></thead><tbody id="workers"></tbody></table>
<h2>Latest problems</h2>
<table><thead><tr><th>when (UTC)</th><th>table</th><th>status</th><th>key</th><th>reason</th></tr></thead><tbody id="problems"></tbody></table>
<script>${SCRIPT}</script>
</body></html>
`;
}
