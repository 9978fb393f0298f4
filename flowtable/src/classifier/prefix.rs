//! Prefix tracking for `nw_src` and `nw_dst`: skipping subtables whose CIDR prefixes cannot
//! match a key, un-wildcarding only the leading bits of the address that decided it.
//!
//! What Open vSwitch's shared prefix trie answers (which subtables hold a prefix of the key),
//! from flat structures that a lookup reads a few words of:
//!
//! * a [`PrefixFilter`] per field, shared by all subtables: for every value of an address's
//!   first 8 bits and of its first 16 bits, the set of prefix lengths `L` (a bit each) for
//!   which some subtable holds an `L`-bit prefix agreeing with those bits (for `L` shorter
//!   than the level: equal to the address's first `L` bits). A lookup reads one word per
//!   level, and every subtable whose length is absent is skipped for the price of a bit test;
//! * for `L <= 16`, the same 16-bit level also says exactly which subtables (a bit per
//!   subtable id) hold the prefix of the address's first 16 bits: one word answers for every
//!   short-prefix subtable (a subtable without an id keeps its own bitmap instead);
//! * for longer prefixes, the filter's map from every whole prefix to the set of subtables
//!   holding it (a bit per subtable id), probed once per lookup and length: one probe answers
//!   for every subtable of that length, as one trie walk does in Open vSwitch.
//!
//! A subtable skipped at level `n` un-wildcards `min(L, n)` leading bits, and `L` bits when
//! an exact test skips it: every key agreeing on them is skipped the same way. Removed
//! prefixes leave stale bits in the shared levels, which is safe (a subtable is probed when it
//! need not be); the levels are rebuilt once the stale prefixes outnumber the live ones.

use super::hash::IntMap;
use crate::field::Field;
use crate::key::FlowKey;

/// Fields with prefix tracking (IPv4 source and destination), in [`PrefixFilter`] order.
pub(super) const PREFIX_FIELDS: [Field; 2] = [Field::Ipv4Src, Field::Ipv4Dst];

/// Longest prefix the 16-bit level answers for exactly ([`Level16::short_ids`]; a subtable
/// without an id keeps its own bitmap of them, at most 8 KiB); longer ones are looked up in the
/// shared holders, once per lookup for all subtables of a length.
pub(super) const SHORT_MAX: u32 = 16;

/// The address of prefix field `f` in `key`.
#[inline]
fn addr(key: &FlowKey, f: usize) -> u32 {
    let l = PREFIX_FIELDS[f].layout();
    (key.words[l.word] >> l.shift) as u32
}

/// `(plen << 32) | prefix`.
#[inline]
fn whole_key(plen: u32, prefix: u32) -> u64 {
    (u64::from(plen) << 32) | u64::from(prefix)
}

/// The subtables holding one whole prefix.
#[derive(Clone, Copy, Debug, Default)]
struct Holders {
    /// Subtables with an id, a bit each.
    ids: u64,
    /// How many subtables without an id.
    anon: u32,
}

/// One value of an address's first 16 bits, in a [`PrefixFilter`]'s second level: what a
/// lookup reads there, in one cache line.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Level16 {
    /// Bit `L - 1`: some subtable holds an `L`-bit prefix agreeing with these 16 bits.
    pub(super) plens: u32,
    /// The subtables (ids) with a prefix of at most 16 bits that holds these 16 bits' own
    /// prefix of that length. Exact: a subtable's prefixes all have its one length, so they
    /// cover disjoint ranges of this level and each is set and cleared alone.
    pub(super) short_ids: u64,
}

/// The shared levels of one prefix field (see the module documentation).
#[derive(Clone, Debug, Default)]
pub(super) struct PrefixFilter {
    /// Every prefix some subtable holds.
    holders: IntMap<u64, Holders>,
    /// 256 words (empty when no prefix is tracked).
    level8: Vec<u32>,
    /// 65536 entries (empty when no prefix is tracked).
    level16: Vec<Level16>,
    /// Prefixes forgotten since the levels were last built.
    stale: usize,
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

    /// The entries of the 16-bit level that agree with `prefix` (of `plen` bits).
    fn level16_range(plen: u32, prefix: u32) -> std::ops::Range<usize> {
        if plen >= 16 {
            let i = (prefix >> (plen - 16)) as usize;
            i..i + 1
        } else {
            let start = (prefix << (16 - plen)) as usize;
            start..start + (1usize << (16 - plen))
        }
    }

    fn mark(&mut self, plen: u32, prefix: u32) {
        if self.level8.is_empty() {
            self.level8 = vec![0; 256];
            self.level16 = vec![Level16::default(); 1 << 16];
        }
        Self::mark_level(&mut self.level8, 8, plen, prefix);
        let bit = 1u32 << (plen - 1);
        for e in &mut self.level16[Self::level16_range(plen, prefix)] {
            e.plens |= bit;
        }
    }

    /// Sets (or clears) subtable `id`'s bit for a short `prefix` in the 16-bit level.
    fn mark_short(&mut self, plen: u32, prefix: u32, id: Option<u8>, held: bool) {
        let Some(id) = id.filter(|_| plen <= SHORT_MAX) else { return };
        let bit = 1u64 << id;
        for e in &mut self.level16[Self::level16_range(plen, prefix)] {
            if held {
                e.short_ids |= bit;
            } else {
                e.short_ids &= !bit;
            }
        }
    }

    /// Subtable `id` (`None`: one without an id) now holds `prefix` (of `plen` bits).
    fn add(&mut self, plen: u32, prefix: u32, id: Option<u8>) {
        let h = self.holders.entry(whole_key(plen, prefix)).or_default();
        let new = h.ids == 0 && h.anon == 0;
        match id {
            Some(id) => h.ids |= 1 << id,
            None => h.anon += 1,
        }
        if new {
            self.mark(plen, prefix);
        }
        self.mark_short(plen, prefix, id, true);
    }

    /// Subtable `id` no longer holds `prefix`.
    fn remove(&mut self, plen: u32, prefix: u32, id: Option<u8>) {
        let key = whole_key(plen, prefix);
        let Some(h) = self.holders.get_mut(&key) else { return };
        match id {
            Some(id) => h.ids &= !(1 << id),
            None => h.anon = h.anon.saturating_sub(1),
        }
        let others = h.ids != 0 || h.anon != 0;
        self.mark_short(plen, prefix, id, false);
        if others {
            return;
        }
        self.holders.remove(&key);
        if self.holders.is_empty() {
            // Give every byte back (the levels are 257 KiB).
            *self = PrefixFilter::default();
            return;
        }
        self.stale += 1;
        if self.stale > self.holders.len() {
            self.stale = 0;
            self.level8.iter_mut().for_each(|w| *w = 0);
            self.level16.iter_mut().for_each(|e| *e = Level16::default());
            let all: Vec<(u64, u64)> = self.holders.iter().map(|(&k, h)| (k, h.ids)).collect();
            for (k, ids) in all {
                let (plen, prefix) = ((k >> 32) as u32, k as u32);
                self.mark(plen, prefix);
                if plen <= SHORT_MAX {
                    for e in &mut self.level16[Self::level16_range(plen, prefix)] {
                        e.short_ids |= ids;
                    }
                }
            }
            let (len, cap) = (self.holders.len(), self.holders.capacity());
            if len * 4 < cap {
                self.holders.shrink_to(len * 2);
            }
        }
    }
}

/// What the shared structures say about one key, computed as a lookup needs them.
#[derive(Debug)]
pub(super) struct PrefixCtx {
    addr: [u32; 2],
    level8: [u32; 2],
    level16: [Option<Level16>; 2],
    /// Holders of whole prefixes already looked up: (field * 64 + plen, subtable ids). Small
    /// (a lookup meets few lengths), so that making a context costs next to nothing.
    holders: [(u8, u64); 6],
    n_holders: usize,
}

impl PrefixCtx {
    #[inline]
    pub(super) fn new(filters: &[PrefixFilter; 2], key: &FlowKey) -> Self {
        let addr = [addr(key, 0), addr(key, 1)];
        let l8 = |f: usize| filters[f].level8.get((addr[f] >> 24) as usize).copied().unwrap_or(0);
        PrefixCtx { addr, level8: [l8(0), l8(1)], level16: [None; 2], holders: [(0, 0); 6], n_holders: 0 }
    }

    /// The 8-bit level's word of field `f`: bit `L - 1` set iff some subtable holds an
    /// `L`-bit prefix agreeing with the address's first 8 bits.
    #[inline]
    pub(super) fn level8(&self, f: usize) -> u32 {
        self.level8[f]
    }

    /// The 16-bit level's entry of field `f` (read once per lookup).
    #[inline]
    pub(super) fn level16(&mut self, filters: &[PrefixFilter; 2], f: usize) -> Level16 {
        *self.level16[f]
            .get_or_insert_with(|| filters[f].level16.get((self.addr[f] >> 16) as usize).copied().unwrap_or_default())
    }

    /// The ids of the subtables holding the key's whole `plen`-bit prefix of field `f`.
    #[inline]
    pub(super) fn holders(&mut self, filters: &[PrefixFilter; 2], f: usize, plen: u32) -> u64 {
        let tag = (f * 64) as u8 + plen as u8;
        if let Some(&(_, ids)) = self.holders[..self.n_holders].iter().find(|(t, _)| *t == tag) {
            return ids;
        }
        let prefix = self.addr[f] >> (32 - plen);
        let ids = filters[f].holders.get(&whole_key(plen, prefix)).map_or(0, |h| h.ids);
        if let Some(slot) = self.holders.get_mut(self.n_holders) {
            *slot = (tag, ids);
            self.n_holders += 1;
        }
        ids
    }
}

/// The prefixes of one field among one subtable's entries.
#[derive(Clone, Debug)]
pub(super) struct PrefixIndex {
    /// Index into [`PREFIX_FIELDS`].
    field: usize,
    /// The field's word and shift in a key.
    word: usize,
    shift: u32,
    plen: u32,
    /// The subtable's bit in the shared holders (`None`: [`PrefixIndex::counts`] is probed).
    id: Option<u8>,
    /// How many entries hold each prefix.
    counts: IntMap<u32, u32>,
    /// For `plen <= SHORT_MAX`: bit `p` set iff some entry holds prefix `p`.
    short: Vec<u64>,
}

/// `n` leading ones of a 32-bit field at `shift` in its word.
#[inline]
pub(super) fn top_bits(n: u32, shift: u32) -> u64 {
    u64::from(u32::MAX << (32 - n)) << shift
}

impl PrefixIndex {
    /// The indexes a subtable with `mask` (and shared-holder `id`) needs: one per field
    /// matched on a CIDR prefix.
    pub(super) fn for_mask(mask: &FlowKey, id: Option<u8>) -> impl Iterator<Item = PrefixIndex> + '_ {
        PREFIX_FIELDS.into_iter().enumerate().filter_map(move |(field, f)| {
            let m = mask.get(f) as u32;
            let plen = m.leading_ones();
            let layout = f.layout();
            (plen > 0 && m.count_ones() == plen).then(|| PrefixIndex {
                field,
                word: layout.word,
                shift: layout.shift,
                plen,
                id,
                counts: IntMap::default(),
                short: if plen <= SHORT_MAX && id.is_none() {
                    vec![0; (1usize << plen).div_ceil(64)]
                } else {
                    Vec::new()
                },
            })
        })
    }

    #[inline]
    fn prefix_of_addr(&self, addr: u32) -> u32 {
        addr >> (32 - self.plen)
    }

    /// The prefix of a (masked) word of this field.
    pub(super) fn prefix_of_word(&self, word: u64) -> u32 {
        self.prefix_of_addr((word >> self.shift) as u32)
    }

    /// The field's bits in its word.
    pub(super) fn field_bits(&self) -> u64 {
        u64::from(u32::MAX) << self.shift
    }

    /// The field's word in a key.
    pub(super) fn word(&self) -> usize {
        self.word
    }

    /// Index of the field in [`PREFIX_FIELDS`].
    pub(super) fn field(&self) -> usize {
        self.field
    }

    /// The prefix length.
    pub(super) fn plen(&self) -> u32 {
        self.plen
    }

    /// Counts one more entry with this prefix.
    pub(super) fn add(&mut self, prefix: u32, filters: &mut [PrefixFilter; 2]) {
        let c = self.counts.entry(prefix).or_insert(0);
        *c += 1;
        if *c == 1 {
            if let Some(w) = self.short.get_mut((prefix >> 6) as usize) {
                *w |= 1 << (prefix & 63);
            }
            filters[self.field].add(self.plen, prefix, self.id);
        }
    }

    /// Counts one entry fewer with this prefix.
    pub(super) fn remove(&mut self, prefix: u32, filters: &mut [PrefixFilter; 2]) {
        let Some(c) = self.counts.get_mut(&prefix) else { return };
        *c -= 1;
        if *c > 0 {
            return;
        }
        self.counts.remove(&prefix);
        if let Some(w) = self.short.get_mut((prefix >> 6) as usize) {
            *w &= !(1 << (prefix & 63));
        }
        filters[self.field].remove(self.plen, prefix, self.id);
        let (len, cap) = (self.counts.len(), self.counts.capacity());
        if len * 4 < cap && cap > 64 {
            self.counts.shrink_to(len * 2);
        }
    }

    /// Whether the shared 8-bit level lets the key through; if not, un-wildcards the leading
    /// bits of the field that show it.
    #[inline]
    pub(super) fn level8_passes(&self, ctx: &PrefixCtx, wc: &mut FlowKey) -> bool {
        if ctx.level8[self.field] & (1u32 << (self.plen - 1)) == 0 {
            wc.words[self.word] |= top_bits(self.plen.min(8), self.shift);
            return false;
        }
        true
    }

    /// Whether this subtable holds the key's prefix; if not, un-wildcards the leading bits of
    /// the field that show it.
    #[inline]
    pub(super) fn exact_passes(&self, filters: &[PrefixFilter; 2], ctx: &mut PrefixCtx, wc: &mut FlowKey) -> bool {
        let f = self.field;
        let prefix = self.prefix_of_addr(ctx.addr[f]);
        let held = if self.plen <= SHORT_MAX {
            match self.id {
                Some(id) => ctx.level16(filters, f).short_ids & (1 << id) != 0,
                None => self.short.get((prefix >> 6) as usize).is_some_and(|w| w & (1 << (prefix & 63)) != 0),
            }
        } else {
            if ctx.level16(filters, f).plens & (1u32 << (self.plen - 1)) == 0 {
                wc.words[self.word] |= top_bits(self.plen.min(16), self.shift);
                return false;
            }
            match self.id {
                Some(id) => ctx.holders(filters, f, self.plen) & (1 << id) != 0,
                None => self.counts.contains_key(&prefix),
            }
        };
        if !held {
            wc.words[self.word] |= top_bits(self.plen, self.shift);
        }
        held
    }
}
