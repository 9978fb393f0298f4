//! OpenFlow 1.3 OFPT_GROUP_MOD (`ofp_group_mod` with `ofp_bucket`s). Bucket ids do not
//! exist in 1.3: decoding numbers buckets 0, 1, 2, ... in order, as Open vSwitch does.

use flowtable::flow_mod::{Bucket, GroupMod, GroupModCommand, GroupType};
use flowtable::PortNo;

use super::actions13;
use crate::error::OfError;
use crate::wire::{Reader, Writer};

/// Size of `ofp_bucket` without actions.
const BUCKET_LEN: usize = 16;

pub(crate) fn decode_group_mod(r: &mut Reader<'_>) -> Result<GroupMod, OfError> {
    let command = match r.u16()? {
        0 => GroupModCommand::Add,
        1 => GroupModCommand::Modify,
        2 => GroupModCommand::Delete,
        other => return Err(OfError::BadGroupCommand(other)),
    };
    let group_type = group_type(r.u8()?)?;
    r.skip(1)?;
    let group_id = r.u32()?;
    let buckets = decode_buckets(r.rest())?;
    Ok(GroupMod { command, group_type, group_id, buckets })
}

/// `ofp_bucket`s filling all of `bytes`, numbered 0, 1, 2, ... in order.
pub(crate) fn decode_buckets(bytes: &[u8]) -> Result<Vec<Bucket>, OfError> {
    let mut r = Reader::new(bytes);
    let mut buckets = Vec::new();
    while r.remaining() > 0 {
        let len = usize::from(r.u16()?);
        if len < BUCKET_LEN || len % 8 != 0 {
            return Err(OfError::BadBucket("bucket length"));
        }
        let mut b = Reader::new(r.bytes(len - 2).map_err(|_| OfError::BadBucket("bucket past the end"))?);
        let weight = b.u16()?;
        let raw_watch = b.u32()?;
        let watch_port = PortNo::from_of13(raw_watch).ok_or(OfError::BadBucket("watch_port"))?;
        let watch_group = b.u32()?;
        b.skip(4)?;
        let actions = actions13::decode_actions(b.rest())?;
        let bucket_id = u32::try_from(buckets.len()).map_err(|_| OfError::BadBucket("too many buckets"))?;
        buckets.push(Bucket { weight, watch_port, watch_group, bucket_id, actions });
    }
    Ok(buckets)
}

/// Group type to OFPGT_*.
pub(crate) fn group_type_code(t: GroupType) -> u8 {
    match t {
        GroupType::All => 0,
        GroupType::Select => 1,
        GroupType::Indirect => 2,
        GroupType::FastFailover => 3,
    }
}

/// OFPGT_* to group type.
pub(crate) fn group_type(raw: u8) -> Result<GroupType, OfError> {
    Ok(match raw {
        0 => GroupType::All,
        1 => GroupType::Select,
        2 => GroupType::Indirect,
        3 => GroupType::FastFailover,
        other => return Err(OfError::BadGroupType(other)),
    })
}

/// Appends `ofp_bucket`s (bucket ids are not carried).
pub(crate) fn encode_buckets(buckets: &[Bucket], w: &mut Writer) -> Result<(), OfError> {
    for b in buckets {
        let actions = actions13::encode_action_list(&b.actions)?;
        let len = u16::try_from(BUCKET_LEN + actions.len()).map_err(|_| OfError::Unencodable("bucket too long"))?;
        w.u16(len);
        w.u16(b.weight);
        w.u32(b.watch_port.to_of13());
        w.u32(b.watch_group);
        w.zeros(4);
        w.bytes(&actions);
    }
    Ok(())
}

pub(crate) fn encode_group_mod(gm: &GroupMod, w: &mut Writer) -> Result<(), OfError> {
    w.u16(match gm.command {
        GroupModCommand::Add => 0,
        GroupModCommand::Modify => 1,
        GroupModCommand::Delete => 2,
    });
    w.u8(group_type_code(gm.group_type));
    w.u8(0);
    w.u32(gm.group_id);
    encode_buckets(&gm.buckets, w)
}
