//! The concerning-terms matcher against the shipped lists, case by case from
//! `tests/data/alert-cases.tsv`: what a pupil might type, and what must (and must not) alert.

use satchel::alerts::{decoded_url, Matcher};

#[test]
fn the_shipped_lists_match_every_case_as_written() {
    let builder = Matcher::built_in();
    assert!(builder.errors().is_empty(), "{:?}", builder.errors());
    let matcher = builder.build();
    let cases = include_str!("data/alert-cases.tsv");
    let mut wrong = Vec::new();
    let mut checked = 0;
    for (number, line) in cases.lines().enumerate().filter(|(_, line)| !line.starts_with('#')).skip(1) {
        let (text, expected) =
            line.split_once('\t').unwrap_or_else(|| panic!("alert-cases.tsv:{}: text<TAB>expected", number + 1));
        let found = matcher.scan(&decoded_url(text));
        let got = found.first().map_or("-".to_owned(), |term| format!("{}:{}", term.category, term.severity.name()));
        if got != expected {
            wrong.push(format!(
                "alert-cases.tsv:{}: {text:?} gave {got} ({:?}), expected {expected}",
                number + 1,
                found.first().map(|t| &t.phrase)
            ));
        }
        checked += 1;
    }
    assert!(checked > 50, "the cases were read");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
