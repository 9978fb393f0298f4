//! Bundles as `ovs-ofctl --bundle` sends them on OpenFlow 1.3: the ONF extension
//! (experimenter 0x4f4e4600) ONF_ET_BUNDLE_CONTROL (2300) and ONF_ET_BUNDLE_ADD_MESSAGE (2301),
//! each carrying the OpenFlow 1.4 `ofp14_bundle_ctrl_msg` shape (bundle_id, type, flags).
//! The added message is kept as raw bytes (its xid must equal the outer one, as the spec and
//! Open vSwitch require); decode it with [`crate::decode`].

use crate::error::{OfError, ONF_VENDOR_ID};
use crate::header::{Header, HEADER_LEN};
use crate::msg::Message;
use crate::wire::{Reader, Writer};

/// ONF_ET_BUNDLE_CONTROL.
pub const ONF_ET_BUNDLE_CONTROL: u32 = 2300;
/// ONF_ET_BUNDLE_ADD_MESSAGE.
pub const ONF_ET_BUNDLE_ADD_MESSAGE: u32 = 2301;

/// Decodes an ONF experimenter message body after the experimenter id.
pub(crate) fn decode(xid: u32, r: &mut Reader<'_>) -> Result<Message, OfError> {
    let exp_type = r.u32()?;
    let bundle_id = r.u32()?;
    let ctrl_type = r.u16()?;
    let flags = r.u16()?;
    match exp_type {
        ONF_ET_BUNDLE_CONTROL => {
            Ok(Message::BundleControl { bundle_id, ctrl_type, flags, properties: r.rest().to_vec() })
        }
        ONF_ET_BUNDLE_ADD_MESSAGE => {
            let rest = r.rest();
            let inner = Header::parse(rest)?;
            let len = usize::from(inner.length);
            if len < HEADER_LEN || len > rest.len() {
                return Err(OfError::BadLen("bundled message length"));
            }
            if inner.xid != xid {
                return Err(OfError::BundleBadXid);
            }
            // Anything after the message is padding and properties, which we do not use.
            Ok(Message::BundleAdd { bundle_id, flags, message: rest[..len].to_vec() })
        }
        other => Err(OfError::BadSubtype(other)),
    }
}

/// Appends an ONF bundle message body (experimenter header included); `Ok(false)` if `msg`
/// is not one.
pub(crate) fn encode(xid: u32, msg: &Message, w: &mut Writer) -> Result<bool, OfError> {
    match msg {
        Message::BundleControl { bundle_id, ctrl_type, flags, properties } => {
            w.u32(ONF_VENDOR_ID);
            w.u32(ONF_ET_BUNDLE_CONTROL);
            w.u32(*bundle_id);
            w.u16(*ctrl_type);
            w.u16(*flags);
            w.bytes(properties);
        }
        Message::BundleAdd { bundle_id, flags, message } => {
            let inner = Header::parse(message)?;
            if usize::from(inner.length) != message.len() || inner.xid != xid {
                return Err(OfError::Unencodable("bundled message length or xid disagrees with the bundle's"));
            }
            w.u32(ONF_VENDOR_ID);
            w.u32(ONF_ET_BUNDLE_ADD_MESSAGE);
            w.u32(*bundle_id);
            w.u16(0);
            w.u16(*flags);
            w.bytes(message);
        }
        _ => return Ok(false),
    }
    Ok(true)
}
