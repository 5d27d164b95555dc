//! Rendezvous (highest-random-weight) hashing of request paths onto parents.
//!
//! Every parent gets a score `XXH3-64(name ‖ 0x00 ‖ path)` for a path; parents
//! sorted by descending score are that path's preference order. So:
//!
//! - each path has one first choice, and the catalog splits evenly across mid-tier
//!   caches (each parent's share is `1/n` in expectation);
//! - the rest of the order is the failover order, itself spread evenly, so the
//!   load of a failed parent spreads over all survivors instead of one neighbour;
//! - removing a parent moves only the paths whose first choice it was; adding one
//!   takes about `1/(n+1)` of the paths from every other parent and moves no others.
//!
//! The score uses the path without its query: a blocking playlist request
//! (`index.m3u8?_HLS_msn=…`) goes where its playlist's plain requests go, so one
//! parent holds the playlist's blocking waiters. The parent's name (its authority) is
//! hashed rather than its position in the list, so reordering the configuration
//! moves nothing.

use xxhash_rust::xxh3::Xxh3;

/// The path a request is hashed on: `path_and_query` up to the first `?`.
pub(crate) fn hash_key(path_and_query: &str) -> &str {
    match path_and_query.split_once('?') {
        Some((path, _)) => path,
        None => path_and_query,
    }
}

/// The score of parent `name` for `path`; higher wins.
pub(crate) fn score(name: &str, path: &str) -> u64 {
    let mut hasher = Xxh3::new();
    hasher.update(name.as_bytes());
    // A separator so ("ab", "/c") and ("a", "b/c") hash differently.
    hasher.update(&[0]);
    hasher.update(path.as_bytes());
    hasher.digest()
}

/// Indices into `names`, most preferred first, for `path_and_query` (query ignored).
/// Ties (astronomically unlikely) fall back to list order, so the result is total.
pub(crate) fn preference<S: AsRef<str>>(names: &[S], path_and_query: &str) -> Vec<usize> {
    let path = hash_key(path_and_query);
    let mut scored: Vec<(u64, usize)> = names
        .iter()
        .enumerate()
        .map(|(i, name)| (score(name.as_ref(), path), i))
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().map(|(_, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATHS: usize = 10_000;

    fn path(i: usize) -> String {
        format!("/live/channel{}/video{}/seg{}.m4s", i % 37, i % 3, i)
    }

    #[test]
    fn spreads_paths_evenly_over_three_parents() {
        let names = ["10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080"];
        let mut counts = [0usize; 3];
        for i in 0..PATHS {
            counts[preference(&names, &path(i))[0]] += 1;
        }
        let expected = PATHS / names.len();
        for count in counts {
            // ±10 % of the fair share; the binomial standard deviation is ~47.
            assert!(
                count.abs_diff(expected) < expected / 10,
                "uneven split {counts:?}"
            );
        }
    }

    #[test]
    fn removing_a_parent_moves_only_its_paths() {
        let all = ["a:1", "b:2", "c:3"];
        let without_b = ["a:1", "c:3"];
        let mut moved = 0;
        for i in 0..PATHS {
            let p = path(i);
            let before = all[preference(&all, &p)[0]];
            let after = without_b[preference(&without_b, &p)[0]];
            if before == "b:2" {
                moved += 1;
                // The new first choice is b's runner-up in the old order.
                assert_eq!(after, all[preference(&all, &p)[1]]);
            } else {
                assert_eq!(before, after, "{p} moved although its parent stayed");
            }
        }
        assert!(moved > PATHS / 4, "b owned only {moved} paths");
    }

    #[test]
    fn order_is_a_permutation_and_ignores_the_query() {
        let names = ["a:1", "b:2", "c:3", "d:4"];
        let order = preference(&names, "/live/x/v/index.m3u8");
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, [0, 1, 2, 3]);
        assert_eq!(
            preference(&names, "/live/x/v/index.m3u8?_HLS_msn=10&_HLS_part=2"),
            order
        );
    }

    #[test]
    fn list_order_does_not_matter() {
        let forward = ["a:1", "b:2", "c:3"];
        let backward = ["c:3", "b:2", "a:1"];
        for i in 0..100 {
            let p = path(i);
            let f: Vec<_> = preference(&forward, &p)
                .into_iter()
                .map(|j| forward[j])
                .collect();
            let b: Vec<_> = preference(&backward, &p)
                .into_iter()
                .map(|j| backward[j])
                .collect();
            assert_eq!(f, b);
        }
    }
}
