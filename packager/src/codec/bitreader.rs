//! An MSB-first bit reader with Exp-Golomb support (ITU-T H.264 §9.1), shared by the
//! SPS parsers.
