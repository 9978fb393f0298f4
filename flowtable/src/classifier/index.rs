//! Bit-parallel subtable rejection: the first three tests of every subtable (prefix tracking's
//! 8-bit level, fixed words, prefix tracking's exact tests) computed for all subtables at once,
//! as 64-bit sets of subtable ids, so that a lookup only walks the subtables that may match.
//!
//! Walking the subtables one by one costs a data-dependent branch per test per subtable; with
//! 32 masks a hit spends most of its time there (a subtable that prefix tracking rejects costs
//! about as much as one it probes). Here each test is asked once per lookup for every subtable
//! that has it: a field's 8-bit word against the set of subtables of each prefix length, a
//! fixed word against the set of subtables sharing it, the 16-bit level's short-prefix holders
//! and one probe of the shared holders per long length.
//!
//! The answer and the un-wildcarded bits are exactly those of the walk
//! ([`super::subtable::Subtable::lookup`] in priority order): a subtable the walk would have
//! rejected before its break point un-wildcards the bits of its first failing test, in the
//! walk's order of tests, and no other. The index is used while every subtable has a prefix
//! holder id (at most 64 subtables); beyond, the classifier walks.

use super::prefix::{top_bits, PrefixCtx, PrefixFilter, PREFIX_FIELDS, SHORT_MAX};
use super::subtable::Subtable;
use crate::key::FlowKey;
use smallvec::SmallVec;

/// One prefix field's subtables, by prefix length.
#[derive(Clone, Debug, Default)]
struct FieldIndex {
    /// Bit `L - 1`: some subtable has an `L`-bit prefix on the field.
    plens: u32,
    /// `by_plen[L - 1]`: the subtables with an `L`-bit prefix.
    by_plen: [u64; 32],
    /// The subtables with a prefix on the field.
    with_prefix: u64,
    /// The subtables with a prefix of at most [`SHORT_MAX`] bits.
    short: u64,
    /// Key word and shift of the field.
    word: usize,
    shift: u32,
}

impl FieldIndex {
    /// The subtables whose length is in `plens` (bit `L - 1` per length).
    #[inline]
    fn of_plens(&self, mut plens: u32) -> u64 {
        let mut ids = 0;
        while plens != 0 {
            ids |= self.by_plen[plens.trailing_zeros() as usize];
            plens &= plens - 1;
        }
        ids
    }

    /// The longest prefix length among the subtables `ids` (0 if none).
    #[inline]
    fn longest(&self, ids: u64) -> u32 {
        let mut plens = self.plens;
        while plens != 0 {
            let l = plens.ilog2();
            if self.by_plen[l as usize] & ids != 0 {
                return l + 1;
            }
            plens &= !(1 << l);
        }
        0
    }
}

/// The subtables' first three tests, by subtable id (see the module documentation).
#[derive(Clone, Debug)]
pub(super) struct LookupIndex {
    /// Whether the index applies (every subtable has an id).
    enabled: bool,
    /// Every subtable.
    all: u64,
    /// Position (lookup order) of each id.
    pos_of_id: [u8; 64],
    /// `before[p]`: the subtables at positions below `p` (`len + 1` entries).
    before: Vec<u64>,
    fields: [FieldIndex; 2],
    /// Distinct fixed-word tests (key word, mask, value) and the subtables that have each, in
    /// the order a subtable applies its own (by word).
    fixed: Vec<(u8, u64, u64, u64)>,
}

impl Default for LookupIndex {
    fn default() -> Self {
        LookupIndex {
            enabled: false,
            all: 0,
            pos_of_id: [0; 64],
            before: Vec::new(),
            fields: Default::default(),
            fixed: Vec::new(),
        }
    }
}

/// What the tests rejected, each set only the subtables the earlier tests let through.
struct Rejected {
    level8: [u64; 2],
    fixed: SmallVec<[(usize, u64); 4]>,
    level16: [u64; 2],
    exact: [u64; 2],
}

impl LookupIndex {
    /// The index of `subtables` (in lookup order).
    pub(super) fn build<T>(subtables: &[Subtable<T>]) -> Self {
        let mut ix = LookupIndex::default();
        if subtables.len() > 64 || subtables.iter().any(|st| st.id.is_none()) {
            return ix;
        }
        ix.enabled = true;
        ix.before.push(0);
        for (f, field) in PREFIX_FIELDS.iter().enumerate() {
            let l = field.layout();
            ix.fields[f].word = l.word;
            ix.fields[f].shift = l.shift;
        }
        for (pos, st) in subtables.iter().enumerate() {
            let Some(id) = st.id else { continue };
            let bit = 1u64 << id;
            ix.all |= bit;
            ix.pos_of_id[usize::from(id)] = pos as u8;
            ix.before.push(ix.before[pos] | bit);
            for p in &st.prefixes {
                let fi = &mut ix.fields[p.field()];
                fi.plens |= 1 << (p.plen() - 1);
                fi.by_plen[p.plen() as usize - 1] |= bit;
                fi.with_prefix |= bit;
                if p.plen() <= SHORT_MAX {
                    fi.short |= bit;
                }
            }
            for &(w, m, v) in &st.fixed_checks {
                match ix.fixed.iter_mut().find(|t| (t.0, t.1, t.2) == (w, m, v)) {
                    Some(t) => t.3 |= bit,
                    None => ix.fixed.push((w, m, v, bit)),
                }
            }
        }
        ix.fixed.sort_by_key(|&(w, m, v, _)| (w, m, v));
        ix
    }

    /// Whether lookups may use [`LookupIndex::lookup`].
    #[inline]
    pub(super) fn enabled(&self) -> bool {
        self.enabled
    }

    /// The subtables that pass their first three tests for `key`, and what rejected the others.
    #[inline]
    fn gate(&self, filters: &[PrefixFilter; 2], ctx: &mut PrefixCtx, key: &FlowKey) -> (u64, Rejected) {
        let mut alive = self.all;
        let mut rej = Rejected { level8: [0; 2], fixed: SmallVec::new(), level16: [0; 2], exact: [0; 2] };
        for (f, fi) in self.fields.iter().enumerate() {
            let r = fi.of_plens(fi.plens & !ctx.level8(f)) & alive;
            rej.level8[f] = r;
            alive &= !r;
        }
        for (t, &(w, m, v, ids)) in self.fixed.iter().enumerate() {
            let r = ids & alive;
            if r != 0 && key.words[usize::from(w)] & m != v {
                rej.fixed.push((t, r));
                alive &= !r;
            }
        }
        for (f, fi) in self.fields.iter().enumerate() {
            let with = fi.with_prefix & alive;
            if with == 0 {
                continue;
            }
            let l16 = ctx.level16(filters, f);
            let mut exact = with & fi.short & !l16.short_ids;
            let mut level16 = 0;
            let mut long = fi.plens & !((1u32 << SHORT_MAX) - 1);
            while long != 0 {
                let l = long.trailing_zeros();
                long &= long - 1;
                let ids = fi.by_plen[l as usize] & alive;
                if ids == 0 {
                    continue;
                }
                if l16.plens & (1 << l) == 0 {
                    level16 |= ids;
                } else {
                    exact |= ids & !ctx.holders(filters, f, l + 1);
                }
            }
            rej.level16[f] = level16;
            rej.exact[f] = exact;
            alive &= !(level16 | exact);
        }
        (alive, rej)
    }

    /// The classifier's lookup through the index (same answer, same `wc`, as walking
    /// `subtables` in order): the staged lookup of each subtable that passes its first tests,
    /// by position, up to where no subtable can hold a better entry.
    #[inline]
    pub(super) fn lookup<'a, T>(
        &self,
        subtables: &'a [Subtable<T>],
        filters: &[PrefixFilter; 2],
        key: &FlowKey,
        version: super::Version,
        wc: &mut FlowKey,
    ) -> Option<&'a super::Entry<T>> {
        let mut ctx = PrefixCtx::new(filters, key);
        let (alive, rej) = self.gate(filters, &mut ctx, key);
        let mut positions = 0u64;
        let mut ids = alive;
        while ids != 0 {
            positions |= 1 << self.pos_of_id[ids.trailing_zeros() as usize];
            ids &= ids - 1;
        }
        let mut best: Option<&super::Entry<T>> = None;
        // Where the walk would stop: the first position past the best entry's whose top
        // priority cannot beat it.
        let mut stop = subtables.len();
        while positions != 0 {
            let p = positions.trailing_zeros() as usize;
            positions &= positions - 1;
            if p >= stop {
                break;
            }
            if let Some(e) = subtables[p].staged_lookup(key, version, wc) {
                if best.is_none_or(|b| e.priority > b.priority) {
                    best = Some(e);
                }
            }
            if let Some(b) = best {
                stop = p + 1 + subtables[p + 1..].partition_point(|st| st.max_priority > b.priority);
            }
        }
        self.unwildcard_rejected(&rej, self.before[stop], wc);
        best
    }

    /// Un-wildcards, for every subtable in `visited` that a test rejected, the bits of that
    /// test (its first failing one, as the walk does).
    #[inline]
    fn unwildcard_rejected(&self, rej: &Rejected, visited: u64, wc: &mut FlowKey) {
        for (t, r) in &rej.fixed {
            if r & visited != 0 {
                let (w, m, _, _) = self.fixed[*t];
                wc.words[usize::from(w)] |= m;
            }
        }
        for (f, fi) in self.fields.iter().enumerate() {
            let mut bits = fi.longest(rej.level8[f] & visited).min(8);
            if rej.level16[f] & visited != 0 {
                bits = bits.max(16);
            }
            bits = bits.max(fi.longest(rej.exact[f] & visited));
            if bits > 0 {
                wc.words[fi.word] |= top_bits(bits, fi.shift);
            }
        }
    }
}
