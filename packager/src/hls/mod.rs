//! LL-HLS playlists (draft-pantos-hls-rfc8216bis): multivariant and media playlists,
//! delta updates and the blocking-reload decision of §6.2.5.2.
