//! Why the switch refused a request, and the OFPT_ERROR that says so on each OpenFlow version,
//! numbered as Open vSwitch's include/openvswitch/ofp-errors.h (standard codes where the
//! version has one, Nicira vendor codes where Open vSwitch uses them, ONF codes for bundles).

use crate::error::{OfError, NXET_VENDOR, NXVC_VENDOR_ERROR, NX_VENDOR_ID, OFPET12_EXPERIMENTER, ONF_VENDOR_ID};
use crate::header::OFP10_VERSION;
use crate::msg::Message;
use flowtable::pipeline::FlowModError;

/// A refused request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The message itself was bad (decode-level error).
    Codec(OfError),
    /// A flow-mod the pipeline refused.
    FlowMod(FlowModError),
    /// A group-mod the pipeline refused.
    GroupMod(FlowModError),
    /// OFPBRC_IS_SLAVE: a slave controller tried to change the switch.
    IsSlave,
    /// OFPBRC_BUFFER_UNKNOWN: we never buffer packets.
    BufferUnknown,
    /// OFPBRC_EPERM.
    Eperm,
    /// OFPPMFC_BAD_PORT: port_mod for a port that does not exist.
    BadPort,
    /// OFPPMFC_BAD_HW_ADDR: port_mod whose address is not the port's.
    BadHwAddr,
    /// OFPTMFC_BAD_TABLE: table_mod for a table that does not exist.
    BadTable,
    /// OFPRRFC_STALE: role request with an old generation id.
    RoleStale,
    /// OFPRRFC_BAD_ROLE: unknown role.
    BadRole,
    /// OFPBFC_BAD_ID: no such bundle.
    BundleBadId,
    /// OFPBFC_BUNDLE_EXIST: bundle id already open.
    BundleExist,
    /// OFPBFC_BUNDLE_CLOSED: bundle is closed.
    BundleClosed,
    /// OFPBFC_OUT_OF_BUNDLES: too many open bundles.
    OutOfBundles,
    /// OFPBFC_BAD_TYPE: unknown bundle control type.
    BundleBadType,
    /// OFPBFC_MSG_UNSUP: a message that cannot be bundled.
    BundleMsgUnsup,
    /// OFPBFC_MSG_TOO_MANY: a bundle over its message bound.
    BundleTooMany,
    /// OFPBFC_MSG_FAILED: one message of the bundle failed.
    BundleMsgFailed,
}

/// Where an error code lives.
enum Code {
    Std(u16, u16),
    Nx(u16, u16),
    Onf(u16),
}

impl Refusal {
    fn code(&self, version: u8) -> Option<Code> {
        let of10 = version == OFP10_VERSION;
        let pick = |a: Code, b: Code| if of10 { a } else { b };
        Some(match self {
            Refusal::Codec(_) => return None,
            Refusal::FlowMod(e) | Refusal::GroupMod(e) => return flow_mod_code(self, e, of10),
            Refusal::IsSlave => pick(Code::Std(1, 5), Code::Std(1, 10)),
            Refusal::BufferUnknown => Code::Std(1, 8),
            Refusal::Eperm => Code::Std(1, 5),
            Refusal::BadPort => pick(Code::Std(4, 0), Code::Std(7, 0)),
            Refusal::BadHwAddr => pick(Code::Std(4, 1), Code::Std(7, 1)),
            Refusal::BadTable => pick(Code::Nx(1, 512), Code::Std(8, 0)),
            Refusal::RoleStale => pick(Code::Nx(1, 513), Code::Std(11, 0)),
            Refusal::BadRole => pick(Code::Nx(1, 513), Code::Std(11, 2)),
            Refusal::BundleBadId => Code::Onf(2302),
            Refusal::BundleExist => Code::Onf(2303),
            Refusal::BundleClosed => Code::Onf(2304),
            Refusal::OutOfBundles => Code::Onf(2305),
            Refusal::BundleBadType => Code::Onf(2306),
            Refusal::BundleMsgUnsup => Code::Onf(2310),
            Refusal::BundleTooMany => Code::Onf(2311),
            Refusal::BundleMsgFailed => Code::Onf(2313),
        })
    }

    /// The OFPT_ERROR for a `version` connection; `data` is the start of the refused message.
    pub fn error_message(&self, version: u8, data: &[u8]) -> Message {
        if let Refusal::Codec(e) = self {
            return e.error_reply(version, data);
        }
        if let Refusal::FlowMod(e) | Refusal::GroupMod(e) = self {
            if let Some(codec) = codec_equivalent(e) {
                return codec.error_reply(version, data);
            }
        }
        match self.code(version) {
            Some(Code::Std(err_type, code)) => Message::Error { err_type, code, data: data.to_vec() },
            Some(Code::Nx(t, c)) if version == OFP10_VERSION => {
                let mut body = NX_VENDOR_ID.to_be_bytes().to_vec();
                body.extend_from_slice(&t.to_be_bytes());
                body.extend_from_slice(&c.to_be_bytes());
                body.extend_from_slice(data);
                Message::Error { err_type: NXET_VENDOR, code: NXVC_VENDOR_ERROR, data: body }
            }
            Some(Code::Nx(t, _)) => {
                let mut body = NX_VENDOR_ID.to_be_bytes().to_vec();
                body.extend_from_slice(data);
                Message::Error { err_type: OFPET12_EXPERIMENTER, code: t, data: body }
            }
            Some(Code::Onf(t)) if version != OFP10_VERSION => {
                let mut body = ONF_VENDOR_ID.to_be_bytes().to_vec();
                body.extend_from_slice(data);
                Message::Error { err_type: OFPET12_EXPERIMENTER, code: t, data: body }
            }
            Some(Code::Onf(_)) | None => OfError::Unencodable("error").error_reply(version, data),
        }
    }
}

/// Pipeline errors that are codec-level errors in Open vSwitch (action and match checks).
fn codec_equivalent(e: &FlowModError) -> Option<OfError> {
    match e {
        FlowModError::BadMatch(_) => Some(OfError::BadPrereq),
        FlowModError::BadAction(_) => Some(OfError::BadActionArgument("action refused by the pipeline")),
        _ => None,
    }
}

fn flow_mod_code(r: &Refusal, e: &FlowModError, of10: bool) -> Option<Code> {
    let group_mod = matches!(r, Refusal::GroupMod(_));
    let pick = |a: Code, b: Code| if of10 { a } else { b };
    Some(match e {
        FlowModError::BadTableId(_) => pick(Code::Nx(1, 512), Code::Std(1, 9)),
        FlowModError::TableFull(_) => pick(Code::Std(3, 0), Code::Std(5, 1)),
        FlowModError::Overlap => pick(Code::Std(3, 1), Code::Std(5, 3)),
        FlowModError::BadGotoTable { .. } => pick(Code::Nx(1, 521), Code::Std(3, 2)),
        FlowModError::UnknownGroup(_) if group_mod => pick(Code::Nx(6, 8), Code::Std(6, 8)),
        FlowModError::UnknownGroup(_) => pick(Code::Nx(2, 9), Code::Std(2, 9)),
        FlowModError::GroupExists(_) => pick(Code::Nx(6, 0), Code::Std(6, 0)),
        FlowModError::BadGroup(..) => pick(Code::Nx(6, 1), Code::Std(6, 1)),
        FlowModError::BadMatch(_) | FlowModError::BadAction(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::OFP13_VERSION;

    fn tc(m: &Message) -> (u16, u16) {
        match m {
            Message::Error { err_type, code, .. } => (*err_type, *code),
            other => panic!("not an error: {other:?}"),
        }
    }

    #[test]
    fn codes_per_version_as_open_vswitch() {
        assert_eq!(tc(&Refusal::IsSlave.error_message(OFP10_VERSION, &[])), (1, 5));
        assert_eq!(tc(&Refusal::IsSlave.error_message(OFP13_VERSION, &[])), (1, 10));
        assert_eq!(tc(&Refusal::FlowMod(FlowModError::Overlap).error_message(OFP10_VERSION, &[])), (3, 1));
        assert_eq!(tc(&Refusal::FlowMod(FlowModError::Overlap).error_message(OFP13_VERSION, &[])), (5, 3));
        assert_eq!(tc(&Refusal::GroupMod(FlowModError::GroupExists(1)).error_message(OFP13_VERSION, &[])), (6, 0));
        assert_eq!(tc(&Refusal::BundleBadId.error_message(OFP13_VERSION, &[])), (0xffff, 2302));
        assert_eq!(tc(&Refusal::RoleStale.error_message(OFP13_VERSION, &[])), (11, 0));
        // Nicira codes on OpenFlow 1.0 travel as NXET_VENDOR.
        let m = Refusal::FlowMod(FlowModError::BadTableId(200)).error_message(OFP10_VERSION, &[]);
        assert_eq!(tc(&m), (NXET_VENDOR, NXVC_VENDOR_ERROR));
    }
}
