//! Blocking tests.
