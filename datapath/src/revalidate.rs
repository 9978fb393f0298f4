//! Revalidation: after the flow tables or MAC tables change, every cached megaflow is
//! translated again from its key; it stays only if the new translation gives the same actions
//! and counters and depends on no bit the old mask ignored (as Open vSwitch's revalidators do).

use crate::flow::Megaflow;
use crate::megaflow::MegaflowCache;
use flowtable::bridge::Bridge;
use flowtable::rule::Millis;
use flowtable::tunnel::TunnelEnv;
use flowtable::xlate::xlate_env;
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
    still_valid_env(mf, bridges, &TunnelEnv::EMPTY, bridge, now)
}

/// As [`still_valid`], with the tunnel environment translation consults.
pub fn still_valid_env(mf: &Megaflow, bridges: &[Bridge], env: &TunnelEnv, bridge: usize, now: Millis) -> bool {
    let x = xlate_env(bridges, env, bridge, &mf.key, now, false);
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
    revalidate_env(cache, bridges, &TunnelEnv::EMPTY, bridge, now)
}

/// As [`revalidate`], with the tunnel environment translation consults.
pub fn revalidate_env(
    cache: &mut MegaflowCache,
    bridges: &[Bridge],
    env: &TunnelEnv,
    bridge: usize,
    now: Millis,
) -> RevalidateReport {
    let removed = cache.retain(|mf| {
        let keep = still_valid_env(mf, bridges, env, bridge, now);
        if !keep {
            mf.push_stats(now);
        }
        keep
    });
    RevalidateReport { kept: cache.len(), removed: removed.len() }
}
