//! OpenFlow 1.3 `ofp_table_features` (OFPMP_TABLE_FEATURES request and reply bodies): a
//! 64-byte fixed part and `ofp_table_feature_prop_*` properties, each padded to 8 bytes.
//! Properties are kept raw (type, body) so that whatever a controller sends round-trips;
//! [`standard_table`] builds an entry with the properties OpenFlow 1.3 requires, [`id_list`]
//! and [`next_tables`] single properties.

use flowtable::Field;

use super::nxm;
use super::stats::{put_text, text};
use crate::error::OfError;
use crate::msg::TableFeatures;
use crate::wire::{Reader, Writer};

/// OFPTFPT_INSTRUCTIONS: instruction ids.
pub const OFPTFPT_INSTRUCTIONS: u16 = 0;
/// OFPTFPT_NEXT_TABLES: table ids `goto_table` may reach.
pub const OFPTFPT_NEXT_TABLES: u16 = 2;
/// OFPTFPT_WRITE_ACTIONS: action ids.
pub const OFPTFPT_WRITE_ACTIONS: u16 = 4;
/// OFPTFPT_APPLY_ACTIONS: action ids.
pub const OFPTFPT_APPLY_ACTIONS: u16 = 6;
/// OFPTFPT_MATCH: OXM headers the table matches.
pub const OFPTFPT_MATCH: u16 = 8;
/// OFPTFPT_WILDCARDS: OXM headers that may be wildcarded.
pub const OFPTFPT_WILDCARDS: u16 = 10;
/// OFPTFPT_WRITE_SETFIELD: OXM headers set_field may write (write-actions).
pub const OFPTFPT_WRITE_SETFIELD: u16 = 12;
/// OFPTFPT_APPLY_SETFIELD: OXM headers set_field may write (apply-actions).
pub const OFPTFPT_APPLY_SETFIELD: u16 = 14;

/// Size of `ofp_table_features` without properties.
const FIXED_LEN: usize = 64;

/// Body of an instruction or action id list property: `(type, len = 4)` pairs.
pub fn id_list(types: &[u16]) -> Vec<u8> {
    types.iter().flat_map(|t| [t.to_be_bytes(), 4u16.to_be_bytes()]).flatten().collect()
}

/// Body of a next-tables property.
pub fn next_tables(tables: impl IntoIterator<Item = u8>) -> Vec<u8> {
    tables.into_iter().collect()
}

/// OXM/NXM headers (unmasked) of every field `keep` accepts, OXM where one exists.
fn field_headers(keep: impl Fn(Field) -> bool) -> Vec<u8> {
    Field::all()
        .filter(|&f| keep(f))
        .filter_map(|f| nxm::field_ref(f, true))
        .flat_map(|fr| fr.header(false).to_be_bytes())
        .collect()
}

/// A table features entry with the eight properties OpenFlow 1.3 requires (Open vSwitch's
/// `ovs-ofctl dump-table-features` refuses entries without them): every instruction,
/// `goto_table` to any later table of `n_tables`, the OpenFlow 1.3 actions this codec
/// encodes, every field as match and wildcard, the writable fields for set_field.
pub fn standard_table(table_id: u8, n_tables: u8, max_entries: u32) -> TableFeatures {
    let instructions = id_list(&[1, 2, 3, 4, 5, 6]);
    let actions = id_list(&[0, 17, 18, 21, 22, 23, 24, 25]);
    let all = field_headers(|_| true);
    let writable = field_headers(Field::writable);
    TableFeatures {
        table_id,
        name: format!("table{table_id}"),
        metadata_match: u64::MAX,
        metadata_write: u64::MAX,
        config: 0,
        max_entries,
        properties: vec![
            (OFPTFPT_INSTRUCTIONS, instructions),
            (OFPTFPT_NEXT_TABLES, next_tables(table_id.saturating_add(1)..n_tables)),
            (OFPTFPT_WRITE_ACTIONS, actions.clone()),
            (OFPTFPT_APPLY_ACTIONS, actions),
            (OFPTFPT_MATCH, all.clone()),
            (OFPTFPT_WILDCARDS, all),
            (OFPTFPT_WRITE_SETFIELD, writable.clone()),
            (OFPTFPT_APPLY_SETFIELD, writable),
        ],
    }
}

/// `ofp_table_features` entries filling all of `r`.
pub(crate) fn decode_list(r: &mut Reader<'_>) -> Result<Vec<TableFeatures>, OfError> {
    let mut out = Vec::new();
    while r.remaining() > 0 {
        let len = usize::from(r.u16()?);
        if len < FIXED_LEN || len % 8 != 0 {
            return Err(OfError::BadLen("table features length"));
        }
        let mut b = Reader::new(r.bytes(len - 2)?);
        let table_id = b.u8()?;
        b.skip(5)?;
        let mut tf = TableFeatures {
            table_id,
            name: text(&mut b, 32)?,
            metadata_match: b.u64()?,
            metadata_write: b.u64()?,
            config: b.u32()?,
            max_entries: b.u32()?,
            properties: Vec::new(),
        };
        while b.remaining() > 0 {
            let ptype = b.u16()?;
            let plen = usize::from(b.u16()?);
            if plen < 4 {
                return Err(OfError::BadLen("table feature property length"));
            }
            let body = b.bytes(plen - 4)?;
            b.skip(plen.div_ceil(8) * 8 - plen)?;
            tf.properties.push((ptype, body.to_vec()));
        }
        out.push(tf);
    }
    Ok(out)
}

pub(crate) fn encode(tf: &TableFeatures, w: &mut Writer) -> Result<(), OfError> {
    let start = w.buf.len();
    w.u16(0);
    w.u8(tf.table_id);
    w.zeros(5);
    put_text(&tf.name, 32, w)?;
    w.u64(tf.metadata_match);
    w.u64(tf.metadata_write);
    w.u32(tf.config);
    w.u32(tf.max_entries);
    for (ptype, body) in &tf.properties {
        let plen =
            u16::try_from(body.len() + 4).map_err(|_| OfError::Unencodable("table feature property too long"))?;
        w.u16(*ptype);
        w.u16(plen);
        w.bytes(body);
        w.zeros(usize::from(plen).div_ceil(8) * 8 - usize::from(plen));
    }
    let len = u16::try_from(w.buf.len() - start).map_err(|_| OfError::Unencodable("table features too long"))?;
    w.buf[start..start + 2].copy_from_slice(&len.to_be_bytes());
    Ok(())
}
