//! Realtime transcoders (issue 8) on real FFmpeg: AAC ⇄ Opus, and H.264 without B-frames.
