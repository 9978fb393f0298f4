//! A [`Match`] stored in the few words it uses: a bitmap of the key words whose mask is not
//! zero, and each such word's value and mask. A rule keeps its match this way (a typical
//! OpenFlow match uses two to four of the key's 26 words: 32-64 bytes, inline, instead of the
//! 416 bytes of a whole `Match`); [`CompactMatch::get`] rebuilds the match when asked.

use crate::field::KEY_WORDS;
use crate::flow_match::Match;
use crate::key::FlowKey;
use smallvec::SmallVec;

/// Value and mask words kept inline (three key words) before spilling to the heap.
type Pairs = SmallVec<[u64; 6]>;

/// A match as the (value, mask) pairs of its non-zero mask words.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct CompactMatch {
    /// Bit `i` set: key word `i` has a non-zero mask.
    present: u32,
    /// Value then mask of every present word, in word order.
    pairs: Pairs,
}

const _: () = assert!(KEY_WORDS <= 32, "the word bitmap is a u32");

impl CompactMatch {
    /// Compacts `m`.
    pub fn new(m: &Match) -> Self {
        let mut present = 0u32;
        let mut pairs = Pairs::new();
        for (i, (&v, &mask)) in m.value.words.iter().zip(&m.mask.words).enumerate() {
            if mask != 0 {
                present |= 1 << i;
                pairs.push(v);
                pairs.push(mask);
            }
        }
        CompactMatch { present, pairs }
    }

    /// The whole match.
    pub fn get(&self) -> Match {
        let mut m = Match { value: FlowKey::ZERO, mask: FlowKey::ZERO };
        let mut bits = self.present;
        for pair in self.pairs.chunks_exact(2) {
            let i = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            m.value.words[i] = pair[0];
            m.mask.words[i] = pair[1];
        }
        m
    }
}

impl std::fmt::Debug for CompactMatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

impl From<&Match> for CompactMatch {
    fn from(m: &Match) -> Self {
        CompactMatch::new(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::Field;

    #[test]
    fn a_match_survives_compaction() {
        let cases = [
            Match::ANY,
            Match::ANY.with(Field::VlanTci, 0x1005).with(Field::EthDst, 0xfa16_3e00_0001),
            Match::ANY
                .with(Field::InPort, 3)
                .with(Field::EthType, 0x0800)
                .with_masked(Field::Ipv4Dst, 0x0a00_0000, 0xff00_0000)
                .with(Field::IpProto, 6)
                .with(Field::TpDst, 443)
                .with(Field::Reg(0), 7),
        ];
        for m in cases {
            let c = CompactMatch::new(&m);
            assert_eq!(c.get(), m);
            assert_eq!(c.pairs.len(), 2 * m.mask.words.iter().filter(|w| **w != 0).count());
        }
    }

    #[test]
    fn a_two_word_match_stays_inline() {
        let m = Match::ANY.with(Field::VlanTci, 0x1005).with(Field::EthDst, 0xfa16_3e00_0001);
        assert!(!CompactMatch::new(&m).pairs.spilled());
    }
}
