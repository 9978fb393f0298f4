//! `OfError`: why a message could not be decoded or encoded, and the OFPT_ERROR (type, code)
//! that tells the peer, per OpenFlow version, as Open vSwitch maps them (lib/ofp-errors.h,
//! lib/ofp-errors.c).

use thiserror::Error;

use crate::header::OFP10_VERSION;
use crate::msg::Message;

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
    /// OFPBRC_BAD_STAT: unsupported stats/multipart type.
    #[error("unsupported stats type {0}")]
    BadStat(u16),
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
    /// OFPBMC_BAD_TYPE: an `ofp_match` type other than OFPMT_OXM.
    #[error("unsupported match type {0}")]
    BadMatchType(u16),
    /// OFPBMC_BAD_LEN: a match whose lengths disagree.
    #[error("bad match length: {0}")]
    BadMatchLen(&'static str),
    /// OFPBMC_BAD_WILDCARDS: a wildcard/mask combination we cannot represent.
    #[error("unsupported wildcards")]
    BadWildcards,
    /// OFPBMC_BAD_VALUE: a match value out of the field's range.
    #[error("bad match value")]
    BadValue,
    /// OFPBMC_BAD_MASK: a mask the field does not allow.
    #[error("bad match mask")]
    BadMask,
    /// OFPBMC_DUP_FIELD: a field given twice.
    #[error("duplicate match field")]
    DupField,
    /// OFPBAC_BAD_LEN: an action whose length is wrong.
    #[error("bad action length")]
    BadActionLen,
    /// OFPBAC_BAD_VENDOR: an experimenter action from an unknown vendor.
    #[error("unknown action vendor {0:#x}")]
    BadActionVendor(u32),
    /// OFPBAC_BAD_VENDOR_TYPE: an unknown Nicira action subtype.
    #[error("unknown Nicira action subtype {0}")]
    BadActionVendorType(u16),
    /// OFPBAC_BAD_ARGUMENT: an action argument out of range.
    #[error("bad action argument: {0}")]
    BadActionArgument(&'static str),
    /// OFPBAC_BAD_SET_TYPE: an action on an unknown field.
    #[error("action on an unknown field")]
    BadSetType,
    /// OFPBAC_BAD_SET_LEN: an action on bits past the end of its field.
    #[error("action field range out of bounds")]
    BadSetLen,
    /// OFPBAC_BAD_SET_ARGUMENT: an invalid value or a read-only field.
    #[error("bad set_field argument")]
    BadSetArgument,
    /// NXBAC_MUST_BE_ZERO: nonzero padding in a Nicira action.
    #[error("must-be-zero action bytes are nonzero")]
    MustBeZero,
    /// OFPBIC_UNKNOWN_INST: unknown instruction type.
    #[error("unknown instruction {0}")]
    UnknownInst(u16),
    /// OFPBIC_BAD_LEN: an instruction whose length is wrong.
    #[error("bad instruction length")]
    BadInstLen,
    /// OFPBIC_DUP_INST: an instruction given twice.
    #[error("duplicate instruction")]
    DupInst,
    /// OFPFMFC_BAD_COMMAND: unknown flow_mod/group_mod command.
    #[error("unknown command {0}")]
    BadCommand(u16),
    /// OFPGMFC_BAD_COMMAND: unknown group_mod command.
    #[error("unknown group_mod command {0}")]
    BadGroupCommand(u16),
    /// OFPGMFC_BAD_TYPE: unknown group type.
    #[error("unknown group type {0}")]
    BadGroupType(u8),
    /// OFPGMFC_BAD_BUCKET: a malformed bucket.
    #[error("bad group bucket: {0}")]
    BadBucket(&'static str),
    /// OFPBFC_MSG_BAD_XID: a bundled message whose xid differs from the outer one.
    #[error("bundled message xid differs from the bundle message's")]
    BundleBadXid,
    /// NXBRC_NXM_INVALID: an NXM match Open vSwitch refuses (a cookie filter in an add).
    #[error("invalid NXM match")]
    NxmInvalid,
    /// OFPTFFC_EPERM: the switch does not let table features be set.
    #[error("table features cannot be changed")]
    TableFeaturesEperm,
    /// OFPMMFC_METER_EXISTS: adding a meter that exists.
    #[error("meter exists")]
    MeterExists,
    /// OFPMMFC_INVALID_METER: a meter id out of range.
    #[error("invalid meter id")]
    InvalidMeter,
    /// OFPMMFC_UNKNOWN_METER: modifying or using a meter that does not exist.
    #[error("unknown meter")]
    UnknownMeter,
    /// OFPMMFC_BAD_COMMAND: unknown meter_mod command.
    #[error("unknown meter_mod command {0}")]
    BadMeterCommand(u16),
    /// OFPMMFC_BAD_FLAGS: unsupported or contradictory meter flags.
    #[error("bad meter flags")]
    BadMeterFlags,
    /// OFPMMFC_BAD_BAND: an unknown band type.
    #[error("bad meter band")]
    BadMeterBand,
    /// OFPMMFC_OUT_OF_METERS: no more meters (what a switch without meters answers).
    #[error("out of meters")]
    OutOfMeters,
    /// A value that this version cannot carry (encode side; never from the wire).
    #[error("cannot encode in this OpenFlow version: {0}")]
    Unencodable(&'static str),
}

/// NXET_VENDOR: OpenFlow 1.0 error type carrying a `nx_vendor_error`.
pub const NXET_VENDOR: u16 = 0xb0c2;
/// NXVC_VENDOR_ERROR: the code used with `NXET_VENDOR`.
pub const NXVC_VENDOR_ERROR: u16 = 0;
/// OFPET12_EXPERIMENTER: OpenFlow 1.2+ error type for experimenter errors.
pub const OFPET12_EXPERIMENTER: u16 = 0xffff;
/// Nicira's vendor / experimenter id.
pub const NX_VENDOR_ID: u32 = 0x0000_2320;

/// Where an error lives: a standard (type, code), or a Nicira one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// Standard OpenFlow `(type, code)`.
    Standard(u16, u16),
    /// Nicira extension `(type, code)` (sent wrapped, see [`OfError::error_reply`]).
    Nicira(u16, u16),
    /// ONF extension error type (OpenFlow 1.2-1.3 experimenter error from ONF).
    Onf(u16),
}

/// ONF's experimenter id.
pub const ONF_VENDOR_ID: u32 = 0x4f4e_4600;

impl OfError {
    /// The error's code for `version`, as lib/ofp-errors.h numbers it ("OF1.x(t,c)" entries
    /// are standard; "NX1.x(t,c)" are Nicira vendor errors). Errors with no encoding in a
    /// version become NXBRC_UNENCODABLE_ERROR, as Open vSwitch does.
    pub fn error_code(&self, version: u8) -> ErrorCode {
        use ErrorCode::{Nicira as Nx, Standard as Of};
        let of10 = version == OFP10_VERSION;
        let unencodable = if of10 { Nx(1, 521) } else { Nx(10, 0) };
        match self {
            Self::HelloIncompatible => Of(0, 0),
            Self::BadVersion(_) => Of(1, 0),
            Self::BadType(_) => Of(1, 1),
            Self::BadStat(_) => Of(1, 2),
            Self::BadVendor(_) => Of(1, 3),
            Self::BadSubtype(_) => Of(1, 4),
            Self::BadLen(_) => Of(1, 6),
            Self::BadActionType(_) => Of(2, 0),
            Self::BadOutPort(_) => Of(2, 4),
            Self::UnsupInst(_) if of10 => Nx(2, 257),
            Self::UnsupInst(_) => Of(3, 1),
            Self::BadMatchType(_) | Self::BadMatchLen(_) if of10 => unencodable,
            Self::BadMatchType(_) => Of(4, 0),
            Self::BadMatchLen(_) => Of(4, 1),
            Self::BadWildcards if of10 => Nx(1, 262),
            Self::BadWildcards => Of(4, 5),
            Self::BadMatchField if of10 => Nx(0, 263),
            Self::BadMatchField => Of(4, 6),
            Self::BadValue if of10 => Nx(1, 258),
            Self::BadValue => Of(4, 7),
            Self::BadMask if of10 => Nx(1, 259),
            Self::BadMask => Of(4, 8),
            Self::BadPrereq if of10 => Nx(1, 260),
            Self::BadPrereq => Of(4, 9),
            Self::DupField if of10 => Nx(1, 261),
            Self::DupField => Of(4, 10),
            Self::BadActionLen => Of(2, 1),
            Self::BadActionVendor(_) => Of(2, 2),
            Self::BadActionVendorType(_) => Of(2, 3),
            Self::BadActionArgument(_) => Of(2, 5),
            Self::BadSetType if of10 => Nx(1, 523),
            Self::BadSetType => Of(2, 13),
            Self::BadSetLen if of10 => Nx(1, 524),
            Self::BadSetLen => Of(2, 14),
            Self::BadSetArgument if of10 => Nx(1, 525),
            Self::BadSetArgument => Of(2, 15),
            Self::MustBeZero if of10 => Nx(2, 256),
            Self::MustBeZero => Nx(11, 0),
            Self::UnknownInst(_) | Self::BadInstLen | Self::DupInst if of10 => unencodable,
            Self::UnknownInst(_) => Of(3, 0),
            Self::BadInstLen => Of(3, 7),
            Self::DupInst => ErrorCode::Onf(2600),
            Self::BadCommand(_) if of10 => Of(3, 4),
            Self::BadCommand(_) => Of(5, 6),
            Self::BadGroupType(_) if of10 => Nx(6, 10),
            Self::BadGroupType(_) => Of(6, 10),
            Self::BadGroupCommand(_) if of10 => Nx(6, 11),
            Self::BadGroupCommand(_) => Of(6, 11),
            Self::BadBucket(_) if of10 => Nx(6, 12),
            Self::BadBucket(_) => Of(6, 12),
            Self::BundleBadXid if of10 => unencodable,
            Self::BundleBadXid => ErrorCode::Onf(2309),
            Self::MeterExists
            | Self::InvalidMeter
            | Self::UnknownMeter
            | Self::BadMeterCommand(_)
            | Self::BadMeterFlags
            | Self::BadMeterBand
            | Self::OutOfMeters
                if of10 =>
            {
                unencodable
            }
            Self::TableFeaturesEperm if of10 => unencodable,
            Self::TableFeaturesEperm => Of(13, 5),
            Self::NxmInvalid if of10 => Nx(1, 256),
            Self::NxmInvalid => Nx(2, 0),
            Self::MeterExists => Of(12, 1),
            Self::InvalidMeter => Of(12, 2),
            Self::UnknownMeter => Of(12, 3),
            Self::BadMeterCommand(_) => Of(12, 4),
            Self::BadMeterFlags => Of(12, 5),
            Self::BadMeterBand => Of(12, 8),
            Self::OutOfMeters => Of(12, 10),
            Self::Unencodable(_) => unencodable,
        }
    }

    /// The (type, code) pair of [`OfError::error_code`], standard or Nicira.
    pub fn error_type_code(&self, version: u8) -> (u16, u16) {
        match self.error_code(version) {
            ErrorCode::Standard(t, c) | ErrorCode::Nicira(t, c) => (t, c),
            ErrorCode::Onf(t) => (OFPET12_EXPERIMENTER, t),
        }
    }

    /// The OFPT_ERROR to send back on a `version` connection, `data` being the start of the
    /// offending message. Nicira errors are wrapped as lib/ofp-errors.c does: OpenFlow 1.0 as
    /// NXET_VENDOR + `nx_vendor_error`, OpenFlow 1.2+ as OFPET12_EXPERIMENTER with the
    /// Nicira type as code and the experimenter id before the data.
    pub fn error_reply(&self, version: u8, data: &[u8]) -> Message {
        match self.error_code(version) {
            ErrorCode::Standard(err_type, code) => Message::Error { err_type, code, data: data.to_vec() },
            ErrorCode::Nicira(t, c) if version == OFP10_VERSION => {
                let mut body = NX_VENDOR_ID.to_be_bytes().to_vec();
                body.extend_from_slice(&t.to_be_bytes());
                body.extend_from_slice(&c.to_be_bytes());
                body.extend_from_slice(data);
                Message::Error { err_type: NXET_VENDOR, code: NXVC_VENDOR_ERROR, data: body }
            }
            ErrorCode::Onf(t) => {
                let mut body = ONF_VENDOR_ID.to_be_bytes().to_vec();
                body.extend_from_slice(data);
                Message::Error { err_type: OFPET12_EXPERIMENTER, code: t, data: body }
            }
            ErrorCode::Nicira(t, _) => {
                let mut body = NX_VENDOR_ID.to_be_bytes().to_vec();
                body.extend_from_slice(data);
                Message::Error { err_type: OFPET12_EXPERIMENTER, code: t, data: body }
            }
        }
    }
}
