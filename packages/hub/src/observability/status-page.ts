import { createHash } from 'node:crypto';

// The page is a TypeScript string so that tsc puts it in dist/ with no copy step. Its script avoids
// template literals so it can live inside one; it writes data with textContent only (agent names
// come from tokens and must never become markup).

const STYLE = `
:root { color-scheme: light dark; font: 14px/1.4 system-ui, sans-serif; }
body { margin: 1.5rem; }
h1 { font-size: 1.3rem; margin: 0 0 1rem; }
.tiles { display: flex; flex-wrap: wrap; gap: .75rem; margin-bottom: 1rem; }
.tile { border: 1px solid #8884; border-radius: 6px; padding: .5rem .9rem; min-width: 7rem; }
.tile b { display: block; font-size: 1.4rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #8883; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
#conn { font-size: .85rem; opacity: .8; margin-left: .5rem; }
#conn.error { color: #c33; opacity: 1; }
.tile b.bad { color: #c33; }
td.hardware { white-space: nowrap; }
form { margin: 1rem 0; }
[hidden] { display: none !important; }
`;

const SCRIPT = `
'use strict';
var KEY = 'slime-admin-token';
var token = sessionStorage.getItem(KEY) || '';
var m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
if (m) {
  token = decodeURIComponent(m[1]);
  sessionStorage.setItem(KEY, token);
  history.replaceState(null, '', location.pathname + location.search);
}
var $ = function (id) { return document.getElementById(id); };
var pollTimer = 0, retryTimer = 0, controller = null;

function headers() {
  return token ? { authorization: 'Bearer ' + token } : {};
}
function setConn(text, error) {
  $('conn').textContent = text;
  $('conn').className = error ? 'error' : '';
}
function needToken() {
  stopAll();
  setConn('the admin token is required', true);
  $('login').hidden = false;
}
function ago(seconds) {
  if (seconds < 90) return seconds + ' s';
  if (seconds < 5400) return Math.round(seconds / 60) + ' min';
  if (seconds < 172800) return Math.round(seconds / 3600) + ' h';
  return Math.round(seconds / 86400) + ' d';
}
function cell(row, text, cls) {
  var td = document.createElement('td');
  td.textContent = String(text);
  if (cls) td.className = cls;
  row.appendChild(td);
}
// Replaces the table body with this id, one row per item, so rows of agents that left go away.
function fillRows(id, items, fill) {
  var body = document.createElement('tbody');
  body.id = id;
  items.forEach(function (item) {
    var tr = document.createElement('tr');
    fill(tr, item);
    body.appendChild(tr);
  });
  $(id).replaceWith(body);
}
function dash(v, unit) {
  return v === undefined || v === null ? '–' : unit ? v + ' ' + unit : String(v);
}
// The agent's --report-hardware JSON (ours, or a Go agent's CPUCores/GPUNames) in a few words.
function hardwareSummary(h) {
  if (!h || typeof h !== 'object') return '';
  var parts = [];
  var cpus = typeof h.cpus === 'number' ? h.cpus : h.CPUCores;
  if (typeof cpus === 'number') parts.push(cpus + ' CPU');
  if (typeof h.memoryBytes === 'number') parts.push(Math.round(h.memoryBytes / 1073741824) + ' GiB');
  var names = Array.isArray(h.gpus)
    ? h.gpus.map(function (g) { return g && typeof g.name === 'string' ? g.name : 'GPU'; })
    : Array.isArray(h.GPUNames) ? h.GPUNames.map(String) : [];
  var counts = {}, order = [];
  names.forEach(function (n) {
    if (!Object.prototype.hasOwnProperty.call(counts, n)) { counts[n] = 0; order.push(n); }
    counts[n]++;
  });
  order.forEach(function (n) { parts.push(counts[n] > 1 ? counts[n] + '× ' + n : n); });
  if (typeof h.gpusOmitted === 'number' && h.gpusOmitted > 0) parts.push('+' + h.gpusOmitted + ' GPU');
  return parts.join(' · ');
}
function render(s) {
  $('agents-count').textContent = String(s.totals.agents);
  $('slots').textContent = s.totals.inFlight + ' / ' + s.totals.slots;
  $('active').textContent = String(s.activeRequests);
  $('queue').textContent = String(s.queueLength);
  $('rate').textContent = s.requests.perSecond.toFixed(1);
  $('total').textContent = String(s.requests.total);
  var share = s.requests.errorShare || 0;
  $('errors').textContent = (share * 100).toFixed(share > 0 && share < 0.001 ? 2 : 1) + ' %';
  $('errors').title = (s.requests.errorsPerSecond || 0) + ' answers 5xx per second; ' + (s.requests.errors || 0) + ' since start';
  $('errors').className = share > 0 ? 'bad' : '';
  fillRows('agents-body', s.agents, function (tr, a) {
    tr.className = 'agent';
    tr.setAttribute('data-agent-id', a.id);
    tr.setAttribute('data-agent-name', a.name);
    cell(tr, a.name);
    cell(tr, a.id);
    cell(tr, a.scopes.length ? a.scopes.join(', ') : '(any)');
    cell(tr, a.slots, 'num');
    cell(tr, a.inFlight, 'num');
    cell(tr, a.state);
    var health = document.createElement('td');
    health.className = 'health health-' + a.health;
    health.textContent = a.health === 'ejected' ? 'ejected' : a.health === 'upstream-down' ? 'upstream down' : 'ok';
    health.title = a.healthReason || (a.ejectedUntil ? 'until ' + a.ejectedUntil : '');
    tr.appendChild(health);
    var since = document.createElement('td');
    since.textContent = ago(a.connectedSeconds);
    since.title = a.since;
    tr.appendChild(since);
    cell(tr, a.remoteAddress);
    cell(tr, a.upstream);
    var hw = document.createElement('td');
    hw.className = 'hardware';
    hw.textContent = hardwareSummary(a.hardware) || (a.hardware ? 'reported' : '–');
    hw.title = a.hardware ? JSON.stringify(a.hardware, null, 1) : 'not reported';
    tr.appendChild(hw);
  });
  $('empty').hidden = s.agents.length > 0;
  var groups = s.shaping || [];
  fillRows('shaping-body', groups, function (tr, g) {
    tr.className = 'group';
    tr.setAttribute('data-group', g.group);
    cell(tr, g.group);
    cell(tr, g.mode);
    cell(tr, g.limit === undefined || g.limit === null ? '–' : Math.floor(g.limit), 'num');
    cell(tr, g.inFlight, 'num');
    cell(tr, g.paced ? 'paced, ' + g.spacingMs + ' ms apart' : 'normal');
    cell(tr, g.rejections, 'num');
    cell(tr, dash(g.cliffLimit === undefined || g.cliffLimit === null ? g.cliffLimit : Math.floor(g.cliffLimit)), 'num');
    cell(tr, g.heldMs ? g.heldMs + ' ms' : '–', 'num');
    cell(tr, dash(g.retryAfterHolds), 'num');
    cell(tr, dash(g.throttleRetries), 'num');
    cell(tr, dash(g.throttleBoundMs === undefined || g.throttleBoundMs === null ? g.throttleBoundMs : Math.round(g.throttleBoundMs), 'ms'), 'num');
  });
  $('shaping').hidden = groups.length === 0;
  var apps = s.apps || [];
  fillRows('apps-body', apps, function (tr, a) {
    tr.className = 'app';
    tr.setAttribute('data-app', a.app);
    cell(tr, a.app);
    cell(tr, a.weight, 'num');
    cell(tr, a.inFlight, 'num');
    cell(tr, a.queued, 'num');
    cell(tr, a.served, 'num');
  });
  $('apps').hidden = apps.length === 0;
  $('updated').textContent = new Date(s.time).toLocaleTimeString();
  document.body.setAttribute('data-updated', s.time);
}
function stopAll() {
  clearInterval(pollTimer);
  clearTimeout(retryTimer);
  pollTimer = 0;
  if (controller) controller.abort();
  controller = null;
}
function poll() {
  fetch('status', { headers: headers(), cache: 'no-store' }).then(function (r) {
    if (r.status === 401) return needToken();
    if (!r.ok) throw new Error('HTTP ' + r.status);
    return r.json().then(function (s) { render(s); setConn('polling /status'); });
  }).catch(function (e) { setConn('cannot reach the hub: ' + e.message, true); });
}
function startPolling() {
  if (pollTimer) return;
  poll();
  pollTimer = setInterval(poll, 2000);
  // Go back to the live stream now and then: it failed, but the cause may have passed.
  retryTimer = setTimeout(function () { stopAll(); stream(); }, 30000);
}
// EventSource cannot send an Authorization header, so the stream is read with fetch instead.
function stream() {
  controller = new AbortController();
  fetch('status/events', { headers: headers(), signal: controller.signal, cache: 'no-store' }).then(function (r) {
    if (r.status === 401) return needToken();
    if (!r.ok || !r.body) throw new Error('HTTP ' + r.status);
    setConn('live');
    var reader = r.body.getReader();
    var decoder = new TextDecoder();
    var buf = '';
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) throw new Error('stream ended');
        buf += decoder.decode(chunk.value, { stream: true });
        var end;
        while ((end = buf.indexOf('\\n\\n')) !== -1) {
          var block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          var data = block.split('\\n').filter(function (l) { return l.indexOf('data:') === 0; })
            .map(function (l) { return l.slice(5).replace(/^ /, ''); }).join('\\n');
          if (data) render(JSON.parse(data));
        }
        return pump();
      });
    }
    return pump();
  }).catch(function (e) {
    if (e && e.name === 'AbortError') return;
    setConn('live stream failed (' + e.message + '); polling', true);
    startPolling();
  });
}
$('login').addEventListener('submit', function (ev) {
  ev.preventDefault();
  token = $('token').value.trim();
  sessionStorage.setItem(KEY, token);
  $('login').hidden = true;
  stream();
});
stream();
`;

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/**
 * Content-Security-Policy for the page: only its own inline script and style run, and it can only
 * talk to the origin it came from.
 */
export const STATUS_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  "img-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The live status page: one self-contained HTML document, no external assets. */
export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Slime hub status</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Slime hub <span id="conn">connecting…</span></h1>
<form id="login" hidden>
  <label>Admin token <input id="token" type="password" autocomplete="current-password" required></label>
  <button type="submit">Connect</button>
</form>
<div class="tiles">
  <div class="tile">Agents<b id="agents-count">–</b></div>
  <div class="tile">Slots used / total<b id="slots">–</b></div>
  <div class="tile">In flight<b id="active">–</b></div>
  <div class="tile">Queued<b id="queue">–</b></div>
  <div class="tile">Requests/s<b id="rate">–</b></div>
  <div class="tile">Requests<b id="total">–</b></div>
  <div class="tile">5xx share<b id="errors">–</b></div>
</div>
<table id="agents">
<thead><tr><th>Name</th><th>Id</th><th>Scopes</th><th class="num">Slots</th><th class="num">In flight</th><th>State</th><th>Health</th><th>Since</th><th>Remote address</th><th>Upstream</th><th>Hardware</th></tr></thead>
<tbody id="agents-body"></tbody>
</table>
<p id="empty">No agent is connected.</p>
<table id="shaping" hidden>
<thead><tr><th>Shaped group</th><th>Mode</th><th class="num">Limit</th><th class="num">In flight</th><th>Pacing</th><th class="num">Refused</th><th class="num" title="the limit at which errors began; growth is held just below it">Cliff</th><th class="num" title="pause left that the upstream asked for with Retry-After">Held</th><th class="num" title="upstream Retry-After answers that held the group">Retry-After holds</th><th class="num" title="requests re-sent after a fast throttle answer">Throttle retries</th><th class="num" title="latency under which a throttle answer counts as fast">Fast bound</th></tr></thead>
<tbody id="shaping-body"></tbody>
</table>
<table id="apps" hidden>
<thead><tr><th>Application</th><th class="num" title="share of busy agents while requests wait">Weight</th><th class="num">In flight</th><th class="num">Queued</th><th class="num">Served</th></tr></thead>
<tbody id="apps-body"></tbody>
</table>
<p><small>Updated <span id="updated">never</span></small></p>
<script>${SCRIPT}</script>
</body>
</html>
`;
