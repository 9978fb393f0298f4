//! OFPT_HELLO and its OFPHET_VERSIONBITMAP element (OpenFlow 1.3.1+ negotiation).

use crate::msg::VersionBitmap;
use crate::wire::{Reader, Writer};

/// OFPHET_VERSIONBITMAP element type.
const OFPHET_VERSIONBITMAP: u16 = 1;

/// Versions implied by a HELLO without a bitmap: every version up to the header's.
fn implied(version: u8) -> VersionBitmap {
    if version >= 31 {
        u32::MAX - 1
    } else {
        ((1u32 << (version + 1)) - 1) & !1
    }
}

/// Decodes the elements of a HELLO of any version. Unknown elements are skipped, as the spec
/// requires; like Open vSwitch we are lenient with malformed trailing elements and ignore them
/// (the bitmap, if one came first, still counts).
pub(crate) fn decode_body(version: u8, r: &mut Reader<'_>) -> VersionBitmap {
    let mut bitmap = None;
    while let (Ok(etype), Ok(elen)) = (r.u16(), r.u16()) {
        let elen = usize::from(elen);
        let Some(body) = elen.checked_sub(4).and_then(|n| r.bytes(n).ok()) else { break };
        if etype == OFPHET_VERSIONBITMAP && bitmap.is_none() {
            // Only the first 32 versions matter to us.
            if let Some(first) = body.get(..4) {
                bitmap = Some(u32::from_be_bytes([first[0], first[1], first[2], first[3]]));
            }
        }
        if r.skip(elen.div_ceil(8) * 8 - elen).is_err() {
            break;
        }
    }
    r.rest();
    bitmap.unwrap_or_else(|| implied(version))
}

/// Encodes a HELLO body: a version bitmap only when it says more than the header version.
pub(crate) fn encode_body(version: u8, versions: VersionBitmap, w: &mut Writer) {
    if versions != implied(version) {
        w.u16(OFPHET_VERSIONBITMAP);
        w.u16(8);
        w.u32(versions);
    }
}
