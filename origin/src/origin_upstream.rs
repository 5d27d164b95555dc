//! The origin's [`Upstream`]: `/live/…` from the channels' packagers
//! ([`LiveUpstream`]), `/vod/…` from the asset files on disk ([`VodFiles`]).

use edge::upstream::{Upstream, UpstreamFuture, UpstreamRequest};

use crate::live_upstream::LiveUpstream;
use crate::vod::files::VodFiles;

/// Dispatches by path prefix.
pub struct OriginUpstream {
    live: LiveUpstream,
    vod: VodFiles,
}

impl OriginUpstream {
    /// Live from `live`, VOD from `vod`.
    pub fn new(live: LiveUpstream, vod: VodFiles) -> Self {
        Self { live, vod }
    }
}

impl Upstream for OriginUpstream {
    fn fetch(&self, request: UpstreamRequest) -> UpstreamFuture {
        if VodFiles::handles(&request.path) {
            let vod = self.vod.clone();
            return Box::pin(async move { vod.respond(&request).await });
        }
        self.live.fetch(request)
    }
}
