//! The `ferrocast-origin` binary.
fn main() {}
