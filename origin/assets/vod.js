// The VOD page (/vod/{asset}): the asset's title, description, tags and views from
// the API; while it is processed, its progress (polled); once ready, hls.js (or
// Safari's native HLS) plays master.m3u8 with the poster, a quality selector and
// our own seek bar, which previews the picture under the pointer from the
// thumbnail sprite indexed by thumbs.vtt (WebVTT cues whose payload is
// `sprite.jpg#xywh=x,y,w,h`, W3C Media Fragments). All text goes in with
// textContent, never as HTML. window.__ferrocastVod exposes the state for tests.
'use strict';
const asset = document.body.dataset.asset;
const base = '/vod/' + encodeURIComponent(asset);
const apiUrl = '/api/v1/assets/' + encodeURIComponent(asset);
const $ = (id) => document.getElementById(id);
const video = $('player');
const seek = $('seek');
const preview = $('preview');
const quality = $('quality');
const vod = {
  video, hls: null, asset: null, thumbnails: [], viewCounted: false, started: false,
  previewAt, showPreview, parseVtt,
};
window.__ferrocastVod = vod;

// ---- asset status and information ----
function adminHeaders() {
  // The admin page keeps its key for the tab; with it, assets still processing show.
  const key = sessionStorage.getItem('ferrocast-admin-key');
  return key ? { authorization: 'Bearer ' + key } : {};
}

function formatTime(s) {
  s = Number.isFinite(s) && s > 0 ? Math.floor(s) : 0;
  const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, sec = String(s % 60).padStart(2, '0');
  return h ? h + ':' + String(m).padStart(2, '0') + ':' + sec : m + ':' + sec;
}

function showInfo(a) {
  const title = a.title || asset;
  $('title').textContent = title;
  document.title = title + ' — Ferrocast';
  $('description').textContent = a.description || '';
  showViews(a.views);
  $('duration').textContent = Number.isFinite(a.duration_s) ? formatTime(a.duration_s) : '';
  $('tags').replaceChildren(...(Array.isArray(a.tags) ? a.tags : []).map((t) => {
    const li = document.createElement('li');
    li.textContent = String(t);
    return li;
  }));
}

function showViews(n) {
  n = Number.isFinite(n) ? n : 0;
  $('views').textContent = String(n);
  $('views-label').textContent = n === 1 ? ' view' : ' views';
}

function showStatus(state, text, percent, eta) {
  const box = $('vod-status');
  box.hidden = state === null;
  box.dataset.state = state || 'ready';
  $('vod-status-text').textContent = text || '';
  const bar = $('vod-progress');
  bar.hidden = !Number.isFinite(percent);
  if (Number.isFinite(percent)) bar.value = Math.max(0, Math.min(100, percent));
  $('vod-eta').textContent = (Number.isFinite(percent) ? Math.round(percent) + ' %' : '') +
    (Number.isFinite(eta) && eta > 0 ? ' · about ' + formatTime(eta) + ' left' : '');
}

let pollTimer = null;
function schedule(ms) { clearTimeout(pollTimer); pollTimer = setTimeout(poll, ms); }

async function poll() {
  let res;
  try {
    res = await fetch(apiUrl, { cache: 'no-store', headers: adminHeaders() });
  } catch {
    showStatus('error', 'Cannot reach the server; retrying…');
    return schedule(5000);
  }
  if (res.status === 404) {
    // Not (yet) public: assets show once ready.
    showStatus('missing', 'This video does not exist or is not ready yet.');
    return schedule(5000);
  }
  if (!res.ok) {
    showStatus('error', 'Error ' + res.status + '; retrying…');
    return schedule(5000);
  }
  const a = await res.json();
  vod.asset = a;
  showInfo(a);
  if (a.status === 'ready') {
    showStatus(null);
    return startPlayer(a);
  }
  if (a.status === 'failed') {
    return showStatus('failed', 'Processing failed: ' + (a.reason || a.job?.reason || 'unknown reason'));
  }
  const job = a.job || a;
  showStatus('processing', a.status === 'processing' ? 'Processing…' : 'Waiting to be processed…',
    Number(job.progress_percent), Number(job.eta_s));
  schedule(2000);
}

/** `url` (from the API) when it is on this origin, else undefined. */
function sameOrigin(url) {
  try {
    const u = new URL(url, location.href);
    return u.origin === location.origin ? u.href : undefined;
  } catch { return undefined; }
}

// ---- playback ----
function startPlayer(a) {
  if (vod.started) return;
  vod.started = true;
  const urls = a.urls || {};
  const src = sameOrigin(urls.hls) || base + '/master.m3u8';
  video.poster = sameOrigin(urls.poster) || base + '/poster.jpg';
  if (window.Hls && Hls.isSupported()) {
    const hls = new Hls();
    vod.hls = hls;
    let recoveries = 0;
    hls.on(Hls.Events.MANIFEST_PARSED, fillQuality);
    hls.on(Hls.Events.LEVEL_SWITCHED, (_e, d) => showLevel(d.level));
    hls.on(Hls.Events.ERROR, (_e, d) => {
      if (!d.fatal) return;
      console.warn('hls fatal', d.type, d.details);
      if (recoveries++ < 3 && d.type === Hls.ErrorTypes.NETWORK_ERROR) hls.startLoad();
      else if (recoveries < 3 && d.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
      else showStatus('failed', 'Playback failed (' + d.details + ').');
    });
    hls.loadSource(src);
    hls.attachMedia(video);
  } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
    video.src = src; // Safari: native HLS, which picks renditions itself
  } else {
    return showStatus('failed', 'This browser cannot play HLS.');
  }
  $('vod-controls').hidden = false;
  loadThumbnails(sameOrigin(urls.thumbnails) || base + '/thumbs.vtt');
}

function fillQuality() {
  const levels = vod.hls.levels.map((l, i) => ({ l, i })).sort((a, b) => b.l.height - a.l.height || b.l.bitrate - a.l.bitrate);
  quality.replaceChildren(new Option('Auto', '-1'), ...levels.map(({ l, i }) =>
    new Option((l.height ? l.height + 'p' : 'level ' + i) + ' · ' + Math.round(l.bitrate / 1000) + ' kb/s', String(i))));
  quality.hidden = levels.length < 2;
}

function showLevel(index) {
  const l = vod.hls && vod.hls.levels[index];
  $('quality-now').textContent = l ? (vod.hls.autoLevelEnabled ? 'auto · ' : '') + (l.height ? l.height + 'p' : '') : '';
}

quality.addEventListener('change', () => {
  if (!vod.hls) return;
  vod.hls.currentLevel = Number(quality.value); // -1: automatic
  showLevel(vod.hls.currentLevel);
});

video.addEventListener('playing', async () => {
  if (vod.viewCounted) return;
  vod.viewCounted = true;
  try {
    const res = await fetch(apiUrl + '/views', { method: 'POST' });
    const body = res.ok ? await res.json() : null;
    if (body && Number.isFinite(body.views)) showViews(body.views);
  } catch (e) { console.warn('view', e); }
});

// ---- controls ----
function duration() {
  return Number.isFinite(video.duration) && video.duration > 0 ? video.duration : (vod.asset?.duration_s || 0);
}

function togglePlay() { if (video.paused) video.play().catch(() => {}); else video.pause(); }
$('play').addEventListener('click', togglePlay);
video.addEventListener('click', togglePlay);
video.addEventListener('play', () => { $('play').textContent = 'Pause'; $('play').setAttribute('aria-label', 'Pause'); });
video.addEventListener('pause', () => { $('play').textContent = 'Play'; $('play').setAttribute('aria-label', 'Play'); });
$('mute').addEventListener('click', () => { video.muted = !video.muted; $('mute').textContent = video.muted ? 'Unmute' : 'Mute'; });
$('fullscreen').addEventListener('click', () => {
  if (document.fullscreenElement) document.exitFullscreen(); else $('player-wrap').requestFullscreen?.();
});

let dragging = false;
function drawPosition(t) {
  const d = duration();
  $('seek-played').style.width = (d ? Math.min(100, (t / d) * 100) : 0) + '%';
  $('time').textContent = formatTime(t) + ' / ' + formatTime(d);
  seek.setAttribute('aria-valuemax', String(Math.round(d)));
  seek.setAttribute('aria-valuenow', String(Math.round(t)));
}
video.addEventListener('timeupdate', () => { if (!dragging) drawPosition(video.currentTime); });
video.addEventListener('durationchange', () => drawPosition(video.currentTime));
video.addEventListener('progress', () => {
  const b = video.buffered, d = duration();
  for (let i = 0; i < b.length; i++) {
    if (b.start(i) <= video.currentTime + 0.5 && video.currentTime <= b.end(i)) {
      $('seek-buffered').style.width = (d ? Math.min(100, (b.end(i) / d) * 100) : 0) + '%';
    }
  }
});

function fractionAt(ev) {
  const r = seek.getBoundingClientRect();
  return r.width ? Math.max(0, Math.min(1, (ev.clientX - r.left) / r.width)) : 0;
}
seek.addEventListener('pointerdown', (ev) => {
  dragging = true;
  seek.setPointerCapture(ev.pointerId);
  showPreview(fractionAt(ev) * duration());
  drawPosition(fractionAt(ev) * duration());
});
seek.addEventListener('pointermove', (ev) => {
  const t = fractionAt(ev) * duration();
  showPreview(t);
  if (dragging) drawPosition(t);
});
function endDrag(ev) {
  if (!dragging) return;
  dragging = false;
  const t = fractionAt(ev) * duration();
  if (duration()) video.currentTime = t;
  drawPosition(t);
  if (ev.pointerType !== 'mouse') preview.hidden = true;
}
seek.addEventListener('pointerup', endDrag);
seek.addEventListener('pointercancel', endDrag);
seek.addEventListener('pointerleave', () => { if (!dragging) preview.hidden = true; });
seek.addEventListener('keydown', (ev) => {
  const step = { ArrowLeft: -5, ArrowRight: 5, PageDown: -30, PageUp: 30 }[ev.key];
  if (step !== undefined) video.currentTime = Math.max(0, Math.min(duration(), video.currentTime + step));
  else if (ev.key === 'Home') video.currentTime = 0;
  else if (ev.key === 'End') video.currentTime = duration();
  else return;
  ev.preventDefault();
});

// ---- thumbnail previews ----
function vttTime(s) {
  const p = s.split(':').map(Number);
  return p.length === 3 ? p[0] * 3600 + p[1] * 60 + p[2] : p[0] * 60 + p[1];
}

/** Parses a WebVTT thumbnail index: cues whose payload is `uri#xywh=x,y,w,h`. */
function parseVtt(text, vttUrl) {
  const lines = String(text).replace(/\r\n?/g, '\n').split('\n');
  if (!/^\uFEFF?WEBVTT([ \t].*)?$/.test(lines[0])) return [];
  const cues = [];
  const timing = /^((?:\d+:)?\d{2}:\d{2}\.\d{3})[ \t]+-->[ \t]+((?:\d+:)?\d{2}:\d{2}\.\d{3})/;
  for (let i = 1; i < lines.length; i++) {
    const m = timing.exec(lines[i].trim());
    if (!m) continue;
    const payload = (lines[++i] || '').trim();
    let url;
    try { url = new URL(payload, vttUrl); } catch { continue; }
    // Media Fragments URI §4.3: xywh=[pixel:]x,y,w,h (percent is not used here).
    const f = /(?:^|&)xywh=(?:pixel:)?(\d+),(\d+),(\d+),(\d+)(?:&|$)/.exec(url.hash.slice(1));
    url.hash = '';
    if (!f || url.origin !== location.origin) continue;
    cues.push({ start: vttTime(m[1]), end: vttTime(m[2]), url: url.href, x: +f[1], y: +f[2], w: +f[3], h: +f[4] });
  }
  return cues.sort((a, b) => a.start - b.start);
}

async function loadThumbnails(vttUrl) {
  try {
    const res = await fetch(vttUrl);
    if (!res.ok) return; // audio-only assets have none
    vod.thumbnails = parseVtt(await res.text(), new URL(vttUrl, location.href).href);
    // Load the sprite(s) now, so the first hover shows a picture at once.
    for (const url of new Set(vod.thumbnails.map((c) => c.url))) new Image().src = url;
  } catch (e) { console.warn('thumbnails', e); }
}

/** The cue covering media time `t`, or null. */
function previewAt(t) {
  const cues = vod.thumbnails;
  let lo = 0, hi = cues.length - 1, found = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cues[mid].start <= t) { found = cues[mid]; lo = mid + 1; } else hi = mid - 1;
  }
  return found && t < found.end + 0.001 ? found : null;
}

/** Shows the preview for media time `t` above its place on the seek bar. */
function showPreview(t) {
  const d = duration();
  if (!d) return null;
  const cue = previewAt(t);
  const img = $('preview-image');
  img.hidden = !cue;
  if (cue) {
    img.style.width = cue.w + 'px';
    img.style.height = cue.h + 'px';
    img.style.backgroundImage = 'url(' + JSON.stringify(cue.url) + ')';
    img.style.backgroundPosition = -cue.x + 'px ' + -cue.y + 'px';
  }
  $('preview-time').textContent = formatTime(t);
  preview.dataset.time = String(t);
  preview.hidden = false;
  const bar = seek.clientWidth, width = preview.offsetWidth;
  preview.style.left = Math.max(0, Math.min(bar - width, (t / d) * bar - width / 2)) + 'px';
  return cue;
}

poll();
