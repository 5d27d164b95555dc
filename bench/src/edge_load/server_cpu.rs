//! CPU time over the measured phase: of the server under test (`--server-pid`,
//! its process tree, as [`crate::proc_cpu`] reads it) and of this client
//! process, so a run can say what a request or a byte cost the server, and
//! whether the client's core was the bottleneck.
//!
//! [`CpuMeter::sample`] is taken when measuring starts and once every
//! connection task has stopped; [`CpuUse`] is the difference.

use tokio::time::Instant;

use crate::proc_cpu;

/// Takes samples of the server's and this process's CPU seconds.
#[derive(Debug, Clone)]
pub struct CpuMeter {
    server_pid: Option<u32>,
    ticks_per_s: u64,
}

/// One reading.
#[derive(Debug, Clone, Copy)]
pub struct CpuSample {
    at: Instant,
    server_s: Option<f64>,
    client_s: Option<f64>,
}

/// CPU used between two samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuUse {
    /// Wall-clock seconds between the samples.
    pub wall_s: f64,
    /// CPU seconds of the server's process tree; `None` without `--server-pid`
    /// or when it exited.
    pub server_s: Option<f64>,
    /// CPU seconds of this client process.
    pub client_s: Option<f64>,
}

impl CpuMeter {
    /// A meter of `server_pid` (if any) and of this process.
    pub fn new(server_pid: Option<u32>) -> Self {
        CpuMeter {
            server_pid,
            ticks_per_s: proc_cpu::clock_ticks(),
        }
    }

    /// Reads both CPU times now.
    pub fn sample(&self) -> CpuSample {
        CpuSample {
            at: Instant::now(),
            server_s: self
                .server_pid
                .and_then(|p| proc_cpu::tree_cpu_seconds(p, self.ticks_per_s)),
            client_s: proc_cpu::tree_cpu_seconds(std::process::id(), self.ticks_per_s),
        }
    }
}

impl CpuSample {
    /// What was used from `self` to `later`.
    pub fn until(&self, later: &CpuSample) -> CpuUse {
        let diff = |a: Option<f64>, b: Option<f64>| Some((b? - a?).max(0.0));
        CpuUse {
            wall_s: (later.at - self.at).as_secs_f64(),
            server_s: diff(self.server_s, later.server_s),
            client_s: diff(self.client_s, later.client_s),
        }
    }
}

impl CpuUse {
    /// The server's CPU share over the wall time (1.0 = one core busy).
    pub fn server_share(&self) -> Option<f64> {
        Some(self.server_s? / self.wall_s.max(1e-9))
    }

    /// This client's CPU share over the wall time.
    pub fn client_share(&self) -> Option<f64> {
        Some(self.client_s? / self.wall_s.max(1e-9))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_as_server_uses_cpu() {
        let meter = CpuMeter::new(Some(std::process::id()));
        let a = meter.sample();
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(i);
        }
        assert_ne!(x, 1);
        let used = a.until(&meter.sample());
        assert!(used.server_s.unwrap() >= 0.0);
        assert!(used.client_share().unwrap() >= 0.0);
        let gone = CpuMeter::new(Some(u32::MAX)).sample();
        assert_eq!(gone.until(&gone).server_s, None);
    }
}
