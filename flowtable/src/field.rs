//! Flow fields and where each one lives inside a [`crate::FlowKey`].
//!
//! A flow key is a fixed array of 64-bit words (Open vSwitch's "miniflow" idea without the
//! compression): every matchable field has a fixed word, bit shift and width, so matching,
//! masking, hashing and "which bits did the pipeline look at" are all plain word operations.
//!
//! Like Open vSwitch, some fields share storage because they can never be present together:
//! ARP's opcode lives in `nw_proto`, ARP's SPA/TPA in `nw_src`/`nw_dst`, ICMP type/code in
//! `tp_src`/`tp_dst`, and IPv6 ND's source/target link-layer addresses in `arp_sha`/`arp_tha`.
//! Prerequisites (see [`Field::prerequisite`]) keep such matches meaningful.
//!
//! VLAN tags use Open vSwitch's TCI convention: the CFI bit (0x1000) means "a tag is present",
//! so `vlan_tci=0/0x1000` matches untagged frames and `dl_vlan=5` is `vlan_tci=0x1005/0x1fff`.

use std::fmt;

/// Number of 64-bit words in a flow key.
pub const KEY_WORDS: usize = 26;

/// Word ranges of the staged lookup: metadata, L2, L3, L4 (each stage ends where the next starts).
pub const STAGE_ENDS: [usize; 4] = [12, 15, 23, KEY_WORDS];

/// Index of the word that holds the 64-bit tunnel id.
pub const WORD_TUN_ID: usize = 10;

/// `vlan_tci` bit meaning "a VLAN tag is present" (the 802.1Q CFI/DEI bit, as Open vSwitch uses it).
pub const VLAN_CFI: u16 = 0x1000;
/// VLAN id bits of a TCI.
pub const VLAN_VID_MASK: u16 = 0x0fff;
/// Priority code point bits of a TCI.
pub const VLAN_PCP_MASK: u16 = 0xe000;
/// Shift of the priority code point in a TCI.
pub const VLAN_PCP_SHIFT: u16 = 13;

/// `nw_frag` bit: the packet is an IP fragment (first or later).
pub const FRAG_ANY: u8 = 1;
/// `nw_frag` bit: the packet is a non-first IP fragment (no L4 header).
pub const FRAG_LATER: u8 = 2;

/// Ethertypes the key extractor and the prerequisites care about.
pub mod ethertype {
    /// IPv4.
    pub const IPV4: u16 = 0x0800;
    /// ARP.
    pub const ARP: u16 = 0x0806;
    /// RARP (parsed like ARP).
    pub const RARP: u16 = 0x8035;
    /// 802.1Q customer VLAN tag.
    pub const VLAN: u16 = 0x8100;
    /// 802.1ad service VLAN tag.
    pub const QINQ: u16 = 0x88a8;
    /// IPv6.
    pub const IPV6: u16 = 0x86dd;
}

/// IP protocol numbers the key extractor and the prerequisites care about.
pub mod ipproto {
    /// ICMP for IPv4.
    pub const ICMP: u8 = 1;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// GRE.
    pub const GRE: u8 = 47;
    /// ICMP for IPv6.
    pub const ICMPV6: u8 = 58;
    /// SCTP.
    pub const SCTP: u8 = 132;
}

/// A matchable (and, where it makes sense, settable) flow field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    /// OpenFlow ingress port (16-bit Open vSwitch numbering, LOCAL = 65534).
    InPort,
    /// OpenFlow 1.3 metadata.
    Metadata,
    /// Nicira 32-bit register `reg0`..`reg15`.
    Reg(u8),
    /// Nicira 64-bit register `xreg0`..`xreg7` (`xregN` is `reg(2N)` high, `reg(2N+1)` low).
    Xreg(u8),
    /// Tunnel id (GRE key, VXLAN VNI).
    TunId,
    /// Outer IPv4 source of the tunnel the packet arrived on.
    TunSrc,
    /// Outer IPv4 destination of the tunnel the packet arrived on.
    TunDst,
    /// Ethernet destination.
    EthDst,
    /// Ethernet source.
    EthSrc,
    /// Ethertype after any VLAN tags (0x05ff for 802.2 frames, as Open vSwitch does).
    EthType,
    /// Outer VLAN TCI, CFI bit = tag present.
    VlanTci,
    /// Outer VLAN id plus the present bit (OXM `vlan_vid`: 13 bits).
    VlanVid,
    /// Outer VLAN priority (3 bits).
    VlanPcp,
    /// Inner VLAN TCI (second tag), CFI bit = tag present.
    VlanTci1,
    /// IPv4 source.
    Ipv4Src,
    /// IPv4 destination.
    Ipv4Dst,
    /// IPv6 source.
    Ipv6Src,
    /// IPv6 destination.
    Ipv6Dst,
    /// IPv6 flow label (20 bits).
    Ipv6Label,
    /// IP protocol / IPv6 next header.
    IpProto,
    /// The whole TOS/traffic-class byte (DSCP << 2 | ECN).
    IpTos,
    /// DSCP (6 bits).
    IpDscp,
    /// ECN (2 bits).
    IpEcn,
    /// IPv4 TTL / IPv6 hop limit.
    IpTtl,
    /// Fragment state: [`FRAG_ANY`] | [`FRAG_LATER`].
    IpFrag,
    /// ARP opcode (low 8 bits; shares `nw_proto`).
    ArpOp,
    /// ARP sender protocol address (shares `nw_src`).
    ArpSpa,
    /// ARP target protocol address (shares `nw_dst`).
    ArpTpa,
    /// ARP sender hardware address.
    ArpSha,
    /// ARP target hardware address.
    ArpTha,
    /// TCP/UDP/SCTP source port.
    TpSrc,
    /// TCP/UDP/SCTP destination port.
    TpDst,
    /// TCP flags (12 bits).
    TcpFlags,
    /// ICMP/ICMPv6 type (shares `tp_src`).
    IcmpType,
    /// ICMP/ICMPv6 code (shares `tp_dst`).
    IcmpCode,
    /// IPv6 neighbour discovery target.
    NdTarget,
    /// IPv6 ND source link-layer address option (shares `arp_sha`).
    NdSll,
    /// IPv6 ND target link-layer address option (shares `arp_tha`).
    NdTll,
}

/// Where a field's bits live in a key: `bits` bits starting at `shift` in `word`
/// (for 128-bit fields: `word` holds the high half and `word + 1` the low half).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// First (most significant) word.
    pub word: usize,
    /// Shift of the field's least significant bit within the word.
    pub shift: u32,
    /// Width in bits (1..=128).
    pub bits: u32,
}

/// What must be true of a packet for a field to be meaningful (OpenFlow prerequisites).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prerequisite {
    /// Always meaningful.
    None,
    /// A VLAN tag must be present (`vlan_tci` CFI bit set).
    Vlan,
    /// `eth_type` must be one of these.
    EthType(&'static [u16]),
    /// `eth_type` must be one of the first list and `ip_proto` one of the second.
    IpProto(&'static [u16], &'static [u8]),
    /// ICMPv6 neighbour solicitation or advertisement (types 135/136).
    Nd,
    /// ICMPv6 neighbour solicitation (135).
    NdSolicit,
    /// ICMPv6 neighbour advertisement (136).
    NdAdvert,
}

const IP_ANY: &[u16] = &[ethertype::IPV4, ethertype::IPV6];
const L4_PROTOS: &[u8] = &[ipproto::TCP, ipproto::UDP, ipproto::SCTP];

impl Field {
    /// Every field, for tables, tests and property generators.
    pub fn all() -> impl Iterator<Item = Field> {
        const FIXED: [Field; 35] = [
            Field::InPort,
            Field::Metadata,
            Field::TunId,
            Field::TunSrc,
            Field::TunDst,
            Field::EthDst,
            Field::EthSrc,
            Field::EthType,
            Field::VlanTci,
            Field::VlanVid,
            Field::VlanPcp,
            Field::VlanTci1,
            Field::Ipv4Src,
            Field::Ipv4Dst,
            Field::Ipv6Src,
            Field::Ipv6Dst,
            Field::Ipv6Label,
            Field::IpProto,
            Field::IpTos,
            Field::IpDscp,
            Field::IpEcn,
            Field::IpTtl,
            Field::IpFrag,
            Field::ArpOp,
            Field::ArpSpa,
            Field::ArpTpa,
            Field::ArpSha,
            Field::ArpTha,
            Field::TpSrc,
            Field::TpDst,
            Field::TcpFlags,
            Field::IcmpType,
            Field::IcmpCode,
            Field::NdTarget,
            Field::NdSll,
        ];
        FIXED
            .into_iter()
            .chain(std::iter::once(Field::NdTll))
            .chain((0..16).map(Field::Reg))
            .chain((0..8).map(Field::Xreg))
    }

    /// Where the field lives in a key.
    pub const fn layout(self) -> Layout {
        const fn l(word: usize, shift: u32, bits: u32) -> Layout {
            Layout { word, shift, bits }
        }
        match self {
            Field::InPort => l(0, 0, 32),
            Field::Metadata => l(1, 0, 64),
            Field::Reg(i) => l(2 + (i as usize & 15) / 2, if i % 2 == 0 { 32 } else { 0 }, 32),
            Field::Xreg(i) => l(2 + (i as usize & 7), 0, 64),
            Field::TunId => l(WORD_TUN_ID, 0, 64),
            Field::TunSrc => l(11, 32, 32),
            Field::TunDst => l(11, 0, 32),
            Field::EthDst => l(12, 16, 48),
            Field::EthType => l(12, 0, 16),
            Field::EthSrc => l(13, 16, 48),
            Field::VlanTci => l(14, 48, 16),
            Field::VlanVid => l(14, 48, 13),
            Field::VlanPcp => l(14, 61, 3),
            Field::VlanTci1 => l(14, 32, 16),
            Field::Ipv4Src | Field::ArpSpa => l(15, 32, 32),
            Field::Ipv4Dst | Field::ArpTpa => l(15, 0, 32),
            Field::Ipv6Src => l(16, 0, 128),
            Field::Ipv6Dst => l(18, 0, 128),
            Field::IpProto | Field::ArpOp => l(20, 56, 8),
            Field::IpTos => l(20, 48, 8),
            Field::IpDscp => l(20, 50, 6),
            Field::IpEcn => l(20, 48, 2),
            Field::IpTtl => l(20, 40, 8),
            Field::IpFrag => l(20, 32, 8),
            Field::Ipv6Label => l(20, 0, 20),
            Field::ArpSha | Field::NdSll => l(21, 16, 48),
            Field::ArpTha | Field::NdTll => l(22, 16, 48),
            Field::TpSrc => l(23, 48, 16),
            Field::IcmpType => l(23, 48, 8),
            Field::TpDst => l(23, 32, 16),
            Field::IcmpCode => l(23, 32, 8),
            Field::TcpFlags => l(23, 16, 12),
            Field::NdTarget => l(24, 0, 128),
        }
    }

    /// Width of the field in bits.
    pub const fn bits(self) -> u32 {
        self.layout().bits
    }

    /// All-ones value of the field's width.
    pub const fn max_value(self) -> u128 {
        let bits = self.bits();
        if bits >= 128 {
            u128::MAX
        } else {
            (1u128 << bits) - 1
        }
    }

    /// The OpenFlow prerequisite of matching on this field.
    pub const fn prerequisite(self) -> Prerequisite {
        use Prerequisite as P;
        match self {
            Field::Ipv4Src | Field::Ipv4Dst => P::EthType(&[ethertype::IPV4]),
            Field::Ipv6Src | Field::Ipv6Dst | Field::Ipv6Label => P::EthType(&[ethertype::IPV6]),
            Field::IpProto | Field::IpTos | Field::IpDscp | Field::IpEcn | Field::IpTtl | Field::IpFrag => {
                P::EthType(IP_ANY)
            }
            Field::ArpOp | Field::ArpSpa | Field::ArpTpa | Field::ArpSha | Field::ArpTha => {
                P::EthType(&[ethertype::ARP, ethertype::RARP])
            }
            Field::TpSrc | Field::TpDst => P::IpProto(IP_ANY, L4_PROTOS),
            Field::TcpFlags => P::IpProto(IP_ANY, &[ipproto::TCP]),
            Field::IcmpType | Field::IcmpCode => P::IpProto(IP_ANY, &[ipproto::ICMP, ipproto::ICMPV6]),
            Field::NdTarget => P::Nd,
            Field::NdSll => P::NdSolicit,
            Field::NdTll => P::NdAdvert,
            _ => P::None,
        }
    }

    /// Whether an action may write this field (`set_field`, `load`, `move` destination).
    pub const fn writable(self) -> bool {
        !matches!(
            self,
            Field::EthType | Field::IpFrag | Field::IpProto | Field::ArpOp | Field::TcpFlags | Field::VlanTci1
        )
    }

    /// The name ovs-ofctl prints for the field (its preferred, OXM-style name).
    pub fn name(self) -> String {
        let fixed = match self {
            Field::Reg(i) => return format!("reg{i}"),
            Field::Xreg(i) => return format!("xreg{i}"),
            Field::InPort => "in_port",
            Field::Metadata => "metadata",
            Field::TunId => "tun_id",
            Field::TunSrc => "tun_src",
            Field::TunDst => "tun_dst",
            Field::EthDst => "dl_dst",
            Field::EthSrc => "dl_src",
            Field::EthType => "dl_type",
            Field::VlanTci => "vlan_tci",
            Field::VlanVid => "vlan_vid",
            Field::VlanPcp => "vlan_pcp",
            Field::VlanTci1 => "vlan_tci1",
            Field::Ipv4Src => "nw_src",
            Field::Ipv4Dst => "nw_dst",
            Field::Ipv6Src => "ipv6_src",
            Field::Ipv6Dst => "ipv6_dst",
            Field::Ipv6Label => "ipv6_label",
            Field::IpProto => "nw_proto",
            Field::IpTos => "nw_tos",
            Field::IpDscp => "ip_dscp",
            Field::IpEcn => "nw_ecn",
            Field::IpTtl => "nw_ttl",
            Field::IpFrag => "ip_frag",
            Field::ArpOp => "arp_op",
            Field::ArpSpa => "arp_spa",
            Field::ArpTpa => "arp_tpa",
            Field::ArpSha => "arp_sha",
            Field::ArpTha => "arp_tha",
            Field::TpSrc => "tp_src",
            Field::TpDst => "tp_dst",
            Field::TcpFlags => "tcp_flags",
            Field::IcmpType => "icmp_type",
            Field::IcmpCode => "icmp_code",
            Field::NdTarget => "nd_target",
            Field::NdSll => "nd_sll",
            Field::NdTll => "nd_tll",
        };
        fixed.to_owned()
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// A bit range of a field, as Nicira actions name it: `NXM_OF_VLAN_TCI[0..11]` is
/// `SubField { field: VlanTci, ofs: 0, n_bits: 12 }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SubField {
    /// The field.
    pub field: Field,
    /// Offset of the least significant bit within the field.
    pub ofs: u32,
    /// Number of bits (1..=field width - ofs).
    pub n_bits: u32,
}

impl SubField {
    /// The whole field.
    pub const fn whole(field: Field) -> Self {
        SubField { field, ofs: 0, n_bits: field.bits() }
    }

    /// Mask of the subfield's bits within the field's value.
    pub const fn mask(self) -> u128 {
        let ones = if self.n_bits >= 128 { u128::MAX } else { (1u128 << self.n_bits) - 1 };
        ones << self.ofs
    }

    /// Whether the range fits inside the field.
    pub const fn is_valid(self) -> bool {
        self.n_bits >= 1 && self.ofs + self.n_bits <= self.field.bits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_fit_their_words_and_do_not_cross_stages() {
        for f in Field::all() {
            let l = f.layout();
            if l.bits == 128 {
                assert_eq!(l.shift, 0, "{f}");
                assert!(l.word + 1 < KEY_WORDS, "{f}");
            } else {
                assert!(l.shift + l.bits <= 64, "{f}");
                assert!(l.word < KEY_WORDS, "{f}");
            }
        }
    }

    #[test]
    fn xreg_is_a_pair_of_regs() {
        assert_eq!(Field::Reg(0).layout().word, Field::Xreg(0).layout().word);
        assert_eq!(Field::Reg(0).layout().shift, 32);
        assert_eq!(Field::Reg(15).layout().word, Field::Xreg(7).layout().word);
    }
}
