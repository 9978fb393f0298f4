//! Results of the packet-rate harness and their markdown table: one row per scenario and switch,
//! with the offered rate (received on s0, the generator's peer), the forwarded rate (counted by
//! the sink), switch CPU per packet, latency percentiles, the ratio to Open vSwitch in the same
//! run, and the command that reproduces the row; plus notes on what bounded each figure.

use hdrhistogram::Histogram;
use std::fmt::Write as _;

use super::frame::bucket_bounds;

/// One measured scenario on one switch.
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub scenario: String,
    pub switch: String,
    /// Frames handed to the generator program per second.
    pub gen_pps: f64,
    /// Frames received on s0 per second.
    pub offered_pps: f64,
    /// Harness frames counted at the sink per second.
    pub forwarded_pps: f64,
    /// L2 bits per second at the sink (without FCS).
    pub forwarded_bps: f64,
    /// Switch CPU seconds per second of run (cores busy).
    pub cpu_cores: Option<f64>,
    /// CPUs busy in softirq during the run (all of the machine's).
    pub softirq_cores: Option<f64>,
    /// Switch CPU µs per forwarded packet.
    pub cpu_us_per_pkt: Option<f64>,
    /// p50, p99, p99.9 one-way latency in µs.
    pub latency_us: Option<[f64; 3]>,
    pub command: String,
    /// For the notes: frames the sink saw that were not the harness's.
    pub other_frames: u64,
}

/// What one timed run counted, before it becomes a [`Row`].
#[derive(Debug)]
pub struct RunCounts<'a> {
    /// Length of the run.
    pub elapsed: std::time::Duration,
    /// Frames the generator (or the harness's VM) sent.
    pub sent: u64,
    /// Frames the switch's first port received.
    pub offered: u64,
    /// What the sink counted.
    pub got: &'a super::xdp::SinkCounters,
    /// The switch processes' CPU seconds (`None`: no process, the kernel forwarder).
    pub cpu: Option<f64>,
    /// Seconds of softirq over all CPUs.
    pub softirq: f64,
}

impl Row {
    /// The per-second figures of one run (scenario, switch and command left empty).
    pub fn from_run(c: &RunCounts) -> Row {
        let secs = c.elapsed.as_secs_f64().max(1e-9);
        Row {
            gen_pps: c.sent as f64 / secs,
            offered_pps: c.offered as f64 / secs,
            forwarded_pps: c.got.packets as f64 / secs,
            forwarded_bps: c.got.bytes as f64 * 8.0 / secs,
            cpu_cores: c.cpu.map(|cpu| cpu / secs),
            softirq_cores: Some(c.softirq / secs),
            cpu_us_per_pkt: c.cpu.filter(|_| c.got.packets > 0).map(|cpu| cpu * 1e6 / c.got.packets as f64),
            latency_us: latency_percentiles(&c.got.latency),
            other_frames: c.got.other,
            ..Row::default()
        }
    }

    /// Share of the frames the generator sent that did not reach the sink.
    pub fn loss(&self) -> f64 {
        if self.gen_pps > 0.0 {
            (1.0 - self.forwarded_pps / self.gen_pps).max(0.0)
        } else {
            0.0
        }
    }
}

/// p50/p99/p99.9 (µs) of the sink's latency buckets (each bucket counted at its midpoint), or
/// None when nothing was counted.
pub fn latency_percentiles(buckets: &[u64]) -> Option<[f64; 3]> {
    let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3).ok()?;
    for (b, &n) in buckets.iter().enumerate() {
        if n > 0 {
            let (lo, hi) = bucket_bounds(b);
            h.saturating_record_n(lo.midpoint(hi).max(1), n);
        }
    }
    if h.is_empty() {
        return None;
    }
    Some([0.5, 0.99, 0.999].map(|q| h.value_at_quantile(q) as f64 / 1000.0))
}

fn mpps(v: f64) -> String {
    format!("{:.3}", v / 1e6)
}

/// The markdown table of `rows`.
pub fn table(rows: &[Row]) -> String {
    let mut s = String::from(
        "| scenario | switch | sent Mpps (g0) | offered Mpps (s0 rx) | forwarded Mpps (k0) | Gbit/s | loss | \
         switch CPU | softirq | latency p50 / p99 / p99.9 µs | vs OVS | command |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for r in rows {
        let ovs = rows.iter().find(|o| o.scenario == r.scenario && o.switch == "ovs");
        // Latency rows run at rates of their own: no ratio.
        let vs = if r.scenario == "idle" || r.scenario.starts_with("lat") {
            "—".to_owned()
        } else {
            match ovs {
                Some(o) if o.forwarded_pps > 0.0 => format!("{:.2}×", r.forwarded_pps / o.forwarded_pps),
                _ => "—".to_owned(),
            }
        };
        let cpu = match (r.cpu_us_per_pkt, r.cpu_cores) {
            (Some(us), Some(c)) if r.scenario != "idle" => format!("{us:.2} µs/pkt ({c:.2} cores)"),
            (_, Some(c)) => format!("{:.1} % of a core", c * 100.0),
            _ => "n/a (softirq)".to_owned(),
        };
        let softirq = r.softirq_cores.map_or("—".to_owned(), |c| format!("{c:.2} cores"));
        let lat = r.latency_us.map_or("—".to_owned(), |[a, b, c]| format!("{a:.1} / {b:.1} / {c:.1}"));
        if r.scenario == "idle" {
            let _ = writeln!(s, "| idle | {} | — | — | — | — | — | {cpu} | — | — | — | `{}` |", r.switch, r.command);
        } else {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {:.2} | {:.1} % | {cpu} | {softirq} | {lat} | {vs} | `{}` |",
                r.scenario,
                r.switch,
                mpps(r.gen_pps),
                mpps(r.offered_pps),
                mpps(r.forwarded_pps),
                r.forwarded_bps / 1e9,
                r.loss() * 100.0,
                r.command
            );
        }
    }
    s
}

/// What bounded the figures: a switch that forwarded (nearly) all it was offered was limited by
/// the generator, not by itself; a generator that offered the switch less than it offered the
/// kernel ceiling in the same scenario was slowed by the switch sharing its CPUs.
pub fn notes(rows: &[Row]) -> Vec<String> {
    let mut n = vec![];
    for r in rows.iter().filter(|r| r.scenario != "idle" && !r.scenario.starts_with("lat")) {
        if r.gen_pps > 0.0 && r.loss() < 0.01 {
            n.push(format!(
                "{} / {}: forwarded {:.1} % of what the generator sent ({} Mpps): the generator was the bottleneck, \
                 the switch's capacity is at least this.",
                r.scenario,
                r.switch,
                (1.0 - r.loss()) * 100.0,
                mpps(r.gen_pps)
            ));
        }
        let kernel = rows.iter().find(|k| k.scenario == r.scenario && k.switch == "kernel");
        if let Some(k) = kernel.filter(|k| r.switch != "kernel" && r.gen_pps < 0.8 * k.gen_pps) {
            let bound = if r.loss() < 0.01 {
                "and the switch forwarded nearly all of it: its figure is bounded by the generator"
            } else {
                "but the switch still dropped what it could not take: the figure is the switch's rate while \
                 sharing the CPUs with the generator"
            };
            n.push(format!(
                "{} / {}: the generator sent {} Mpps here, {} Mpps in the kernel-ceiling run (the switch took CPU \
                 from it), {bound}.",
                r.scenario,
                r.switch,
                mpps(r.gen_pps),
                mpps(k.gen_pps)
            ));
        }
        if r.other_frames > 0 {
            n.push(format!("{} / {}: the sink also saw {} other frames.", r.scenario, r.switch, r.other_frames));
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rate::frame::lat_bucket;

    #[test]
    fn percentiles_of_bucketed_latencies() {
        let mut b = vec![0u64; crate::rate::frame::LAT_BUCKETS];
        b[lat_bucket(10_000)] += 990;
        b[lat_bucket(1_000_000)] += 10;
        let [p50, p99, p999] = latency_percentiles(&b).unwrap_or_default();
        assert!((9.5..10.5).contains(&p50), "{p50}");
        assert!((9.5..10.5).contains(&p99), "{p99}");
        assert!((950.0..1100.0).contains(&p999), "{p999}");
        assert_eq!(latency_percentiles(&[0; 4]), None);
    }

    #[test]
    fn table_has_ratio_to_ovs_and_notes_find_generator_bound_rows() {
        let row = |switch: &str, offered: f64, fwd: f64| Row {
            scenario: "64b-1flow".into(),
            switch: switch.into(),
            gen_pps: offered,
            offered_pps: offered,
            forwarded_pps: fwd,
            command: "rate".into(),
            ..Row::default()
        };
        let rows = [row("ferrovs", 2e6, 1e6), row("ovs", 2e6, 0.5e6), row("kernel", 2e6, 2e6)];
        let t = table(&rows);
        assert!(t.contains("| 64b-1flow | ferrovs | 2.000 | 2.000 | 1.000 |"), "{t}");
        assert!(t.contains("2.00×"), "{t}");
        let n = notes(&rows);
        assert_eq!(n.len(), 1, "{n:?}");
        assert!(n[0].contains("kernel"), "{n:?}");
    }
}
