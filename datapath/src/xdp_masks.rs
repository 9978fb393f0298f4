//! One port's mask slots in its XDP program, kept in order of hits (most-hit first), as Open
//! vSwitch's dpcls ranks its subtables: the program probes the slots in order, so a frame of
//! the busiest megaflows pays one probe instead of up to [`MAX_MASKS`].
//!
//! A mask has an id (0..[`MAX_MASKS`], stable while any entry uses it: entries are keyed by
//! it) and a slot (its place in the probe order, which [`PortMasks::rank`] changes). Nothing
//! here touches the kernel: the methods return the slot writes ([`SlotWrite`]) for the caller
//! to make, in order.
//!
//! Every write either changes only `in_use` or changes the id and mask of a slot that is not
//! in use before and after, so a probe never sees a half-written mask in a slot in use;
//! besides, the program takes a hit only if the frame's key under the entry's own mask is the
//! entry's key (`ebpf::FlowActionsXdp::matches`), so even a torn read can only make a frame
//! miss (and go to userspace), never take another megaflow's entry. While a mask moves, its
//! frames may miss for the few system calls the move takes.

use ebpf::offload::MAX_MASKS;
use ebpf::{FlowKeyXdp, MaskXdp};

const N: usize = MAX_MASKS as usize;

/// A reorder must save at least this share of the probes of the last interval…
const MIN_SAVED_SHARE: u64 = 10;
/// …and at least this many probes (~3 µs of probing; a move costs a few system calls), so
/// that quiet ports are not reshuffled on noise.
const MIN_SAVED_PROBES: u64 = 100;

/// One write to the `masks` map: slot, value.
pub type SlotWrite = (u32, MaskXdp);

#[derive(Debug, Clone, Copy)]
struct MaskUse {
    mask: FlowKeyXdp,
    /// Entries keyed by this id.
    uses: usize,
    /// Packets its entries forwarded since the last ranking.
    hits: u64,
}

/// A port's masks: by id, and the probe order.
#[derive(Debug, Default, Clone)]
pub struct PortMasks {
    ids: [Option<MaskUse>; N],
    /// The id each slot holds (None: the slot is not in use).
    slots: [Option<u32>; N],
}

fn slot_value(in_use: bool, id: u32, mask: FlowKeyXdp) -> MaskXdp {
    MaskXdp { in_use: u32::from(in_use), id, mask }
}

impl PortMasks {
    /// The id of `mask`, if it has one.
    pub fn id_of(&self, mask: &FlowKeyXdp) -> Option<u32> {
        self.ids.iter().position(|m| m.is_some_and(|m| m.mask == *mask)).map(|i| i as u32)
    }

    /// Gives `mask` an id and the first free slot; returns the id and the writes, or None when
    /// every id is taken. Its use count starts at 0 (see [`PortMasks::uses`]).
    pub fn add(&mut self, mask: FlowKeyXdp) -> Option<(u32, Vec<SlotWrite>)> {
        let id = self.ids.iter().position(Option::is_none)?;
        let slot = self.slots.iter().position(Option::is_none)?;
        self.ids[id] = Some(MaskUse { mask, uses: 0, hits: 0 });
        self.slots[slot] = Some(id as u32);
        let (id, slot) = (id as u32, slot as u32);
        Some((id, vec![(slot, slot_value(false, id, mask)), (slot, slot_value(true, id, mask))]))
    }

    /// Counts `delta` entries more (or fewer) keyed by `id`; a mask left without entries
    /// loses its id and slot (returned: the write that frees the slot).
    pub fn uses(&mut self, id: u32, delta: isize) -> Vec<SlotWrite> {
        let Some(m) = self.ids.get_mut(id as usize).and_then(Option::as_mut) else { return vec![] };
        m.uses = m.uses.saturating_add_signed(delta);
        if m.uses > 0 {
            return vec![];
        }
        let mask = m.mask;
        self.ids[id as usize] = None;
        let Some(slot) = self.slots.iter().position(|s| *s == Some(id)) else { return vec![] };
        self.slots[slot] = None;
        vec![(slot as u32, slot_value(false, id, mask))]
    }

    /// Credits `packets` to the mask `id` (its entries' counters, read at the sweep).
    pub fn hit(&mut self, id: u32, packets: u64) {
        if let Some(m) = self.ids.get_mut(id as usize).and_then(Option::as_mut) {
            m.hits = m.hits.saturating_add(packets);
        }
    }

    /// Whether no mask is in use.
    pub fn is_empty(&self) -> bool {
        self.ids.iter().all(Option::is_none)
    }

    /// Probes the hits since the last call cost in the current order.
    fn cost(&self, order: &[Option<u32>]) -> u64 {
        order
            .iter()
            .enumerate()
            .filter_map(|(slot, id)| Some((slot as u64 + 1) * self.ids[(*id)? as usize]?.hits))
            .sum()
    }

    /// The probe order by hits since the last call (most first; ties keep their order), and
    /// the writes that install it when it saves enough probes (at least a tenth of them and
    /// [`MIN_SAVED_PROBES`]); starts a new interval.
    pub fn rank(&mut self) -> Vec<SlotWrite> {
        let mut order: Vec<u32> = self.slots.iter().flatten().copied().collect();
        order.sort_by_key(|id| std::cmp::Reverse(self.ids[*id as usize].map_or(0, |m| m.hits)));
        let mut wanted = [None; N];
        for (slot, id) in order.into_iter().enumerate() {
            wanted[slot] = Some(id);
        }
        let (now, then) = (self.cost(&self.slots), self.cost(&wanted));
        let saved = now.saturating_sub(then);
        let mut writes = vec![];
        if saved >= MIN_SAVED_PROBES && saved * MIN_SAVED_SHARE >= now {
            for (slot, (&old, &new)) in self.slots.iter().zip(&wanted).enumerate() {
                if old == new {
                    continue;
                }
                let s = slot as u32;
                if let Some(m) = old.and_then(|id| Some((id, self.ids[id as usize]?.mask))) {
                    writes.push((s, slot_value(false, m.0, m.1)));
                }
                if let Some(m) = new.and_then(|id| Some((id, self.ids[id as usize]?.mask))) {
                    writes.push((s, slot_value(false, m.0, m.1)));
                    writes.push((s, slot_value(true, m.0, m.1)));
                }
            }
            self.slots = wanted;
        }
        for m in self.ids.iter_mut().flatten() {
            m.hits = 0;
        }
        writes
    }

    /// The ids in probe order (for tests and `dpif/offload show`).
    pub fn order(&self) -> Vec<u32> {
        self.slots.iter().flatten().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(b: u8) -> FlowKeyXdp {
        FlowKeyXdp { tp_src: [0xff, b], ..FlowKeyXdp::default() }
    }

    /// Replays writes on a model of the `masks` map, checking that each changes either only
    /// `in_use` or the id and mask of a slot not in use before and after.
    fn apply(map: &mut [MaskXdp; N], writes: &[SlotWrite]) {
        for (slot, v) in writes {
            let old = &mut map[*slot as usize];
            let only_in_use = old.id == v.id && old.mask == v.mask;
            assert!(only_in_use || (old.in_use == 0 && v.in_use == 0), "{old:?} -> {v:?}");
            *old = *v;
        }
    }

    #[test]
    fn masks_get_ids_and_slots_and_give_them_back() {
        let mut m = PortMasks::default();
        let mut map = [MaskXdp::default(); N];
        for b in 0..8 {
            let (id, w) = m.add(mask(b)).unwrap();
            assert_eq!(id, u32::from(b));
            apply(&mut map, &w);
            assert!(m.uses(id, 1).is_empty());
        }
        assert!(m.add(mask(9)).is_none(), "eight masks at most");
        assert_eq!(m.id_of(&mask(3)), Some(3));
        let w = m.uses(3, -1);
        apply(&mut map, &w);
        assert_eq!(map[3].in_use, 0);
        assert_eq!(m.id_of(&mask(3)), None);
        let (id, w) = m.add(mask(9)).unwrap();
        apply(&mut map, &w);
        assert_eq!((id, map[3]), (3, MaskXdp { in_use: 1, id: 3, mask: mask(9) }));
    }

    #[test]
    fn the_most_hit_masks_move_first_only_when_it_pays() {
        let mut m = PortMasks::default();
        let mut map = [MaskXdp::default(); N];
        for b in 0..4 {
            let (id, w) = m.add(mask(b)).unwrap();
            apply(&mut map, &w);
            m.uses(id, 1);
        }
        // Few hits: not worth a reshuffle.
        m.hit(3, 20);
        assert!(m.rank().is_empty());
        assert_eq!(m.order(), [0, 1, 2, 3]);
        // Mask 3 (slot 4) takes most hits, then mask 2.
        m.hit(3, 100_000);
        m.hit(2, 50_000);
        m.hit(0, 10);
        let w = m.rank();
        apply(&mut map, &w);
        assert_eq!(m.order(), [3, 2, 0, 1]);
        let in_map: Vec<u32> = map.iter().filter(|s| s.in_use == 1).map(|s| s.id).collect();
        assert_eq!(in_map, [3, 2, 0, 1]);
        for s in map.iter().filter(|s| s.in_use == 1) {
            assert_eq!(s.mask, mask(s.id as u8), "each slot holds its id's mask");
        }
        // The same ranking again, or a small difference: nothing to write.
        m.hit(3, 100_000);
        m.hit(2, 50_000);
        assert!(m.rank().is_empty());
        m.hit(3, 100_000);
        m.hit(2, 100_500);
        assert!(m.rank().is_empty(), "saves under a tenth");
        // A freed mask leaves a hole that the next ranking closes.
        apply(&mut map, &m.uses(2, -1));
        m.hit(1, 100_000);
        let w = m.rank();
        apply(&mut map, &w);
        assert_eq!(m.order(), [1, 3, 0]);
        assert_eq!(map.iter().filter(|s| s.in_use == 1).count(), 3);
    }
}
