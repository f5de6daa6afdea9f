import { createHash } from 'node:crypto';
import { WS_CHANNELS } from '@agent-forge/contracts';

export const CLIENT_PAGE_TITLE = 'Agent Forge WebSocket Client';

/**
 * The browser side of the WebSocket client page: pick a channel, session and token, connect, and
 * resume from the last event id (by reconnecting with `last_event_id`/`epoch`, or with a `resume`
 * frame on an open socket); counts events per type and shows any repeated event or history gap.
 * It derives the socket URL from `location`, replacing the trailing `client` of its own path with
 * the channel, so it works both directly and behind the entry proxy (or any path prefix). Messages are written with textContent only: the log never interprets
 * what the server sent as HTML.
 */
const SCRIPT = `
(function () {
  var socket = null;
  var MAX_LINES = 500;
  var counts = {};
  var total = 0;
  var duplicates = 0;
  var gaps = 0;
  var reconnectTimer = null;
  var userClosed = false;
  var $ = function (id) { return document.getElementById(id); };
  function log(kind, text) {
    var line = document.createElement('div');
    line.className = 'line ' + kind;
    line.textContent = new Date().toISOString().slice(11, 23) + '  ' + text;
    var box = $('log');
    box.appendChild(line);
    while (box.childNodes.length > MAX_LINES) box.removeChild(box.firstChild);
    if ($('follow').checked) box.scrollTop = box.scrollHeight;
  }
  function setState(text, connected) {
    $('state').textContent = text;
    $('connect').disabled = connected;
    $('disconnect').disabled = !connected && reconnectTimer === null;
    $('ping').disabled = !connected;
  }
  // Stream ids are "<ms>-<seq>": compared as numbers, part by part (string order would be wrong).
  function idAfter(a, b) {
    var x = a.split('-'), y = b.split('-');
    var d = Number(x[0]) - Number(y[0]);
    return d !== 0 ? d > 0 : Number(x[1]) > Number(y[1]);
  }
  function renderCounts() {
    var body = $('counts');
    body.textContent = '';
    Object.keys(counts).sort().forEach(function (type) {
      var row = document.createElement('tr');
      var name = document.createElement('td');
      name.textContent = type;
      var n = document.createElement('td');
      n.textContent = String(counts[type]);
      n.setAttribute('data-type', type);
      row.appendChild(name);
      row.appendChild(n);
      body.appendChild(row);
    });
    $('total').textContent = String(total);
    $('duplicates').textContent = String(duplicates);
    $('gaps').textContent = String(gaps);
  }
  function onEvent(frame) {
    var type = frame && typeof frame.event_type === 'string' ? frame.event_type : '(other)';
    var id = frame && typeof frame.event_id === 'string' ? frame.event_id : null;
    var last = $('last').value.trim();
    // A resumed socket must never repeat an event: count any that does, so it shows.
    if (id !== null && last && !idAfter(id, last) && type !== 'snapshot') duplicates++;
    if (type === 'error' && frame.data && frame.data.error_code === 'HISTORY_GAP') gaps++;
    if (id !== null && (!last || idAfter(id, last) || type === 'snapshot')) {
      $('last').value = id;
      if (typeof frame.epoch === 'string') $('epoch').value = frame.epoch;
    }
    counts[type] = (counts[type] || 0) + 1;
    total++;
    renderCounts();
  }
  function socketUrl(resume) {
    var scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    var path = location.pathname.replace(/client\\/?$/, '') + $('channel').value;
    var session = $('session').value.trim();
    var token = $('token').value.trim();
    var query = [];
    if (session) query.push('session_id=' + encodeURIComponent(session));
    if (resume && session && $('last').value.trim()) {
      query.push('last_event_id=' + encodeURIComponent($('last').value.trim()));
      if ($('epoch').value) query.push('epoch=' + encodeURIComponent($('epoch').value));
    }
    if (token) query.push('token=' + encodeURIComponent(token));
    return scheme + '//' + location.host + path + (query.length ? '?' + query.join('&') : '');
  }
  function connect(resume) {
    if (socket) return;
    if (reconnectTimer !== null) { clearTimeout(reconnectTimer); reconnectTimer = null; }
    userClosed = false;
    var url = socketUrl(resume);
    log('info', (resume ? 'resuming: ' : 'connecting to ') + url.replace(/([?&]token=)[^&]*/, '$1…'));
    setState('connecting', true);
    socket = new WebSocket(url);
    socket.onopen = function () { setState('connected', true); log('info', 'connected'); };
    socket.onmessage = function (ev) {
      var text = ev.data;
      var frame = null;
      try { frame = JSON.parse(ev.data); text = JSON.stringify(frame); } catch (e) { /* show it raw */ }
      onEvent(frame);
      log('in', text);
    };
    socket.onerror = function () { log('error', 'socket error'); };
    socket.onclose = function (ev) {
      var why = ev.code === 4401 ? ' — unauthenticated: paste a token (npm start writes one to .agent-forge/dev-token)'
        : ev.code === 4403 ? ' — forbidden: that session belongs to another tenant, or your role cannot watch'
        : ev.code === 4408 ? ' — this client fell behind; resume picks up where it left off'
        : ev.code === 4429 ? ' — too many connections or frames' : '';
      log('info', 'closed: code ' + ev.code + (ev.reason ? ' (' + ev.reason + ')' : '') + why);
      socket = null;
      // Closes that a retry cannot fix (auth, forbidden, bad request) are not retried.
      var final = userClosed || ev.code === 4401 || ev.code === 4403 || ev.code === 1009;
      if (!final && $('auto').checked) {
        log('info', 'reconnecting with resume in 1 s');
        reconnectTimer = setTimeout(function () { reconnectTimer = null; connect(true); }, 1000);
      }
      setState(reconnectTimer !== null ? 'reconnecting' : 'disconnected', false);
    };
  }
  $('connect').addEventListener('click', function () { connect(false); });
  $('resume').addEventListener('click', function () {
    var last = $('last').value.trim();
    if (socket && socket.readyState === 1 && last) {
      var frame = { type: 'resume', last_event_id: last };
      if ($('epoch').value) frame.epoch = $('epoch').value;
      var msg = JSON.stringify(frame);
      socket.send(msg);
      log('out', msg);
    } else if (!socket) {
      connect(true);
    }
  });
  $('disconnect').addEventListener('click', function () {
    userClosed = true;
    if (reconnectTimer !== null) { clearTimeout(reconnectTimer); reconnectTimer = null; setState('disconnected', false); }
    if (socket) socket.close(1000, 'client disconnect');
  });
  $('ping').addEventListener('click', function () {
    if (!socket) return;
    var msg = JSON.stringify({ type: 'ping' });
    socket.send(msg);
    log('out', msg);
  });
  $('clear').addEventListener('click', function () {
    $('log').textContent = '';
    counts = {}; total = 0; duplicates = 0; gaps = 0;
    renderCounts();
  });
  renderCounts();
  setState('disconnected', false);
})();
`;

const SCRIPT_HASH = createHash('sha256').update(SCRIPT).digest('base64');

/** Only our own inline script may run; sockets may go to this origin only. */
export const CLIENT_PAGE_CSP = [
  "default-src 'none'",
  `script-src 'sha256-${SCRIPT_HASH}'`,
  "style-src 'unsafe-inline'",
  "connect-src 'self' ws: wss:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const channelOptions = WS_CHANNELS.map((c) => `<option value="${c}"${c === 'pipeline' ? ' selected' : ''}>/ws/${c}</option>`).join('');

export const CLIENT_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${CLIENT_PAGE_TITLE}</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 1.5rem; color: #222; }
  fieldset { display: flex; flex-wrap: wrap; gap: .75rem; align-items: end; border: 1px solid #ccc; }
  label { display: flex; flex-direction: column; gap: .25rem; }
  input[type=text] { width: 22rem; font-family: monospace; }
  #log { margin-top: 1rem; height: 60vh; overflow: auto; background: #111; color: #ddd; padding: .5rem;
         font: 12px ui-monospace, monospace; white-space: pre-wrap; word-break: break-all; }
  .line.out { color: #8cf; } .line.info { color: #aaa; } .line.error { color: #f88; }
  #state { font-weight: bold; }
  .counts { margin-top: 1rem; display: flex; gap: 2rem; align-items: start; }
  .counts table { border-collapse: collapse; } .counts td, .counts th { padding: .1rem .6rem; text-align: left; }
  .counts td + td { text-align: right; font-variant-numeric: tabular-nums; }
</style>
</head>
<body>
<h1>${CLIENT_PAGE_TITLE}</h1>
<fieldset>
  <label>Channel <select id="channel">${channelOptions}</select></label>
  <label>Session id (optional) <input id="session" type="text" placeholder="all sessions" autocomplete="off"></label>
  <label>Token <input id="token" type="password" placeholder="JWT or API key (sent as ?token=)" autocomplete="off"></label>
  <label>Last event id <input id="last" type="text" placeholder="kept up to date; resume starts after it" autocomplete="off"></label>
  <label>Epoch <input id="epoch" type="text" autocomplete="off"></label>
  <button id="connect" type="button">Connect</button>
  <button id="resume" type="button" title="Reconnect (or send a resume frame) from the last event id: only the missed events are replayed">Resume</button>
  <button id="disconnect" type="button">Disconnect</button>
  <button id="ping" type="button">Send ping</button>
  <button id="clear" type="button">Clear log</button>
  <label><span><input id="follow" type="checkbox" checked> follow</span></label>
  <label><span><input id="auto" type="checkbox" checked> reconnect with resume</span></label>
  <span>State: <span id="state">disconnected</span></span>
</fieldset>
<div class="counts">
  <table><thead><tr><th>Event type</th><th>Received</th></tr></thead><tbody id="counts"></tbody></table>
  <table><tbody>
    <tr><td>Total</td><td id="total">0</td></tr>
    <tr><td>Repeated (must stay 0)</td><td id="duplicates">0</td></tr>
    <tr><td>History gaps</td><td id="gaps">0</td></tr>
  </tbody></table>
</div>
<div id="log" aria-live="polite"></div>
<script>${SCRIPT}</script>
</body>
</html>
`;
