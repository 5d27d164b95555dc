// The channel list: live ones first, with a title card (text only, no thumbnails yet).
'use strict';
function card(ch) {
  const li = document.createElement('li');
  li.className = 'card';
  const a = document.createElement('a');
  a.className = 'channel-link';
  a.href = '/watch/' + encodeURIComponent(ch.name);
  const tc = document.createElement('div');
  tc.className = 'title-card';
  tc.textContent = ch.title;
  const meta = document.createElement('div');
  const badge = document.createElement('span');
  badge.className = 'badge';
  badge.dataset.live = String(ch.live);
  badge.textContent = ch.live ? 'LIVE' : 'offline';
  meta.append(badge, ' ', ch.name);
  a.append(tc, meta);
  li.append(a);
  return li;
}
async function refresh() {
  try {
    const res = await fetch('/api/v1/channels', { cache: 'no-store' });
    const { channels } = await res.json();
    const live = channels.filter((c) => c.live);
    document.getElementById('live-channels').replaceChildren(...live.map(card));
    document.getElementById('nobody-live').hidden = live.length > 0;
    document.getElementById('all-channels').replaceChildren(...channels.map(card));
  } catch (e) {
    console.warn('channel list', e);
  }
}
refresh();
setInterval(refresh, 5000);
