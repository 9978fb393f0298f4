//! The Internet checksum (RFC 1071) in pieces: a running ones'-complement sum and its fold.
//! One implementation for key extraction (IPv4 header check), action execution (RFC 1624
//! updates), tunnel headers and the datapath's completion of offloaded checksums.

/// Adds `data` to a running ones'-complement `sum` as big-endian 16-bit words (an odd last
/// byte is padded with zero). Folds as it goes, so any length is safe.
#[inline]
pub fn ones_sum(data: &[u8], mut sum: u32) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
        if sum > 0xffff_0000 {
            sum = (sum & 0xffff) + (sum >> 16);
        }
    }
    if let [b] = chunks.remainder() {
        sum += u32::from(*b) << 8;
    }
    sum
}

/// Folds a running sum into 16 bits (not complemented).
#[inline]
pub fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// The Internet checksum of `data`, as written into a header whose checksum field was zero.
#[inline]
pub fn checksum(data: &[u8]) -> u16 {
    !fold(ones_sum(data, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example_and_verification() {
        // RFC 1071's example words 0001 f203 f4f5 f6f7 sum to ddf2.
        assert_eq!(fold(ones_sum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7], 0)), 0xddf2);
        let mut h = [0x45, 0, 0, 20, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
        let [a, b] = checksum(&h).to_be_bytes();
        h[10] = a;
        h[11] = b;
        assert_eq!(fold(ones_sum(&h, 0)), 0xffff, "a header with its checksum sums to all ones");
        assert_eq!(fold(ones_sum(&[0xab], 0)), 0xab00, "odd byte padded");
    }
}
