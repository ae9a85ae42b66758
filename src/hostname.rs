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

/// How many labels nearest the root a lookup considers. A host with more labels is matched on
/// its last `MAX_LABELS` labels only: its deepest names are never listed by anyone.
pub const MAX_LABELS: usize = 24;

/// Chains a label onto its parent's hash, so that every suffix of a host gets a hash in one
/// right-to-left pass.
fn chain(parent: u64, label: &[u8]) -> u64 {
    (parent.rotate_left(23) ^ hash(label)).wrapping_mul(0x9e37_79b9_7f4a_7c15).max(1)
}

/// The key a table files `name` under: the chained hash of all its labels (a domain), or of
/// the whole string as one label (`ip`: an IP literal, which has no parent domains).
pub fn key(name: &str, ip: bool) -> u64 {
    if ip {
        return chain(0, name.as_bytes());
    }
    name.rsplit('.').fold(0, |parent, label| chain(parent, label.as_bytes()))
}

/// The keys of a host's suffixes, computed once per decision and shared by every table the
/// decision consults (rules, resource hosts, safe search, categories).
pub struct SuffixKeys {
    /// `(byte offset of the suffix in the host, key)`, the root-most suffix first.
    keys: [(u32, u64); MAX_LABELS],
    len: usize,
}

impl SuffixKeys {
    pub fn domain(host: &str) -> Self {
        let mut keys = SuffixKeys { keys: [(0, 0); MAX_LABELS], len: 0 };
        let bytes = host.as_bytes();
        let mut end = bytes.len();
        let mut parent = 0;
        while keys.len < MAX_LABELS {
            let start = bytes[..end].iter().rposition(|&b| b == b'.').map_or(0, |dot| dot + 1);
            parent = chain(parent, &bytes[start..end]);
            keys.keys[keys.len] = (start as u32, parent);
            keys.len += 1;
            if start == 0 {
                break;
            }
            end = start - 1;
        }
        keys
    }

    pub fn ip(host: &str) -> Self {
        let mut keys = SuffixKeys { keys: [(0, 0); MAX_LABELS], len: 1 };
        keys.keys[0] = (0, key(host, true));
        keys
    }

    /// `(depth, offset, key)` with depth 0 for the full host, deepest first.
    pub fn deepest_first(&self) -> impl Iterator<Item = (usize, usize, u64)> + '_ {
        let full = self.keys[self.len - 1].0;
        self.keys[..self.len].iter().rev().enumerate().map(move |(i, &(offset, key))| {
            // A host longer than MAX_LABELS has no depth-0 entry: its full name is not here.
            let depth = if full == 0 { i } else { i + 1 };
            (depth, offset as usize, key)
        })
    }

    /// Keys only, root-most first (for hash-only tables, where order does not matter).
    pub fn keys(&self) -> impl Iterator<Item = u64> + '_ {
        self.keys[..self.len].iter().map(|&(_, key)| key)
    }
}

/// A `Hasher` for maps keyed by [`key`] values, which are hashes already.
#[derive(Default)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0 = hash(bytes);
    }

    fn write_u64(&mut self, key: u64) {
        self.0 = key;
    }
}

/// A map keyed by [`key`] values.
pub type KeyMap<V> = std::collections::HashMap<u64, V, BuildHasherDefault<KeyHasher>>;

/// A table of host names looked up by [`key`] with the name checked on a hit, so a 64-bit
/// collision can never hand one host another's entry.
pub struct NameTable<V> {
    index: KeyMap<u32>,
    entries: Vec<NameEntry<V>>,
}

struct NameEntry<V> {
    name: Box<str>,
    value: V,
    /// The next entry whose name has the same key, if any.
    next: Option<u32>,
}

impl<V> Default for NameTable<V> {
    fn default() -> Self {
        NameTable { index: KeyMap::default(), entries: Vec::new() }
    }
}

impl<V: Default> NameTable<V> {
    /// The entry for `name`, created empty if missing. `ip` as for [`key`].
    pub fn entry(&mut self, name: &str, ip: bool) -> &mut V {
        let key = key(name, ip);
        let position = match self.find(key, name) {
            Some(position) => position,
            None => {
                let position = self.entries.len() as u32;
                let next = self.index.insert(key, position);
                self.entries.push(NameEntry { name: name.into(), value: V::default(), next });
                position
            }
        };
        &mut self.entries[position as usize].value
    }
}

impl<V> NameTable<V> {
    /// The entry filed under `key` whose name is `name`.
    pub fn get(&self, key: u64, name: &str) -> Option<&V> {
        self.find(key, name).map(|position| &self.entries[position as usize].value)
    }

    fn find(&self, key: u64, name: &str) -> Option<u32> {
        let mut position = *self.index.get(&key)?;
        loop {
            let entry = &self.entries[position as usize];
            if *entry.name == *name {
                return Some(position);
            }
            position = entry.next?;
        }
    }

    pub fn into_entries(self) -> impl Iterator<Item = (Box<str>, V)> {
        self.entries.into_iter().map(|entry| (entry.name, entry.value))
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|entry| &*entry.name)
    }

    pub fn get_mut_by_name(&mut self, name: &str, ip: bool) -> Option<&mut V> {
        let position = self.find(key(name, ip), name)?;
        Some(&mut self.entries[position as usize].value)
    }
}

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
    fn suffix_keys_match_the_keys_of_each_suffix() {
        let host = "www.bbc.co.uk";
        let found: Vec<_> = SuffixKeys::domain(host).deepest_first().collect();
        let expected: Vec<_> =
            suffixes(host).enumerate().map(|(depth, s)| (depth, host.len() - s.len(), key(s, false))).collect();
        assert_eq!(found, expected);
        assert_ne!(key("example.com", false), key("com.example", false));
        assert_eq!(SuffixKeys::ip("10.0.0.1").keys().collect::<Vec<_>>(), [key("10.0.0.1", true)]);
    }

    #[test]
    fn very_deep_hosts_keep_their_root_most_labels() {
        let host = format!("{}evil.example", "a.".repeat(40));
        let keys = SuffixKeys::domain(&host);
        let (depth, offset, key_of) = keys.deepest_first().last().unwrap();
        assert_eq!((&host[offset..], key_of), ("example", key("example", false)));
        assert!(depth > MAX_LABELS - 1);
        assert!(keys.deepest_first().any(|(_, o, k)| &host[o..] == "evil.example" && k == key("evil.example", false)));
    }

    #[test]
    fn hash_distinguishes_lengths_and_tails() {
        assert_ne!(hash(b"a"), hash(b"a\0"));
        assert_ne!(hash(b"example.com"), hash(b"example.co"));
        assert_eq!(hash(b"example.com"), hash(b"example.com"));
    }
}
