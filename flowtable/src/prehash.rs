//! Hash maps keyed by values that are already good hashes (the classifier's and the megaflow
//! cache's masked-key hashes): hashing them again would only cost time.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A hasher that passes a `u64` key through unchanged.
#[derive(Default, Debug, Clone, Copy)]
pub struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// A map from a precomputed 64-bit hash to `V`.
pub type PrehashedMap<V> = HashMap<u64, V, BuildHasherDefault<Prehashed>>;
