//! OpenFlow matches: a value and a mask per field, with the OpenFlow prerequisites.
//!
//! A [`Match`] is a `(value, mask)` pair of [`FlowKey`]s with `value & mask == value`.
//! [`Match::check_prerequisites`] refuses matches that OpenFlow 1.3 calls `OFPBMC_BAD_PREREQ`
//! (for example `tp_dst=80` without `nw_proto=6`).

use crate::field::{ethertype, ipproto, Field, Prerequisite, VLAN_CFI};
use crate::key::FlowKey;
use thiserror::Error;

/// A match refused for a missing prerequisite.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field} requires {needs}")]
pub struct PrereqError {
    /// The field whose prerequisite is missing.
    pub field: Field,
    /// What it needs, in ovs-ofctl words.
    pub needs: String,
}

/// A flow match.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug)]
pub struct Match {
    /// Field values, already masked.
    pub value: FlowKey,
    /// Significant bits.
    pub mask: FlowKey,
}

impl Match {
    /// The match of everything.
    pub const ANY: Match = Match { value: FlowKey::ZERO, mask: FlowKey::ZERO };

    /// Adds an exact match on a whole field.
    pub fn set(&mut self, field: Field, value: u128) -> &mut Self {
        self.set_masked(field, value, u128::MAX)
    }

    /// Adds a masked match on a field (bits outside `mask` become wildcards).
    pub fn set_masked(&mut self, field: Field, value: u128, mask: u128) -> &mut Self {
        self.mask.set(field, mask);
        self.value.set(field, value & mask);
        self
    }

    /// Builder form of [`Match::set`].
    #[must_use]
    pub fn with(mut self, field: Field, value: u128) -> Self {
        self.set(field, value);
        self
    }

    /// Builder form of [`Match::set_masked`].
    #[must_use]
    pub fn with_masked(mut self, field: Field, value: u128, mask: u128) -> Self {
        self.set_masked(field, value, mask);
        self
    }

    /// The field's (value, mask).
    pub fn get(&self, field: Field) -> (u128, u128) {
        (self.value.get(field), self.mask.get(field))
    }

    /// Whether any bit of the field is significant.
    pub fn has(&self, field: Field) -> bool {
        self.mask.get(field) != 0
    }

    /// Whether the field is matched exactly to `value`.
    pub fn is_exact(&self, field: Field, value: u128) -> bool {
        self.mask.get(field) == field.max_value() && self.value.get(field) == value
    }

    /// Whether a packet with this key matches.
    #[inline]
    pub fn matches(&self, key: &FlowKey) -> bool {
        key.matches(&self.value, &self.mask)
    }

    /// Whether this match is at least as specific as `other` and agrees with it: every packet
    /// this matches, `other` matches too (OpenFlow's non-strict "covered by").
    pub fn is_covered_by(&self, other: &Match) -> bool {
        other.mask.is_subset_of(&self.mask) && self.value.and(&other.mask) == other.value
    }

    /// Whether some packet could match both (OpenFlow's overlap test for `check_overlap`).
    pub fn overlaps(&self, other: &Match) -> bool {
        let common = self.mask.and(&other.mask);
        self.value.and(&common) == other.value.and(&common)
    }

    /// Checks OpenFlow prerequisites for every matched field.
    pub fn check_prerequisites(&self) -> Result<(), PrereqError> {
        for field in Field::all() {
            if !self.has(field) {
                continue;
            }
            if let Err(e) = self.check_one(field) {
                // Fields that share storage (tp_src/icmp_type, nw_src/arp_spa, ...) are one
                // match: it is valid if any of the names for those bits has its prerequisite.
                // The alias must hold every non-zero matched bit (tp_dst=443 is not an ICMP
                // code; a 16-bit tp_src of 8 is icmp_type=8, as Open vSwitch stores it).
                let mut used = FlowKey::ZERO;
                used.set(field, self.value.get(field));
                let covers = |other: Field| {
                    let mut k = FlowKey::ZERO;
                    k.set_all(other);
                    other != field && overlaps(field, other) && used.is_subset_of(&k)
                };
                if !Field::all().filter(|f| covers(*f)).any(|f| self.check_one(f).is_ok()) {
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    fn exact_in<T: Into<u128> + Copy>(&self, field: Field, set: &[T]) -> bool {
        self.mask.get(field) == field.max_value() && set.iter().any(|v| (*v).into() == self.value.get(field))
    }

    fn check_one(&self, field: Field) -> Result<(), PrereqError> {
        let err = |needs: &str| Err(PrereqError { field, needs: needs.to_owned() });
        match field.prerequisite() {
            Prerequisite::None => Ok(()),
            Prerequisite::Vlan => {
                let (v, m) = self.get(Field::VlanTci);
                if v & m & u128::from(VLAN_CFI) != 0 {
                    Ok(())
                } else {
                    err("a VLAN tag (dl_vlan or vlan_tci with the CFI bit)")
                }
            }
            Prerequisite::EthType(types) => {
                if self.exact_in(Field::EthType, types) {
                    Ok(())
                } else {
                    err(&format!("dl_type={}", fmt_list(types)))
                }
            }
            Prerequisite::IpProto(types, protos) => {
                if self.exact_in(Field::EthType, types) && self.exact_in(Field::IpProto, protos) {
                    Ok(())
                } else {
                    err(&format!("dl_type={} and nw_proto={}", fmt_list(types), fmt_list(protos)))
                }
            }
            Prerequisite::Nd | Prerequisite::NdSolicit | Prerequisite::NdAdvert => {
                let types: &[u8] = match field.prerequisite() {
                    Prerequisite::NdSolicit => &[135],
                    Prerequisite::NdAdvert => &[136],
                    _ => &[135, 136],
                };
                if self.exact_in(Field::EthType, &[ethertype::IPV6])
                    && self.exact_in(Field::IpProto, &[ipproto::ICMPV6])
                    && self.exact_in(Field::IcmpType, types)
                {
                    Ok(())
                } else {
                    err(&format!("icmp6 with icmp_type={}", fmt_list(types)))
                }
            }
        }
    }
}

/// Whether two fields share any storage bit.
fn overlaps(a: Field, b: Field) -> bool {
    let mut ka = FlowKey::ZERO;
    ka.set_all(a);
    let mut kb = FlowKey::ZERO;
    kb.set_all(b);
    !ka.and(&kb).is_zero()
}

fn fmt_list<T: Into<u128> + Copy>(items: &[T]) -> String {
    items.iter().map(|v| format!("{:#x}", (*v).into())).collect::<Vec<_>>().join("|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prerequisites() {
        let m = Match::ANY.with(Field::TpDst, 80);
        assert!(m.check_prerequisites().is_err());
        let m = m.with(Field::EthType, 0x800).with(Field::IpProto, 6);
        assert!(m.check_prerequisites().is_ok());
        let m = Match::ANY.with(Field::EthType, 0x806).with(Field::ArpSpa, 0x0a00_0001);
        assert!(m.check_prerequisites().is_ok(), "arp_spa shares nw_src's bits");
        let m = Match::ANY.with(Field::EthType, 0x800).with(Field::IpProto, 1).with(Field::IcmpType, 8);
        assert!(m.check_prerequisites().is_ok(), "icmp_type shares tp_src's bits");
        let m = Match::ANY.with(Field::EthType, 0x800).with(Field::IcmpType, 8);
        assert!(m.check_prerequisites().is_err());
    }

    #[test]
    fn cover_and_overlap() {
        let wide = Match::ANY.with(Field::InPort, 1);
        let narrow = wide.with(Field::EthType, 0x800);
        assert!(narrow.is_covered_by(&wide));
        assert!(!wide.is_covered_by(&narrow));
        assert!(wide.overlaps(&narrow));
        let other = Match::ANY.with(Field::InPort, 2);
        assert!(!other.overlaps(&narrow));
    }
}
