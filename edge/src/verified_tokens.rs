//! Playback tokens whose signature has been verified, with their claims.
//!
//! A player sends the same token with every playlist and segment request, and an
//! Ed25519 verification costs several cached-playlist hits, so [`TokenVerifier`]
//! (crate::token::TokenVerifier) remembers tokens it verified. The lookup must cost
//! far less than serving a hit: a fast keyed hash (foldhash) of the token picks one
//! of [`SHARDS`] read-mostly maps; the stored token is compared in full, so a hash
//! collision can never stand in for a verification. A full shard is emptied (its
//! tokens are verified again on their next use), which bounds memory without
//! per-entry bookkeeping on the hot path.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::RwLock;

use crate::token::TokenClaims;

/// Independent maps (less contention between cores).
pub const SHARDS: usize = 16;

/// One shard: token hash → (the token, its claims).
type Shard = RwLock<HashMap<u64, (Box<str>, TokenClaims)>>;

/// Verified tokens; see the module docs.
pub struct VerifiedTokens {
    hasher: foldhash::fast::RandomState,
    shards: Vec<Shard>,
    per_shard: usize,
}

impl VerifiedTokens {
    /// Room for about `capacity` tokens.
    pub fn new(capacity: usize) -> Self {
        Self {
            hasher: foldhash::fast::RandomState::default(),
            shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
            per_shard: capacity.div_ceil(SHARDS).max(1),
        }
    }

    fn locate(&self, token: &str) -> (u64, &Shard) {
        let hash = self.hasher.hash_one(token);
        (hash, &self.shards[(hash as usize) % SHARDS])
    }

    /// The claims of `token`, if it was verified before.
    pub fn get(&self, token: &str) -> Option<TokenClaims> {
        self.with(token, TokenClaims::clone)
    }

    /// `f` applied to the claims of `token`, if it was verified before (no copy).
    pub fn with<R>(&self, token: &str, f: impl FnOnce(&TokenClaims) -> R) -> Option<R> {
        let (hash, shard) = self.locate(token);
        let map = shard.read().unwrap_or_else(|p| p.into_inner());
        match map.get(&hash) {
            Some((stored, claims)) if **stored == *token => Some(f(claims)),
            _ => None,
        }
    }

    /// Remembers that `token` verified with `claims`.
    pub fn insert(&self, token: &str, claims: TokenClaims) {
        let (hash, shard) = self.locate(token);
        let mut map = shard.write().unwrap_or_else(|p| p.into_inner());
        if map.len() >= self.per_shard && !map.contains_key(&hash) {
            map.clear();
        }
        map.insert(hash, (token.into(), claims));
    }

    /// Tokens remembered (approximate under concurrent inserts).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.read().unwrap_or_else(|p| p.into_inner()).len())
            .sum()
    }

    /// Whether none is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(n: u64) -> TokenClaims {
        TokenClaims {
            prefix: "/live/".into(),
            expires_at_s: n,
            client: None,
        }
    }

    #[test]
    fn remembers_exact_tokens_and_stays_bounded() {
        let v = VerifiedTokens::new(64);
        v.insert("token-a", claims(1));
        assert_eq!(v.get("token-a"), Some(claims(1)));
        assert_eq!(v.get("token-b"), None);
        for i in 0..10_000 {
            v.insert(&format!("t{i}"), claims(i));
        }
        assert!(v.len() <= 64, "bounded: {}", v.len());
        assert_eq!(v.get("t9999"), Some(claims(9_999)), "the newest is there");
    }
}
