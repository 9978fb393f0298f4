//! The classifier's hashing: one folded 64x64->128-bit multiply per key word.
//!
//! A subtable hashes only its mask's non-zero words, so a lookup costs one multiply per
//! significant word; the folded multiply mixes every input bit into every output bit, which
//! the hash tables keyed by these hashes (and so taking them as they are, [`Prehashed`]) need.

use crate::prehash::Prehashed;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The hash of no words (the start of every subtable hash). Fixed, so that iteration order is
/// the same in every run.
pub(super) const SEED: u64 = 0x243f_6a88_85a3_08d3;

const MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;

/// Folds word `w` into hash `h`.
#[inline(always)]
pub(super) fn mix(h: u64, w: u64) -> u64 {
    let p = u128::from(h ^ w) * u128::from(MULTIPLIER);
    (p as u64) ^ ((p >> 64) as u64)
}

/// The hash of a sequence of (already masked) words.
#[inline]
pub(super) fn hash_words(words: &[u64]) -> u64 {
    words.iter().fold(SEED, |h, &w| mix(h, w))
}

/// A map keyed by one of [`mix`]'s hashes.
pub(super) type HashKeyed<V> = HashMap<u64, V, BuildHasherDefault<Prehashed>>;

/// A hasher for small integer keys (prefixes): one [`mix`].
#[derive(Default, Debug, Clone, Copy)]
pub(super) struct IntHasher(u64);

impl Hasher for IntHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = mix(self.0, u64::from(*b));
        }
    }
    fn write_u32(&mut self, v: u32) {
        self.0 = mix(self.0, u64::from(v));
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = mix(self.0, v);
    }
}

/// A map keyed by a small integer, hashed with [`IntHasher`].
pub(super) type IntMap<K, V> = HashMap<K, V, BuildHasherDefault<IntHasher>>;

/// A one-hash Bloom filter over a set of [`mix`] hashes, about 16 bits per member: an exact
/// "absent" in one cache-friendly load, before (or instead of) probing the set itself.
///
/// Members are never cleared one by one (several may share a bit); the filter is rebuilt
/// from the set when it has grown past its size or when removals outnumber the members.
#[derive(Clone, Debug, Default)]
pub(super) struct HashFilter {
    bits: Vec<u64>,
    /// `bits.len() * 64 - 1` (a power of two minus one), or 0 when empty.
    index_mask: u64,
    /// Members removed since the last rebuild.
    stale: usize,
}

impl HashFilter {
    /// Whether `h` may be a member (false: certainly not).
    #[inline]
    pub(super) fn may_contain(&self, h: u64) -> bool {
        let i = (h >> 20) & self.index_mask;
        self.bits.get((i >> 6) as usize).is_some_and(|w| w & (1 << (i & 63)) != 0)
    }

    /// Adds `h`; `members` is the set after adding (to grow from).
    pub(super) fn insert<'a>(&mut self, h: u64, n_members: usize, members: impl Iterator<Item = &'a u64>) {
        if n_members * 16 > self.bits.len() * 64 {
            self.rebuild(n_members, members);
        } else {
            self.set(h);
        }
    }

    /// Notes a removal; `members` is the set after removing.
    pub(super) fn remove<'a>(&mut self, n_members: usize, members: impl Iterator<Item = &'a u64>) {
        self.stale += 1;
        if self.stale > n_members {
            self.rebuild(n_members, members);
        }
    }

    fn set(&mut self, h: u64) {
        let i = (h >> 20) & self.index_mask;
        self.bits[(i >> 6) as usize] |= 1 << (i & 63);
    }

    fn rebuild<'a>(&mut self, n_members: usize, members: impl Iterator<Item = &'a u64>) {
        self.stale = 0;
        if n_members == 0 {
            *self = HashFilter::default();
            return;
        }
        let n_bits = (n_members * 16).next_power_of_two().max(64);
        self.bits = vec![0; n_bits / 64];
        self.index_mask = n_bits as u64 - 1;
        for &h in members {
            self.set(h);
        }
    }
}
