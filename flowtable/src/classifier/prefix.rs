//! Prefix tracking for `nw_src` and `nw_dst`: skipping subtables whose CIDR prefixes cannot
//! match a key, un-wildcarding only the leading bits of the address that decided it.
//!
//! What Open vSwitch's shared prefix trie answers (which prefix lengths hold a prefix of the
//! key), from flat structures that a lookup reads a few words of:
//!
//! * a [`PrefixFilter`] per field, shared by all subtables: for every value of an address's
//!   first 8 bits and of its first 16 bits, the set of prefix lengths `L` (a bit each) for
//!   which some subtable holds an `L`-bit prefix agreeing with those bits (for `L` shorter
//!   than the level: equal to the address's first `L` bits). One lookup reads two words, and
//!   every subtable whose length is absent is skipped for the price of a bit test;
//! * for prefixes longer than 16 bits, the filter's counted set of every subtable's whole
//!   prefixes, probed once per lookup and length;
//! * a [`PrefixIndex`] per subtable and field: the counted set of its rules' whole prefixes,
//!   probed only when several subtables share a length (else the shared answers are exact).
//!
//! A subtable skipped at level `n` un-wildcards `min(L, n)` leading bits (the whole prefix
//! for the whole-prefix sets): every key agreeing on them is skipped the same way. Removed
//! prefixes leave stale bits in the levels, which is safe (a subtable is probed when it need
//! not be); the levels are rebuilt once the stale prefixes outnumber the live ones.

use super::hash::IntMap;
use crate::field::Field;
use crate::key::FlowKey;

/// Fields with prefix tracking (IPv4 source and destination), in [`PrefixFilter`] order.
pub(super) const PREFIX_FIELDS: [Field; 2] = [Field::Ipv4Src, Field::Ipv4Dst];

/// The address of prefix field `f` in `key`.
#[inline]
fn addr(key: &FlowKey, f: usize) -> u32 {
    let l = PREFIX_FIELDS[f].layout();
    (key.words[l.word] >> l.shift) as u32
}

/// The shared levels of one prefix field (see the module documentation).
#[derive(Clone, Debug)]
pub(super) struct PrefixFilter {
    /// `(plen << 32) | prefix` -> how many subtables hold that prefix.
    counts: IntMap<u64, u32>,
    /// How many subtables track this field with each prefix length.
    users: [u16; 33],
    /// 256 words (empty when no prefix is tracked).
    level8: Vec<u32>,
    /// 65536 words (empty when no prefix is tracked).
    level16: Vec<u32>,
    /// Prefixes forgotten since the levels were last built.
    stale: usize,
}

impl Default for PrefixFilter {
    fn default() -> Self {
        PrefixFilter { counts: IntMap::default(), users: [0; 33], level8: Vec::new(), level16: Vec::new(), stale: 0 }
    }
}

impl PrefixFilter {
    fn mark_level(level: &mut [u32], level_bits: u32, plen: u32, prefix: u32) {
        let bit = 1u32 << (plen - 1);
        if plen >= level_bits {
            level[(prefix >> (plen - level_bits)) as usize] |= bit;
        } else {
            let start = (prefix << (level_bits - plen)) as usize;
            for w in &mut level[start..start + (1usize << (level_bits - plen))] {
                *w |= bit;
            }
        }
    }

    fn mark(&mut self, plen: u32, prefix: u32) {
        if self.level8.is_empty() {
            self.level8 = vec![0; 256];
            self.level16 = vec![0; 1 << 16];
        }
        Self::mark_level(&mut self.level8, 8, plen, prefix);
        Self::mark_level(&mut self.level16, 16, plen, prefix);
    }

    /// A subtable tracking this field with `plen`-bit prefixes appeared (`+1`) or went (`-1`).
    pub(super) fn add_user(&mut self, plen: u32, delta: i16) {
        let u = &mut self.users[plen as usize];
        *u = u.wrapping_add_signed(delta);
    }

    /// A subtable now holds `prefix` (of `plen` bits) and did not before.
    pub(super) fn add(&mut self, plen: u32, prefix: u32) {
        let c = self.counts.entry((u64::from(plen) << 32) | u64::from(prefix)).or_insert(0);
        *c += 1;
        if *c == 1 {
            self.mark(plen, prefix);
        }
    }

    /// A subtable no longer holds `prefix`.
    pub(super) fn remove(&mut self, plen: u32, prefix: u32) {
        let key = (u64::from(plen) << 32) | u64::from(prefix);
        let Some(c) = self.counts.get_mut(&key) else { return };
        *c -= 1;
        if *c > 0 {
            return;
        }
        self.counts.remove(&key);
        if self.counts.is_empty() {
            // Give every byte back (the levels are 257 KiB).
            *self = PrefixFilter { users: self.users, ..PrefixFilter::default() };
            return;
        }
        self.stale += 1;
        if self.stale > self.counts.len() {
            self.stale = 0;
            self.level8.iter_mut().for_each(|w| *w = 0);
            self.level16.iter_mut().for_each(|w| *w = 0);
            let all: Vec<u64> = self.counts.keys().copied().collect();
            for k in all {
                self.mark((k >> 32) as u32, k as u32);
            }
            let (len, cap) = (self.counts.len(), self.counts.capacity());
            if len * 4 < cap {
                self.counts.shrink_to(len * 2);
            }
        }
    }
}

/// What the shared levels say about one key, computed once per lookup (level 16 on demand).
#[derive(Debug)]
pub(super) struct PrefixCtx {
    addr: [u32; 2],
    level8: [u32; 2],
    level16: [Option<u32>; 2],
    /// Per field, the prefix lengths (a bit each) whose whole prefix was looked up in the
    /// shared counts, and those found.
    whole_done: [u64; 2],
    whole_found: [u64; 2],
}

impl PrefixCtx {
    #[inline]
    pub(super) fn new(filters: &[PrefixFilter; 2], key: &FlowKey) -> Self {
        let addr = [addr(key, 0), addr(key, 1)];
        let l8 = |f: usize| filters[f].level8.get((addr[f] >> 24) as usize).copied().unwrap_or(0);
        PrefixCtx { addr, level8: [l8(0), l8(1)], level16: [None; 2], whole_done: [0; 2], whole_found: [0; 2] }
    }

    /// Whether some subtable holds the key's whole `plen`-bit prefix of field `f`.
    #[inline]
    fn whole(&mut self, filters: &[PrefixFilter; 2], f: usize, plen: u32) -> bool {
        let bit = 1u64 << plen;
        if self.whole_done[f] & bit == 0 {
            self.whole_done[f] |= bit;
            let prefix = self.addr[f] >> (32 - plen);
            if filters[f].counts.contains_key(&((u64::from(plen) << 32) | u64::from(prefix))) {
                self.whole_found[f] |= bit;
            }
        }
        self.whole_found[f] & bit != 0
    }

    #[inline]
    fn level16(&mut self, filters: &[PrefixFilter; 2], f: usize) -> u32 {
        *self.level16[f]
            .get_or_insert_with(|| filters[f].level16.get((self.addr[f] >> 16) as usize).copied().unwrap_or(0))
    }
}

/// Counted set of the `plen`-bit prefixes of one field among one subtable's entries.
#[derive(Clone, Debug)]
pub(super) struct PrefixIndex {
    /// Index into [`PREFIX_FIELDS`].
    field: usize,
    /// The field's word and shift in a key.
    word: usize,
    shift: u32,
    plen: u32,
    counts: IntMap<u32, u32>,
}

/// `n` leading ones of a 32-bit field at `shift` in its word.
#[inline]
fn top_bits(n: u32, shift: u32) -> u64 {
    u64::from(u32::MAX << (32 - n)) << shift
}

impl PrefixIndex {
    /// The indexes a subtable with `mask` needs (one per field matched on a CIDR prefix).
    pub(super) fn for_mask(mask: &FlowKey) -> impl Iterator<Item = PrefixIndex> + '_ {
        PREFIX_FIELDS.into_iter().enumerate().filter_map(|(field, f)| {
            let m = mask.get(f) as u32;
            let plen = m.leading_ones();
            let layout = f.layout();
            (plen > 0 && m.count_ones() == plen).then(|| PrefixIndex {
                field,
                word: layout.word,
                shift: layout.shift,
                plen,
                counts: IntMap::default(),
            })
        })
    }

    /// The field's index into the classifier's filters, and the prefix length.
    pub(super) fn field_plen(&self) -> (usize, u32) {
        (self.field, self.plen)
    }

    #[inline]
    fn prefix_of_addr(&self, addr: u32) -> u32 {
        addr >> (32 - self.plen)
    }

    /// The prefix of a (masked) word of this field.
    pub(super) fn prefix_of_word(&self, word: u64) -> u32 {
        self.prefix_of_addr((word >> self.shift) as u32)
    }

    /// The field's word in a key.
    pub(super) fn word(&self) -> usize {
        self.word
    }

    /// Counts one more entry with this prefix; returns whether it is new to the subtable.
    pub(super) fn add(&mut self, prefix: u32) -> bool {
        let c = self.counts.entry(prefix).or_insert(0);
        *c += 1;
        *c == 1
    }

    /// Counts one entry fewer; returns whether the subtable no longer holds the prefix.
    pub(super) fn remove(&mut self, prefix: u32) -> bool {
        let Some(c) = self.counts.get_mut(&prefix) else { return false };
        *c -= 1;
        if *c > 0 {
            return false;
        }
        self.counts.remove(&prefix);
        let (len, cap) = (self.counts.len(), self.counts.capacity());
        if len * 4 < cap && cap > 64 {
            self.counts.shrink_to(len * 2);
        }
        true
    }

    /// Whether the shared level `level` (8 or 16) lets the key through; if not, un-wildcards
    /// the leading bits of the field that show it.
    #[inline]
    pub(super) fn level_passes(
        &self,
        level: u32,
        filters: &[PrefixFilter; 2],
        ctx: &mut PrefixCtx,
        wc: &mut FlowKey,
    ) -> bool {
        let bit = 1u32 << (self.plen - 1);
        let f = self.field;
        let bits = if level == 8 {
            ctx.level8[f]
        } else if self.plen > 8 {
            ctx.level16(filters, f)
        } else {
            return true;
        };
        if bits & bit == 0 {
            wc.words[self.word] |= top_bits(self.plen.min(level), self.shift);
            return false;
        }
        true
    }

    /// Whether the subtable holds the key's whole prefix (checked only where the shared levels
    /// are not exact); if not, un-wildcards the prefix.
    #[inline]
    pub(super) fn whole_passes(&self, filters: &[PrefixFilter; 2], ctx: &mut PrefixCtx, wc: &mut FlowKey) -> bool {
        let f = self.field;
        // Shared by every subtable with this length (Open vSwitch's trie answers the same).
        let shared = filters[f].users[self.plen as usize] > 1;
        if (self.plen > 16 && !ctx.whole(filters, f, self.plen))
            || (shared && !self.counts.contains_key(&self.prefix_of_addr(ctx.addr[f])))
        {
            wc.words[self.word] |= top_bits(self.plen, self.shift);
            return false;
        }
        true
    }
}
