//! Playlist tests.
