//! Revalidation: after the flow tables or MAC tables change, every cached megaflow is
//! translated again from its key; it stays only if the new translation gives the same actions
//! and counters and depends on no bit the old mask ignored (as Open vSwitch's revalidators do).

use crate::flow::Megaflow;
use crate::megaflow::MegaflowCache;
use flowtable::bridge::Bridge;
use flowtable::rule::Millis;
use flowtable::xlate::xlate;
use std::sync::Arc;

/// What a revalidation pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RevalidateReport {
    /// Megaflows kept.
    pub kept: usize,
    /// Megaflows removed because their translation changed.
    pub removed: usize,
}

/// Whether a cached megaflow still says what translation says now.
pub fn still_valid(mf: &Megaflow, bridges: &[Bridge], bridge: usize, now: Millis) -> bool {
    let x = xlate(bridges, bridge, &mf.key, now);
    x.error.is_none()
        && x.actions == mf.actions
        && x.wc.is_subset_of(&mf.mask)
        && x.side_effects == mf.side_effects
        && x.stats.len() == mf.rules.len()
        && x.stats.iter().zip(&mf.rules).all(|(a, b)| Arc::ptr_eq(a, b))
}

/// Revalidates every megaflow of `cache` (whose packets enter on `bridge`); stats of removed
/// flows are pushed to their rules first so no count is lost.
pub fn revalidate(cache: &mut MegaflowCache, bridges: &[Bridge], bridge: usize, now: Millis) -> RevalidateReport {
    let removed = cache.retain(|mf| {
        let keep = still_valid(mf, bridges, bridge, now);
        if !keep {
            mf.push_stats(now);
        }
        keep
    });
    RevalidateReport { kept: cache.len(), removed: removed.len() }
}
