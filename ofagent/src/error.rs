//! `OfError`: why a message could not be decoded or encoded, and the OFPT_ERROR (type, code)
//! that tells the peer, per OpenFlow version, as Open vSwitch maps them (lib/ofp-errors.h).

use thiserror::Error;

use crate::header::OFP10_VERSION;

/// A codec failure. Each variant maps onto one OFPT_ERROR (type, code) per version.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OfError {
    /// OFPHFC_INCOMPATIBLE: no common version in HELLO.
    #[error("no common OpenFlow version")]
    HelloIncompatible,
    /// OFPBRC_BAD_VERSION: a version we do not speak.
    #[error("unsupported OpenFlow version {0:#04x}")]
    BadVersion(u8),
    /// OFPBRC_BAD_TYPE: unknown or unsupported message type.
    #[error("unsupported message type {0}")]
    BadType(u8),
    /// OFPBRC_BAD_LEN: a length field disagrees with the bytes.
    #[error("bad length: {0}")]
    BadLen(&'static str),
    /// OFPBRC_BAD_VENDOR / OFPBRC_BAD_EXPERIMENTER: unknown vendor id.
    #[error("unknown vendor/experimenter {0:#x}")]
    BadVendor(u32),
    /// OFPBRC_BAD_SUBTYPE (experimenter type unknown).
    #[error("unknown vendor subtype {0}")]
    BadSubtype(u32),
    /// OFPBMC_BAD_FIELD: a match field we do not know.
    #[error("unsupported match field")]
    BadMatchField,
    /// OFPBMC_BAD_PREREQ: a match field without its prerequisites.
    #[error("match prerequisites not met")]
    BadPrereq,
    /// OFPBAC_BAD_TYPE: unknown action.
    #[error("unsupported action type {0}")]
    BadActionType(u16),
    /// OFPBAC_BAD_OUT_PORT: a port number outside the valid range.
    #[error("invalid port number {0:#x}")]
    BadOutPort(u32),
    /// OFPBIC_UNSUP_INST: unsupported instruction.
    #[error("unsupported instruction {0}")]
    UnsupInst(u16),
    /// A value that this version cannot carry (encode side; never from the wire).
    #[error("cannot encode in this OpenFlow version: {0}")]
    Unencodable(&'static str),
}

/// OFPET_HELLO_FAILED.
const OFPET_HELLO_FAILED: u16 = 0;
/// OFPET_BAD_REQUEST.
const OFPET_BAD_REQUEST: u16 = 1;
/// OFPET_BAD_ACTION.
const OFPET_BAD_ACTION: u16 = 2;
/// OFPET_BAD_INSTRUCTION (OpenFlow 1.1+).
const OFPET_BAD_INSTRUCTION: u16 = 3;
/// OFPET_BAD_MATCH (OpenFlow 1.1+).
const OFPET_BAD_MATCH: u16 = 4;

impl OfError {
    /// The OFPT_ERROR (type, code) to send for this error on a connection of `version`.
    ///
    /// For OpenFlow 1.0, errors that only exist in 1.1+ use Open vSwitch's "NX1.0" numbering
    /// (type OFPET_BAD_REQUEST with a Nicira code >= 0x100), as lib/ofp-errors.h declares them.
    pub fn error_type_code(&self, version: u8) -> (u16, u16) {
        let of10 = version == OFP10_VERSION;
        match self {
            Self::HelloIncompatible => (OFPET_HELLO_FAILED, 0),
            Self::BadVersion(_) => (OFPET_BAD_REQUEST, 0),
            Self::BadType(_) => (OFPET_BAD_REQUEST, 1),
            Self::BadVendor(_) => (OFPET_BAD_REQUEST, 3),
            Self::BadSubtype(_) => (OFPET_BAD_REQUEST, 4),
            Self::BadLen(_) => (OFPET_BAD_REQUEST, 6),
            Self::BadActionType(_) => (OFPET_BAD_ACTION, 0),
            Self::BadOutPort(_) => (OFPET_BAD_ACTION, 4),
            // NX1.0(1,258) / OF1.1+(4,6)
            Self::BadMatchField if of10 => (OFPET_BAD_REQUEST, 0x102),
            Self::BadMatchField => (OFPET_BAD_MATCH, 6),
            // NX1.0(1,261) / OF1.1+(4,9)
            Self::BadPrereq if of10 => (OFPET_BAD_REQUEST, 0x105),
            Self::BadPrereq => (OFPET_BAD_MATCH, 9),
            // OF1.1+(3,1); OpenFlow 1.0 has no instructions, so it reports a bad action type.
            Self::UnsupInst(_) if of10 => (OFPET_BAD_ACTION, 0),
            Self::UnsupInst(_) => (OFPET_BAD_INSTRUCTION, 1),
            // Not sent on the wire; closest is OFPBRC_EPERM.
            Self::Unencodable(_) => (OFPET_BAD_REQUEST, 5),
        }
    }
}
