// A tus upload from the admin page (tus-js-client, vendored and served by the
// origin at /assets/tus.min.js) in headless chromium:
// - a 30 s H.264/AAC clip made with ffmpeg is chosen in the page's file input and
//   uploaded in 1 MiB PATCHes (upload throughput throttled through the DevTools
//   protocol so the upload takes a few seconds);
// - at >= 40 % the page's Pause button aborts the upload (abort(false): the PATCH in
//   flight has its connection cut, the upload stays on the server); the partial file
//   on the server holds exactly a prefix of the clip, and HEAD reports its length;
// - Upload again finds the earlier upload (findPreviousUploads) and resumes it from
//   the server's offset: in the end the origin created one upload only, stored
//   exactly the clip's size in bytes (nothing sent twice was stored twice), and
//   {data_dir}/vod/{asset}/source has the clip's sha256;
// - the asset is `uploaded` with a queued job, and the page's video list shows it;
// - a page on another origin speaks tus to the origin through CORS (preflights
//   pass, Location and Upload-Offset are readable).
// About 20 s on a 2-core box.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { withStack, waitFor, log, FFMPEG_BIN } from './harness.mjs';

const ADMIN_KEY = `bt-admin-${randomBytes(12).toString('hex')}`;
const API_TOML = `[api]\nadmin_keys = [${JSON.stringify(ADMIN_KEY)}]\n`;

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** The sum of a Prometheus counter's samples. */
function counter(text, name) {
  return text.split('\n')
    .filter((l) => l.startsWith(name + ' ') || l.startsWith(name + '{'))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

test('admin page: tus-js-client uploads a clip in 1 MiB chunks, is cut off at >= 40 %, resumes, and the stored source is byte-identical',
  { timeout: 180_000 }, async () => {
    await withStack('uploads', async (st) => {
      await st.startOrigin({ extraToml: API_TOML });
      const dataDir = join(st.dir, 'data');
      const clip = join(st.dir, 'clip.mp4');
      execFileSync(FFMPEG_BIN, ['-v', 'error', '-y',
        '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30',
        '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
        '-t', '30', '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '2M', '-pix_fmt', 'yuv420p',
        '-c:a', 'aac', '-b:a', '128k', '-movflags', '+faststart', clip]);
      const source = readFileSync(clip);
      log(`clip: ${source.length} bytes, sha256 ${sha256(source)}`);
      assert.ok(source.length > 4 * 1048576, `the clip spans several 1 MiB chunks (${source.length} bytes)`);

      const page = await st.launchBrowser();
      // ~3 MB/s up: the clip takes a few seconds, so there is a middle to cut.
      const cdp = await page.createCDPSession();
      await cdp.send('Network.enable');
      await cdp.send('Network.emulateNetworkConditions', {
        offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 3 * 1024 * 1024,
      });
      const res = await page.goto(`${st.base}/admin`, { waitUntil: 'load' });
      assert.equal(res.status(), 200);
      assert.equal(await page.evaluate(() => typeof tus?.Upload), 'function', 'tus-js-client is loaded');
      assert.equal(await page.evaluate(() => tus.isSupported), true);
      await page.type('#admin-key', ADMIN_KEY);
      await page.click('#admin-login');
      await page.type('#upload-title', 'Browser upload');
      await page.type('#upload-tags', 'browser, test');
      await page.type('#upload-description', 'Uploaded by the browser test');
      const input = await page.$('#upload-file');
      await input.uploadFile(clip);
      // Pause from inside the page the moment progress reaches 40 %.
      await page.evaluate(() => {
        window.pausedAt = null;
        window.progressEvents = 0;
        document.addEventListener('ferrocast-upload-progress', (e) => {
          window.progressEvents++;
          const f = e.detail.sent / e.detail.total;
          if (f >= 0.4 && window.pausedAt === null) {
            window.pausedAt = f;
            document.getElementById('upload-pause').click();
          }
        });
      });
      await page.click('#upload-start');
      await waitFor('the upload to be paused at >= 40 %', () =>
        page.evaluate(() => document.getElementById('upload-section').dataset.state === 'paused'),
      { timeoutMs: 60_000 });
      const pausedAt = await page.evaluate(() => window.pausedAt);
      log(`paused at ${(pausedAt * 100).toFixed(1)} % of the clip`);
      assert.ok(pausedAt >= 0.4 && pausedAt < 1, `paused mid-way (${pausedAt})`);
      assert.equal(await page.evaluate(() => document.getElementById('upload-section').dataset.resumed), 'false');

      // The server kept a prefix of the clip, and HEAD says how long.
      const parts = readdirSync(join(dataDir, 'uploads')).filter((f) => f.endsWith('.part'));
      assert.equal(parts.length, 1, `one partial upload: ${parts}`);
      const id = parts[0].replace(/\.part$/, '');
      const head = async () => {
        const r = await fetch(`${st.base}/api/v1/uploads/${id}`, {
          method: 'HEAD',
          headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${ADMIN_KEY}` },
        });
        assert.equal(r.status, 200, `HEAD the paused upload: ${r.status}`);
        return Number(r.headers.get('upload-offset'));
      };
      const offset = await head();
      log(`the server holds ${offset} bytes of ${source.length}`);
      assert.ok(offset > 0 && offset < source.length, `a partial upload (${offset})`);
      const partial = readFileSync(join(dataDir, 'uploads', parts[0]));
      assert.equal(partial.length, offset, 'HEAD reports the partial file\'s length');
      assert.ok(partial.equals(source.subarray(0, offset)), 'the partial file is a prefix of the clip');

      // Resume: the same file, Upload again.
      await page.click('#upload-start');
      const asset = await waitFor('the resumed upload to complete', () =>
        page.evaluate(() => document.getElementById('upload-result').dataset.asset || null),
      { timeoutMs: 90_000 });
      assert.equal(await page.evaluate(() => document.getElementById('upload-section').dataset.resumed), 'true',
        'the second Upload resumed the first upload');
      log(`asset ${asset}; ${await page.evaluate(() => window.progressEvents)} progress events`);
      const stored = readFileSync(join(dataDir, 'vod', asset, 'source'));
      assert.equal(stored.length, source.length);
      assert.equal(sha256(stored), sha256(source), 'the stored source is byte-identical to the clip');
      assert.equal(readdirSync(join(dataDir, 'uploads')).filter((f) => f.endsWith('.part')).length, 0);

      // One upload created, its bytes stored exactly once.
      const metrics = await (await fetch(`${st.base}/metrics`)).text();
      assert.equal(counter(metrics, 'ferrocast_uploads_started_total'), 1, 'one tus creation: the second Upload resumed');
      assert.equal(counter(metrics, 'ferrocast_uploads_completed_total'), 1);
      assert.equal(counter(metrics, 'ferrocast_upload_bytes_total'), source.length,
        'every byte stored once: the resume started at the server\'s offset');

      // The asset and the page's list.
      const r = await fetch(`${st.base}/api/v1/assets/${asset}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      const a = await r.json();
      assert.equal(r.status, 200, JSON.stringify(a));
      assert.ok(['uploaded', 'processing', 'ready'].includes(a.status), `status ${a.status}`);
      assert.equal(a.title, 'Browser upload');
      assert.deepEqual(a.tags, ['browser', 'test']);
      assert.equal(a.description, 'Uploaded by the browser test');
      assert.equal(a.size_bytes, source.length);
      assert.equal(a.source_name, 'clip.mp4');
      assert.ok(a.job, `a job: ${JSON.stringify(a)}`);
      await waitFor('the video list to show the asset', () =>
        page.evaluate((id) => document.querySelector(`#assets tr[data-asset="${id}"]`)?.dataset.status ?? null, asset),
      { timeoutMs: 15_000 });
      assert.deepEqual(st.blocked, [], 'the admin page loads nothing from elsewhere');

      // CORS: a page on another origin speaks tus to the origin (preflights for
      // POST/PATCH/HEAD/DELETE with tus and auth fields; Location and Upload-Offset readable).
      const other = await st.startStatic();
      await page.goto(`${other.url}/no-such-page`);
      const cross = await page.evaluate(async (base, key) => {
        const h = { 'tus-resumable': '1.0.0', authorization: `Bearer ${key}` };
        const created = await fetch(`${base}/api/v1/uploads`, {
          method: 'POST', headers: { ...h, 'upload-length': '10', 'upload-metadata': 'title Y29ycw==' },
        });
        const location = created.headers.get('location');
        const patched = await fetch(base + location, {
          method: 'PATCH',
          headers: { ...h, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
          body: new Uint8Array([1, 2, 3, 4, 5]),
        });
        const head = await fetch(base + location, { method: 'HEAD', headers: h });
        const deleted = await fetch(base + location, { method: 'DELETE', headers: h });
        return {
          created: created.status, location, patched: patched.status,
          offset: patched.headers.get('upload-offset'), head: head.status,
          headOffset: head.headers.get('upload-offset'), deleted: deleted.status,
        };
      }, st.base, ADMIN_KEY);
      log(`cross-origin tus: ${JSON.stringify(cross)}`);
      assert.equal(cross.created, 201);
      assert.match(cross.location ?? '', /^\/api\/v1\/uploads\/[a-z0-9]+$/, 'Location is exposed');
      assert.equal(cross.patched, 204);
      assert.equal(cross.offset, '5', 'Upload-Offset is exposed');
      assert.equal(cross.head, 200);
      assert.equal(cross.headOffset, '5');
      assert.equal(cross.deleted, 204);
      assert.ok(statSync(join(dataDir, 'vod', asset)).isDirectory());
    });
  });
