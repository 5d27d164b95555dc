//! The in-memory index: key → where its newest record lies, plus, per segment, the
//! keys written into it so the ring can evict a segment's entries before it
//! overwrites the segment.

use std::collections::HashMap;
use std::sync::Arc;

/// Where a live object record lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Loc {
    /// Ring segment.
    pub(crate) seg: u32,
    /// Offset of the record from the segment's start.
    pub(crate) offset: u32,
    /// Bytes of the record without padding (what a reader copies).
    pub(crate) len: u32,
    /// The segment's epoch when the record was written; a reader checks it.
    pub(crate) epoch: u64,
    /// `ObjectMeta::useful_until_ms` of the object, so expired entries need no read.
    pub(crate) useful_until_ms: u64,
}

/// The index (not synchronised: the tier wraps it in a lock).
#[derive(Debug)]
pub(crate) struct Index {
    map: HashMap<Arc<str>, Loc>,
    /// Keys of records written into each segment (may name keys since replaced).
    seg_keys: Vec<Vec<Arc<str>>>,
    live_bytes: u64,
}

impl Index {
    /// An empty index for a ring of `segments` segments.
    pub(crate) fn new(segments: u32) -> Self {
        Index {
            map: HashMap::new(),
            seg_keys: vec![Vec::new(); segments as usize],
            live_bytes: 0,
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<Loc> {
        self.map.get(key).copied()
    }

    pub(crate) fn contains(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Bytes of the records the index points to.
    pub(crate) fn live_bytes(&self) -> u64 {
        self.live_bytes
    }

    /// Points `key` at `loc`, replacing any older record for it.
    pub(crate) fn insert(&mut self, key: &str, loc: Loc) {
        let key: Arc<str> = match self.map.get_key_value(key) {
            Some((k, _)) => k.clone(),
            None => Arc::from(key),
        };
        self.seg_keys[loc.seg as usize].push(key.clone());
        if let Some(old) = self.map.insert(key, loc) {
            self.live_bytes -= u64::from(old.len);
        }
        self.live_bytes += u64::from(loc.len);
    }

    /// Removes `key`; returns whether it was present.
    pub(crate) fn remove(&mut self, key: &str) -> bool {
        match self.map.remove(key) {
            Some(old) => {
                self.live_bytes -= u64::from(old.len);
                true
            }
            None => false,
        }
    }

    /// Removes `key` only if it still points at `loc` (a reader found that record bad,
    /// and the writer has not replaced or evicted it meanwhile).
    pub(crate) fn remove_if_at(&mut self, key: &str, loc: Loc) -> bool {
        if self.map.get(key) == Some(&loc) {
            self.remove(key)
        } else {
            false
        }
    }

    /// Removes every key that starts with `prefix`; returns how many.
    pub(crate) fn remove_prefix(&mut self, prefix: &str) -> usize {
        let before = self.map.len();
        let mut freed = 0;
        self.map.retain(|k, loc| {
            let keep = !k.starts_with(prefix);
            if !keep {
                freed += u64::from(loc.len);
            }
            keep
        });
        self.live_bytes -= freed;
        before - self.map.len()
    }

    /// Removes the entries whose record lies in `seg`, before the ring overwrites it;
    /// returns how many.
    pub(crate) fn evict_segment(&mut self, seg: u32) -> usize {
        let keys = std::mem::take(&mut self.seg_keys[seg as usize]);
        let mut evicted = 0;
        for key in keys {
            if self.map.get(&key).is_some_and(|loc| loc.seg == seg) {
                self.remove(&key);
                evicted += 1;
            }
        }
        evicted
    }

    /// Every entry, for a snapshot.
    pub(crate) fn entries(&self) -> impl ExactSizeIterator<Item = (&str, &Loc)> {
        self.map.iter().map(|(k, v)| (&**k, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(seg: u32, offset: u32) -> Loc {
        Loc {
            seg,
            offset,
            len: 100,
            epoch: 1,
            useful_until_ms: 0,
        }
    }

    #[test]
    fn eviction_spares_keys_rewritten_elsewhere() {
        let mut ix = Index::new(3);
        ix.insert("a", loc(0, 0));
        ix.insert("b", loc(0, 100));
        ix.insert("b", loc(1, 0)); // b rewritten into segment 1
        ix.insert("c", loc(0, 200));
        ix.remove("c");
        assert_eq!(ix.live_bytes(), 200);
        assert_eq!(ix.evict_segment(0), 1);
        assert!(!ix.contains("a"));
        assert_eq!(ix.get("b"), Some(loc(1, 0)));
        assert_eq!(ix.live_bytes(), 100);
        assert_eq!(ix.evict_segment(0), 0);
    }

    #[test]
    fn prefix_and_conditional_removal() {
        let mut ix = Index::new(2);
        ix.insert("/live/a/1", loc(0, 0));
        ix.insert("/live/a/2", loc(0, 100));
        ix.insert("/live/b/1", loc(1, 0));
        assert!(!ix.remove_if_at("/live/b/1", loc(1, 8)));
        assert!(ix.remove_if_at("/live/b/1", loc(1, 0)));
        assert_eq!(ix.remove_prefix("/live/a/"), 2);
        assert_eq!(ix.len(), 0);
        assert_eq!(ix.live_bytes(), 0);
    }
}
