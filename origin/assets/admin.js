// The admin page: everything goes through /api/v1 with the admin key as a bearer
// token (kept in sessionStorage). Stream keys are shown once, when created or rotated.
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

document.getElementById('admin-login').addEventListener('click', () => {
  sessionStorage.setItem('ferrocast-admin-key', keyInput.value);
  statusEl.textContent = '';
  refresh();
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
if (keyInput.value) refresh();
setInterval(() => { if (keyInput.value) refresh(); }, 5000);
