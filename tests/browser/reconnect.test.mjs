// The publisher drops and comes back with the same key within the grace period:
// the page keeps playing (after a discontinuity), without a reload or a fatal error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { withStack, summarise, log, fmt, waitFor } from './harness.mjs';

const GRACE_S = 10;
const GAP_MS = 3_000;

test('hls.js keeps playing when the publisher reconnects within the grace period', { timeout: 240_000 }, async () => {
  await withStack('reconnect', async (st) => {
    await st.startOrigin({ graceS: GRACE_S });
    st.startPublisher({ bframes: 0 });
    await st.startStatic();
    await st.waitForStream();
    await st.launchBrowser();
    await st.openPlayer('hls', st.masterUrl);
    await st.waitForPlaying({ timeoutMs: 30_000 });

    const before = await st.observe(5_000, { label: 'before' });
    assert.ok(before.end.currentTime > before.start.currentTime, 'playing before the drop');

    log(`killing the publisher (SIGKILL), restarting it in ${GAP_MS} ms (grace ${GRACE_S} s)`);
    const dropped = await st.stats();
    await st.publisher.kill({ signal: 'SIGKILL' });
    await sleep(GAP_MS);
    // Everything published before the drop has reached the player by now.
    const atRestart = await st.stats();
    st.startPublisher({ bframes: 0 });
    const restartedAt = Date.now();

    // currentTime must get past where the stream was when it dropped, and keep going.
    const past = await waitFor('currentTime to advance past the gap', async () => {
      const s = await st.stats();
      if (s.fatal) throw new Error(`fatal player error ${JSON.stringify(s.errors)}`);
      return s.currentTime > atRestart.bufferedEnd + 2 ? s : null;
    }, { timeoutMs: 15_000, intervalMs: 500 });
    log(`past the gap ${((Date.now() - restartedAt) / 1000).toFixed(2)} s after the restart ` +
      `(t=${fmt(past.currentTime)}; at the drop t=${fmt(dropped.currentTime)}, ` +
      `buffered end when restarting ${fmt(atRestart.bufferedEnd)})`);

    const after = await st.observe(6_000, { label: 'after' });
    const r = summarise(after);
    const end = after.end;
    await st.screenshot('reconnect-end');

    console.log([
      '',
      `RESULT reconnect: after the restart played ${fmt(r.advanced)} s in ${fmt(r.wallS)} s wall; ` +
        `discontinuities seen by hls.js: ${end.discontinuities}; waiting events overall: ${end.waiting.length} ` +
        `${JSON.stringify(end.waiting)}; stalled ${end.stallMs} ms`,
      `RESULT reconnect: latency after reconnect hls.latency ${fmt(r.latencyLast)} s, ` +
        `wall clock - PDT ${fmt(r.wallLatencyLast)} s; manifest loads ${end.manifestLoads}; page loads ${st.navigations}`,
      `RESULT reconnect: non-fatal hls.js errors: ${end.errorCount} ` +
        `${JSON.stringify(end.errors.filter((e) => !e.fatal).map((e) => e.details))}`,
      '',
    ].join('\n'));

    assert.equal(end.fatal, false, `no fatal hls.js error ${JSON.stringify(end.errors)}`);
    assert.equal(end.loadId, before.start.loadId, 'the page was not reloaded');
    assert.equal(st.navigations, 1, 'one navigation only');
    assert.equal(end.manifestLoads, 1, 'hls.js did not reload the source');
    assert.ok(r.advanced >= 4, `currentTime advanced ${fmt(r.advanced)} s in ${fmt(r.wallS)} s after reconnect (want >= 4)`);
    assert.ok(r.framesGained > 0, 'frames keep decoding after reconnect');
    assert.ok(r.frozenEpisodes === 0, `no freeze once past the gap, saw ${r.frozenEpisodes}`);
    assert.deepEqual(st.blocked, [], 'no requests outside 127.0.0.1');
  });
});
