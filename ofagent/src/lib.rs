//! ferrovs OpenFlow agent: OpenFlow 1.0 and 1.3 codecs (bytes in, values out; no I/O).
//!
//! `decode` turns one framed message into a version-independent [`Message`], `encode` does the
//! reverse for a chosen version, and [`framing::Framer`] cuts a TCP byte stream into messages.
//! Errors carry the OFPT_ERROR (type, code) to answer with, see [`OfError::error_type_code`]
//! and [`OfError::error_reply`].
//!
//! Covered: HELLO (version bitmap, [`negotiate`]), ERROR, ECHO, FEATURES, GET/SET_CONFIG,
//! BARRIER, PACKET_IN, PACKET_OUT, FLOW_MOD, FLOW_REMOVED, PORT_STATUS, PORT_MOD (1.0 and 1.3);
//! GROUP_MOD, METER_MOD, TABLE_MOD, ROLE, GET/SET_ASYNC (1.3); stats/multipart desc, flow,
//! aggregate, table, port, queue and port_desc (1.0 and 1.3 where the version has them),
//! group, group_desc, group_features, meter, meter_config, meter_features, table_features
//! (1.3), with OFPSF_REPLY_MORE and [`codec::encode_stats_reply_split`] for long replies;
//! Nicira NXST_FLOW/NXST_AGGREGATE, NXT_SET_FLOW_FORMAT, NXT_FLOW_MOD (cookie filters too),
//! NXT_FLOW_MOD_TABLE_ID, NXT_SET_PACKET_IN_FORMAT, NXT_SET_CONTROLLER_ID, NXT_FLOW_REMOVED,
//! NXT_PACKET_IN2; ONF bundles (1.3); NXM/OXM for every `flowtable::Field`; OpenFlow 1.0/1.3
//! actions, 1.3 instructions and the Nicira actions (learn, controller2 included). Everything
//! else decodes to an error that maps onto the OFPT_ERROR Open vSwitch would send.

pub mod codec;
pub mod conn;
pub mod error;
pub mod framing;
pub mod header;
pub mod msg;
mod wire;

pub use error::OfError;
pub use header::{Header, OFP10_VERSION, OFP13_VERSION};
pub use msg::{negotiate, Message};

/// Versions this codec speaks, as a HELLO version bitmap (1.0 and 1.3).
pub const SUPPORTED_VERSIONS: msg::VersionBitmap = (1 << OFP10_VERSION) | (1 << OFP13_VERSION);

/// Decodes one complete message (exactly one header's worth of bytes).
pub fn decode(bytes: &[u8]) -> Result<(Header, Message), OfError> {
    codec::decode(bytes)
}

/// Encodes `msg` for OpenFlow `version` (0x01 or 0x04) with transaction id `xid`.
pub fn encode(version: u8, xid: u32, msg: &Message) -> Result<Vec<u8>, OfError> {
    codec::encode(version, xid, msg)
}

/// Decode; if that works, encode with the same version and decode again: same message.
fn fuzz_roundtrip(data: &[u8]) {
    let Ok((header, msg)) = decode(data) else { return };
    let Ok(bytes) = encode(header.version, header.xid, &msg) else { return };
    match decode(&bytes) {
        Ok((h2, m2)) => {
            assert_eq!(m2, msg, "re-decoded message differs");
            assert_eq!(h2.xid, header.xid);
        }
        Err(e) => panic!("re-encoded message does not decode: {e}"),
    }
}

/// Fuzz entry: `data` as an OpenFlow 1.0 message (the version byte is forced to 0x01).
#[doc(hidden)]
pub fn fuzz_of10(data: &[u8]) {
    fuzz_forced(OFP10_VERSION, data);
}

/// Fuzz entry: `data` as an OpenFlow 1.3 message (the version byte is forced to 0x04).
#[doc(hidden)]
pub fn fuzz_of13(data: &[u8]) {
    fuzz_forced(OFP13_VERSION, data);
}

fn fuzz_forced(version: u8, data: &[u8]) {
    let mut bytes = data.to_vec();
    if let Some(v) = bytes.first_mut() {
        *v = version;
    }
    // Also make the length consistent so that bodies get exercised.
    if let (true, Ok(len)) = (bytes.len() >= 4, u16::try_from(bytes.len())) {
        let [a, b] = len.to_be_bytes();
        bytes[2] = a;
        bytes[3] = b;
    }
    fuzz_roundtrip(&bytes);
}

/// Fuzz entry: the first byte picks a chunk size; the rest is pushed through a framer in
/// chunks and every framed message is decoded (and round-tripped when it decodes).
#[doc(hidden)]
pub fn fuzz_stream(data: &[u8]) {
    let Some((&chunk, rest)) = data.split_first() else { return };
    let chunk = usize::from(chunk).max(1);
    let mut framer = framing::Framer::new(4096);
    for piece in rest.chunks(chunk) {
        if framer.push(piece).is_err() {
            return;
        }
        loop {
            match framer.next_message() {
                Ok(Some(m)) => fuzz_roundtrip(m),
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
}
