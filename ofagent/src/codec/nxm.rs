//! NXM and OXM match entries: the TLVs `class:16 field:7 hasmask:1 length:8 value [mask]`
//! shared by Nicira's NXM (classes 0x0000/0x0001), OpenFlow 1.2+ OXM (class 0x8000) and the
//! OpenFlow 1.5 packet-register class 0x8001 Open vSwitch uses for `xreg`s.
//!
//! Decoding maps every entry onto `flowtable::Match` bits and then checks the OpenFlow
//! prerequisites. Encoding chooses, like Open vSwitch's `nx_put_raw`, the OXM form where
//! OpenFlow 1.3 has one and the NXM form otherwise, and picks among names that share storage
//! (`nw_src`/`arp_spa`, `tp_src`/`icmp_type`, ...) from the match's `eth_type`/`ip_proto`.

use flowtable::field::{ethertype, ipproto};
use flowtable::{Field, FlowKey, Match, PortNo};

use crate::error::OfError;
use crate::wire::{Reader, Writer};

/// NXM class of the original OpenFlow 1.0 fields (`NXM_OF_*`).
pub const NXM_0: u16 = 0x0000;
/// NXM class of Nicira's own fields (`NXM_NX_*`).
pub const NXM_1: u16 = 0x0001;
/// OXM class of the OpenFlow basic fields.
pub const OXM_BASIC: u16 = 0x8000;
/// OXM class of OpenFlow 1.5 packet registers (`xreg`s).
pub const OXM_PKT_REGS: u16 = 0x8001;

/// How an entry's value is carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conv {
    /// Big-endian, right-aligned in the field.
    Plain,
    /// A 32-bit OpenFlow 1.1+ port number (OXM in_port).
    Port32,
}

/// One known entry: `(class, field)` carries `len` bytes of `target`.
#[derive(Debug, Clone, Copy)]
struct Entry {
    class: u16,
    field: u8,
    len: u8,
    target: Field,
    conv: Conv,
}

const fn e(class: u16, field: u8, len: u8, target: Field) -> Entry {
    Entry { class, field, len, target, conv: Conv::Plain }
}

/// Every fixed entry we decode. Registers are handled in [`lookup`].
const TABLE: &[Entry] = &[
    Entry { class: OXM_BASIC, field: 0, len: 4, target: Field::InPort, conv: Conv::Port32 },
    e(OXM_BASIC, 2, 8, Field::Metadata),
    e(OXM_BASIC, 3, 6, Field::EthDst),
    e(OXM_BASIC, 4, 6, Field::EthSrc),
    e(OXM_BASIC, 5, 2, Field::EthType),
    e(OXM_BASIC, 6, 2, Field::VlanVid),
    e(OXM_BASIC, 7, 1, Field::VlanPcp),
    e(OXM_BASIC, 8, 1, Field::IpDscp),
    e(OXM_BASIC, 9, 1, Field::IpEcn),
    e(OXM_BASIC, 10, 1, Field::IpProto),
    e(OXM_BASIC, 11, 4, Field::Ipv4Src),
    e(OXM_BASIC, 12, 4, Field::Ipv4Dst),
    e(OXM_BASIC, 13, 2, Field::TpSrc),
    e(OXM_BASIC, 14, 2, Field::TpDst),
    e(OXM_BASIC, 15, 2, Field::TpSrc),
    e(OXM_BASIC, 16, 2, Field::TpDst),
    e(OXM_BASIC, 17, 2, Field::TpSrc),
    e(OXM_BASIC, 18, 2, Field::TpDst),
    e(OXM_BASIC, 19, 1, Field::IcmpType),
    e(OXM_BASIC, 20, 1, Field::IcmpCode),
    e(OXM_BASIC, 21, 2, Field::ArpOp),
    e(OXM_BASIC, 22, 4, Field::ArpSpa),
    e(OXM_BASIC, 23, 4, Field::ArpTpa),
    e(OXM_BASIC, 24, 6, Field::ArpSha),
    e(OXM_BASIC, 25, 6, Field::ArpTha),
    e(OXM_BASIC, 26, 16, Field::Ipv6Src),
    e(OXM_BASIC, 27, 16, Field::Ipv6Dst),
    e(OXM_BASIC, 28, 4, Field::Ipv6Label),
    e(OXM_BASIC, 29, 1, Field::IcmpType),
    e(OXM_BASIC, 30, 1, Field::IcmpCode),
    e(OXM_BASIC, 31, 16, Field::NdTarget),
    e(OXM_BASIC, 32, 6, Field::NdSll),
    e(OXM_BASIC, 33, 6, Field::NdTll),
    e(OXM_BASIC, 38, 8, Field::TunId),
    e(NXM_0, 0, 2, Field::InPort),
    e(NXM_0, 1, 6, Field::EthDst),
    e(NXM_0, 2, 6, Field::EthSrc),
    e(NXM_0, 3, 2, Field::EthType),
    e(NXM_0, 4, 2, Field::VlanTci),
    e(NXM_0, 5, 1, Field::IpTos),
    e(NXM_0, 6, 1, Field::IpProto),
    e(NXM_0, 7, 4, Field::Ipv4Src),
    e(NXM_0, 8, 4, Field::Ipv4Dst),
    e(NXM_0, 9, 2, Field::TpSrc),
    e(NXM_0, 10, 2, Field::TpDst),
    e(NXM_0, 11, 2, Field::TpSrc),
    e(NXM_0, 12, 2, Field::TpDst),
    e(NXM_0, 13, 1, Field::IcmpType),
    e(NXM_0, 14, 1, Field::IcmpCode),
    e(NXM_0, 15, 2, Field::ArpOp),
    e(NXM_0, 16, 4, Field::ArpSpa),
    e(NXM_0, 17, 4, Field::ArpTpa),
    e(NXM_1, 16, 8, Field::TunId),
    e(NXM_1, 17, 6, Field::ArpSha),
    e(NXM_1, 18, 6, Field::ArpTha),
    e(NXM_1, 19, 16, Field::Ipv6Src),
    e(NXM_1, 20, 16, Field::Ipv6Dst),
    e(NXM_1, 21, 1, Field::IcmpType),
    e(NXM_1, 22, 1, Field::IcmpCode),
    e(NXM_1, 23, 16, Field::NdTarget),
    e(NXM_1, 24, 6, Field::NdSll),
    e(NXM_1, 25, 6, Field::NdTll),
    e(NXM_1, 26, 1, Field::IpFrag),
    e(NXM_1, 27, 4, Field::Ipv6Label),
    e(NXM_1, 28, 1, Field::IpEcn),
    e(NXM_1, 29, 1, Field::IpTtl),
    e(NXM_1, 31, 4, Field::TunSrc),
    e(NXM_1, 32, 4, Field::TunDst),
    e(NXM_1, 34, 2, Field::TcpFlags),
];

fn lookup(class: u16, field: u8) -> Option<Entry> {
    match (class, field) {
        (NXM_1, 0..=15) => Some(e(NXM_1, field, 4, Field::Reg(field))),
        (OXM_PKT_REGS, 0..=7) => Some(e(OXM_PKT_REGS, field, 8, Field::Xreg(field))),
        _ => TABLE.iter().find(|x| x.class == class && x.field == field).copied(),
    }
}

/// The entry used to encode `target` in a given context.
fn entry_for(class: u16, field: u8, target: Field) -> Entry {
    lookup(class, field).map_or(e(class, field, 0, target), |x| Entry { target, ..x })
}

fn be_uint(bytes: &[u8]) -> u128 {
    bytes.iter().fold(0u128, |acc, &b| (acc << 8) | u128::from(b))
}

fn put_uint(w: &mut Writer, v: u128, len: usize) {
    let b = v.to_be_bytes();
    w.bytes(&b[16 - len..]);
}

/// Decodes NXM/OXM entries filling all of `bytes` into a match and checks prerequisites.
pub fn decode_entries(bytes: &[u8]) -> Result<Match, OfError> {
    let mut m = Match::ANY;
    let mut seen: Vec<(u16, u8)> = Vec::new();
    let mut r = Reader::new(bytes);
    while r.remaining() > 0 {
        let header = r.u32().map_err(|_| OfError::BadMatchLen("truncated match entry header"))?;
        let class = (header >> 16) as u16;
        let field = ((header >> 9) & 0x7f) as u8;
        let hasmask = header & 0x100 != 0;
        let len = usize::from(header as u8);
        let body = r.bytes(len).map_err(|_| OfError::BadMatchLen("match entry past the end"))?;
        let entry = lookup(class, field).ok_or(OfError::BadMatchField)?;
        let want = usize::from(entry.len) * if hasmask { 2 } else { 1 };
        if len != want {
            return Err(OfError::BadMatchLen("match entry length does not fit its field"));
        }
        if seen.contains(&(class, field)) {
            return Err(OfError::DupField);
        }
        seen.push((class, field));
        let (vbytes, mbytes) = body.split_at(usize::from(entry.len));
        let target = entry.target;
        let (value, mask) = match entry.conv {
            Conv::Plain => {
                let value = be_uint(vbytes);
                let mask = if hasmask { be_uint(mbytes) } else { target.max_value() };
                (value, mask)
            }
            Conv::Port32 => {
                if hasmask {
                    return Err(OfError::BadMask);
                }
                let raw = be_uint(vbytes) as u32;
                let port = PortNo::from_of13(raw).ok_or(OfError::BadValue)?;
                (u128::from(port.0), target.max_value())
            }
        };
        if value > target.max_value() {
            return Err(OfError::BadValue);
        }
        if mask > target.max_value() {
            return Err(OfError::BadMask);
        }
        if value & !mask != 0 {
            return Err(OfError::BadWildcards);
        }
        m.set_masked(target, value, mask);
    }
    m.check_prerequisites().map_err(|_| OfError::BadPrereq)?;
    Ok(m)
}

/// The (class, field, target) entries that encode `m`, in Open vSwitch's order.
fn plan(m: &Match) -> Vec<Entry> {
    let exact = |f: Field| (m.mask.get(f) == f.max_value()).then(|| m.value.get(f));
    let eth_type = exact(Field::EthType).map(|v| v as u16);
    let is_arp = matches!(eth_type, Some(ethertype::ARP | ethertype::RARP));
    let proto = if is_arp { None } else { exact(Field::IpProto).map(|v| v as u8) };
    let mut p = vec![entry_for(OXM_BASIC, 0, Field::InPort), entry_for(OXM_BASIC, 2, Field::Metadata)];
    p.extend((0..16).map(|i| entry_for(NXM_1, i, Field::Reg(i))));
    p.extend([
        entry_for(OXM_BASIC, 38, Field::TunId),
        entry_for(NXM_1, 31, Field::TunSrc),
        entry_for(NXM_1, 32, Field::TunDst),
        entry_for(OXM_BASIC, 3, Field::EthDst),
        entry_for(OXM_BASIC, 4, Field::EthSrc),
        entry_for(OXM_BASIC, 5, Field::EthType),
        entry_for(NXM_0, 4, Field::VlanTci),
    ]);
    if is_arp {
        p.extend([
            entry_for(OXM_BASIC, 21, Field::ArpOp),
            entry_for(OXM_BASIC, 22, Field::ArpSpa),
            entry_for(OXM_BASIC, 23, Field::ArpTpa),
            entry_for(OXM_BASIC, 24, Field::ArpSha),
            entry_for(OXM_BASIC, 25, Field::ArpTha),
        ]);
    } else {
        p.extend([
            entry_for(OXM_BASIC, 10, Field::IpProto),
            entry_for(OXM_BASIC, 11, Field::Ipv4Src),
            entry_for(OXM_BASIC, 12, Field::Ipv4Dst),
            entry_for(OXM_BASIC, 32, Field::NdSll),
            entry_for(OXM_BASIC, 33, Field::NdTll),
        ]);
    }
    p.extend([
        entry_for(OXM_BASIC, 26, Field::Ipv6Src),
        entry_for(OXM_BASIC, 27, Field::Ipv6Dst),
        entry_for(OXM_BASIC, 28, Field::Ipv6Label),
        entry_for(OXM_BASIC, 8, Field::IpDscp),
        entry_for(OXM_BASIC, 9, Field::IpEcn),
        entry_for(NXM_1, 29, Field::IpTtl),
        entry_for(NXM_1, 26, Field::IpFrag),
    ]);
    match proto {
        Some(ipproto::ICMP) => {
            p.extend([entry_for(OXM_BASIC, 19, Field::IcmpType), entry_for(OXM_BASIC, 20, Field::IcmpCode)]);
        }
        Some(ipproto::ICMPV6) => {
            p.extend([entry_for(OXM_BASIC, 29, Field::IcmpType), entry_for(OXM_BASIC, 30, Field::IcmpCode)]);
        }
        Some(ipproto::UDP) => {
            p.extend([entry_for(OXM_BASIC, 15, Field::TpSrc), entry_for(OXM_BASIC, 16, Field::TpDst)]);
        }
        Some(ipproto::SCTP) => {
            p.extend([entry_for(OXM_BASIC, 17, Field::TpSrc), entry_for(OXM_BASIC, 18, Field::TpDst)]);
        }
        _ => {
            p.extend([entry_for(OXM_BASIC, 13, Field::TpSrc), entry_for(OXM_BASIC, 14, Field::TpDst)]);
        }
    }
    p.extend([entry_for(OXM_BASIC, 31, Field::NdTarget), entry_for(NXM_1, 34, Field::TcpFlags)]);
    p
}

/// The NXM/OXM entries of `m`. Fails if some matched bits have no encoding here
/// (`vlan_tci1`, or bits left over by an unusual combination of shared-storage fields).
pub fn encode_entries(m: &Match) -> Result<Vec<u8>, OfError> {
    let mut w = Writer::default();
    put_entries(m, &mut w)?;
    Ok(w.buf)
}

/// The NXM (class, field) Open vSwitch writes on OpenFlow 1.0 for OXM basic field `oxm`,
/// where one exists with the same meaning (metadata, DSCP, SCTP ports have none).
fn nxm_alias(oxm: u8) -> Option<(u16, u8)> {
    Some(match oxm {
        0 => (NXM_0, 0),
        3..=5 => (NXM_0, oxm - 2),
        10..=16 => (NXM_0, oxm - 4),
        19..=23 => (NXM_0, oxm - 6),
        24 | 25 => (NXM_1, oxm - 7),
        26 | 27 => (NXM_1, oxm - 7),
        29..=33 => (NXM_1, oxm - 8),
        9 => (NXM_1, 28),
        28 => (NXM_1, 27),
        38 => (NXM_1, 16),
        _ => return None,
    })
}

/// Appends the NXM/OXM entries of `m` (see [`encode_entries`]).
pub(crate) fn put_entries(m: &Match, w: &mut Writer) -> Result<(), OfError> {
    put_entries_as(m, false, w)
}

/// Appends the entries of `m` with NXM headers wherever NXM has the field, as Open vSwitch
/// writes `nx_match`es on OpenFlow 1.0 (NXST_FLOW, NXT_FLOW_REMOVED).
pub(crate) fn put_entries_nxm(m: &Match, w: &mut Writer) -> Result<(), OfError> {
    put_entries_as(m, true, w)
}

fn put_entries_as(m: &Match, prefer_nxm: bool, w: &mut Writer) -> Result<(), OfError> {
    let mut covered = FlowKey::ZERO;
    for entry in plan(m) {
        let entry = match (prefer_nxm, entry.class) {
            (true, OXM_BASIC) => {
                nxm_alias(entry.field).map_or(entry, |(class, field)| entry_for(class, field, entry.target))
            }
            _ => entry,
        };
        let target = entry.target;
        let (value, mask) = m.get(target);
        if mask == 0 {
            continue;
        }
        covered.set_all(target);
        let exact = mask == target.max_value();
        let (value, mask) = match entry.conv {
            Conv::Plain => (value, mask),
            Conv::Port32 => {
                if !exact {
                    return Err(OfError::Unencodable("masked in_port"));
                }
                let port = u16::try_from(value).map_err(|_| OfError::Unencodable("in_port above 65535"))?;
                (u128::from(PortNo(port).to_of13()), mask)
            }
        };
        let len = u32::from(entry.len) * if exact { 1 } else { 2 };
        w.u32(u32::from(entry.class) << 16 | u32::from(entry.field) << 9 | u32::from(!exact) << 8 | len);
        put_uint(w, value, usize::from(entry.len));
        if !exact {
            put_uint(w, mask, usize::from(entry.len));
        }
    }
    if m.mask.is_subset_of(&covered) {
        Ok(())
    } else {
        Err(OfError::Unencodable("match bits with no NXM/OXM encoding"))
    }
}

/// `NXM_NX_COOKIE`.
const NXM_NX_COOKIE: u32 = 0x0001_3c08;
/// `NXM_NX_COOKIE_W`.
const NXM_NX_COOKIE_W: u32 = 0x0001_3d10;

/// Splits NXM entries into the cookie filter (`NXM_NX_COOKIE(_W)`, which Nicira flow_mods
/// and flow stats requests carry in their match; `(0, 0)` when absent) and the rest, decoded
/// as a match.
pub(crate) fn decode_nx_match_with_cookie(bytes: &[u8]) -> Result<(Match, u64, u64), OfError> {
    let mut r = Reader::new(bytes);
    let mut rest = Vec::with_capacity(bytes.len());
    let mut cookie = None;
    while r.remaining() > 0 {
        let header = r.u32().map_err(|_| OfError::BadMatchLen("truncated match entry header"))?;
        let body = r.bytes((header & 0xff) as usize).map_err(|_| OfError::BadMatchLen("match entry past the end"))?;
        if header == NXM_NX_COOKIE || header == NXM_NX_COOKIE_W {
            if cookie.is_some() {
                return Err(OfError::DupField);
            }
            let mut b = Reader::new(body);
            let value = b.u64()?;
            let mask = if header == NXM_NX_COOKIE_W { b.u64()? } else { u64::MAX };
            cookie = Some((value & mask, mask));
        } else {
            rest.extend_from_slice(&header.to_be_bytes());
            rest.extend_from_slice(body);
        }
    }
    let (c, m) = cookie.unwrap_or((0, 0));
    Ok((decode_entries(&rest)?, c, m))
}

/// NXM entries for `m` plus the cookie filter (none when `mask` is 0), padded to 8 bytes;
/// returns the unpadded length.
pub(crate) fn put_nx_match_with_cookie(m: &Match, cookie: u64, mask: u64, w: &mut Writer) -> Result<u16, OfError> {
    let start = w.buf.len();
    put_entries_nxm(m, w)?;
    if mask == u64::MAX {
        w.u32(NXM_NX_COOKIE);
        w.u64(cookie);
    } else if mask != 0 {
        w.u32(NXM_NX_COOKIE_W);
        w.u64(cookie & mask);
        w.u64(mask);
    }
    let len = w.buf.len() - start;
    w.zeros(len.div_ceil(8) * 8 - len);
    u16::try_from(len).map_err(|_| OfError::Unencodable("nx_match too long"))
}

/// A field named by a single NXM/OXM header, as actions (`set_field`, `load`, `move`,
/// `output_reg`) refer to fields.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FieldRef {
    entry: Entry,
}

impl FieldRef {
    /// The field in our key.
    pub(crate) fn field(self) -> Field {
        self.entry.target
    }

    /// Bytes of the value on the wire.
    pub(crate) fn len(self) -> usize {
        usize::from(self.entry.len)
    }

    /// The 32-bit header (`hasmask` as given, length `len` or `2 * len`).
    pub(crate) fn header(self, masked: bool) -> u32 {
        let len = u32::from(self.entry.len) * if masked { 2 } else { 1 };
        u32::from(self.entry.class) << 16 | u32::from(self.entry.field) << 9 | u32::from(masked) << 8 | len
    }

    /// Field value to wire value (OXM in_port is a 32-bit OpenFlow 1.1+ number).
    pub(crate) fn value_to_wire(self, value: u128) -> Result<u128, OfError> {
        match self.entry.conv {
            Conv::Plain => Ok(value),
            Conv::Port32 => {
                let port = u16::try_from(value).map_err(|_| OfError::Unencodable("in_port above 65535"))?;
                Ok(u128::from(PortNo(port).to_of13()))
            }
        }
    }

    /// Wire value to field value, checking the range.
    pub(crate) fn value_from_wire(self, raw: u128) -> Result<u128, OfError> {
        let value = match self.entry.conv {
            Conv::Plain => raw,
            Conv::Port32 => u128::from(PortNo::from_of13(raw as u32).ok_or(OfError::BadSetArgument)?.0),
        };
        if value > self.entry.target.max_value() {
            return Err(OfError::BadSetArgument);
        }
        Ok(value)
    }
}

/// The header Open vSwitch would use to name `field` on its own: OXM where OpenFlow 1.3 has
/// one (when `prefer_oxm`), NXM otherwise.
pub(crate) fn field_ref(field: Field, prefer_oxm: bool) -> Option<FieldRef> {
    let special = match field {
        Field::Reg(i) => Some(e(NXM_1, i, 4, field)),
        Field::Xreg(i) => Some(e(OXM_PKT_REGS, i, 8, field)),
        _ => None,
    };
    let find = |oxm: bool| {
        TABLE.iter().find(|x| x.target == field && (x.class == OXM_BASIC) == oxm && (oxm || x.conv == Conv::Plain))
    };
    let entry = special.or_else(|| find(prefer_oxm).or_else(|| find(!prefer_oxm)).copied())?;
    Some(FieldRef { entry })
}

/// The field a header names (ignoring `hasmask`; the length must fit the field).
pub(crate) fn field_ref_from_header(header: u32) -> Result<FieldRef, OfError> {
    let class = (header >> 16) as u16;
    let field = ((header >> 9) & 0x7f) as u8;
    let hasmask = header & 0x100 != 0;
    let entry = lookup(class, field).ok_or(OfError::BadSetType)?;
    let want = u32::from(entry.len) * if hasmask { 2 } else { 1 };
    if header & 0xff != want {
        return Err(OfError::BadSetType);
    }
    Ok(FieldRef { entry })
}

/// Big-endian integer of up to 16 bytes.
pub(crate) fn be_value(bytes: &[u8]) -> u128 {
    be_uint(bytes)
}

/// Appends `v` as `len` big-endian bytes.
pub(crate) fn put_value(w: &mut Writer, v: u128, len: usize) {
    put_uint(w, v, len);
}
