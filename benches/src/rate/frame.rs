//! The frames the generator sends and the latency buckets the sink fills: the UDP/IPv4 template
//! BPF_PROG_RUN initialises its live frames from (the XDP generator then rewrites the flow, the
//! IPv4 checksum and the timestamp of each frame), and the inverse of the sink's bucket function.
//! Layouts are shared with `benches/bpf/rate.bpf.c`.

use thiserror::Error;

/// Marks harness frames in the payload (`RATE_MAGIC` in the BPF program).
pub const MAGIC: u32 = 0xf3e2_0c5b;
/// Ethernet + IPv4 + UDP headers and the payload the programs use (magic, flow, timestamp).
pub const MIN_LEN: usize = 14 + 20 + 8 + 16;
/// Frame check sequence: counted in `--size` (as RFC 2544 frame sizes) but not sent on a veth.
pub const FCS_LEN: usize = 4;
/// Largest frame size (with FCS) for a 1500-byte MTU.
pub const MAX_SIZE: usize = 1518;
/// Number of latency buckets (`LAT_BUCKETS`).
pub const LAT_BUCKETS: usize = 512;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("frame size {0} out of range {min}..={MAX_SIZE} (sizes include the 4-byte FCS)", min = MIN_LEN + FCS_LEN)]
    Size(usize),
}

/// A UDP/IPv4 frame of `size` bytes on the wire including the FCS (so `size - 4` bytes long),
/// 10.1.0.1:1024 -> 10.2.0.1:9, from `src` to `dst`.
pub fn udp_frame(size: usize, src: [u8; 6], dst: [u8; 6]) -> Result<Vec<u8>, FrameError> {
    if !(MIN_LEN + FCS_LEN..=MAX_SIZE).contains(&size) {
        return Err(FrameError::Size(size));
    }
    let len = size - FCS_LEN;
    let mut f = vec![0u8; len];
    f[0..6].copy_from_slice(&dst);
    f[6..12].copy_from_slice(&src);
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let ip_len = (len - 14) as u16;
    let ip = &mut f[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&ip_len.to_be_bytes());
    ip[6] = 0x40; // DF
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&[10, 1, 0, 1]);
    ip[16..20].copy_from_slice(&[10, 2, 0, 1]);
    let csum = ipv4_checksum(ip);
    ip[10..12].copy_from_slice(&csum.to_be_bytes());
    let udp = &mut f[34..42];
    udp[0..2].copy_from_slice(&1024u16.to_be_bytes());
    udp[2..4].copy_from_slice(&9u16.to_be_bytes());
    udp[4..6].copy_from_slice(&(ip_len - 20).to_be_bytes());
    // UDP checksum 0: none (IPv4).
    f[42..46].copy_from_slice(&MAGIC.to_ne_bytes());
    Ok(f)
}

/// The Internet checksum of an IPv4 header whose checksum field is zero.
pub fn ipv4_checksum(hdr: &[u8]) -> u16 {
    let mut sum: u32 = hdr.chunks(2).map(|w| u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]))).sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The sink's bucket of a latency of `d` ns (same as `lat_bucket` in the BPF program): exact
/// below 16 ns, then 8 buckets per power of two.
pub fn lat_bucket(d: u64) -> usize {
    if d < 16 {
        return d as usize;
    }
    let msb = 63 - d.leading_zeros() as usize;
    let sub = ((d >> (msb - 3)) & 7) as usize;
    (16 + (msb - 4) * 8 + sub).min(LAT_BUCKETS - 1)
}

/// The range of latencies (ns, inclusive) bucket `b` holds.
pub fn bucket_bounds(b: usize) -> (u64, u64) {
    if b < 16 {
        return (b as u64, b as u64);
    }
    let msb = (b - 16) / 8 + 4;
    let sub = ((b - 16) % 8) as u64;
    let shift = msb - 3;
    let lo = (8 + sub) << shift;
    (lo, lo + (1u64 << shift) - 1)
}

/// Flows per IPv4 source address (as `xdp_gen`'s `FLOWS_PER_SADDR`).
const FLOWS_PER_SADDR: u32 = 60_000;

/// What `xdp_gen` does to each frame, for the AF_PACKET generator: stamps frame number `seq`
/// of a run over `nflows` flows (UDP source port, IPv4 source, checksum), the magic, the flow
/// and `now_ns` (CLOCK_MONOTONIC, as `bpf_ktime_get_ns`). `f` is a [`udp_frame`].
pub fn stamp(f: &mut [u8], seq: u64, nflows: u32, now_ns: u64) {
    let flow = if nflows > 1 { (seq % u64::from(nflows)) as u32 } else { 0 };
    f[34..36].copy_from_slice(&((1024 + flow % FLOWS_PER_SADDR) as u16).to_be_bytes());
    f[26..30].copy_from_slice(&(0x0a01_0001 + flow / FLOWS_PER_SADDR).to_be_bytes());
    f[24..26].fill(0);
    let csum = ipv4_checksum(&f[14..34]);
    f[24..26].copy_from_slice(&csum.to_be_bytes());
    f[42..46].copy_from_slice(&MAGIC.to_ne_bytes());
    f[46..50].copy_from_slice(&flow.to_ne_bytes());
    f[50..58].copy_from_slice(&now_ns.to_ne_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_layout_and_sizes() {
        let f = udp_frame(64, [2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]).unwrap_or_default();
        assert_eq!(f.len(), 60);
        assert_eq!(&f[12..14], &[8, 0]);
        assert_eq!(u16::from_be_bytes([f[16], f[17]]), 46);
        assert_eq!(u16::from_be_bytes([f[38], f[39]]), 26);
        let mut ip = f[14..34].to_vec();
        ip[10] = 0;
        ip[11] = 0;
        assert_eq!(ipv4_checksum(&ip).to_be_bytes(), [f[24], f[25]]);
        assert_eq!(udp_frame(1518, [0; 6], [0; 6]).map(|f| f.len()), Ok(1514));
        assert_eq!(udp_frame(61, [0; 6], [0; 6]), Err(FrameError::Size(61)));
        assert_eq!(udp_frame(1519, [0; 6], [0; 6]), Err(FrameError::Size(1519)));
    }

    #[test]
    fn buckets_cover_their_values() {
        let mut d = 0u64;
        while d < 1 << 40 {
            let b = lat_bucket(d);
            let (lo, hi) = bucket_bounds(b);
            assert!(lo <= d && d <= hi, "{d} in bucket {b} = {lo}..={hi}");
            d = d * 9 / 8 + 1;
        }
        assert_eq!(bucket_bounds(lat_bucket(1000)), (960, 1023));
        assert!(lat_bucket(u64::MAX) < LAT_BUCKETS);
    }

    #[test]
    fn stamp_writes_what_xdp_gen_writes() {
        let mut f = udp_frame(64, [2; 6], [4; 6]).unwrap();
        stamp(&mut f, 60_005, 120_000, 42);
        assert_eq!(u16::from_be_bytes([f[34], f[35]]), 1024 + 5);
        assert_eq!(f[26..30], [10, 1, 0, 2]);
        let csum = u16::from_be_bytes([f[24], f[25]]);
        f[24..26].fill(0);
        assert_eq!(ipv4_checksum(&f[14..34]), csum);
        assert_eq!(u32::from_ne_bytes(f[46..50].try_into().unwrap()), 60_005);
        assert_eq!(u64::from_ne_bytes(f[50..58].try_into().unwrap()), 42);
    }
}
