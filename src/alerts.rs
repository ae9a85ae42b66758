//! Concerning terms: the phrases that, searched for or found in an address, tell the
//! safeguarding lead a child may be at risk. Pure: lists in, matches out.
//!
//! A **term** is a phrase with a **category** (the list it came from) and a **severity**
//! (`urgent`: alert at once; `review`: the alerts list and the daily digest). Text and phrases
//! are both reduced to a **skeleton** before matching: lower case, accents off, look-alike
//! digits and symbols read as letters (`k1ll` as `kill`, `mys3lf` as `myself`), `i` and `l`
//! as one letter (a `1` may stand for either), runs of a letter as one (`killl`), and
//! punctuation as spaces. A phrase matches where its letters, spaces removed, run from the
//! start of a word to the end of one (`killmyself`, `kill   my self`, never `skill myself`);
//! a phrase ending in `*` may end inside a word.

use std::fmt;
use std::sync::Arc;

use aho_corasick::AhoCorasick;

/// The starter lists shipped with Satchel (`allowlists/alerts/`), by category.
pub const BUILT_IN: &[(&str, &str)] = &[
    ("suicide-self-harm", include_str!("../allowlists/alerts/suicide-self-harm.list")),
    ("sexual-content", include_str!("../allowlists/alerts/sexual-content.list")),
    ("violence-weapons", include_str!("../allowlists/alerts/violence-weapons.list")),
    ("extremism", include_str!("../allowlists/alerts/extremism.list")),
    ("bullying-abuse", include_str!("../allowlists/alerts/bullying-abuse.list")),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Urgent,
    Review,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Urgent => "urgent",
            Severity::Review => "review",
        }
    }

    pub fn parse(name: &str) -> Option<Severity> {
        match name {
            "urgent" => Some(Severity::Urgent),
            "review" => Some(Severity::Review),
            _ => None,
        }
    }
}

/// One phrase to look for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Term {
    pub phrase: String,
    pub category: Arc<str>,
    pub severity: Severity,
}

/// A line of a list that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadLine {
    pub file: String,
    pub line: usize,
    pub why: &'static str,
}

impl fmt::Display for BadLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.why)
    }
}

#[derive(Default)]
pub struct MatcherBuilder {
    terms: Vec<Term>,
    errors: Vec<BadLine>,
}

impl MatcherBuilder {
    /// Adds a list file: `[urgent]` and `[review]` sections of one phrase a line, `#` comments.
    pub fn add_list(&mut self, category: &str, file: &str, text: &str) {
        let category: Arc<str> = category.into();
        let mut severity = None;
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                severity = Severity::parse(section.trim());
                if severity.is_none() {
                    self.errors.push(BadLine {
                        file: file.into(),
                        line: index + 1,
                        why: "sections are [urgent] and [review]",
                    });
                }
                continue;
            }
            match severity {
                Some(severity) => self
                    .add(line, &category, severity)
                    .unwrap_or_else(|why| self.errors.push(BadLine { file: file.into(), line: index + 1, why })),
                None => self.errors.push(BadLine {
                    file: file.into(),
                    line: index + 1,
                    why: "a phrase before any [urgent] or [review] section",
                }),
            }
        }
    }

    /// Adds one phrase (a school's own term from the console).
    pub fn add(&mut self, phrase: &str, category: &Arc<str>, severity: Severity) -> Result<(), &'static str> {
        let skeleton = Skeleton::of(phrase.trim_end_matches('*'));
        // Shorter than three letters, a phrase would match ordinary words everywhere.
        if skeleton.letters.chars().count() < 3 {
            return Err("a phrase needs at least three letters");
        }
        self.terms.push(Term { phrase: phrase.trim().to_owned(), category: Arc::clone(category), severity });
        Ok(())
    }

    pub fn errors(&self) -> &[BadLine] {
        &self.errors
    }

    pub fn build(self) -> Matcher {
        let patterns: Vec<String> =
            self.terms.iter().map(|term| Skeleton::of(term.phrase.trim_end_matches('*')).letters).collect();
        let automaton = AhoCorasick::new(&patterns).expect("skeletons are short plain strings");
        Matcher { automaton, terms: self.terms }
    }
}

/// All the terms, ready to scan text with.
pub struct Matcher {
    automaton: AhoCorasick,
    terms: Vec<Term>,
}

impl Matcher {
    pub fn builder() -> MatcherBuilder {
        MatcherBuilder::default()
    }

    /// Satchel's starter lists.
    pub fn built_in() -> MatcherBuilder {
        let mut builder = Matcher::builder();
        for (category, text) in BUILT_IN {
            builder.add_list(category, &format!("allowlists/alerts/{category}.list"), text);
        }
        builder
    }

    /// The terms found in `text`, most severe first, each once.
    pub fn scan(&self, text: &str) -> Vec<&Term> {
        let skeleton = Skeleton::of(text);
        let mut found: Vec<&Term> = self
            .automaton
            .find_overlapping_iter(&skeleton.letters)
            .map(|hit| (hit, &self.terms[hit.pattern().as_usize()]))
            .filter(|(hit, term)| {
                skeleton.starts_word(hit.start()) && (term.phrase.ends_with('*') || skeleton.ends_word(hit.end()))
            })
            .map(|(_, term)| term)
            .collect();
        found.sort_by(|a, b| (a.severity, &a.category, &a.phrase).cmp(&(b.severity, &b.category, &b.phrase)));
        found.dedup();
        found
    }
}

/// Text as the matcher reads it: the skeletons of its words run together, with where each
/// word starts and ends.
struct Skeleton {
    letters: String,
    starts: Vec<usize>,
    ends: Vec<usize>,
}

impl Skeleton {
    fn of(text: &str) -> Skeleton {
        let mut skeleton =
            Skeleton { letters: String::with_capacity(text.len()), starts: Vec::new(), ends: Vec::new() };
        let mut in_word = false;
        // Runs are folded across words too, so letters spelt out one by one (`k i l l`) read
        // as the word; a word whose first letter folds into the last one starts on it.
        let mut last = None;
        for c in text.chars().flat_map(char::to_lowercase) {
            match fold(c) {
                Some(letter) => {
                    let repeated = last == Some(letter);
                    if !in_word {
                        let start =
                            if repeated { skeleton.letters.len() - letter.len_utf8() } else { skeleton.letters.len() };
                        skeleton.starts.push(start);
                        in_word = true;
                    }
                    if !repeated {
                        skeleton.letters.push(letter);
                        last = Some(letter);
                    }
                }
                None if in_word => {
                    skeleton.ends.push(skeleton.letters.len());
                    in_word = false;
                }
                None => {}
            }
        }
        if in_word {
            skeleton.ends.push(skeleton.letters.len());
        }
        skeleton.starts.dedup();
        skeleton
    }

    fn starts_word(&self, at: usize) -> bool {
        self.starts.binary_search(&at).is_ok()
    }

    fn ends_word(&self, at: usize) -> bool {
        self.ends.binary_search(&at).is_ok()
    }
}

/// A character's letter in the skeleton, or `None` for a separator.
fn fold(c: char) -> Option<char> {
    Some(match c {
        'a' | '4' | '@' | 'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' | 'ā' => 'a',
        'b' | '8' => 'b',
        'c' | 'ç' => 'c',
        'e' | '3' | '€' | 'è' | 'é' | 'ê' | 'ë' | 'ē' => 'e',
        'i' | 'l' | '1' | '!' | '|' | 'ì' | 'í' | 'î' | 'ï' | 'ł' => 'i',
        'o' | '0' | 'ò' | 'ó' | 'ô' | 'ö' | 'õ' | 'ø' => 'o',
        's' | '5' | '$' | 'ß' => 's',
        't' | '7' | '+' => 't',
        'u' | 'ù' | 'ú' | 'û' | 'ü' => 'u',
        'w' | 'ŵ' | 'ẁ' | 'ẃ' | 'ẅ' => 'w',
        'y' | 'ŷ' | 'ỳ' | 'ý' | 'ÿ' => 'y',
        'n' | 'ñ' => 'n',
        c if c.is_alphanumeric() => c,
        _ => return None,
    })
}

/// An address as words: escapes decoded, `+` read as a space (the matcher reads the
/// punctuation between words as spaces).
pub fn decoded_url(url: &str) -> String {
    crate::canonical::decode_component(&url.replace('+', " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(list: &str) -> Matcher {
        let mut builder = Matcher::builder();
        builder.add_list("test", "test.list", list);
        assert!(builder.errors().is_empty(), "{:?}", builder.errors());
        builder.build()
    }

    #[test]
    fn bad_lines_name_their_file_and_line() {
        let mut builder = Matcher::builder();
        builder.add_list("test", "school.list", "too early\n[urgent]\nok phrase\nab\n[later]\n");
        let errors: Vec<String> = builder.errors().iter().map(ToString::to_string).collect();
        assert_eq!(
            errors,
            [
                "school.list:1: a phrase before any [urgent] or [review] section",
                "school.list:4: a phrase needs at least three letters",
                "school.list:5: sections are [urgent] and [review]"
            ]
        );
    }

    #[test]
    fn the_most_severe_match_comes_first_and_each_term_once() {
        let matcher = matcher("[review]\nsad all the time\n[urgent]\nwant to die\n");
        let found = matcher.scan("sad all the time, want to die, want to die");
        assert_eq!(
            found.iter().map(|t| (t.phrase.as_str(), t.severity)).collect::<Vec<_>>(),
            [("want to die", Severity::Urgent), ("sad all the time", Severity::Review)]
        );
    }

    #[test]
    fn a_star_lets_a_phrase_end_inside_a_word() {
        let matcher = matcher("[urgent]\nsuicid*\n[review]\ngun\n");
        assert_eq!(matcher.scan("suicidal thoughts").len(), 1);
        assert!(matcher.scan("gunter the penguin").is_empty(), "gun without a star is a whole word");
        assert!(matcher.scan("begun").is_empty());
    }

    #[test]
    fn every_built_in_list_loads() {
        let builder = Matcher::built_in();
        assert!(builder.errors().is_empty(), "{:?}", builder.errors());
        assert!(builder.build().terms.len() > 100);
    }
}
