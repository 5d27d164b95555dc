// The admin page: everything goes through /api/v1 with the admin key as a bearer
// token (kept in sessionStorage). Stream keys are shown once, when created or rotated.
// Videos are uploaded with tus-js-client (tus 1.0, /api/v1/uploads) in 1 MiB PATCHes;
// an interrupted upload (Pause, a lost connection, a closed tab) resumes from the
// server's offset: tus-js-client keeps each upload's URL in localStorage under a
// fingerprint of the file, and Upload looks for it first.
'use strict';
const keyInput = document.getElementById('admin-key');
const statusEl = document.getElementById('admin-status');
keyInput.value = sessionStorage.getItem('ferrocast-admin-key') || '';

async function api(method, path, body) {
  const headers = { authorization: 'Bearer ' + keyInput.value };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch('/api/v1' + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const json = text ? JSON.parse(text) : null;
  if (!res.ok) throw new Error((json && json.error) || ('HTTP ' + res.status));
  return json;
}

function cell(text) { const td = document.createElement('td'); td.textContent = text; return td; }

function showKey(name, key) {
  document.getElementById('created').hidden = false;
  document.getElementById('created-name').textContent = name;
  document.getElementById('created-key').textContent = key;
  document.getElementById('obs-server').textContent = 'rtmp://' + location.hostname + ':' + document.body.dataset.rtmpPort + '/live';
  document.getElementById('created-whip-server').textContent = whipUrl(name);
  // Ready for "publish from this page" too.
  whipChannel.value = name;
  whipKey.value = key;
  showWhipServer();
}

async function refresh() {
  try {
    const { channels } = await api('GET', '/channels');
    const rows = channels.map((c) => {
      const tr = document.createElement('tr');
      tr.dataset.channel = c.name;
      const ingest = c.ingest
        ? (c.ingest.bitrate_bps / 1e6).toFixed(2) + ' Mbit/s, ' + c.ingest.tracks.map((t) => t.codec + (t.width ? ' ' + t.width + 'x' + t.height : '')).join(', ')
        : '';
      const actions = document.createElement('td');
      const rotate = document.createElement('button');
      rotate.textContent = 'Rotate key';
      rotate.addEventListener('click', async () => {
        try { const r = await api('POST', '/channels/' + encodeURIComponent(c.name) + '/rotate-key'); showKey(c.name, r.stream_key); }
        catch (e) { statusEl.textContent = e.message; }
      });
      const watch = document.createElement('a');
      watch.href = '/watch/' + encodeURIComponent(c.name);
      watch.textContent = 'watch';
      actions.append(rotate, ' ', watch);
      tr.append(cell(c.name), cell(c.title), cell(c.playback), cell(c.live ? 'LIVE' : 'offline'), cell(String(c.viewers)), cell(ingest), actions);
      return tr;
    });
    document.getElementById('channels').replaceChildren(...rows);
  } catch (e) {
    statusEl.textContent = e.message;
  }
}

// ---- WHIP: OBS 30+ settings, and publishing the camera from this page (webrtc.js)

const whipSection = document.getElementById('whip-section');
const whipChannel = document.getElementById('whip-channel');
const whipKey = document.getElementById('whip-key');
const whipStatus = document.getElementById('whip-status');
const whipStart = document.getElementById('whip-start');
const whipStop = document.getElementById('whip-stop');
const whipPreview = document.getElementById('whip-preview');
let whipSession = null;
let whipMedia = null;

function whipUrl(channel) { return location.origin + '/whip/' + (channel ? encodeURIComponent(channel) : '{channel}'); }
function showWhipServer() { document.getElementById('whip-server').textContent = whipUrl(whipChannel.value.trim()); }

function whipState(state, text) {
  whipSection.dataset.state = state;
  whipStatus.textContent = text;
  whipStart.disabled = state === 'connecting' || state === 'publishing';
  whipStop.disabled = !(state === 'connecting' || state === 'publishing');
}

async function stopWhip(state, text) {
  const s = whipSession;
  whipSession = null;
  if (s) await s.stop();
  if (whipMedia) { whipMedia.getTracks().forEach((t) => t.stop()); whipMedia = null; }
  whipPreview.srcObject = null;
  whipPreview.hidden = true;
  whipState(state, text);
}

async function startWhip() {
  const channel = whipChannel.value.trim();
  if (!channel || !whipKey.value) { whipState('idle', 'enter the channel and its stream key'); return; }
  if (!navigator.mediaDevices) { whipState('failed', 'the camera needs a secure page: open the admin page over https (or on localhost)'); return; }
  whipState('connecting', 'asking for the camera and microphone');
  try {
    whipMedia = await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720 }, audio: true });
    whipPreview.srcObject = whipMedia;
    whipPreview.hidden = false;
    whipState('connecting', 'connecting to ' + whipUrl(channel));
    const s = await FerrocastWebRtc.whipPublish('/whip/' + encodeURIComponent(channel), whipMedia, { streamKey: whipKey.value });
    whipSession = s;
    await s.connected;
    if (whipSession !== s) return;
    whipState('publishing', 'publishing to ' + channel + ' (' + whipMedia.getTracks().map((t) => t.kind).join(' + ') + ')');
    s.pc.addEventListener('connectionstatechange', () => {
      if (whipSession === s && s.pc.connectionState === 'failed') stopWhip('failed', 'the media connection failed');
    });
  } catch (e) {
    await stopWhip('failed', 'publishing failed: ' + e.message);
  }
}

whipChannel.addEventListener('input', showWhipServer);
whipStart.addEventListener('click', startWhip);
whipStop.addEventListener('click', () => stopWhip('idle', 'stopped'));
showWhipServer();

// ---- uploads and videos (issue 7)

const UPLOAD_CHUNK_BYTES = 1024 * 1024;
const uploadSection = document.getElementById('upload-section');
const uploadStatus = document.getElementById('upload-status');
const uploadProgress = document.getElementById('upload-progress');
const uploadResult = document.getElementById('upload-result');
const startButton = document.getElementById('upload-start');
const pauseButton = document.getElementById('upload-pause');
let currentUpload = null;

const mb = (n) => (n / 1048576).toFixed(1);

function uploadState(state, text) {
  uploadSection.dataset.state = state;
  uploadStatus.textContent = text;
  startButton.disabled = state === 'uploading';
  pauseButton.disabled = state !== 'uploading';
}

async function startUpload() {
  const file = document.getElementById('upload-file').files[0];
  if (!file) { uploadState('idle', 'choose a file first'); return; }
  if (currentUpload) return;
  const title = document.getElementById('upload-title').value.trim() || file.name;
  const upload = new tus.Upload(file, {
    endpoint: '/api/v1/uploads',
    chunkSize: UPLOAD_CHUNK_BYTES,
    retryDelays: [0, 1000, 3000, 5000],
    headers: { Authorization: 'Bearer ' + keyInput.value },
    metadata: {
      filename: file.name,
      filetype: file.type,
      title,
      description: document.getElementById('upload-description').value,
      tags: document.getElementById('upload-tags').value,
    },
    removeFingerprintOnSuccess: true,
    onProgress(sent, total) {
      if (currentUpload !== upload) return; // paused: a late event must not undo that
      uploadProgress.value = total ? (sent / total) * 100 : 0;
      uploadState('uploading', mb(sent) + ' of ' + mb(total) + ' MB');
      document.dispatchEvent(new CustomEvent('ferrocast-upload-progress', { detail: { sent, total } }));
    },
    onError(e) {
      if (currentUpload !== upload) return;
      currentUpload = null;
      uploadState('failed', 'upload failed: ' + e.message + ' (Upload resumes it)');
    },
    onSuccess(payload) {
      currentUpload = null;
      const res = payload && payload.lastResponse;
      const asset = res ? res.getHeader('Ferrocast-Asset') : null;
      uploadProgress.value = 100;
      uploadState('done', 'uploaded; processing is queued');
      uploadResult.hidden = false;
      uploadResult.dataset.asset = asset || '';
      uploadResult.textContent = 'Uploaded "' + title + '"' + (asset ? ' as asset ' + asset : '');
      refreshAssets();
    },
  });
  currentUpload = upload;
  uploadResult.hidden = true;
  // The newest earlier attempt at this same file, if the server still has it.
  const previous = await upload.findPreviousUploads();
  previous.sort((a, b) => String(b.creationTime).localeCompare(String(a.creationTime)));
  if (previous.length) {
    upload.resumeFromPreviousUpload(previous[0]);
    uploadSection.dataset.resumed = 'true';
    uploadState('uploading', 'resuming an earlier upload of this file');
  } else {
    uploadSection.dataset.resumed = 'false';
    uploadState('uploading', 'starting');
  }
  upload.start();
}

startButton.addEventListener('click', startUpload);
pauseButton.addEventListener('click', () => {
  if (!currentUpload) return;
  // abort(false): stop sending (the connection of a PATCH in flight is cut) but keep
  // the upload on the server, to resume later.
  currentUpload.abort(false);
  currentUpload = null;
  uploadState('paused', 'paused at ' + uploadProgress.value.toFixed(0) + ' % (Upload resumes it)');
});

function assetProgress(a) {
  if (!a.job || a.status === 'ready' || a.status === 'failed') return a.reason || '';
  const eta = a.job.eta_s != null ? ', ' + Math.round(a.job.eta_s) + ' s left' : '';
  return a.job.state + ' ' + a.job.progress_percent.toFixed(0) + ' %' + eta;
}

async function refreshAssets() {
  try {
    const { assets } = await api('GET', '/assets?limit=50');
    // Progress (percent, ETA) is in each unfinished asset's own record.
    const detailed = await Promise.all(assets.map((a) =>
      a.status === 'uploaded' || a.status === 'processing'
        ? api('GET', '/assets/' + a.id).catch(() => a) : a));
    const rows = detailed.map((a) => {
      const tr = document.createElement('tr');
      tr.dataset.asset = a.id;
      tr.dataset.status = a.status;
      const actions = document.createElement('td');
      if (a.status === 'ready') {
        const play = document.createElement('a');
        play.href = '/vod/' + a.id;
        play.textContent = 'play';
        actions.append(play, ' ');
      }
      const del = document.createElement('button');
      del.textContent = 'Delete';
      del.addEventListener('click', async () => {
        if (!confirm('Delete "' + a.title + '" and its files?')) return;
        try { await api('DELETE', '/assets/' + a.id); refreshAssets(); } catch (e) { statusEl.textContent = e.message; }
      });
      actions.append(del);
      const duration = a.duration_s != null ? a.duration_s.toFixed(1) + ' s' : '';
      tr.append(cell(a.title), cell(a.status), cell(assetProgress(a)), cell(duration),
        cell(mb(a.size_bytes) + ' MB'), cell(String(a.views)), actions);
      return tr;
    });
    document.getElementById('assets').replaceChildren(...rows);
  } catch (e) {
    statusEl.textContent = e.message;
  }
}

document.getElementById('admin-login').addEventListener('click', () => {
  sessionStorage.setItem('ferrocast-admin-key', keyInput.value);
  statusEl.textContent = '';
  refresh();
  refreshAssets();
});
document.getElementById('create-submit').addEventListener('click', async () => {
  const name = document.getElementById('create-name').value.trim();
  const title = document.getElementById('create-title').value.trim();
  try {
    const c = await api('POST', '/channels', title ? { name, title } : { name });
    showKey(c.name, c.stream_key);
    refresh();
  } catch (e) { statusEl.textContent = e.message; }
});
document.getElementById('mint-submit').addEventListener('click', async () => {
  const channel = document.getElementById('mint-channel').value.trim();
  const hours = Number(document.getElementById('mint-hours').value) || 24;
  try {
    const t = await api('POST', '/tokens', { channel, expires_in_s: Math.round(hours * 3600) });
    document.getElementById('minted-url').textContent = location.origin + '/watch/' + encodeURIComponent(channel) + '?token=' + encodeURIComponent(t.token);
  } catch (e) { statusEl.textContent = e.message; }
});
if (keyInput.value) { refresh(); refreshAssets(); }
setInterval(() => { if (keyInput.value) { refresh(); refreshAssets(); } }, 5000);
