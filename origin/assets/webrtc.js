// WHEP (play) and WHIP (publish) clients for the pages, without dependencies.
//
// Both follow the HTTP contract of the origin (docs/architecture.md, WebRTC):
// the client makes a complete offer (it waits for ICE gathering to finish: the
// origin is ICE-lite and takes no trickled candidates), POSTs it as
// `application/sdp`, and expects `201 Created` with the SDP answer as the body
// and the session's resource in `Location`. `stop()` closes the peer connection
// and DELETEs that resource. Any other status is an error whose body is one line
// of text; it becomes the message of a `WebRtcHttpError` (with `.status`).
//
//   const s = await FerrocastWebRtc.whepPlay('/whep/news', videoEl, { token });
//   await s.connected;   // media flows (rejects if ICE/DTLS fails or times out)
//   await s.stop();
//
//   const p = await FerrocastWebRtc.whipPublish('/whip/news', stream, { streamKey });
'use strict';
(function (global) {
  /** How long to wait for ICE gathering before sending the candidates found so far. */
  const ICE_GATHERING_TIMEOUT_MS = 3000;
  /** How long `connected` waits for the peer connection to reach "connected". */
  const CONNECT_TIMEOUT_MS = 10000;

  /** What each error status means, for answers whose body says nothing. */
  const STATUS_TEXT = {
    400: 'the server could not read the offer',
    401: 'a stream key is needed',
    403: 'not allowed (wrong stream key or playback token)',
    404: 'the channel is not live',
    405: 'method not allowed',
    406: 'no codec in common with the channel',
    409: 'refused by the channel (conflict)',
    503: 'too many sessions, try again later',
  };

  /** A non-201 answer to a WHEP or WHIP request. */
  class WebRtcHttpError extends Error {
    constructor(kind, status, text) {
      const line = (text || '').split('\n')[0].trim() || STATUS_TEXT[status] || 'unexpected answer';
      super(kind + ' ' + status + ': ' + line);
      this.name = 'WebRtcHttpError';
      this.kind = kind;
      this.status = status;
      this.text = line;
    }
  }

  /** Resolves when ICE gathering is complete, or after `timeoutMs` with what there is. */
  function iceGatheringComplete(pc, timeoutMs) {
    if (pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        pc.removeEventListener('icegatheringstatechange', check);
        pc.removeEventListener('icecandidate', onCandidate);
        resolve();
      };
      const check = () => { if (pc.iceGatheringState === 'complete') done(); };
      const onCandidate = (e) => { if (!e.candidate) done(); };
      const timer = setTimeout(done, timeoutMs);
      pc.addEventListener('icegatheringstatechange', check);
      pc.addEventListener('icecandidate', onCandidate);
    });
  }

  /** Resolves when `pc` is connected; rejects when it fails or closes, or after `timeoutMs`. */
  function connectedPromise(pc, kind, timeoutMs) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const s = pc.connectionState;
        if (s === 'connected') { cleanup(); resolve(); }
        else if (s === 'failed' || s === 'closed') {
          cleanup();
          reject(new Error(kind + ': the media connection ' + s + ' (is UDP to the server blocked?)'));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(kind + ': no media connection after ' + timeoutMs / 1000 + ' s (is UDP to the server blocked?)'));
      }, timeoutMs);
      const cleanup = () => { clearTimeout(timer); pc.removeEventListener('connectionstatechange', check); };
      pc.addEventListener('connectionstatechange', check);
      check();
    });
  }

  /**
   * Offer → POST → answer. Returns the absolute URL of the session resource
   * (`Location`, resolved against the request URL), or null if the server sent none.
   */
  async function negotiate(kind, url, pc, headers) {
    await pc.setLocalDescription(await pc.createOffer());
    await iceGatheringComplete(pc, ICE_GATHERING_TIMEOUT_MS);
    let res;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: Object.assign({ 'content-type': 'application/sdp' }, headers),
        body: pc.localDescription.sdp,
        cache: 'no-store',
      });
    } catch (e) {
      throw new Error(kind + ': cannot reach ' + url + ' (' + e.message + ')');
    }
    const body = await res.text();
    if (res.status !== 201) throw new WebRtcHttpError(kind, res.status, body);
    const location = res.headers.get('location');
    await pc.setRemoteDescription({ type: 'answer', sdp: body });
    return location ? new URL(location, new URL(url, global.location.href)).href : null;
  }

  /** The session object both clients return. */
  function session(kind, pc, resource, headers, extra) {
    let stopped = false;
    const connected = connectedPromise(pc, kind, CONNECT_TIMEOUT_MS);
    connected.catch(() => {}); // not unhandled when nobody waits for it
    return Object.assign({
      pc,
      resource,
      connected,
      /** Closes the peer connection and DELETEs the session (once; errors are ignored). */
      async stop() {
        if (stopped) return;
        stopped = true;
        pc.close();
        if (resource) {
          try { await fetch(resource, { method: 'DELETE', headers, cache: 'no-store' }); } catch (_) { /* gone */ }
        }
      },
    }, extra);
  }

  /**
   * Plays `url` (`/whep/{channel}`) into `videoEl` over WHEP: recvonly video and
   * audio. `token`: a playback token for token channels (sent as a Bearer token).
   * Returns { pc, resource, stream, connected, stop() }.
   */
  async function whepPlay(url, videoEl, opts) {
    const o = opts || {};
    const headers = o.token ? { authorization: 'Bearer ' + o.token } : {};
    const pc = new RTCPeerConnection(o.rtcConfig || {});
    const stream = new MediaStream();
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.addEventListener('track', (e) => {
      stream.addTrack(e.track);
      // Reassign so that the element picks up a track added after the first.
      if (videoEl) { videoEl.srcObject = stream; videoEl.play().catch(() => {}); }
    });
    try {
      const resource = await negotiate('WHEP', url, pc, headers);
      return session('WHEP', pc, resource, headers, { stream });
    } catch (e) {
      pc.close();
      throw e;
    }
  }

  /** `codecs` with those of `mimeType` first (H.264: packetization-mode=1 first). */
  function preferCodec(codecs, mimeType) {
    const want = (c) => c.mimeType.toLowerCase() === mimeType.toLowerCase();
    const mode1 = (c) => /packetization-mode=1/.test(c.sdpFmtpLine || '');
    const first = codecs.filter(want).sort((a, b) => Number(mode1(b)) - Number(mode1(a)));
    return first.concat(codecs.filter((c) => !want(c)));
  }

  /**
   * Publishes the tracks of `stream` to `url` (`/whip/{channel}`) over WHIP,
   * sendonly, with `streamKey` as the Bearer token. Video prefers `videoCodec`
   * (default H.264, which the origin passes through to every viewer) where the
   * browser lets us choose (setCodecPreferences), else whatever it offers.
   * `maxBitrate` (bit/s) caps the video encoder.
   * Returns { pc, resource, connected, stop() }; stop() does not stop the tracks.
   */
  async function whipPublish(url, stream, opts) {
    const o = opts || {};
    const headers = o.streamKey ? { authorization: 'Bearer ' + o.streamKey } : {};
    const pc = new RTCPeerConnection(o.rtcConfig || {});
    try {
      for (const track of stream.getTracks()) {
        const t = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
        const caps = global.RTCRtpSender && RTCRtpSender.getCapabilities && RTCRtpSender.getCapabilities(track.kind);
        if (track.kind === 'video' && caps && typeof t.setCodecPreferences === 'function') {
          t.setCodecPreferences(preferCodec(caps.codecs, o.videoCodec || 'video/H264'));
        }
      }
      const resource = await negotiate('WHIP', url, pc, headers);
      for (const sender of pc.getSenders()) {
        if (!sender.track || sender.track.kind !== 'video') continue;
        try {
          const p = sender.getParameters();
          // A live source: keep the picture sharp and drop frames rather than pixels.
          p.degradationPreference = o.degradationPreference || 'maintain-resolution';
          if (o.maxBitrate && p.encodings && p.encodings[0]) p.encodings[0].maxBitrate = o.maxBitrate;
          await sender.setParameters(p);
        } catch (_) { /* not supported here: the browser's defaults */ }
      }
      return session('WHIP', pc, resource, headers, {});
    } catch (e) {
      pc.close();
      throw e;
    }
  }

  global.FerrocastWebRtc = { whepPlay, whipPublish, WebRtcHttpError };
})(window);
