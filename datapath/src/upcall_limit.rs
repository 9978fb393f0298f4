//! Upcall rate limiting with a fair share per port: one token bucket per datapath port.
//!
//! A miss in both caches costs a full pipeline translation, two orders of magnitude more than a
//! cache hit. A flood of new 5-tuples on one port must neither starve the packets of
//! established flows (which hit the caches and never need a token) nor the new flows of other
//! ports (each port draws from its own bucket). A packet refused a token is dropped and counted,
//! as the kernel datapath drops upcalls its handler queue cannot take.

use flowtable::rule::Millis;
use flowtable::DpPort;
use std::collections::BTreeMap;

/// Upcalls per second per port when nothing else is configured.
pub const DEFAULT_RATE: u64 = 100_000;
/// Bucket depth: upcalls a port may make at once after being quiet.
pub const DEFAULT_BURST: u64 = 10_000;

/// One token, in the bucket's fixed-point unit (a token is 1000 milli-tokens, so a rate per
/// second refills exactly per millisecond).
const TOKEN: u64 = 1000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    milli_tokens: u64,
    refilled: Millis,
}

/// Token buckets by input port.
#[derive(Debug, Clone)]
pub struct UpcallLimiter {
    rate: u64,
    burst: u64,
    buckets: BTreeMap<DpPort, Bucket>,
}

impl Default for UpcallLimiter {
    fn default() -> Self {
        Self::new(DEFAULT_RATE, DEFAULT_BURST)
    }
}

impl UpcallLimiter {
    /// `rate` upcalls per second per port, at most `burst` at once (0 means no limit).
    pub fn new(rate: u64, burst: u64) -> Self {
        UpcallLimiter { rate, burst, buckets: BTreeMap::new() }
    }

    /// Upcalls per second per port (0: unlimited).
    pub fn rate(&self) -> u64 {
        self.rate
    }

    /// Whether a packet from `port` may be translated now; takes a token if so.
    pub fn allow(&mut self, port: DpPort, now: Millis) -> bool {
        if self.rate == 0 {
            return true;
        }
        let cap = self.burst.max(1).saturating_mul(TOKEN);
        let b = self.buckets.entry(port).or_insert(Bucket { milli_tokens: cap, refilled: now });
        let elapsed = now.saturating_sub(b.refilled);
        if elapsed > 0 {
            b.milli_tokens = b.milli_tokens.saturating_add(self.rate.saturating_mul(elapsed)).min(cap);
            b.refilled = now;
        }
        if b.milli_tokens >= TOKEN {
            b.milli_tokens -= TOKEN;
            true
        } else {
            false
        }
    }

    /// Forgets a port's bucket (port removed).
    pub fn forget(&mut self, port: DpPort) {
        self.buckets.remove(&port);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_rate() {
        let mut l = UpcallLimiter::new(1000, 10);
        let p = DpPort(1);
        assert_eq!((0..20).filter(|_| l.allow(p, 0)).count(), 10);
        // 1000/s is one per millisecond.
        assert!(l.allow(p, 1));
        assert!(!l.allow(p, 1));
        assert_eq!((0..100).filter(|_| l.allow(p, 6)).count(), 5);
        // A long pause refills only up to the burst.
        assert_eq!((0..100).filter(|_| l.allow(p, 10_000)).count(), 10);
    }

    #[test]
    fn ports_do_not_share_a_bucket() {
        let mut l = UpcallLimiter::new(1000, 5);
        assert_eq!((0..50).filter(|_| l.allow(DpPort(1), 0)).count(), 5);
        assert_eq!((0..50).filter(|_| l.allow(DpPort(2), 0)).count(), 5);
    }

    #[test]
    fn zero_rate_is_unlimited() {
        let mut l = UpcallLimiter::new(0, 0);
        assert!((0..10_000).all(|_| l.allow(DpPort(1), 0)));
    }
}
