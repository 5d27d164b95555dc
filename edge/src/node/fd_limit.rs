//! Raise the open-files limit to fit `[http] max_connections`.
//!
//! Every client connection is a file descriptor, and a miss opens another towards a
//! parent, so the edge wants about two per connection plus headroom for the store
//! files, listeners and the pool. Like Go's runtime and nginx's
//! `worker_rlimit_nofile`, the soft `RLIMIT_NOFILE` is raised towards the hard limit;
//! if even the hard limit is too low the edge still starts, with a warning naming
//! the number to configure (systemd `LimitNOFILE=`).

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

/// Descriptors kept for everything that is not a client connection or its parent
/// fetch: listeners, store files, the parent pool, logs.
pub const FD_HEADROOM: u64 = 1024;

/// Descriptors wanted for `max_connections`.
pub fn wanted(max_connections: usize) -> u64 {
    (max_connections as u64)
        .saturating_mul(2)
        .saturating_add(FD_HEADROOM)
}

/// Raise the soft limit to fit `max_connections`; returns the soft limit in force.
pub fn raise_for(max_connections: usize) -> Option<u64> {
    let want = wanted(max_connections);
    let current = getrlimit(Resource::Nofile);
    let soft = current.current?; // None: unlimited
    if soft >= want {
        return Some(soft);
    }
    let target = current.maximum.map_or(want, |hard| hard.min(want));
    if target > soft {
        let raised = Rlimit {
            current: Some(target),
            maximum: current.maximum,
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::warn!(error = %e, "could not raise RLIMIT_NOFILE");
            return Some(soft);
        }
    }
    if target < want {
        tracing::warn!(
            limit = target,
            wanted = want,
            "[http] max_connections = {max_connections} needs about {want} open files; \
             the hard limit is {target} (raise LimitNOFILE)"
        );
    }
    Some(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wants_two_per_connection_plus_headroom() {
        assert_eq!(wanted(10_000), 21_024);
        assert_eq!(wanted(usize::MAX), u64::MAX);
    }

    #[test]
    fn raising_never_lowers_the_limit() {
        let before = getrlimit(Resource::Nofile).current;
        let now = raise_for(10);
        assert_eq!(now, before, "10 connections fit any sane default");
    }
}
