// The watch page: hls.js (embedded in the origin, no CDN) or Safari's native HLS,
// live status polled from the API, and the chat WebSocket. Chat text is only ever
// set with textContent: messages are plain text, never HTML.
//
// Real-time mode (the toggle, or ?mode=realtime) plays over WebRTC instead: WHEP
// (`/whep/{channel}`, webrtc.js). If that fails (B-frames refused, no codec in
// common, too many sessions, UDP blocked, …) the page says why and falls back to
// LL-HLS until the toggle is pressed again; "not live" only waits for the channel.
'use strict';
const channel = document.body.dataset.channel;
const params = new URLSearchParams(location.search);
const token = params.get('token');
const prefix = token ? '/t/' + encodeURIComponent(token) : '';
const src = prefix + '/live/' + encodeURIComponent(channel) + '/master.m3u8';
const whepUrl = prefix + '/whep/' + encodeURIComponent(channel);
const video = document.getElementById('player');
const badge = document.getElementById('live-badge');
const offline = document.getElementById('offline-message');
const latencyEl = document.getElementById('latency');
const errorEl = document.getElementById('playback-error');
const modeEl = document.getElementById('playback-mode');
const toggle = document.getElementById('mode-toggle');
/** WHEP attempts while the API says live but the real-time path has no stream yet (404). */
const WHEP_TRIES = 4;
const WHEP_RETRY_MS = 1000;
/** Connected but no video frame this long after: fall back (the server has no media for us). */
const FIRST_FRAME_TIMEOUT_MS = 8000;
let hls = null;
let playing = false;
let live = false;
// 'hls' (default) or 'realtime'; `realtimeFailed` after a fallback, until the toggle.
let preferred = params.get('mode') === 'realtime' ? 'realtime' : 'hls';
let realtimeFailed = false;
let active = null; // the mode playing now: 'hls', 'realtime' or null
let rtc = null; // the WHEP session
let attempt = 0; // bumped on every stop: a WHEP answer for an older attempt is dropped
let lastError = '';

function setLive(isLive) {
  live = isLive;
  badge.dataset.live = String(isLive);
  badge.textContent = isLive ? 'LIVE' : 'OFFLINE';
  offline.hidden = isLive;
}

function showError(text) {
  lastError = text || '';
  errorEl.textContent = lastError;
  errorEl.hidden = !text;
}

/** The mode the next playback starts in. */
function effectiveMode() { return realtimeFailed ? 'hls' : preferred; }

function setActive(mode) {
  active = mode;
  const shown = mode || effectiveMode();
  modeEl.dataset.mode = shown;
  modeEl.textContent = shown === 'realtime' ? 'Real-time (WebRTC)' : 'LL-HLS';
  toggle.textContent = effectiveMode() === 'realtime' ? 'Switch to LL-HLS' : realtimeFailed ? 'Retry real-time' : 'Real-time';
}

function startPlayback() {
  if (playing) return;
  playing = true;
  if (effectiveMode() === 'realtime' && window.FerrocastWebRtc) startRealtime();
  else startHls();
}

function startHls() {
  setActive('hls');
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

async function startRealtime() {
  const mine = ++attempt;
  setActive('realtime');
  let error = null;
  for (let i = 0; i < WHEP_TRIES; i++) {
    try {
      const s = await FerrocastWebRtc.whepPlay(whepUrl, video, {});
      if (mine !== attempt) { s.stop(); return; }
      rtc = s;
      await s.connected;
      if (mine !== attempt) return;
      if (!(await firstVideoFrame(s, FIRST_FRAME_TIMEOUT_MS))) {
        if (mine !== attempt) return;
        throw new Error('WHEP: connected, but no video arrived in ' + FIRST_FRAME_TIMEOUT_MS / 1000 + ' s');
      }
      if (mine !== attempt) return;
      showError(null);
      // Lost after it worked (the stream ended, the network changed): stop; the
      // poll starts real-time playback again while the channel is live.
      s.pc.addEventListener('connectionstatechange', () => {
        if (rtc === s && (s.pc.connectionState === 'failed' || s.pc.connectionState === 'closed')) {
          console.warn('real-time connection', s.pc.connectionState);
          stopPlayback();
        }
      });
      return;
    } catch (e) {
      if (mine !== attempt) return;
      if (rtc) { rtc.stop(); rtc = null; }
      error = e;
      // The API can say live a moment before the real-time path has the stream.
      if (e.status === 404 && live && i + 1 < WHEP_TRIES) {
        await new Promise((r) => setTimeout(r, WHEP_RETRY_MS));
        if (mine !== attempt) return;
        continue;
      }
      break;
    }
  }
  if (error.status === 404 && !live) {
    // Not live: nothing to fall back to; the poll starts playback when it goes live.
    showError('Real-time playback: ' + error.message + '. It starts when the channel goes live.');
    playing = false;
    setActive(null);
    return;
  }
  fallBack(error);
}

/** Resolves true at the first video frame shown, false after `ms` (true at once for audio-only). */
function firstVideoFrame(s, ms) {
  if (!s.stream.getVideoTracks().length) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    const done = () => { clearTimeout(timer); resolve(true); };
    if ('requestVideoFrameCallback' in video) video.requestVideoFrameCallback(done);
    else video.addEventListener('loadeddata', done, { once: true });
  });
}

/** Real-time playback failed: say why, and play LL-HLS (until the toggle is pressed). */
function fallBack(error) {
  console.warn('real-time playback failed', error.message);
  realtimeFailed = true;
  stopRealtime();
  showError('Real-time playback failed: ' + error.message + '. Playing LL-HLS instead.');
  if (live) { playing = true; startHls(); } else { playing = false; setActive(null); }
}

function stopRealtime() {
  attempt++;
  if (rtc) { rtc.stop(); rtc = null; }
  if (video.srcObject) video.srcObject = null;
}

function stopPlayback() {
  playing = false;
  stopRealtime();
  if (hls) { hls.destroy(); hls = null; }
  video.removeAttribute('src');
  setActive(null);
}

/** Switches to `mode` now (the toggle); real-time is tried even if the API says offline. */
function switchMode(mode) {
  preferred = mode;
  realtimeFailed = false;
  showError(null);
  stopPlayback();
  if (live || mode === 'realtime') startPlayback();
}
toggle.addEventListener('click', () => switchMode(effectiveMode() === 'realtime' ? 'hls' : 'realtime'));
setActive(null);

// For tests and the curious: what plays, the WHEP session, the last error shown.
window.ferroWatch = {
  get mode() { return active; },
  get preferred() { return preferred; },
  get session() { return rtc; },
  get error() { return lastError; },
  playRealtime: () => switchMode('realtime'),
  playHls: () => switchMode('hls'),
};

async function poll() {
  try {
    const res = await fetch('/api/v1/channels/' + encodeURIComponent(channel), { cache: 'no-store' });
    if (res.ok) {
      const ch = await res.json();
      document.getElementById('stream-title').textContent = ch.title;
      document.getElementById('viewers').textContent = String(ch.viewers ?? 0);
      const wasLive = live;
      setLive(ch.live);
      // A real-time attempt the viewer asked for while offline may finish (and say "not live").
      if (ch.live) startPlayback(); else if (playing && (wasLive || active !== 'realtime')) stopPlayback();
    } else {
      setLive(false);
    }
  } catch (e) {
    console.warn('status', e);
  }
}
poll();
setInterval(poll, 2000);

/**
 * Real-time latency estimate from this side only: half the round trip + the jitter
 * buffer + decoding (per frame). The sender's capture and encoding are not in it.
 */
async function realtimeLatency(pc) {
  let receive = null;
  let rtt = 0;
  (await pc.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video' && s.jitterBufferEmittedCount && s.framesDecoded) {
      receive = s.jitterBufferDelay / s.jitterBufferEmittedCount + (s.totalDecodeTime || 0) / s.framesDecoded;
    }
    if (s.type === 'candidate-pair' && s.nominated && s.currentRoundTripTime) rtt = s.currentRoundTripTime;
  });
  return receive === null ? null : receive + rtt / 2;
}
setInterval(async () => {
  let l = null;
  if (active === 'realtime' && rtc) {
    try { l = await realtimeLatency(rtc.pc); } catch (_) { l = null; }
    latencyEl.textContent = Number.isFinite(l) ? '~' + l.toFixed(2) + ' s' : '–';
    latencyEl.title = 'this side only: network, jitter buffer and decoding (not the sender\'s capture and encoding)';
    return;
  }
  latencyEl.title = '';
  l = hls && hls.latency;
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
