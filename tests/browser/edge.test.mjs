// hls.js (lowLatencyMode) plays the live LL-HLS stream through two edge tiers
// (origin → mid-tier ferrocast-edge → ferrocast-edge) for at least 10 s without a
// stall; the same page then plays the stream straight from the origin, so the
// latency the two tiers add is measured against a baseline from the same run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withStack, summarise, log, fmt, get } from './harness.mjs';

const PLAY_MS = 10_500;
/** Longest wait for the player's latency to reach its target before observing. */
const SETTLE_MS = 15_000;

/** Opens the player on `src`, waits for playback, observes PLAY_MS; the summary. */
async function play(st, src, label) {
  const t0 = Date.now();
  await st.openPlayer('hls', src);
  const first = await st.waitForPlaying({ timeoutMs: 30_000 });
  log(`${label}: hls.js ${first.hlsVersion} playing ${((Date.now() - t0) / 1000).toFixed(2)} s after page load, ` +
    `${first.videoWidth}x${first.videoHeight}`);
  // The comparison is of steady state: a player that started behind (a nudge over a
  // gap at start, a young stream) catches up at 1.1x, which takes seconds and would
  // count as latency the tiers add. Give it up to SETTLE_MS to come within 0.5 s of
  // its target; observe either way (the assertions judge what was seen).
  const settleStart = Date.now();
  let settled = null;
  while (Date.now() - settleStart < SETTLE_MS) {
    const s = await st.stats();
    if (s.latency != null && s.targetLatency != null && s.latency <= s.targetLatency + 0.5) { settled = s; break; }
    await new Promise((r) => setTimeout(r, 500));
  }
  log(`${label}: ${settled ? 'latency settled' : 'latency did not settle'} after ${((Date.now() - settleStart) / 1000).toFixed(1)} s`);
  const win = await st.observe(PLAY_MS, { label });
  await st.screenshot(`${label}-end`);
  return { win, r: summarise(win) };
}

/** Sum of the samples of `name` on `base`/metrics. */
async function metric(base, name) {
  const { status, body } = await get(`${base}/metrics`);
  assert.equal(status, 200, `${base}/metrics`);
  return body.split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

function report(label, r, win) {
  return [
    `RESULT ${label}: played ${fmt(r.advanced)} s of media in ${fmt(r.wallS)} s wall; ` +
      `frames +${r.framesGained} (dropped +${r.droppedGained})`,
    `RESULT ${label}: live latency hls.latency median ${fmt(r.latencyMedian)} s (last ${fmt(r.latencyLast)} s); ` +
      `wall clock - PROGRAM-DATE-TIME (playingDate) median ${fmt(r.wallLatencyMedian)} s (last ${fmt(r.wallLatencyLast)} s)`,
    `RESULT ${label}: waiting events after start: ${r.waitingTotal} ${JSON.stringify(win.end.waiting)}; ` +
      `during the window ${r.waitingDuring.length}; stalled ${r.stallMs} ms; frozen episodes (sampled) ${r.frozenEpisodes}; ` +
      `non-fatal errors: ${r.nonFatalErrors.length} ${JSON.stringify(r.nonFatalErrors.map((e) => e.details))}`,
  ];
}

test('hls.js plays LL-HLS through two edge tiers for 10 s; latency they add', { timeout: 240_000 }, async () => {
  await withStack('edge', async (st) => {
    await st.startOrigin();
    st.startPublisher({ bframes: 2 });
    const mid = await st.startEdge({ parents: [st.base], name: 'mid-edge' });
    const edge = await st.startEdge({ parents: [mid.base], name: 'edge' });
    await st.startStatic();
    await st.waitForStream();
    await st.launchBrowser();

    const lookupsBefore = await metric(edge.base, 'ferrocast_edge_cache_lookups_total');
    const viaEdges = await play(st, edge.masterUrl, 'two-edges');
    const lookups = await metric(edge.base, 'ferrocast_edge_cache_lookups_total') - lookupsBefore;
    const midUpstream = await metric(mid.base, 'ferrocast_edge_upstream_responses_total');
    const direct = await play(st, st.masterUrl, 'origin');

    const e = viaEdges.r;
    const o = direct.r;
    const added = (a, b) => (a == null || b == null ? null : a - b);
    console.log([
      '',
      ...report('hls.js via two edges', e, viaEdges.win),
      ...report('hls.js from the origin', o, direct.win),
      `RESULT edge: ${lookups} cache lookups at the outer edge while playing; ` +
        `${midUpstream} upstream responses at the mid-tier`,
      `RESULT latency added by two edge tiers: ${fmt(added(e.wallLatencyMedian, o.wallLatencyMedian))} s ` +
        `(wall clock - PDT medians ${fmt(e.wallLatencyMedian)} vs ${fmt(o.wallLatencyMedian)} s; ` +
        `hls.latency medians ${fmt(e.latencyMedian)} vs ${fmt(o.latencyMedian)} s, ` +
        `difference ${fmt(added(e.latencyMedian, o.latencyMedian))} s)`,
      '',
    ].join('\n'));

    // The player really went through the edges.
    assert.ok(lookups >= 20, `only ${lookups} cache lookups at the outer edge during playback`);
    assert.ok(midUpstream >= 10, `only ${midUpstream} upstream responses at the mid-tier`);
    // Through the edges: at least 10 s of playback with no stall.
    assert.equal(viaEdges.win.end.fatal, false, 'no fatal player error via the edges');
    assert.ok(e.wallS >= 10, `observed ${e.wallS} s wall`);
    assert.ok(e.advanced >= 9, `currentTime advanced ${fmt(e.advanced)} s over ${fmt(e.wallS)} s wall (want >= 9)`);
    assert.ok(e.framesGained > 0, 'decoded video frames increased');
    // Same tolerance as the origin-only test (hls.test.mjs): at most one brief
    // 'waiting' (seen once in four runs, in the first second of the window); the
    // advance check above still requires >= 9 s of media in the window.
    assert.ok(e.waitingDuring.length <= 1, `'waiting' while observed via the edges: ${JSON.stringify(e.waitingDuring)}`);
    assert.equal(e.frozenEpisodes, 0, `frozen episodes while observed via the edges: ${e.frozenEpisodes}`);
    assert.ok(e.latencyMedian != null && e.latencyMedian < 5, `hls.latency median via the edges ${fmt(e.latencyMedian)} s < 5 s`);
    assert.ok(e.wallLatencyMedian != null && e.wallLatencyMedian < 5,
      `wall clock - PDT median via the edges ${fmt(e.wallLatencyMedian)} s < 5 s`);
    // The baseline played too, so the difference means something.
    assert.equal(direct.win.end.fatal, false, 'no fatal player error from the origin');
    assert.ok(o.advanced >= 8, `origin baseline advanced ${fmt(o.advanced)} s`);
    assert.ok(o.wallLatencyMedian != null, 'origin baseline latency is known');
    const extra = added(e.wallLatencyMedian, o.wallLatencyMedian);
    assert.ok(extra < 1.5, `two edge tiers add ${fmt(extra)} s of latency (want < 1.5 s)`);
    assert.deepEqual(st.blocked, [], 'no requests outside 127.0.0.1');
  });
});
