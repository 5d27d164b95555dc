// An SRT publisher (ffmpeg, libsrt) sends MPEG-TS with H.264 and two AAC tracks
// tagged eng and fra (ISO 639-2; the manifests say en and fr). Both audio languages must appear as EXT-X-MEDIA renditions
// and as DASH AdaptationSets; hls.js plays the stream and switches from the first
// language to the second (audio fragments then come from the second rendition,
// and playback keeps going); dash.js plays the same stream with both audio
// languages listed and switches too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withStack, summarise, log, fmt, waitFor } from './harness.mjs';

const PLAY_MS = 10_500;
const AFTER_SWITCH_MS = 6_000;

/** The EXT-X-MEDIA:TYPE=AUDIO lines of a multivariant playlist, as {name, language, uri}. */
function audioRenditions(master) {
  return master.split('\n')
    .filter((l) => l.startsWith('#EXT-X-MEDIA:') && l.includes('TYPE=AUDIO'))
    .map((l) => ({
      language: /LANGUAGE="([^"]*)"/.exec(l)?.[1],
      name: /NAME="([^"]*)"/.exec(l)?.[1],
      uri: /URI="([^"]*)"/.exec(l)?.[1],
    }));
}

/** The rendition directory of a fragment URL (`…/live/demo/audio1/seg5.m4s` → `audio1`). */
const renditionOf = (url) => url.split('/').slice(-2, -1)[0];

/** Switches audio with `doSwitch`, then waits until audio fragments come from `targetRendition`. */
async function switchAudio(st, label, targetRendition, doSwitch) {
  const stats = await st.stats();
  const before = stats.audioFragments.at(-1);
  assert.ok(before, `${label}: audio fragments were loaded before the switch ${JSON.stringify(stats)}`);
  assert.notEqual(renditionOf(before), targetRendition, `${label}: the first language plays first`);
  await st.page.evaluate(doSwitch);
  const switched = await waitFor(`${label}: audio fragments from ${targetRendition}`, async () => {
    const s = await st.stats();
    const last = s.audioFragments.at(-1);
    return last && renditionOf(last) === targetRendition ? s : null;
  }, { timeoutMs: 20_000, intervalMs: 500 });
  log(`${label}: now loading audio from ${targetRendition} (last: ${switched.audioFragments.at(-1)})`);
  const win = await st.observe(AFTER_SWITCH_MS, { label: `${label} after switch` });
  return summarise(win);
}

test('SRT ingest with two audio languages plays in hls.js and dash.js, which switch languages', { timeout: 240_000 }, async () => {
  await withStack('srt', async (st) => {
    await st.startOrigin({ srt: true });
    st.startSrtPublisher({ languages: ['eng', 'fra'] });
    await st.startStatic();
    const master = await st.waitForStream({ mpd: true });

    // Both languages are described, in the playlist and in the MPD.
    const audio = audioRenditions(master);
    log(`audio renditions: ${JSON.stringify(audio)}`);
    // The TS descriptors say eng and fra (ISO 639-2); manifests carry BCP 47 tags.
    assert.deepEqual(audio.map((a) => a.language).sort(), ['en', 'fr'], `two audio renditions in\n${master}`);
    assert.deepEqual(audio.map((a) => a.name).sort(), ['English', 'French'], 'audio renditions are named');
    const audioSets = (mpd) => [...mpd.matchAll(/<AdaptationSet[^>]*contentType="audio"[^>]*lang="([^"]+)"/g)]
      .map((m) => m[1]).sort();
    const mpd = await waitFor('two audio AdaptationSets in the MPD', async () => {
      const text = await (await fetch(st.mpdUrl)).text();
      return audioSets(text).length >= 2 ? text : null;
    }, { timeoutMs: 20_000 });
    assert.deepEqual(audioSets(mpd), ['en', 'fr'], `two audio AdaptationSets in\n${mpd}`);
    const fra = audio.find((a) => a.language === 'fr');
    const fraRendition = fra.uri.split('/')[0];

    await st.launchBrowser();

    // hls.js: play, then switch to French.
    await st.openPlayer('hls', st.masterUrl);
    const first = await st.waitForPlaying({ timeoutMs: 40_000 });
    log(`hls.js ${first.hlsVersion}: playing ${first.videoWidth}x${first.videoHeight}`);
    const win = await st.observe(PLAY_MS, { label: 'hls srt' });
    const r = summarise(win);
    const tracks = await st.page.evaluate(() => window.ferro.hls.audioTracks.map((t) => ({ lang: t.lang, name: t.name })));
    log(`hls.js audio tracks: ${JSON.stringify(tracks)}`);
    assert.deepEqual(tracks.map((t) => t.lang).sort(), ['en', 'fr'], 'hls.js lists both languages');
    const hlsSwitch = await switchAudio(st, 'hls.js', fraRendition, () => {
      const h = window.ferro.hls;
      h.audioTrack = h.audioTracks.findIndex((t) => t.lang === 'fr');
    });

    // dash.js: play, then switch to French.
    await st.openPlayer('dash', st.mpdUrl);
    await st.waitForPlaying({ timeoutMs: 40_000 });
    const dashTracks = await st.page.evaluate(() => window.ferro.dash.getTracksFor('audio').map((t) => t.lang));
    log(`dash.js audio tracks: ${JSON.stringify(dashTracks)}`);
    assert.deepEqual([...dashTracks].sort(), ['en', 'fr'], 'dash.js lists both languages');
    const dashSwitch = await switchAudio(st, 'dash.js', fraRendition, () => {
      const d = window.ferro.dash;
      d.setCurrentTrack(d.getTracksFor('audio').find((t) => t.lang === 'fr'));
    });
    await st.screenshot('srt-end');

    console.log([
      '',
      `RESULT srt/hls.js: played ${fmt(r.advanced)} s in ${fmt(r.wallS)} s wall, waiting ${r.waitingTotal}; ` +
        `after the switch to fra ${fmt(hlsSwitch.advanced)} s in ${fmt(hlsSwitch.wallS)} s`,
      `RESULT srt/dash.js: after the switch to fra ${fmt(dashSwitch.advanced)} s in ${fmt(dashSwitch.wallS)} s`,
      '',
    ].join('\n'));

    assert.deepEqual(st.blocked, [], 'no request left 127.0.0.1');
    assert.equal(win.end.fatal, false, `no fatal hls.js error ${JSON.stringify(win.end.errors)}`);
    assert.ok(r.advanced >= 8, `hls.js: currentTime advanced ${fmt(r.advanced)} s over ${fmt(r.wallS)} s (want >= 8)`);
    assert.ok(r.framesGained > 0, 'hls.js decoded video frames');
    for (const [name, s] of [['hls.js', hlsSwitch], ['dash.js', dashSwitch]]) {
      assert.ok(s.advanced >= AFTER_SWITCH_MS / 1000 - 2,
        `${name}: playback kept going after the audio switch (${fmt(s.advanced)} s in ${fmt(s.wallS)} s)`);
      assert.ok(s.framesGained > 0, `${name}: video frames after the switch`);
    }
  });
});

test('SRT ingest of H.264 + Opus (Opus in TS, then in CMAF) plays in hls.js', { timeout: 180_000 }, async () => {
  await withStack('srt-opus', async (st) => {
    await st.startOrigin({ srt: true });
    st.startSrtPublisher({ languages: ['eng'], audioCodec: 'opus' });
    await st.startStatic();
    const master = await st.waitForStream();
    assert.match(master, /CODECS="avc1\.[0-9a-f]+,opus"/, `the variant names Opus:\n${master}`);
    await st.launchBrowser();
    await st.openPlayer('hls', st.masterUrl);
    const ok = await st.page.evaluate(() => MediaSource.isTypeSupported('audio/mp4; codecs="opus"'));
    assert.ok(ok, 'this chromium plays Opus in MP4 through MSE');
    await st.waitForPlaying({ timeoutMs: 40_000 });
    const win = await st.observe(8_000, { label: 'hls srt opus' });
    const r = summarise(win);
    const audioFragments = (await st.stats()).audioFragments;
    console.log(`\nRESULT srt-opus/hls.js: played ${fmt(r.advanced)} s in ${fmt(r.wallS)} s wall, ` +
      `waiting ${r.waitingTotal}, audio fragments loaded ${audioFragments.length}\n`);
    assert.equal(win.end.fatal, false, `no fatal hls.js error ${JSON.stringify(win.end.errors)}`);
    assert.ok(r.advanced >= 6, `currentTime advanced ${fmt(r.advanced)} s (want >= 6)`);
    assert.ok(audioFragments.length > 0, 'Opus audio fragments were loaded and appended');
    const decoded = await st.page.evaluate(() => {
      const v = document.querySelector('video');
      return v.webkitAudioDecodedByteCount ?? null;
    });
    assert.ok(decoded === null || decoded > 0, `Chromium decoded Opus audio (${decoded} bytes)`);
  });
});
