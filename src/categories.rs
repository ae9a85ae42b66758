//! Categories: large domain lists (UT1 format: one domain per line, a folder per category)
//! compiled into a compact index for open-web profiles.
//!
//! The index stores no strings. Each listed domain becomes a 64-bit hash in an open-addressing
//! table whose slot also names a **category set** (the categories listing that domain; sets are
//! deduplicated, so a slot holds a 16-bit id). A host is looked up by hashing each of its
//! suffixes on label boundaries: `a.b.example.com` probes `a.b.example.com`, `b.example.com`,
//! `example.com` (and `com` only if some single-label name was listed). A listed domain covers
//! its subdomains. Two different names sharing a 64-bit hash is possible but vanishingly rare
//! (about one chance in 10^13 per lookup against a million names).

use crate::canonical::{canonical_host, HostKind};
use crate::hostname::{self, SuffixKeys};

/// At most 128 categories (UT1 has 66), as bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CategorySet(u128);

pub type CategoryId = u8;

impl CategorySet {
    pub const EMPTY: CategorySet = CategorySet(0);
    pub const MAX_CATEGORIES: usize = 128;

    pub fn with(self, id: CategoryId) -> Self {
        CategorySet(self.0 | 1u128 << id)
    }

    pub fn union(self, other: Self) -> Self {
        CategorySet(self.0 | other.0)
    }

    pub fn intersection(self, other: Self) -> Self {
        CategorySet(self.0 & other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The lowest-numbered category in the set.
    pub fn first(self) -> Option<CategoryId> {
        (!self.is_empty()).then(|| self.0.trailing_zeros() as CategoryId)
    }

    pub fn ids(self) -> impl Iterator<Item = CategoryId> {
        (0..Self::MAX_CATEGORIES as u8).filter(move |id| self.0 & (1u128 << id) != 0)
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CategoryError {
    #[error("{0} categories; Satchel can hold {max} at most", max = CategorySet::MAX_CATEGORIES)]
    TooManyCategories(usize),
    #[error("more than 65535 different combinations of categories")]
    TooManyCombinations,
}

/// Collects domains per category, then [`CategoryIndexBuilder::build`]s the index.
#[derive(Default)]
pub struct CategoryIndexBuilder {
    names: Vec<String>,
    entries: Vec<(u64, CategoryId)>,
    single_label: bool,
}

impl CategoryIndexBuilder {
    /// Registers a category (or finds it) and returns its id.
    pub fn category(&mut self, name: &str) -> Result<CategoryId, CategoryError> {
        if let Some(id) = self.names.iter().position(|n| n == name) {
            return Ok(id as CategoryId);
        }
        if self.names.len() == CategorySet::MAX_CATEGORIES {
            return Err(CategoryError::TooManyCategories(self.names.len() + 1));
        }
        self.names.push(name.to_owned());
        Ok((self.names.len() - 1) as CategoryId)
    }

    /// Adds a `domains` file's text: one domain per line; blank lines, `#` comments and lines
    /// that are not host names are skipped. Returns how many domains were added.
    pub fn add_domains(&mut self, category: CategoryId, text: &str) -> usize {
        let before = self.entries.len();
        self.entries.reserve(text.len() / 16);
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let plain = line.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
            let owned;
            let domain = if plain && !line.starts_with('.') && !line.ends_with('.') {
                line
            } else {
                match canonical_host(line) {
                    Some((host, HostKind::Domain)) => {
                        owned = host;
                        &owned
                    }
                    _ => continue,
                }
            };
            self.single_label |= !domain.contains('.');
            self.entries.push((slot_hash(domain), category));
        }
        self.entries.len() - before
    }

    pub fn build(self) -> Result<CategoryIndex, CategoryError> {
        let capacity = (self.entries.len() * 4 / 3).max(16);
        let mut slots = vec![0u64; capacity];
        let mut set_ids = vec![0u16; capacity];
        let mut sets = SetTable::default();
        // Most domains are in one category: look those sets up once, not once per domain.
        let single: Vec<u16> =
            (0..self.names.len() as u8).map(|id| sets.id_of(CategorySet::EMPTY.with(id))).collect::<Result<_, _>>()?;
        for (hash, category) in self.entries {
            let mut slot = home_slot(hash, capacity);
            loop {
                if slots[slot] == 0 {
                    slots[slot] = hash;
                    set_ids[slot] = single[category as usize];
                    break;
                }
                if slots[slot] == hash {
                    let current = sets.sets[set_ids[slot] as usize];
                    set_ids[slot] = sets.id_of(current.with(category))?;
                    break;
                }
                slot = if slot + 1 == capacity { 0 } else { slot + 1 };
            }
        }
        let sets = sets.sets;
        Ok(CategoryIndex { names: self.names, slots, set_ids, sets, single_label: self.single_label })
    }
}

/// Deduplicated category sets, so a table slot needs only a 16-bit id.
struct SetTable {
    sets: Vec<CategorySet>,
    ids: std::collections::HashMap<CategorySet, u16>,
}

impl Default for SetTable {
    fn default() -> Self {
        SetTable { sets: vec![CategorySet::EMPTY], ids: [(CategorySet::EMPTY, 0)].into() }
    }
}

impl SetTable {
    fn id_of(&mut self, set: CategorySet) -> Result<u16, CategoryError> {
        if let Some(&id) = self.ids.get(&set) {
            return Ok(id);
        }
        let id = u16::try_from(self.sets.len()).map_err(|_| CategoryError::TooManyCombinations)?;
        self.sets.push(set);
        self.ids.insert(set, id);
        Ok(id)
    }
}

/// The compiled index. Immutable; share it behind an `Arc` between policies.
pub struct CategoryIndex {
    names: Vec<String>,
    slots: Vec<u64>,
    set_ids: Vec<u16>,
    sets: Vec<CategorySet>,
    single_label: bool,
}

impl CategoryIndex {
    pub fn name(&self, id: CategoryId) -> &str {
        &self.names[id as usize]
    }

    pub fn id(&self, name: &str) -> Option<CategoryId> {
        self.names.iter().position(|n| n == name).map(|i| i as CategoryId)
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The categories listing `host` (lower-case ASCII) or any parent domain of it.
    pub fn lookup(&self, host: &str) -> CategorySet {
        self.lookup_keys(&SuffixKeys::domain(host))
    }

    /// [`CategoryIndex::lookup`] with the host's suffix keys already computed.
    pub fn lookup_keys(&self, keys: &SuffixKeys) -> CategorySet {
        // The root-most key is the bare top-level domain: skip it unless one was listed.
        let skip = usize::from(!self.single_label);
        keys.keys().skip(skip).fold(CategorySet::EMPTY, |found, key| found.union(self.probe(key)))
    }

    fn probe(&self, hash: u64) -> CategorySet {
        let mut slot = home_slot(hash, self.slots.len());
        loop {
            match self.slots[slot] {
                0 => return CategorySet::EMPTY,
                stored if stored == hash => return self.sets[self.set_ids[slot] as usize],
                _ => slot = if slot + 1 == self.slots.len() { 0 } else { slot + 1 },
            }
        }
    }

    /// Bytes held by the index's tables.
    pub fn memory_bytes(&self) -> usize {
        self.slots.len() * 8
            + self.set_ids.len() * 2
            + self.sets.len() * 16
            + self.names.iter().map(|n| n.len() + 24).sum::<usize>()
    }

    /// Distinct domains in the index.
    pub fn len(&self) -> usize {
        self.slots.iter().filter(|&&s| s != 0).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Zero marks an empty slot; keys are never zero.
fn slot_hash(name: &str) -> u64 {
    hostname::key(name, false)
}

/// Maps a hash onto `0..capacity` by its high bits (no power-of-two table needed).
fn home_slot(hash: u64, capacity: usize) -> usize {
    ((hash as u128 * capacity as u128) >> 64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> CategoryIndex {
        let mut builder = CategoryIndexBuilder::default();
        let games = builder.category("games").unwrap();
        let chat = builder.category("chat").unwrap();
        assert_eq!(builder.add_domains(games, "# games\nplay.example\n\nBoth.Example\nnot a host\n"), 2);
        builder.add_domains(chat, "both.example\ntalk.example\n");
        builder.build().unwrap()
    }

    #[test]
    fn listed_domain_covers_its_subdomains_on_label_boundaries() {
        let index = index();
        let games = CategorySet::EMPTY.with(index.id("games").unwrap());
        assert_eq!(index.lookup("play.example"), games);
        assert_eq!(index.lookup("www.play.example"), games);
        assert_eq!(index.lookup("display.example"), CategorySet::EMPTY);
        assert_eq!(index.lookup("example"), CategorySet::EMPTY);
    }

    #[test]
    fn a_domain_in_two_categories_carries_both() {
        let index = index();
        let both: Vec<_> = index.lookup("a.both.example").ids().map(|id| index.name(id).to_owned()).collect();
        assert_eq!(both, ["games", "chat"]);
        assert_eq!(index.len(), 3);
    }

    #[test]
    fn too_many_categories_is_an_error() {
        let mut builder = CategoryIndexBuilder::default();
        for n in 0..128 {
            builder.category(&format!("c{n}")).unwrap();
        }
        assert_eq!(builder.category("one-more"), Err(CategoryError::TooManyCategories(129)));
    }
}
