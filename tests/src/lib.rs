//! # tests — end-to-end harness: starts the real `ferrocast-origin`, real publishers
//! (ffmpeg) and real players, and checks outputs with independent tools (ffprobe).
