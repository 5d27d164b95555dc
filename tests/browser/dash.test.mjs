// dash.js plays the live low-latency DASH MPD from a real ferrocast-origin for
// at least 10 s. The MPD's UTCTiming points at the origin's /time, so the page
// must never reach outside 127.0.0.1: every other request is blocked and fails the test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withStack, summarise, log, fmt } from './harness.mjs';

const PLAY_MS = 10_500;

test('dash.js plays low-latency DASH live for 10 s', { timeout: 180_000 }, async () => {
  await withStack('dash', async (st) => {
    await st.startOrigin();
    st.startPublisher({ bframes: 2 });
    await st.startStatic();
    await st.waitForStream({ mpd: true });
    await st.launchBrowser();
    const t0 = Date.now();
    await st.openPlayer('dash', st.mpdUrl);
    const first = await st.waitForPlaying({ timeoutMs: 40_000 });
    log(`dash.js ${first.dashVersion}: playing ${((Date.now() - t0) / 1000).toFixed(2)} s after page load, ` +
      `${first.videoWidth}x${first.videoHeight}, target delay ${fmt(first.targetLatency)} s`);

    const win = await st.observe(PLAY_MS, { label: 'dash' });
    const r = summarise(win);
    await st.screenshot('dash-end');

    console.log([
      '',
      `RESULT dash.js: played ${fmt(r.advanced)} s of media in ${fmt(r.wallS)} s wall; ` +
        `frames +${r.framesGained} (dropped +${r.droppedGained})`,
      `RESULT dash.js: live latency getCurrentLiveLatency() median ${fmt(r.latencyMedian)} s ` +
        `(last ${fmt(r.latencyLast)} s); wall clock - timeAsUTC() median ${fmt(r.wallLatencyMedian)} s`,
      `RESULT dash.js: waiting events after start: ${r.waitingTotal} ${JSON.stringify(win.end.waiting)}; ` +
        `stalled ${r.stallMs} ms; frozen episodes (sampled) ${r.frozenEpisodes}; blocked non-local requests: ${st.blocked.length}`,
      '',
    ].join('\n'));

    assert.deepEqual(st.blocked, [], 'no request left 127.0.0.1 (UTCTiming must point at the origin)');
    assert.equal(win.end.fatal, false, `no fatal player error ${JSON.stringify(win.end.errors)}`);
    assert.ok(r.wallS >= 10, `observed ${r.wallS} s wall`);
    assert.ok(r.advanced >= 8, `currentTime advanced ${fmt(r.advanced)} s over ${fmt(r.wallS)} s wall (want >= 8)`);
    assert.ok(r.framesGained > 0, 'decoded video frames increased');
    assert.ok(r.waitingTotal <= 1, `at most one 'waiting' after start, saw ${r.waitingTotal}`);
    assert.ok(r.frozenEpisodes <= 1, `at most one frozen episode while observed, saw ${r.frozenEpisodes}`);
    assert.ok(r.latencyMedian != null, 'getCurrentLiveLatency() is reported');
    assert.ok(r.latencyMedian < 5, `dash.js live latency median ${fmt(r.latencyMedian)} s < 5 s`);
  });
});
