// The watch page: hls.js (embedded in the origin, no CDN) or Safari's native HLS,
// live status polled from the API, and the chat WebSocket. Chat text is only ever
// set with textContent: messages are plain text, never HTML.
'use strict';
const channel = document.body.dataset.channel;
const params = new URLSearchParams(location.search);
const token = params.get('token');
const src = (token ? '/t/' + encodeURIComponent(token) : '') + '/live/' + encodeURIComponent(channel) + '/master.m3u8';
const video = document.getElementById('player');
const badge = document.getElementById('live-badge');
const offline = document.getElementById('offline-message');
const latencyEl = document.getElementById('latency');
let hls = null;
let playing = false;

function setLive(live) {
  badge.dataset.live = String(live);
  badge.textContent = live ? 'LIVE' : 'OFFLINE';
  offline.hidden = live;
}

function startPlayback() {
  if (playing) return;
  playing = true;
  if (window.Hls && Hls.isSupported()) {
    hls = new Hls({ lowLatencyMode: true, backBufferLength: 30 });
    hls.on(Hls.Events.ERROR, (_e, data) => {
      if (data.fatal) {
        console.warn('hls fatal', data.type, data.details);
        stopPlayback();
      }
    });
    hls.loadSource(src);
    hls.attachMedia(video);
  } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
    video.src = src; // Safari: native HLS
  }
  video.play().catch(() => {});
}

function stopPlayback() {
  playing = false;
  if (hls) { hls.destroy(); hls = null; }
  video.removeAttribute('src');
}

async function poll() {
  try {
    const res = await fetch('/api/v1/channels/' + encodeURIComponent(channel), { cache: 'no-store' });
    if (res.ok) {
      const ch = await res.json();
      document.getElementById('stream-title').textContent = ch.title;
      document.getElementById('viewers').textContent = String(ch.viewers ?? 0);
      setLive(ch.live);
      if (ch.live) startPlayback(); else if (playing) stopPlayback();
    } else {
      setLive(false);
    }
  } catch (e) {
    console.warn('status', e);
  }
}
poll();
setInterval(poll, 2000);
setInterval(() => {
  const l = hls && hls.latency;
  latencyEl.textContent = Number.isFinite(l) && l > 0 ? l.toFixed(1) + ' s' : '–';
}, 1000);

// ---- chat ----
const list = document.getElementById('chat-messages');
const status = document.getElementById('chat-status');
const input = document.getElementById('chat-input');
window.ferroChat = { user: null, connected: false };
let ws = null;
let chatToken = null;
let retry = 0;

function addMessage(m) {
  if (list.querySelector('[data-id="' + CSS.escape(m.id) + '"]')) return;
  const li = document.createElement('li');
  li.className = 'chat-message';
  li.dataset.id = m.id;
  li.dataset.user = m.user;
  const nick = document.createElement('span');
  nick.className = 'nick';
  nick.textContent = m.nickname;
  const text = document.createElement('span');
  text.className = 'text';
  text.textContent = m.text;
  li.append(nick, text);
  list.append(li);
  while (list.children.length > 200) list.firstElementChild.remove();
  list.scrollTop = list.scrollHeight;
}

function connect() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const url = proto + '//' + location.host + '/chat/' + encodeURIComponent(channel) + (chatToken ? '?token=' + encodeURIComponent(chatToken) : '');
  const sock = new WebSocket(url);
  ws = sock;
  sock.onopen = () => { if (ws === sock) { window.ferroChat.connected = true; retry = 0; } };
  sock.onmessage = (ev) => {
    let f;
    try { f = JSON.parse(ev.data); } catch { return; }
    if (f.type === 'history') { list.replaceChildren(); f.messages.forEach(addMessage); }
    else if (f.type === 'message') addMessage(f);
    else if (f.type === 'deleted') { const el = list.querySelector('[data-id="' + CSS.escape(f.id) + '"]'); if (el) el.remove(); }
    else if (f.type === 'error') status.textContent = f.code;
  };
  sock.onclose = () => {
    if (ws !== sock) return; // an old connection, replaced by a newer one
    window.ferroChat.connected = false;
    retry = Math.min(retry + 1, 5);
    setTimeout(connect, 500 * retry);
  };
}

async function join() {
  const nickname = document.getElementById('chat-nickname').value.trim();
  const res = await fetch('/api/v1/channels/' + encodeURIComponent(channel) + '/chat-token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: nickname ? JSON.stringify({ nickname }) : '',
  });
  const body = await res.json();
  if (!res.ok) { status.textContent = body.error || ('error ' + res.status); return; }
  chatToken = body.token;
  window.ferroChat.user = body.user;
  status.textContent = 'joined as ' + body.nickname;
  const old = ws;
  ws = null;
  if (old) old.close();
  connect();
}

function send() {
  const text = input.value;
  if (!text.trim() || !ws || ws.readyState !== WebSocket.OPEN) return;
  ws.send(JSON.stringify({ type: 'post', text }));
  input.value = '';
}

document.getElementById('chat-join').addEventListener('click', join);
document.getElementById('chat-send').addEventListener('click', send);
input.addEventListener('keydown', (e) => { if (e.key === 'Enter') send(); });
connect();
