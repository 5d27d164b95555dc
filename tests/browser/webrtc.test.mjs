// WebRTC in headless chromium against a real ferrocast-origin (issue 8): WHIP in,
// WHEP and LL-HLS out, through the origin's own client (origin/assets/webrtc.js)
// and pages. Chromium runs with a fake camera and microphone and loopback ICE
// candidates (launchBrowser({ webrtc: true })); the origin's media port is a free
// UDP port on 127.0.0.1.
//
// (a) WHIP → WHEP + LL-HLS: a test page publishes a canvas (captureStream(30)) and an
//     oscillator over WHIP to a channel made through the API (key from the API);
//     a second window plays it over WHEP (frames decode, none dropped to speak of,
//     Opus audio arrives), a third plays it over LL-HLS on the watch page, then
//     (a2) in real-time mode (WHEP through the page's own client), chat connected.
// (b) glass-to-glass latency of WHEP, in (a)'s stack: the publisher draws the epoch
//     time into each frame as a strip of black and white cells; the viewer decodes
//     the strip of every displayed frame (requestVideoFrameCallback) and subtracts
//     it from the frame's expected display time (same browser, same clock). The
//     method is described in page/webrtc.html. Median and p95 over >= 100 frames.
// (c) ffmpeg RTMP with B-frames (x264 -bf 3) + AAC → the watch page in real-time
//     mode: smooth video (framesDecoded steady, freezeCount <= 1, few drops), Opus
//     audio (transcoded from AAC) receiving packets, chat still connected; then the
//     toggle switches the page to LL-HLS (and ends the WHEP session).
// (d) errors shown by the pages: B-frames refused (`[webrtc] bframes = "refuse"`,
//     409) on the watch page, which then falls back to LL-HLS; WHEP for a channel
//     that is not live (404); WHIP on the admin page with a key that is no channel's
//     (401 or 403), and through the client with another channel's key (403) and
//     without a key (401).
// About 60 s on a 2-core box.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn } from 'node:child_process';
import { withStack, waitFor, abortWait, freePort, log, fmt } from './harness.mjs';

const ADMIN_KEY = `bt-admin-${randomBytes(12).toString('hex')}`;
/** (b) The bound asserted for the median glass-to-glass latency on loopback, ms. */
const LATENCY_MEDIAN_MAX_MS = 300;
/** (b) The bound for the 95th percentile: generous, the CI box is a loaded 2-core machine. */
const LATENCY_P95_MAX_MS = 1000;

/**
 * With FERROCAST_WHEP_LOAD=N, starts N headless WHEP viewers of `url`
 * (FERROCAST_WHEP_LOAD_BIN, default target/release/whep-load) and waits until they
 * are connected; returns { viewers, stop() } or null.
 */
async function startWhepLoad(url) {
  const n = Number(process.env.FERROCAST_WHEP_LOAD || 0);
  if (!n) return null;
  const bin = process.env.FERROCAST_WHEP_LOAD_BIN || new URL('../../target/release/whep-load', import.meta.url).pathname;
  const child = spawn(bin, ['--url', url, '--viewers', String(n), '--seconds', '120'], { stdio: ['ignore', 'pipe', 'inherit'] });
  process.once('exit', () => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  await waitFor(`${n} load viewers connected`, async () => /CONNECTED (\d+)/.test(out), { timeoutMs: 60_000 });
  const connected = Number(/CONNECTED (\d+)/.exec(out)[1]);
  assert.equal(connected, n, `load viewers connected: ${connected} of ${n}`);
  log(`${n} load viewers connected`);
  return { viewers: n, stop: () => { child.kill('SIGKILL'); return out.trim(); } };
}

/** The origin's config for these tests: an admin key and the WebRTC media port. */
async function originToml(extra = '') {
  const udp = await freePort(); // free for TCP now: almost surely free for UDP
  return [
    '[api]', `admin_keys = [${JSON.stringify(ADMIN_KEY)}]`, '',
    '[webrtc]', `udp_listen = "127.0.0.1:${udp}"`, 'candidates = ["127.0.0.1"]', extra, '',
  ].join('\n');
}

/** A JSON call to the origin's REST API (as admin unless `admin: false`). */
async function api(st, method, path, body, { admin = true } = {}) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (admin) headers.authorization = `Bearer ${ADMIN_KEY}`;
  const res = await fetch(`${st.base}/api/v1${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(5_000),
  });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  return { status: res.status, json, text };
}

async function createChannel(st, name) {
  const r = await api(st, 'POST', '/channels', { name, title: `WebRTC test ${name}` });
  assert.equal(r.status, 201, `POST /api/v1/channels ${name}: ${r.status} ${r.text}`);
  assert.ok(r.json?.stream_key, `the new channel has a stream_key: ${r.text}`);
  return r.json.stream_key;
}

async function waitForLive(st, name, timeoutMs = 20_000) {
  await waitFor(`channel ${name} live`, async () => (await api(st, 'GET', `/channels/${name}`, undefined, { admin: false })).json?.live,
    { timeoutMs, intervalMs: 500 });
}

const quantile = (xs, q) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : null;
};

/** getStats summaries of the watch page's WHEP session (like page/webrtc.html's). */
function watchRtcStats(page) {
  return page.evaluate(async () => {
    const w = window.ferroWatch;
    const out = { mode: w.mode, error: w.error, chat: window.ferroChat.connected, currentTime: document.getElementById('player').currentTime };
    if (!w.session) return out;
    out.connectionState = w.session.pc.connectionState;
    const stats = await w.session.pc.getStats();
    const codec = (id) => { const c = id && stats.get(id); return c ? c.mimeType : null; };
    stats.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        out.videoIn = { codec: codec(s.codecId), framesDecoded: s.framesDecoded, framesDropped: s.framesDropped,
          framesReceived: s.framesReceived, freezeCount: s.freezeCount, totalFreezesDuration: s.totalFreezesDuration,
          packetsLost: s.packetsLost, nackCount: s.nackCount, pliCount: s.pliCount, frameWidth: s.frameWidth, frameHeight: s.frameHeight };
      }
      if (s.type === 'inbound-rtp' && s.kind === 'audio') {
        out.audioIn = { codec: codec(s.codecId), packetsReceived: s.packetsReceived, totalSamplesReceived: s.totalSamplesReceived,
          concealedSamples: s.concealedSamples, audioLevel: s.audioLevel, totalAudioEnergy: s.totalAudioEnergy };
      }
    });
    return out;
  });
}

test('(a) WHIP from a page → WHEP in another window and LL-HLS on the watch page; (b) glass-to-glass latency',
  { timeout: 120_000 }, async (t) => {
    await withStack('webrtc-whip', async (st) => {
      await st.startOrigin({ extraToml: await originToml() });
      const name = `wr${randomBytes(3).toString('hex')}`;
      const streamKey = await createChannel(st, name);
      await st.startStatic();
      await st.launchBrowser({ webrtc: true });

      // Publisher: canvas with the timecode strip + a 440 Hz oscillator, over WHIP.
      const pub = await st.newWindow('publisher');
      await pub.goto(`${st.static.url}/webrtc.html`, { waitUntil: 'load' });
      const self = await pub.evaluate(() => rt.selfTest());
      assert.equal(self.decoded, self.t, 'the timecode strip decodes from an uncompressed canvas');
      const published = await pub.evaluate((url, key) => rt.publish({ url, streamKey: key }), `${st.base}/whip/${name}`, streamKey);
      assert.ok(published.ok, `WHIP publish: ${published.error}`);
      assert.match(published.resource ?? '', new RegExp(`/whip/${name}/[^/]+$`), 'WHIP Location is /whip/{channel}/{session}');
      await waitFor('WHIP connected', async () => {
        const s = await pub.evaluate(() => rt.stats());
        if (s.errors.length) throw abortWait(`publisher: ${s.errors.join('; ')}`);
        return s.publisher?.connectionState === 'connected' && s.publisher.videoOut?.framesEncoded > 0;
      }, { timeoutMs: 15_000 });
      await waitForLive(st, name);
      log(`WHIP publishing to ${name}; the API says live`);

      // Viewer: WHEP (a 404 may come before the real-time path has a keyframe).
      const view = await st.newWindow('whep-viewer');
      await view.goto(`${st.static.url}/webrtc.html`, { waitUntil: 'load' });
      const played = await waitFor('a WHEP session', async () => {
        const r = await view.evaluate((url) => rt.play({ url }), `${st.base}/whep/${name}`);
        if (!r.ok && r.status !== 404) throw abortWait(`WHEP: ${r.error}`);
        return r.ok ? r : null;
      }, { timeoutMs: 15_000, intervalMs: 1_000 });
      assert.match(played.resource ?? '', new RegExp(`/whep/${name}/[^/]+$`), 'WHEP Location is /whep/{channel}/{session}');
      await waitFor('WHEP frames displayed', async () => (await view.evaluate(() => rt.frames)) > 30, { timeoutMs: 15_000 });
      // Optional load for (b): FERROCAST_WHEP_LOAD=N more WHEP viewers (str0m, bench's
      // whep-load) watch the same channel while the latency is measured
      // (bench/webrtc_latency_under_load.sh; not in CI).
      const load = await startWhepLoad(`${st.base}/whep/${name}`);

      // LL-HLS of the same channel on the watch page (default mode).
      const watch = st.page;
      await watch.goto(`${st.base}/watch/${name}`, { waitUntil: 'load' });

      const v0 = await view.evaluate(() => rt.stats());
      const t0 = Date.now();
      const latencyFrom = await view.evaluate(() => rt.latency.length);
      await waitFor('the watch page to play LL-HLS', async () =>
        (await watch.evaluate(() => document.getElementById('player').currentTime)) > 0.5, { timeoutMs: 30_000 });
      const hls0 = await watch.evaluate(() => ({ t: document.getElementById('player').currentTime, mode: window.ferroWatch.mode }));
      await sleep(8_000);
      const v1 = await view.evaluate(() => rt.stats());
      const p1 = await pub.evaluate(() => rt.stats());
      const hls1 = await watch.evaluate(() => ({ t: document.getElementById('player').currentTime, mode: window.ferroWatch.mode }));
      const wallS = (Date.now() - t0) / 1000;
      const vin0 = v0.viewer.videoIn ?? {};
      const vin = v1.viewer.videoIn ?? {};
      const ain0 = v0.viewer.audioIn ?? {};
      const ain = v1.viewer.audioIn ?? {};
      const decoded = vin.framesDecoded - vin0.framesDecoded;
      const dropped = vin.framesDropped - vin0.framesDropped;
      console.log([
        '',
        `RESULT (a) publisher: ${JSON.stringify(p1.publisher.videoOut)} audio ${JSON.stringify(p1.publisher.audioOut)} source ${JSON.stringify(p1.publisher.audioSource)}`,
        `RESULT (a) WHEP video: ${JSON.stringify(vin)}`,
        `RESULT (a) WHEP audio: ${JSON.stringify(ain)}`,
        `RESULT (a) WHEP: +${decoded} frames decoded (${fmt(decoded / wallS, 1)}/s over ${fmt(wallS, 1)} s), +${dropped} dropped, ` +
          `${v1.frames - v0.frames} displayed (rVFC), ${v1.videoWidth}x${v1.videoHeight}; audio packets +${ain.packetsReceived - ain0.packetsReceived}`,
        `RESULT (a) LL-HLS on the watch page: currentTime ${fmt(hls0.t)} → ${fmt(hls1.t)} (${hls1.mode})`,
        '',
      ].join('\n'));
      assert.deepEqual(v1.errors, [], 'no errors on the WHEP page');
      assert.equal(vin.codec, 'video/H264', 'WHEP video is H.264 (passed through from WHIP)');
      assert.ok(decoded >= 8 * 20, `WHEP decoded ${decoded} frames in >= 8 s (want >= 20/s)`);
      assert.ok(dropped <= Math.max(3, 0.03 * decoded), `WHEP dropped ${dropped} of ${decoded} frames`);
      assert.ok(v1.frames - v0.frames >= 8 * 15, `frames displayed (requestVideoFrameCallback) +${v1.frames - v0.frames}`);
      assert.equal(ain.codec, 'audio/opus', 'WHEP audio is Opus');
      assert.ok(ain.packetsReceived - ain0.packetsReceived >= 8 * 25, `Opus packets +${ain.packetsReceived - ain0.packetsReceived} in 8 s`);
      assert.ok(ain.totalSamplesReceived > ain0.totalSamplesReceived, 'audio samples keep arriving');
      assert.ok(ain.totalAudioEnergy > ain0.totalAudioEnergy, 'the oscillator is heard (totalAudioEnergy rises)');
      assert.equal(hls1.mode, 'hls', 'the watch page plays LL-HLS by default');
      // Loose: one run in seven on the loaded 2-core box saw the watch page stall for ~4 s here.
      assert.ok(hls1.t - hls0.t >= 4, `LL-HLS currentTime advanced ${fmt(hls1.t - hls0.t)} s in ${fmt(wallS, 1)} s`);

      await t.test('(b) WHEP glass-to-glass latency, median and p95 over >= 100 frames', async () => {
        const samples = await waitFor('>= 100 latency samples', async () => {
          const s = await view.evaluate((i) => rt.latencySince(i), latencyFrom);
          return s.length >= 100 ? s : null;
        }, { timeoutMs: 20_000 });
        const st2 = await view.evaluate(() => rt.stats());
        const display = samples.map((s) => s.display);
        const receive = samples.map((s) => s.receive);
        const med = quantile(display, 0.5);
        const p95 = quantile(display, 0.95);
        console.log([
          '',
          `RESULT (b) glass-to-glass (canvas draw → expected display), ${display.length} frames: ` +
            `median ${fmt(med, 0)} ms, p95 ${fmt(p95, 0)} ms, min ${fmt(quantile(display, 0), 0)} ms, max ${fmt(quantile(display, 1), 0)} ms`,
          `RESULT (b) draw → receive (capture, encode, network, origin): median ${fmt(quantile(receive, 0.5), 0)} ms, p95 ${fmt(quantile(receive, 0.95), 0)} ms`,
          `RESULT (b) frames with an undecodable strip: ${st2.undecodable} of ${st2.frames}; jitter buffer ${fmt(st2.viewer.videoIn?.jitterBufferMs, 0)} ms`,
          '',
        ].join('\n'));
        assert.ok(st2.undecodable <= 0.1 * st2.frames, `strip undecodable in ${st2.undecodable} of ${st2.frames} frames`);
        // expectedDisplayTime is a prediction and the strip holds whole ms: a few ms below 0 is fine.
        assert.ok(quantile(display, 0) > -20, 'no frame is displayed (much) before it was drawn: the clocks agree');
        if (load) log(`(b) measured with ${load.viewers} more WHEP viewers: ${load.stop()}`);
        assert.ok(med < LATENCY_MEDIAN_MAX_MS, `median glass-to-glass ${fmt(med, 0)} ms < ${LATENCY_MEDIAN_MAX_MS} ms`);
        assert.ok(p95 < LATENCY_P95_MAX_MS, `p95 glass-to-glass ${fmt(p95, 0)} ms < ${LATENCY_P95_MAX_MS} ms`);
      });

      await t.test('(a2) the watch page in real-time mode plays the channel over WHEP; chat stays connected', async () => {
        await watch.goto(`${st.base}/watch/${name}?mode=realtime`, { waitUntil: 'load' });
        const s = await waitFor('real-time playback on the watch page', async () => {
          const w = await watchRtcStats(watch);
          if (w.error) throw abortWait(`the watch page says: ${w.error}`);
          return w.mode === 'realtime' && w.chat && w.videoIn?.framesDecoded > 60 ? w : null;
        }, { timeoutMs: 20_000, intervalMs: 500 });
        const latencyText = await watch.$eval('#latency', (e) => e.textContent);
        log(`watch page real-time: ${JSON.stringify(s.videoIn)}; latency shown ${latencyText}`);
        assert.equal(s.videoIn.codec, 'video/H264');
        assert.equal(await watch.$eval('#playback-mode', (e) => e.textContent), 'Real-time (WebRTC)');
      });

      // stop() DELETEs both sessions: the WHEP one is gone afterwards.
      await view.evaluate(() => rt.stop());
      await pub.evaluate(() => rt.stop());
      const del = await fetch(played.resource, { method: 'DELETE' });
      assert.equal(del.status, 404, 'the WHEP session is gone after its DELETE');
      assert.deepEqual(st.blocked, [], 'no requests outside 127.0.0.1');
    });
  });

test('(c) ffmpeg RTMP with B-frames + AAC → the watch page in real-time mode (WHEP): smooth video, Opus audio',
  { timeout: 90_000 }, async () => {
    await withStack('webrtc-bframes', async (st) => {
      await st.startOrigin({ extraToml: await originToml() });
      st.startPublisher({ bframes: 3 });
      await st.waitForStream();
      await st.launchBrowser({ webrtc: true });
      const page = st.page;
      await page.goto(`${st.base}/watch/${st.channel}?mode=realtime`, { waitUntil: 'load' });
      await waitFor('real-time playback', async () => {
        const s = await watchRtcStats(page);
        if (s.error) throw abortWait(`the watch page says: ${s.error}`);
        return s.mode === 'realtime' && s.connectionState === 'connected' && s.videoIn?.framesDecoded > 10 ? s : null;
      }, { timeoutMs: 20_000, intervalMs: 500 });

      // Played out, so that chromium measures the audio's level (--mute-audio keeps it quiet).
      await page.evaluate(() => { document.getElementById('player').muted = false; });
      const samples = [];
      for (let i = 0; i <= 10; i++) {
        samples.push(await watchRtcStats(page));
        if (i < 10) await sleep(1_000);
      }
      const first = samples[0];
      const last = samples[samples.length - 1];
      const perSecond = samples.slice(1).map((s, i) => s.videoIn.framesDecoded - samples[i].videoIn.framesDecoded);
      const decoded = last.videoIn.framesDecoded - first.videoIn.framesDecoded;
      const dropped = last.videoIn.framesDropped - first.videoIn.framesDropped;
      const latencyText = await page.$eval('#latency', (e) => e.textContent);
      console.log([
        '',
        `RESULT (c) WHEP video (x264 -bf 3 source, re-encoded): ${JSON.stringify(last.videoIn)}`,
        `RESULT (c) frames decoded per second: ${perSecond.join(' ')}; +${dropped} dropped; page latency estimate ${latencyText}`,
        `RESULT (c) WHEP audio (from AAC): ${JSON.stringify(last.audioIn)}; packets +${last.audioIn?.packetsReceived - first.audioIn?.packetsReceived}`,
        '',
      ].join('\n'));
      assert.equal(last.mode, 'realtime', `still real-time (${last.error})`);
      assert.equal(last.error, '', 'no error shown');
      assert.equal(last.videoIn.codec, 'video/H264');
      assert.ok(decoded >= 10 * 24, `decoded ${decoded} frames in 10 s of a 30 fps source`);
      assert.ok(Math.min(...perSecond) >= 10, `no second with fewer than 10 frames decoded: ${perSecond.join(' ')}`);
      assert.ok(last.videoIn.freezeCount <= 1, `freezeCount ${last.videoIn.freezeCount} <= 1`);
      assert.ok(dropped <= Math.max(3, 0.03 * decoded), `dropped ${dropped} of ${decoded}`);
      assert.equal(last.audioIn?.codec, 'audio/opus', 'audio is Opus');
      assert.ok(last.audioIn.packetsReceived - first.audioIn.packetsReceived >= 10 * 25, 'Opus packets keep arriving (>= 25/s)');
      assert.ok(last.audioIn.totalAudioEnergy > samples[1].audioIn.totalAudioEnergy, 'the 440 Hz tone is heard (totalAudioEnergy rises)');
      assert.ok(last.chat, 'chat is connected in real-time mode');

      // The toggle switches to LL-HLS (the WHEP session is ended, hls.js plays).
      const session = await page.evaluate(() => window.ferroWatch.session.resource);
      await page.click('#mode-toggle');
      const hls = await waitFor('LL-HLS after the toggle', async () => {
        const s = await page.evaluate(() => ({ mode: window.ferroWatch.mode, srcObject: !!document.getElementById('player').srcObject,
          t: document.getElementById('player').currentTime, label: document.getElementById('playback-mode').textContent }));
        return s.mode === 'hls' && !s.srcObject && s.t > 0 ? s : null;
      }, { timeoutMs: 20_000 });
      await waitFor('LL-HLS advancing', async () =>
        (await page.evaluate(() => document.getElementById('player').currentTime)) > hls.t + 1, { timeoutMs: 15_000 });
      assert.equal(hls.label, 'LL-HLS');
      assert.equal((await fetch(session, { method: 'DELETE' })).status, 404, 'the toggle ended the WHEP session');
      assert.deepEqual(st.blocked, [], 'no requests outside 127.0.0.1');
    });
  });

test('(d) errors on the pages: B-frames refused (409, falls back to LL-HLS), not live (404), wrong or no WHIP key (401, 403)',
  { timeout: 90_000 }, async () => {
    await withStack('webrtc-errors', async (st) => {
      await st.startOrigin({ extraToml: await originToml('bframes = "refuse"') });
      const idle = `wi${randomBytes(3).toString('hex')}`;
      await createChannel(st, idle);
      st.startPublisher({ bframes: 3 });
      await st.waitForStream();
      await st.launchBrowser({ webrtc: true });

      // 409: the watch page says why and plays LL-HLS instead.
      const page = st.page;
      await page.goto(`${st.base}/watch/${st.channel}?mode=realtime`, { waitUntil: 'load' });
      const refused = await waitFor('the B-frames refusal on the watch page', async () => {
        const s = await page.evaluate(() => ({
          mode: window.ferroWatch.mode,
          shown: document.getElementById('playback-error').hidden ? '' : document.getElementById('playback-error').textContent,
        }));
        return s.shown ? s : null;
      }, { timeoutMs: 20_000 });
      log(`watch page (409): "${refused.shown}"`);
      assert.match(refused.shown, /WHEP 409/, 'the 409 is shown');
      await waitFor('LL-HLS after the fallback', async () => {
        const s = await page.evaluate(() => ({ mode: window.ferroWatch.mode, t: document.getElementById('player').currentTime }));
        return s.mode === 'hls' && s.t > 1;
      }, { timeoutMs: 30_000 });

      // 404: real-time on a channel that is not live.
      await page.goto(`${st.base}/watch/${idle}`, { waitUntil: 'load' });
      await page.evaluate(() => window.ferroWatch.playRealtime());
      const notLive = await waitFor('the not-live error', async () =>
        page.evaluate(() => (document.getElementById('playback-error').hidden ? '' : document.getElementById('playback-error').textContent)),
      { timeoutMs: 10_000 });
      log(`watch page (404): "${notLive}"`);
      assert.match(notLive, /WHEP 404/);

      // The admin page's "publish from this page" with a key that is no channel's.
      await page.goto(`${st.base}/admin`, { waitUntil: 'load' });
      const server = await page.$eval('#whip-server', (e) => e.textContent);
      assert.equal(server, `${st.base}/whip/{channel}`, 'the admin page shows the WHIP server URL');
      await page.type('#whip-channel', idle);
      assert.equal(await page.$eval('#whip-server', (e) => e.textContent), `${st.base}/whip/${idle}`);
      await page.type('#whip-key', 'not-the-key');
      await page.click('#whip-start');
      const wrong = await waitFor('the WHIP refusal on the admin page', async () => page.evaluate(() => {
        const s = document.getElementById('whip-section');
        return s.dataset.state === 'failed' ? document.getElementById('whip-status').textContent : null;
      }), { timeoutMs: 15_000 });
      log(`admin page (wrong key): "${wrong}"`);
      assert.match(wrong, /WHIP 40[13]/);

      // Through the client from another origin (CORS): another channel's key (403), no key (401).
      await st.startStatic();
      await page.goto(`${st.static.url}/webrtc.html`, { waitUntil: 'load' });
      const otherKey = await page.evaluate((url, key) => rt.publish({ url, streamKey: key }), `${st.base}/whip/${idle}`, st.key);
      log(`client (another channel's key): ${JSON.stringify(otherKey)}`);
      assert.equal(otherKey.status, 403, `another channel's key: ${otherKey.error}`);
      const noKey = await page.evaluate((url) => rt.publish({ url, streamKey: '' }), `${st.base}/whip/${idle}`);
      log(`client (no key): ${JSON.stringify(noKey)}`);
      assert.equal(noKey.status, 401, `no key: ${noKey.error}`);
      assert.match(await page.$eval('#status', (e) => e.textContent), /WHIP 401/);
      assert.deepEqual(st.blocked, [], 'no requests outside 127.0.0.1');
    });
  });
