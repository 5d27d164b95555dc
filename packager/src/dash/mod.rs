//! Low-latency DASH: the dynamic MPD (ISO/IEC 23009-1, DASH-IF IOP low latency).
