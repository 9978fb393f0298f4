//! The exact-match cache: the first tier in front of the megaflow cache.
//!
//! A small direct-mapped table from a packet's full key to the megaflow it hit, as Open
//! vSwitch's EMC: one hash, one key compare, no subtable walk. Entries are hints; one that
//! points at a removed megaflow is ignored and overwritten.

use crate::flow::Megaflow;
use flowtable::FlowKey;
use std::sync::Arc;

/// Entries in each thread's exact-match cache (Open vSwitch: 8192).
pub const EMC_ENTRIES: usize = 8192;

#[derive(Debug, Clone)]
struct Slot {
    hash: u64,
    key: FlowKey,
    flow: Arc<Megaflow>,
}

/// One poll thread's exact-match cache.
#[derive(Debug)]
pub struct ExactMatchCache {
    slots: Vec<Option<Slot>>,
}

impl Default for ExactMatchCache {
    fn default() -> Self {
        ExactMatchCache { slots: vec![None; EMC_ENTRIES] }
    }
}

/// Hash of a whole key.
#[inline]
pub fn key_hash(key: &FlowKey) -> u64 {
    let mut h: u64 = 0x243f_6a88_85a3_08d3;
    for w in &key.words {
        h = (h ^ w).wrapping_mul(0x0100_0000_01b3).rotate_left(27);
    }
    h ^ (h >> 29)
}

impl ExactMatchCache {
    /// The live megaflow cached for exactly this key.
    #[inline]
    pub fn lookup(&self, hash: u64, key: &FlowKey) -> Option<&Arc<Megaflow>> {
        let slot = self.slots[(hash as usize) % EMC_ENTRIES].as_ref()?;
        (slot.hash == hash && !slot.flow.is_dead() && slot.key == *key).then_some(&slot.flow)
    }

    /// Remembers that `key` hit `flow`.
    #[inline]
    pub fn insert(&mut self, hash: u64, key: &FlowKey, flow: &Arc<Megaflow>) {
        self.slots[(hash as usize) % EMC_ENTRIES] = Some(Slot { hash, key: *key, flow: Arc::clone(flow) });
    }

    /// Forgets everything (after a flush of the megaflow cache).
    pub fn clear(&mut self) {
        self.slots.iter_mut().for_each(|s| *s = None);
    }
}
