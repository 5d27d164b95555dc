//! # origin — ingest → packager → live store → delivery
#![forbid(unsafe_code)]
