// hls.js (lowLatencyMode) plays the live LL-HLS stream from a real ferrocast-origin
// fed by ffmpeg (libx264 with B-frames, AAC) for at least 10 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withStack, summarise, log, fmt } from './harness.mjs';

const PLAY_MS = 10_500;

test('hls.js plays LL-HLS live for 10 s with low latency', { timeout: 180_000 }, async () => {
  await withStack('hls', async (st) => {
    await st.startOrigin();
    st.startPublisher({ bframes: 2 });
    await st.startStatic();
    await st.waitForStream();
    await st.launchBrowser();
    const t0 = Date.now();
    await st.openPlayer('hls', st.masterUrl);
    const first = await st.waitForPlaying({ timeoutMs: 30_000 });
    log(`hls.js ${first.hlsVersion}: playing ${((Date.now() - t0) / 1000).toFixed(2)} s after page load, ` +
      `${first.videoWidth}x${first.videoHeight}`);

    const win = await st.observe(PLAY_MS, { label: 'hls' });
    const r = summarise(win);
    await st.screenshot('hls-end');

    console.log([
      '',
      `RESULT hls.js: played ${fmt(r.advanced)} s of media in ${fmt(r.wallS)} s wall; ` +
        `frames +${r.framesGained} (dropped +${r.droppedGained})`,
      `RESULT hls.js: live latency hls.latency median ${fmt(r.latencyMedian)} s (last ${fmt(r.latencyLast)} s); ` +
        `wall clock - PROGRAM-DATE-TIME (playingDate) median ${fmt(r.wallLatencyMedian)} s (last ${fmt(r.wallLatencyLast)} s)`,
      `RESULT hls.js: waiting events after start: ${r.waitingTotal} ${JSON.stringify(win.end.waiting)}; ` +
        `stalled ${r.stallMs} ms; frozen episodes (sampled) ${r.frozenEpisodes}; non-fatal errors: ${r.nonFatalErrors.length} ` +
        `${JSON.stringify(r.nonFatalErrors.map((e) => e.details))}`,
      '',
    ].join('\n'));

    assert.equal(win.end.fatal, false, 'no fatal player error');
    assert.ok(r.wallS >= 10, `observed ${r.wallS} s wall`);
    assert.ok(r.advanced >= 8, `currentTime advanced ${fmt(r.advanced)} s over ${fmt(r.wallS)} s wall (want >= 8)`);
    assert.ok(r.framesGained > 0, 'decoded video frames increased');
    assert.ok(r.waitingTotal <= 1, `at most one 'waiting' after start, saw ${r.waitingTotal}`);
    assert.ok(r.frozenEpisodes <= 1, `at most one frozen episode while observed, saw ${r.frozenEpisodes}`);
    assert.ok(r.latencyMedian != null, 'hls.latency is reported');
    assert.ok(r.latencyMedian < 5, `hls.latency median ${fmt(r.latencyMedian)} s < 5 s`);
    assert.ok(r.wallLatencyMedian != null, 'hls.playingDate is known (EXT-X-PROGRAM-DATE-TIME present)');
    assert.ok(r.wallLatencyMedian < 5, `wall clock - PDT median ${fmt(r.wallLatencyMedian)} s < 5 s`);
    assert.deepEqual(st.blocked, [], 'no requests outside 127.0.0.1');
  });
});
