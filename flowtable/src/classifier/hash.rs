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
