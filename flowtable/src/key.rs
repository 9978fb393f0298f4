//! The flow key: every header field the pipeline can match, in a fixed word layout.
//!
//! The same type serves as a key (values) and as a mask (wildcards: a set bit means "this bit
//! is significant"), so a megaflow is simply a `(FlowKey, FlowKey)` pair and matching is
//! `packet & mask == value` word by word.

use crate::field::{Field, KEY_WORDS};
use std::fmt;

/// A flow key or a flow mask.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FlowKey {
    /// The raw words; see [`crate::field::Field::layout`] for what lives where.
    pub words: [u64; KEY_WORDS],
}

impl FlowKey {
    /// A key of all zeros (as a mask: everything wildcarded).
    pub const ZERO: FlowKey = FlowKey { words: [0; KEY_WORDS] };
    /// A mask with every bit significant (an exact match).
    pub const EXACT: FlowKey = FlowKey { words: [u64::MAX; KEY_WORDS] };

    /// Reads a field's value.
    #[inline]
    pub fn get(&self, field: Field) -> u128 {
        let l = field.layout();
        if l.bits == 128 {
            (u128::from(self.words[l.word]) << 64) | u128::from(self.words[l.word + 1])
        } else {
            let v = self.words[l.word] >> l.shift;
            u128::from(if l.bits == 64 { v } else { v & ((1u64 << l.bits) - 1) })
        }
    }

    /// Writes a field's value; bits above the field's width are ignored.
    #[inline]
    pub fn set(&mut self, field: Field, value: u128) {
        self.set_masked(field, value, u128::MAX);
    }

    /// Writes the bits of `value` selected by `mask` into a field, leaving the others.
    #[inline]
    pub fn set_masked(&mut self, field: Field, value: u128, mask: u128) {
        let l = field.layout();
        let mask = mask & field.max_value();
        if l.bits == 128 {
            let (hi_m, lo_m) = ((mask >> 64) as u64, mask as u64);
            let (hi_v, lo_v) = ((value >> 64) as u64, value as u64);
            self.words[l.word] = (self.words[l.word] & !hi_m) | (hi_v & hi_m);
            self.words[l.word + 1] = (self.words[l.word + 1] & !lo_m) | (lo_v & lo_m);
        } else {
            let m = (mask as u64) << l.shift;
            let v = ((value as u64) << l.shift) & m;
            self.words[l.word] = (self.words[l.word] & !m) | v;
        }
    }

    /// Sets every bit of a field (used on masks: "the pipeline looked at this field").
    #[inline]
    pub fn set_all(&mut self, field: Field) {
        self.set(field, u128::MAX);
    }

    /// Word-wise AND.
    #[inline]
    #[must_use]
    pub fn and(&self, other: &FlowKey) -> FlowKey {
        let mut out = *self;
        for (o, b) in out.words.iter_mut().zip(&other.words) {
            *o &= b;
        }
        out
    }

    /// Word-wise OR in place (accumulating consulted bits into a megaflow mask).
    #[inline]
    pub fn or_assign(&mut self, other: &FlowKey) {
        for (o, b) in self.words.iter_mut().zip(&other.words) {
            *o |= b;
        }
    }

    /// Whether `self & mask == value` (value is assumed already masked).
    #[inline]
    pub fn matches(&self, value: &FlowKey, mask: &FlowKey) -> bool {
        self.words.iter().zip(&mask.words).zip(&value.words).all(|((k, m), v)| k & m == *v)
    }

    /// Whether every bit set in `self` is also set in `other` (as masks: `self` is no more specific).
    pub fn is_subset_of(&self, other: &FlowKey) -> bool {
        self.words.iter().zip(&other.words).all(|(a, b)| a & !b == 0)
    }

    /// Whether no bit is set.
    pub fn is_zero(&self) -> bool {
        self.words.iter().all(|w| *w == 0)
    }

    /// Number of set bits (as a mask: how specific it is).
    pub fn count_ones(&self) -> u32 {
        self.words.iter().map(|w| w.count_ones()).sum()
    }
}

impl fmt::Debug for FlowKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (i, w) in self.words.iter().enumerate() {
            if *w != 0 {
                m.entry(&i, &format_args!("{w:#018x}"));
            }
        }
        m.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_set_roundtrip_every_field() {
        for f in Field::all() {
            let mut k = FlowKey::ZERO;
            let v = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210u128 & f.max_value();
            k.set(f, v);
            assert_eq!(k.get(f), v, "{f}");
            let mut m = FlowKey::ZERO;
            m.set_all(f);
            assert_eq!(m.count_ones(), f.bits(), "{f}");
        }
    }

    #[test]
    fn shared_storage_follows_openflow_conventions() {
        let mut k = FlowKey::ZERO;
        k.set(Field::VlanTci, 0x3005);
        assert_eq!(k.get(Field::VlanVid), 0x1005);
        assert_eq!(k.get(Field::VlanPcp), 1);
        k.set(Field::IpTos, 0xb9);
        assert_eq!(k.get(Field::IpDscp), 0xb9 >> 2);
        assert_eq!(k.get(Field::IpEcn), 1);
        k.set(Field::TpSrc, 8);
        assert_eq!(k.get(Field::IcmpType), 8);
    }

    #[test]
    fn matches_under_mask() {
        let mut k = FlowKey::ZERO;
        k.set(Field::EthDst, 0x0000_5e00_0001);
        k.set(Field::InPort, 3);
        let mut mask = FlowKey::ZERO;
        mask.set_all(Field::InPort);
        let mut value = FlowKey::ZERO;
        value.set(Field::InPort, 3);
        assert!(k.matches(&value, &mask));
        value.set(Field::InPort, 4);
        assert!(!k.matches(&value, &mask));
    }
}
