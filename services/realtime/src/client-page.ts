import { createHash } from 'node:crypto';
import { WS_CHANNELS } from '@agent-forge/contracts';

export const CLIENT_PAGE_TITLE = 'Agent Forge WebSocket Client';

/**
 * The browser side of the test client. It derives the socket URL from `location`, replacing the
 * trailing `client` of its own path with the channel, so it works both directly and behind the entry
 * proxy (or any path prefix). Messages are written with textContent only: the log never interprets
 * what the server sent as HTML.
 */
const SCRIPT = `
(function () {
  var socket = null;
  var MAX_LINES = 500;
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
    $('disconnect').disabled = !connected;
    $('ping').disabled = !connected;
  }
  function socketUrl() {
    var scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    var path = location.pathname.replace(/client\\/?$/, '') + $('channel').value;
    var session = $('session').value.trim();
    var token = $('token').value.trim();
    var query = [];
    if (session) query.push('session_id=' + encodeURIComponent(session));
    if (token) query.push('token=' + encodeURIComponent(token));
    return scheme + '//' + location.host + path + (query.length ? '?' + query.join('&') : '');
  }
  $('connect').addEventListener('click', function () {
    if (socket) return;
    var url = socketUrl();
    log('info', 'connecting to ' + url.replace(/([?&]token=)[^&]*/, '$1…'));
    setState('connecting', true);
    socket = new WebSocket(url);
    socket.onopen = function () { setState('connected', true); log('info', 'connected'); };
    socket.onmessage = function (ev) {
      var text = ev.data;
      try { text = JSON.stringify(JSON.parse(ev.data)); } catch (e) { /* show it raw */ }
      log('in', text);
    };
    socket.onerror = function () { log('error', 'socket error'); };
    socket.onclose = function (ev) {
      var why = ev.code === 4401 ? ' — unauthenticated: paste a token (npm start writes one to .agent-forge/dev-token)' : ev.code === 4403 ? ' — forbidden: that session belongs to another tenant, or your role cannot watch' : '';
      log('info', 'closed: code ' + ev.code + (ev.reason ? ' (' + ev.reason + ')' : '') + why);
      socket = null;
      setState('disconnected', false);
    };
  });
  $('disconnect').addEventListener('click', function () { if (socket) socket.close(1000, 'client disconnect'); });
  $('ping').addEventListener('click', function () {
    if (!socket) return;
    var msg = JSON.stringify({ type: 'ping' });
    socket.send(msg);
    log('out', msg);
  });
  $('clear').addEventListener('click', function () { $('log').textContent = ''; });
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
</style>
</head>
<body>
<h1>${CLIENT_PAGE_TITLE}</h1>
<fieldset>
  <label>Channel <select id="channel">${channelOptions}</select></label>
  <label>Session id (optional) <input id="session" type="text" placeholder="all sessions" autocomplete="off"></label>
  <label>Token <input id="token" type="password" placeholder="JWT or API key (sent as ?token=)" autocomplete="off"></label>
  <button id="connect" type="button">Connect</button>
  <button id="disconnect" type="button">Disconnect</button>
  <button id="ping" type="button">Send ping</button>
  <button id="clear" type="button">Clear log</button>
  <label><span><input id="follow" type="checkbox" checked> follow</span></label>
  <span>State: <span id="state">disconnected</span></span>
</fieldset>
<div id="log" aria-live="polite"></div>
<script>${SCRIPT}</script>
</body>
</html>
`;
