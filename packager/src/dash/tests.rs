//! MPD tests.
