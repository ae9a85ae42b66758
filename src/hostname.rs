//! Host names as the decision core sees them: lower-case ASCII (IDNA already applied), walked
//! from the full name down through each parent on label boundaries ("suffixes"), and hashed
//! with one fast, deterministic hash shared by every host index in the core.

use std::hash::{BuildHasherDefault, Hasher};

/// The full host first, then each parent domain: `a.b.c` yields `a.b.c`, `b.c`, `c`.
/// Only label boundaries count, so `notexample.com` never yields `example.com`.
pub fn suffixes(host: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(host);
    std::iter::from_fn(move || {
        let current = rest?;
        rest = current.find('.').map(|dot| &current[dot + 1..]).filter(|s| !s.is_empty());
        Some(current)
    })
}

/// A 64-bit hash of a host name. Word-at-a-time multiply-xor with a final avalanche, so that
/// reducing it to a table slot by its high bits spreads real domain lists evenly.
pub fn hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h: u64 = bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().expect("chunks_exact gives 8 bytes"));
        h = (h.rotate_left(5) ^ word).wrapping_mul(K);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        let mut word = [0u8; 8];
        word[..tail.len()].copy_from_slice(tail);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
    }
    // murmur3's fmix64: every input bit affects every output bit.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// `Hasher` over [`hash`] for the core's small `HashMap`s keyed by host strings. The keys come
/// from trusted lists, so a keyed (DoS-resistant) hash buys nothing and costs time per lookup.
#[derive(Default)]
pub struct HostHasher {
    bytes_hash: u64,
}

impl Hasher for HostHasher {
    fn finish(&self) -> u64 {
        self.bytes_hash
    }

    fn write(&mut self, bytes: &[u8]) {
        self.bytes_hash = self.bytes_hash.rotate_left(7) ^ hash(bytes);
    }
}

pub type HostMap<V> = std::collections::HashMap<Box<str>, V, BuildHasherDefault<HostHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_walk_label_boundaries_only() {
        let all: Vec<_> = suffixes("www.bbc.co.uk").collect();
        assert_eq!(all, ["www.bbc.co.uk", "bbc.co.uk", "co.uk", "uk"]);
        assert!(!suffixes("notexample.com").any(|s| s == "example.com"));
        assert_eq!(suffixes("localhost").collect::<Vec<_>>(), ["localhost"]);
    }

    #[test]
    fn hash_distinguishes_lengths_and_tails() {
        assert_ne!(hash(b"a"), hash(b"a\0"));
        assert_ne!(hash(b"example.com"), hash(b"example.co"));
        assert_eq!(hash(b"example.com"), hash(b"example.com"));
    }
}
