// Headless chromium, forced onto QUIC for the edge's origin
// (--origin-to-force-quic-on), plays the live LL-HLS stream through a TLS
// ferrocast-edge with hls.js for at least 10 s; the Resource Timing entries of the
// media requests show nextHopProtocol "h3" (the edge sends Timing-Allow-Origin).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withStack, summarise, log, fmt, selfSignedCert } from './harness.mjs';

const PLAY_MS = 10_500;

test('hls.js plays LL-HLS over HTTP/3 through the edge for 10 s', { timeout: 240_000 }, async () => {
  await withStack('http3', async (st) => {
    await st.startOrigin();
    st.startPublisher({ bframes: 0 });
    const tls = selfSignedCert(st.dir);
    const edge = await st.startEdge({ parents: [st.base], name: 'edge-h3', tls });
    await st.startStatic();
    await st.waitForStream();
    await st.launchBrowser({ quic: { origins: [`localhost:${edge.port}`], spki: tls.spki } });

    const t0 = Date.now();
    await st.openPlayer('hls', edge.masterUrl);
    const first = await st.waitForPlaying({ timeoutMs: 30_000 });
    log(`hls.js ${first.hlsVersion} playing over the edge ${((Date.now() - t0) / 1000).toFixed(2)} s after page load`);
    const win = await st.observe(PLAY_MS, { label: 'h3' });
    const r = summarise(win);

    const entries = await st.page.evaluate((base) => performance.getEntriesByType('resource')
      .filter((e) => e.name.startsWith(base))
      .map((e) => ({ name: e.name.slice(base.length), protocol: e.nextHopProtocol })), edge.base);
    const byProtocol = {};
    for (const e of entries) byProtocol[e.protocol || '(empty)'] = (byProtocol[e.protocol || '(empty)'] ?? 0) + 1;
    console.log([
      '',
      `RESULT hls.js over HTTP/3: played ${fmt(r.advanced)} s of media in ${fmt(r.wallS)} s wall; ` +
        `stalled ${r.stallMs} ms; latency median ${fmt(r.latencyMedian)} s`,
      `RESULT resource entries for the edge: ${entries.length}, by nextHopProtocol ${JSON.stringify(byProtocol)}`,
      '',
    ].join('\n'));

    assert.ok(r.advanced >= 10, `played only ${fmt(r.advanced)} s of media`);
    assert.ok(r.stallMs < 1_000, `stalled ${r.stallMs} ms`);
    const media = entries.filter((e) => /\.(m4s|mp4|m3u8)/.test(e.name));
    assert.ok(media.length >= 10, `only ${media.length} media requests seen: ${JSON.stringify(entries.slice(0, 5))}`);
    // The first request may race QUIC's handshake on some versions; all the rest are h3.
    const h3 = media.filter((e) => e.protocol === 'h3').length;
    assert.ok(h3 >= media.length - 1,
      `${media.length - h3} of ${media.length} media requests not over h3: ${JSON.stringify(byProtocol)}`);
  });
});
