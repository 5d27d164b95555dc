// VOD playback: an uploaded clip becomes a ladder, and hls.js and dash.js each play
// every rendition of it (forced one by one, ABR off), from the same CMAF segments.
// Then the /vod/{asset} page plays it with its own hls.js, shows thumbnail
// previews on the seek bar and counts the view.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { withStack, log, fmt, waitFor, FFMPEG_BIN } from './harness.mjs';

const ADMIN = 'browser-vod-admin-key';
const LADDER = [
  '[api]', `admin_keys = ["${ADMIN}"]`, '',
  '[ladder]', 'preset = "ultrafast"', 'audio_bitrate_kbps = 96',
  'renditions = [',
  '  { name = "360p", height = 360, bitrate_kbps = 700 },',
  '  { name = "240p", height = 240, bitrate_kbps = 400 },',
  '  { name = "144p", height = 144, bitrate_kbps = 200 },',
  ']', '',
].join('\n');

/** tus 1.0 creation + PATCHes from node (the tus-js-client test covers the real client). */
async function upload(base, file, title) {
  const body = readFileSync(file);
  const b64 = (s) => Buffer.from(s).toString('base64');
  const auth = { Authorization: `Bearer ${ADMIN}`, 'Tus-Resumable': '1.0.0' };
  const created = await fetch(`${base}/api/v1/uploads`, {
    method: 'POST',
    headers: { ...auth, 'Upload-Length': String(body.length), 'Upload-Metadata': `filename ${b64('clip.mp4')},title ${b64(title)}` },
  });
  assert.equal(created.status, 201, 'tus creation');
  const url = new URL(created.headers.get('location'), `${base}/api/v1/uploads`).href;
  for (let off = 0; off < body.length; off += 1 << 20) {
    const chunk = body.subarray(off, Math.min(off + (1 << 20), body.length));
    const r = await fetch(url, {
      method: 'PATCH',
      headers: { ...auth, 'Upload-Offset': String(off), 'Content-Type': 'application/offset+octet-stream' },
      body: chunk,
    });
    assert.equal(r.status, 204, `PATCH at ${off}`);
  }
}

async function readyAsset(base, title) {
  return waitFor(`asset "${title}" ready`, async () => {
    const r = await fetch(`${base}/api/v1/assets?limit=100`, { headers: { Authorization: `Bearer ${ADMIN}` } });
    const list = (await r.json()).assets || [];
    const a = list.find((x) => x.title === title);
    if (a && a.status === 'failed') throw Object.assign(new Error(`asset failed: ${a.reason}`), { abortWait: true });
    return a && a.status === 'ready' ? a : null;
  }, { timeoutMs: 180_000, intervalMs: 1_000 });
}

/** Forces each video rendition in turn and waits until it is on screen and playing. */
async function playEveryRendition(st, kind) {
  const levels = await st.page.evaluate((kind) => {
    const f = window.ferro;
    if (kind === 'hls') return f.hls.levels.map((l) => l.height);
    f.dash.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: false } } } });
    return f.dash.getRepresentationsByType('video').map((r) => r.height);
  }, kind);
  log(`${kind}: renditions ${JSON.stringify(levels)}`);
  const played = [];
  for (let i = 0; i < levels.length; i++) {
    await st.page.evaluate((kind, i) => {
      const f = window.ferro;
      if (kind === 'hls') f.hls.currentLevel = i;
      else f.dash.setRepresentationForTypeByIndex('video', i, true);
    }, kind, i);
    const before = await st.stats();
    const s = await waitFor(`${kind} rendition ${i} (${levels[i]}p) on screen`, async () => {
      const s = await st.stats();
      if (s.fatal) throw Object.assign(new Error(JSON.stringify(s.errors)), { abortWait: true });
      return s.videoHeight === levels[i] && s.currentTime > before.currentTime + 1 ? s : null;
    }, { timeoutMs: 30_000, intervalMs: 250 });
    log(`${kind}: ${levels[i]}p playing at t=${fmt(s.currentTime)}`);
    played.push(levels[i]);
  }
  return { levels, played };
}

test('hls.js and dash.js play every rendition of an uploaded asset', { timeout: 420_000 }, async () => {
  await withStack('vod', async (st) => {
    await st.startOrigin({ extraToml: LADDER });
    const clip = join(st.dir, 'clip.mp4');
    execFileSync(FFMPEG_BIN, ['-hide_banner', '-loglevel', 'error', '-y',
      '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30:duration=30',
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=30',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', clip]);
    await upload(st.base, clip, 'Browser VOD');
    const asset = await readyAsset(st.base, 'Browser VOD');
    log(`asset ${asset.id} ready: ${asset.duration_s} s`);
    await st.startStatic();
    await st.launchBrowser();

    for (const [kind, manifest] of [['hls', 'master.m3u8'], ['dash', 'manifest.mpd']]) {
      await st.openPlayer(kind, `${st.base}/vod/${asset.id}/${manifest}`);
      await st.waitForPlaying({ timeoutMs: 40_000 });
      const { levels, played } = await playEveryRendition(st, kind);
      const end = await st.stats();
      console.log(`RESULT ${kind}: played renditions ${JSON.stringify(played)} of ${JSON.stringify(levels)}; ` +
        `stalled ${end.stallMs} ms, errors ${end.errorCount}`);
      assert.deepEqual([...levels].sort((a, b) => a - b), [144, 240, 360], `${kind} lists the whole ladder`);
      assert.deepEqual(played, levels, `${kind} played every rendition`);
      assert.equal(end.fatal, false, `${kind}: no fatal error ${JSON.stringify(end.errors)}`);
    }

    // The /vod/{asset} page: its own hls.js plays, hovering the seek bar shows the
    // sprite tile of that time, and the view is counted.
    await st.page.goto(`${st.base}/vod/${asset.id}`, { waitUntil: 'load' });
    await waitFor('the VOD page to set up its player', async () =>
      st.page.evaluate(() => !!(window.__ferrocastVod && window.__ferrocastVod.started)), { timeoutMs: 20_000 });
    await st.page.click('#play');
    const playing = await waitFor('the VOD page to play', async () => st.page.evaluate(() => {
      const v = window.__ferrocastVod;
      return v && v.started && v.video.currentTime > 1 ? { t: v.video.currentTime, cues: v.thumbnails.length } : null;
    }), { timeoutMs: 40_000, intervalMs: 500 });
    const seek = await st.page.$('#seek');
    const box = await seek.boundingBox();
    await st.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    const preview = await waitFor('a thumbnail preview on hover', async () => st.page.evaluate(() => {
      const img = document.getElementById('preview-image');
      return img && !img.hidden && img.style.backgroundImage.includes('sprite.jpg')
        ? { position: img.style.backgroundPosition, time: document.getElementById('preview').dataset.time }
        : null;
    }), { timeoutMs: 10_000, intervalMs: 250 });
    const views = await waitFor('the view to be counted', async () => {
      const a = await (await fetch(`${st.base}/api/v1/assets/${asset.id}`)).json();
      return a.views >= 1 ? a.views : null;
    }, { timeoutMs: 10_000, intervalMs: 500 });
    console.log(`RESULT page: playing at t=${fmt(playing.t)} with ${playing.cues} thumbnail cues; ` +
      `hover at ${fmt(Number(preview.time))} s shows sprite at ${preview.position}; views ${views}`);
    assert.ok(playing.cues >= 5, `thumbnail cues parsed (${playing.cues})`);
    assert.deepEqual(st.blocked, [], 'no request left 127.0.0.1');
  });
});
