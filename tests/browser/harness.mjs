// Shared harness for the browser playback tests.
//
// A test builds a Stack: a real ferrocast-origin on free ports with a temp
// config and data dir, an ffmpeg RTMP publisher, a tiny static server for the
// test page and the player libraries, and headless Debian chromium driven by
// puppeteer-core. Everything is torn down (process groups killed, temp dirs
// removed) when the test ends, passes or not, and on process exit.
//
// Environment:
//   FERROCAST_ORIGIN_BIN      origin binary (default: <repo>/target/debug/ferrocast-origin)
//   FERROCAST_EDGE_BIN        edge binary (default: <repo>/target/debug/ferrocast-edge)
//   FERROCAST_CHROMIUM_BIN    browser (default: /usr/bin/chromium)
//   FERROCAST_FFMPEG_BIN      ffmpeg (default: ffmpeg on PATH)
//   FERROCAST_BROWSER_KEEP    keep the temp dir (logs, config, screenshots) after the test
//   FERROCAST_BROWSER_VERBOSE print origin/ffmpeg/browser logs as they come
//   RUST_LOG                  passed to the origin (default: info)
// No FERROCAST_* variable reaches the origin or an edge: they would read them as config overrides.

import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createHash, randomBytes } from 'node:crypto';
import puppeteer from 'puppeteer-core';

const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(HERE, '..', '..');
export const ORIGIN_BIN = process.env.FERROCAST_ORIGIN_BIN || join(REPO, 'target', 'debug', 'ferrocast-origin');
export const EDGE_BIN = process.env.FERROCAST_EDGE_BIN || join(REPO, 'target', 'debug', 'ferrocast-edge');
export const CHROMIUM_BIN = process.env.FERROCAST_CHROMIUM_BIN || '/usr/bin/chromium';
export const FFMPEG_BIN = process.env.FERROCAST_FFMPEG_BIN || 'ffmpeg';
const VERBOSE = !!process.env.FERROCAST_BROWSER_VERBOSE;
const KEEP = !!process.env.FERROCAST_BROWSER_KEEP;

// ---------------------------------------------------------------------------
// small utilities

export function log(...args) {
  console.log(`[${new Date().toISOString().slice(11, 23)}]`, ...args);
}

/** A free TCP port on 127.0.0.1 (bind to 0, read, close). */
export async function freePort() {
  return new Promise((resolveP, reject) => {
    const srv = createNetServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolveP(port));
    });
  });
}

/** Distinct free ports. */
export async function freePorts(n) {
  const ports = new Set();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

/** An error that stops a waitFor at once (a process died, a player failed). */
export function abortWait(message) {
  const e = new Error(message);
  e.abortWait = true;
  return e;
}

/**
 * Polls `fn` until it returns a truthy value or `timeoutMs` passes; returns that value or throws.
 * Errors thrown by `fn` are retried, except those made by abortWait().
 */
export async function waitFor(what, fn, { timeoutMs = 30_000, intervalMs = 250 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastErr = null;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      if (e.abortWait) throw e;
      lastErr = e;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? ` (last error: ${lastErr.message})` : ''}`);
}

/** fetch with a timeout; never throws on HTTP status. */
export async function get(url, { timeoutMs = 5_000 } = {}) {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const body = await res.text();
  return { status: res.status, headers: res.headers, body };
}

/** A timer promise that does not keep the process alive (for races against exits). */
const unrefSleep = (ms) => sleep(ms, null, { ref: false });

const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
export const fmt = (x, d = 2) => (x == null || !Number.isFinite(x) ? 'n/a' : x.toFixed(d));

// ---------------------------------------------------------------------------
// processes: each child in its own process group, killed as a group

const liveGroups = new Set();
process.on('exit', () => {
  for (const pid of liveGroups) {
    try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ }
  }
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => process.exit(130));
}

class Child {
  constructor(name, cmd, args, { env, inheritEnv = true, logFile, cwd } = {}) {
    this.name = name;
    this.tail = [];
    this.exited = null; // {code, signal}
    this.log = logFile ? createWriteStream(logFile, { flags: 'a' }) : null;
    this.logFile = logFile;
    this.proc = spawn(cmd, args, {
      cwd,
      env: inheritEnv ? { ...process.env, ...env } : env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // own process group
    });
    this.pid = this.proc.pid;
    if (this.pid) liveGroups.add(this.pid);
    this.exitPromise = new Promise((res) => {
      this.proc.on('exit', (code, signal) => {
        this.exited = { code, signal };
        liveGroups.delete(this.pid);
        this._line(`<exited code=${code} signal=${signal}>`);
        res(this.exited);
      });
      this.proc.on('error', (e) => {
        this.exited = { code: -1, signal: null, error: e };
        liveGroups.delete(this.pid);
        this._line(`<spawn error: ${e.message}>`);
        res(this.exited);
      });
    });
    for (const stream of [this.proc.stdout, this.proc.stderr]) {
      let buf = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk) => {
        buf += chunk;
        const lines = buf.split(/\r?\n|\r/);
        buf = lines.pop();
        for (const l of lines) this._line(l);
      });
    }
  }

  _line(l) {
    if (!l) return;
    this.tail.push(l);
    if (this.tail.length > 200) this.tail.shift();
    if (this.log) this.log.write(l + '\n');
    if (VERBOSE) console.log(`  [${this.name}] ${l}`);
  }

  get running() { return this.exited === null; }

  /** SIGTERM the group, then SIGKILL after `graceMs`. */
  async kill({ signal = 'SIGTERM', graceMs = 3_000 } = {}) {
    if (!this.running) return this.exited;
    try { process.kill(-this.pid, signal); } catch { /* gone */ }
    const done = await Promise.race([this.exitPromise, unrefSleep(graceMs)]);
    if (!done) {
      try { process.kill(-this.pid, 'SIGKILL'); } catch { /* gone */ }
      await Promise.race([this.exitPromise, unrefSleep(2_000)]);
    }
    this.log?.end();
    return this.exited;
  }

  lastLines(n = 40) { return this.tail.slice(-n).join('\n'); }
}

// ---------------------------------------------------------------------------
// static server for the test page and player libraries

const STATIC_FILES = {
  '/': ['page/player.html', 'text/html; charset=utf-8'],
  '/player.html': ['page/player.html', 'text/html; charset=utf-8'],
  '/hls.min.js': ['node_modules/hls.js/dist/hls.min.js', 'text/javascript'],
  '/dash.all.min.js': ['node_modules/dashjs/dist/modern/umd/dash.all.min.js', 'text/javascript'],
  // WebRTC tests: their page and the origin's own WHEP/WHIP client.
  '/webrtc.html': ['page/webrtc.html', 'text/html; charset=utf-8'],
  '/webrtc.js': ['../../origin/assets/webrtc.js', 'text/javascript'],
};

export async function startStaticServer() {
  for (const [, [rel]] of Object.entries(STATIC_FILES)) {
    if (!existsSync(join(HERE, rel))) {
      throw new Error(`missing ${rel} in tests/browser — run scripts/install-deps.sh test (npm ci)`);
    }
  }
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const entry = STATIC_FILES[path];
    if (!entry) {
      res.writeHead(path === '/favicon.ico' ? 204 : 404).end();
      return;
    }
    res.writeHead(200, { 'content-type': entry[1], 'cache-control': 'no-store' });
    res.end(readFileSync(join(HERE, entry[0])));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
  };
}

// ---------------------------------------------------------------------------
// the stack

export class Stack {
  constructor(name) {
    this.name = name;
    this.dir = mkdtempSync(join(tmpdir(), `ferrocast-browser-${name}-`));
    this.cleanups = [];
    this.channel = 'demo';
    this.key = `bt-${randomBytes(8).toString('hex')}`;
    this.publisherRuns = 0;
  }

  /** Writes a config on free ports and starts ferrocast-origin; waits for /healthz. */
  async startOrigin({ graceS = 10, extraToml = '', extraEnv = {}, srt = false } = {}) {
    if (!existsSync(ORIGIN_BIN)) {
      throw new Error(`origin binary not found at ${ORIGIN_BIN}: build it with \`cargo build -p origin\` ` +
        'or set FERROCAST_ORIGIN_BIN');
    }
    [this.httpPort, this.rtmpPort, this.srtPort] = await freePorts(3);
    this.base = `http://127.0.0.1:${this.httpPort}`;
    const dataDir = join(this.dir, 'data');
    this.configFile = join(this.dir, 'origin.toml');
    writeFileSync(this.configFile, [
      '# written by tests/browser/harness.mjs',
      '[http]',
      `listen = "127.0.0.1:${this.httpPort}"`,
      '',
      '[rtmp]',
      `listen = "127.0.0.1:${this.rtmpPort}"`,
      '',
      '[storage]',
      `data_dir = ${JSON.stringify(dataDir)}`,
      '',
      '[packaging]',
      `reconnect_grace_s = ${Number(graceS).toFixed(1)}`,
      '',
      // SRT listens on UDP; a port free for TCP right now is almost surely free for UDP.
      ...(srt ? ['[srt]', `listen = "127.0.0.1:${this.srtPort}"`, ''] : []),
      extraToml,
      '[[channels]]',
      `name = "${this.channel}"`,
      `stream_key = "${this.key}"`,
      '',
    ].join('\n'));
    // The origin reads every FERROCAST_* variable as a config override (and rejects
    // names that are not FERROCAST_SECTION__KEY, like this harness's own settings),
    // so it gets none of them from our environment: the test's config is the whole truth.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FERROCAST_')));
    env.RUST_LOG = process.env.RUST_LOG || 'info';
    Object.assign(env, extraEnv);
    this.origin = new Child('origin', ORIGIN_BIN, ['--config', this.configFile], {
      env,
      inheritEnv: false,
      logFile: join(this.dir, 'origin.log'),
      cwd: this.dir,
    });
    this.cleanups.push(() => this.origin.kill());
    await waitFor('origin /healthz', async () => {
      if (!this.origin.running) throw abortWait(`origin exited early: ${JSON.stringify(this.origin.exited)}\n${this.origin.lastLines()}`);
      return (await get(`${this.base}/healthz`, { timeoutMs: 1_000 })).status === 200;
    }, { timeoutMs: 20_000 });
    log(`origin up: http ${this.base}, rtmp 127.0.0.1:${this.rtmpPort}, config ${this.configFile}`);
    return this;
  }

  /**
   * Starts a ferrocast-edge on a free port in front of `parents` (base URLs of the
   * origin or of other edges: `[st.base]`, `[mid.base]`); waits for /healthz.
   * Returns { name, base, masterUrl, child, configFile }. Like the origin, it gets
   * no FERROCAST_* variable from our environment.
   */
  async startEdge({ parents, name = `edge${(this.edges?.length ?? 0) + 1}`, memoryBytes = 64 << 20, tls = null } = {}) {
    if (!existsSync(EDGE_BIN)) {
      throw new Error(`edge binary not found at ${EDGE_BIN}: build it with \`cargo build -p edge\` ` +
        'or set FERROCAST_EDGE_BIN');
    }
    if (!parents?.length) throw new Error('startEdge needs parents');
    const [port, freeUdpPort] = await freePorts(2);
    // With TLS, HTTP/3 listens on the HTTPS port's number (as browsers expect), and
    // the base is https://localhost (the certificate's name).
    const http3Port = tls ? port : freeUdpPort;
    const base = tls ? `https://localhost:${port}` : `http://127.0.0.1:${port}`;
    const configFile = join(this.dir, `${name}.toml`);
    writeFileSync(configFile, [
      '# written by tests/browser/harness.mjs',
      '[http]',
      `listen = "127.0.0.1:${port}"`,
      '',
      '[http3]',
      `listen = "127.0.0.1:${http3Port}"`,
      '',
      '[upstream]',
      `parents = [${parents.map((p) => JSON.stringify(p)).join(', ')}]`,
      '',
      '[cache.memory]',
      `bytes = ${memoryBytes}`,
      '',
      ...(tls ? ['[tls]', `cert = ${JSON.stringify(tls.cert)}`, `key = ${JSON.stringify(tls.key)}`, ''] : []),
    ].join('\n'));
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FERROCAST_')));
    env.RUST_LOG = process.env.RUST_LOG || 'info';
    const child = new Child(name, EDGE_BIN, ['--config', configFile], {
      env,
      inheritEnv: false,
      logFile: join(this.dir, `${name}.log`),
      cwd: this.dir,
    });
    this.cleanups.push(() => child.kill());
    await waitFor(`${name} /healthz`, async () => {
      if (!child.running) throw abortWait(`${name} exited early: ${JSON.stringify(child.exited)}\n${child.lastLines()}`);
      // With TLS, the banner (printed once every listener is up) stands in for /healthz.
      if (tls) return /listening on https:/.test(readFileSync(join(this.dir, `${name}.log`), 'utf8'));
      return (await get(`${base}/healthz`, { timeoutMs: 1_000 })).status === 200;
    }, { timeoutMs: 20_000 });
    const edge = { name, base, port, masterUrl: `${base}/live/${this.channel}/master.m3u8`, child, configFile };
    (this.edges ??= []).push(edge);
    log(`${name} up: http ${base}, parents ${parents.join(', ')}`);
    return edge;
  }

  get masterUrl() { return `${this.base}/live/${this.channel}/master.m3u8`; }
  get mpdUrl() { return `${this.base}/live/${this.channel}/manifest.mpd`; }

  /**
   * Starts an ffmpeg publisher (test pattern + 440 Hz tone, real time).
   * bframes: 0 → `-tune zerolatency -bf 0`; n > 0 → `-bf n` (no zerolatency, which disables B-frames).
   * streamKey: the key to publish with (default: the harness's own channel's key).
   */
  startPublisher({ bframes = 2, fps = 30, gop = 60, streamKey = this.key } = {}) {
    const run = ++this.publisherRuns;
    const font = '/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf';
    // Burn the wall clock into the picture (for screenshots and eyeballing glass-to-glass latency).
    const vf = ['format=yuv420p'];
    if (existsSync(font)) {
      vf.unshift(`drawtext=fontfile=${font}:text='%{localtime\\:%X} run ${run} f %{n}'` +
        ':x=10:y=10:fontsize=28:fontcolor=white:box=1:boxcolor=black@0.6');
    }
    const x264 = bframes > 0
      ? ['-bf', String(bframes)]
      : ['-tune', 'zerolatency', '-bf', '0'];
    const args = [
      '-hide_banner', '-nostdin', '-loglevel', 'warning', '-stats_period', '5', '-stats',
      '-re', '-f', 'lavfi', '-i', `testsrc2=size=640x360:rate=${fps}`,
      '-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-vf', vf.join(','),
      '-c:v', 'libx264', '-preset', 'veryfast', ...x264,
      '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0', '-b:v', '1500k',
      '-c:a', 'aac', '-b:a', '128k', '-ac', '2',
      '-f', 'flv', `rtmp://127.0.0.1:${this.rtmpPort}/live/${streamKey}`,
    ];
    const p = new Child(`ffmpeg#${run}`, FFMPEG_BIN, args, { logFile: join(this.dir, `ffmpeg-${run}.log`) });
    this.cleanups.push(() => p.kill({ signal: 'SIGINT' }));
    this.publisher = p;
    log(`publisher #${run} started (bframes=${bframes}) → rtmp://127.0.0.1:${this.rtmpPort}/live/<key>`);
    return p;
  }

  /**
   * Starts ffmpeg pushing H.264 + one AAC (or Opus) track per language as MPEG-TS over SRT
   * (libsrt) to the origin's `[srt] listen` (start it with `{ srt: true }`). Each
   * language gets its own tone (440 Hz, 660 Hz, …) so the tracks differ.
   */
  startSrtPublisher({ languages = ['eng'], gop = 60, streamKey = this.key, audioCodec = 'aac' } = {}) {
    if (!this.srtPort) throw new Error('startSrtPublisher needs startOrigin({ srt: true })');
    const run = ++this.publisherRuns;
    const tones = languages.flatMap((_, i) => ['-re', '-f', 'lavfi', '-i', `sine=frequency=${440 + 220 * i}:sample_rate=48000`]);
    const maps = ['-map', '0:v', ...languages.flatMap((_, i) => ['-map', `${i + 1}:a`])];
    const langs = languages.flatMap((l, i) => [`-metadata:s:a:${i}`, `language=${l}`]);
    const url = `srt://127.0.0.1:${this.srtPort}?streamid=publish/live/${streamKey}&pkt_size=1316&latency=200000`;
    const args = [
      '-hide_banner', '-nostdin', '-loglevel', 'warning', '-stats_period', '5', '-stats',
      '-re', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30',
      ...tones, ...maps,
      '-c:v', 'libx264', '-preset', 'veryfast', '-bf', '0', '-pix_fmt', 'yuv420p',
      '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0', '-b:v', '1500k',
      '-c:a', audioCodec === 'opus' ? 'libopus' : 'aac', '-b:a', '96k', '-ac', '2', ...langs,
      '-f', 'mpegts', url,
    ];
    const p = new Child(`ffmpeg-srt#${run}`, FFMPEG_BIN, args, { logFile: join(this.dir, `ffmpeg-srt-${run}.log`) });
    this.cleanups.push(() => p.kill({ signal: 'SIGINT' }));
    this.publisher = p;
    log(`SRT publisher #${run} started (${languages.join(', ')}) → srt://127.0.0.1:${this.srtPort} streamid=publish/live/<key>`);
    return p;
  }

  /** Waits until the master playlist (and MPD, if asked) answers 200 and the stream has media. */
  async waitForStream({ mpd = false, timeoutMs = 30_000 } = {}) {
    const master = await waitFor('master.m3u8 200', async () => {
      if (this.publisher && !this.publisher.running) {
        throw abortWait(`ffmpeg exited: ${JSON.stringify(this.publisher.exited)}\n${this.publisher.lastLines()}`);
      }
      const r = await get(this.masterUrl);
      return r.status === 200 && r.body.includes('#EXTM3U') ? r : null;
    }, { timeoutMs });
    // Wait for at least one complete segment in the first media playlist.
    const uri = master.body.split('\n').find((l) => l && !l.startsWith('#'));
    if (uri) {
      const mediaUrl = new URL(uri.trim(), this.masterUrl).href;
      await waitFor('a media playlist with a segment', async () => {
        const r = await get(mediaUrl);
        return r.status === 200 && /#EXTINF/.test(r.body);
      }, { timeoutMs });
    }
    if (mpd) {
      await waitFor('manifest.mpd 200', async () => (await get(this.mpdUrl)).status === 200, { timeoutMs });
    }
    return master.body;
  }

  async startStatic() {
    this.static = await startStaticServer();
    this.cleanups.push(() => this.static.close());
    return this.static;
  }

  /**
   * Launches headless chromium; blocks (and records) every request that is not to
   * 127.0.0.1 or localhost. `quic`: { origins: ['localhost:PORT'], spki } forces
   * QUIC (HTTP/3) to those origins and trusts the certificate whose SPKI SHA-256
   * (base64) is `spki`; otherwise QUIC is off. `webrtc`: fake camera and microphone
   * (no permission prompt) and ICE candidates on loopback, for WHEP/WHIP tests.
   */
  async launchBrowser({ quic = null, webrtc = false } = {}) {
    if (!existsSync(CHROMIUM_BIN)) {
      throw new Error(`chromium not found at ${CHROMIUM_BIN}: run scripts/install-deps.sh test`);
    }
    const userDataDir = join(this.dir, 'chromium-profile');
    this.browser = await puppeteer.launch({
      executablePath: CHROMIUM_BIN,
      headless: true,
      userDataDir,
      protocolTimeout: 60_000,
      timeout: 30_000,
      args: [
        '--no-sandbox',
        '--autoplay-policy=no-user-gesture-required',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        ...(quic
          ? ['--enable-quic', `--origin-to-force-quic-on=${quic.origins.join(',')}`,
            `--ignore-certificate-errors-spki-list=${quic.spki}`,
            // localhost is ::1 first; the edge listens on 127.0.0.1 only.
            '--host-resolver-rules=MAP localhost 127.0.0.1']
          : ['--disable-quic']),
        ...(webrtc
          ? ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
            '--allow-loopback-in-peer-connection']
          : []),
        '--mute-audio',
        '--window-size=800,600',
      ],
    });
    this.cleanups.push(async () => {
      await Promise.race([this.browser.close().catch(() => {}), unrefSleep(10_000)]);
      const p = this.browser.process();
      if (p && p.exitCode === null) { try { p.kill('SIGKILL'); } catch { /* gone */ } }
    });
    this.blocked = [];
    this.pageLog = [];
    const page = await this.browser.newPage();
    page.setDefaultTimeout(30_000);
    await page.setViewport({ width: 800, height: 600 });
    await page.setRequestInterception(true);
    page.on('request', (req) => {
      const url = req.url();
      let host = null;
      try { host = new URL(url).hostname; } catch { /* data: etc. */ }
      const local = /^(data|blob):/.test(url) || host === '127.0.0.1' || host === 'localhost';
      if (local) {
        req.continue().catch(() => {});
      } else {
        this.blocked.push(url);
        log(`BLOCKED non-local request: ${url}`);
        req.abort('blockedbyclient').catch(() => {});
      }
    });
    page.on('console', (m) => {
      const line = `[console.${m.type()}] ${m.text()}`;
      this.pageLog.push(line);
      if (this.pageLog.length > 300) this.pageLog.shift();
      if (VERBOSE || m.text().startsWith('[page]')) console.log('  ' + line);
    });
    page.on('pageerror', (e) => {
      this.pageLog.push(`[pageerror] ${e.message}`);
      console.log(`  [pageerror] ${e.message}`);
    });
    this.navigations = 0;
    page.on('framenavigated', (f) => { if (f === page.mainFrame()) this.navigations++; });
    this.page = page;
    return page;
  }

  /**
   * Another window of the harness's browser (a window, not a tab: a background tab is
   * hidden, and its timers, animation frames and video frame callbacks are throttled),
   * set up like the first page: only 127.0.0.1/localhost may be reached (the rest is
   * recorded in this.blocked), console lines go to this.pageLog prefixed with `label`.
   */
  async newWindow(label) {
    const page = await this.browser.newPage({ type: 'window' });
    page.setDefaultTimeout(30_000);
    await page.setViewport({ width: 800, height: 600 });
    await page.setRequestInterception(true);
    page.on('request', (req) => {
      const url = req.url();
      let host = null;
      try { host = new URL(url).hostname; } catch { /* data: etc. */ }
      if (/^(data|blob):/.test(url) || host === '127.0.0.1' || host === 'localhost') {
        req.continue().catch(() => {});
      } else {
        this.blocked.push(url);
        log(`BLOCKED non-local request (${label}): ${url}`);
        req.abort('blockedbyclient').catch(() => {});
      }
    });
    page.on('console', (m) => {
      const line = `[${label} console.${m.type()}] ${m.text()}`;
      this.pageLog.push(line);
      if (this.pageLog.length > 300) this.pageLog.shift();
      if (VERBOSE || m.text().startsWith('[page]')) console.log('  ' + line);
    });
    page.on('pageerror', (e) => {
      this.pageLog.push(`[${label} pageerror] ${e.message}`);
      console.log(`  [${label} pageerror] ${e.message}`);
    });
    return page;
  }

  /** Opens the test page with the given player on `src`. */
  async openPlayer(player, src) {
    const url = `${this.static.url}/player.html?player=${player}&src=${encodeURIComponent(src)}`;
    await this.page.goto(url, { waitUntil: 'load' });
    const ok = await this.page.evaluate(() =>
      MediaSource.isTypeSupported('video/mp4; codecs="avc1.64001f"') &&
      MediaSource.isTypeSupported('audio/mp4; codecs="mp4a.40.2"'));
    if (!ok) throw new Error('this chromium cannot play H.264/AAC through MSE (Debian\'s chromium can)');
    return url;
  }

  stats() { return this.page.evaluate(() => window.ferro.stats()); }

  /** Waits for the first `playing` with currentTime moving. */
  async waitForPlaying({ timeoutMs = 30_000 } = {}) {
    let first = null;
    return waitFor('playback to start', async () => {
      const s = await this.stats();
      if (s.fatal) throw Object.assign(new FatalPlayerError(s), { abortWait: true });
      if (!s.playing) return null;
      if (first === null) { first = s; return null; }
      return s.currentTime > first.currentTime ? s : null;
    }, { timeoutMs, intervalMs: 500 });
  }

  /**
   * Samples stats every `everyMs` for `durationMs`, logging each sample.
   * Returns {start, end, samples}. Throws on a fatal player error.
   */
  async observe(durationMs, { everyMs = 1_000, label = '' } = {}) {
    const start = await this.stats();
    const samples = [start];
    const t0 = Date.now();
    while (Date.now() - t0 < durationMs) {
      await sleep(Math.min(everyMs, durationMs - (Date.now() - t0)));
      const s = await this.stats();
      samples.push(s);
      log(`${label} t=${fmt(s.currentTime)} frames=${s.totalVideoFrames} dropped=${s.droppedVideoFrames} ` +
        `buf=${fmt(s.bufferAhead)} latency=${fmt(s.latency)} wallLatency=${fmt(s.wallLatency)} ` +
        `rate=${fmt(s.playbackRate, 3)} waiting=${s.waiting.length} errors=${s.errorCount}`);
      if (s.fatal) throw new FatalPlayerError(s);
    }
    return { start, end: samples[samples.length - 1], samples };
  }

  async screenshot(name) {
    const file = join(this.dir, `${name}.png`);
    try { await this.page.screenshot({ path: file }); return file; } catch { return null; }
  }

  /** Logs what helps when a test failed: tails of the origin and ffmpeg logs, page console, blocked URLs. */
  dumpDiagnostics() {
    console.log(`---- diagnostics for ${this.name} (dir ${this.dir}) ----`);
    if (this.origin) console.log(`-- origin (last lines):\n${this.origin.lastLines(60)}`);
    for (const e of this.edges ?? []) console.log(`-- ${e.name} (last lines):\n${e.child.lastLines(40)}`);
    if (this.publisher) console.log(`-- ${this.publisher.name} (last lines):\n${this.publisher.lastLines(20)}`);
    if (this.pageLog?.length) console.log(`-- page console (last lines):\n${this.pageLog.slice(-40).join('\n')}`);
    if (this.blocked?.length) console.log(`-- blocked requests:\n${this.blocked.join('\n')}`);
  }

  async close({ failed = false } = {}) {
    if (failed) {
      await this.screenshot('failure');
      this.dumpDiagnostics();
    }
    const t0 = Date.now();
    for (const fn of this.cleanups.reverse()) {
      try { await fn(); } catch (e) { console.log(`cleanup error: ${e.message}`); }
    }
    this.cleanups = [];
    log(`torn down in ${Date.now() - t0} ms`);
    if (KEEP || failed) {
      console.log(`kept ${this.dir}`);
    } else {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

export class FatalPlayerError extends Error {
  constructor(s) {
    super(`fatal player error: ${JSON.stringify(s.errors.filter((e) => e.fatal).slice(-3))}`);
    this.stats = s;
  }
}

/**
 * Runs `body(stack)` with a fresh Stack, and always tears it down.
 * On failure, prints diagnostics and keeps the temp dir.
 */
export async function withStack(name, body) {
  const stack = new Stack(name);
  let failed = true;
  try {
    await body(stack);
    failed = false;
  } finally {
    await stack.close({ failed });
  }
}

/** Summarises a play window: advance, frames, stalls and latency (median of samples). */
export function summarise({ start, end, samples }) {
  const wallS = (end.wallMs - start.wallMs) / 1000;
  const advanced = end.currentTime - start.currentTime;
  const framesGained = end.totalVideoFrames - start.totalVideoFrames;
  const newWaiting = end.waiting.slice(start.waiting.length);
  // Frozen episodes: runs of sampling intervals in which currentTime barely moved
  // (catches stalls that fire no 'waiting' event).
  let frozenEpisodes = 0;
  let inFrozen = false;
  for (let i = 1; i < samples.length; i++) {
    const dt = (samples[i].wallMs - samples[i - 1].wallMs) / 1000;
    const dm = samples[i].currentTime - samples[i - 1].currentTime;
    const frozen = dt >= 0.4 && dm < 0.25 * dt;
    if (frozen && !inFrozen) frozenEpisodes++;
    inFrozen = frozen;
  }
  return {
    wallS,
    advanced,
    framesGained,
    droppedGained: end.droppedVideoFrames - start.droppedVideoFrames,
    waitingDuring: newWaiting,
    waitingTotal: end.waiting.length,
    frozenEpisodes,
    stallMs: end.stallMs,
    latencyMedian: median(samples.map((s) => s.latency)),
    latencyLast: end.latency,
    wallLatencyMedian: median(samples.map((s) => s.wallLatency)),
    wallLatencyLast: end.wallLatency,
    nonFatalErrors: end.errors.filter((e) => !e.fatal),
  };
}

/**
 * A self-signed certificate for localhost and 127.0.0.1 (openssl CLI) in `dir`:
 * { cert, key, spki } with spki = base64 SHA-256 of the public key, for chromium's
 * --ignore-certificate-errors-spki-list.
 */
export function selfSignedCert(dir) {
  const cert = join(dir, 'edge-cert.pem');
  const key = join(dir, 'edge-key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-nodes', '-keyout', key, '-out', cert, '-days', '7', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'pipe' });
  const pub = execFileSync('openssl', ['x509', '-in', cert, '-pubkey', '-noout']);
  const der = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'der'], { input: pub });
  const spki = createHash('sha256').update(der).digest('base64');
  return { cert, key, spki };
}
