//! Chromium's own URL-filter cases (`tests/data/chromium-filters.tsv`) through the library, with
//! lists read as `satchel check` reads them without `--strict`: a bad line is reported and its
//! fallback used. Every case must decide as Chrome does, except those marked as one of Satchel's
//! documented deviations, which must decide the other way; the tally is printed.

use std::collections::BTreeMap;
use std::path::PathBuf;

use satchel::policy::{Action, Policy, RequestKind, Verdict};

struct Case<'a> {
    line: usize,
    default: Action,
    entries: Vec<&'a str>,
    url: &'a str,
    chrome: Verdict,
    deviation: Option<&'a str>,
}

fn verdict(word: &str) -> Verdict {
    match word {
        "allow" => Verdict::Allow,
        "block" => Verdict::Block,
        other => panic!("unknown verdict {other}"),
    }
}

fn cases(text: &str) -> Vec<Case<'_>> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.starts_with('#') && !line.trim().is_empty())
        .map(|(index, line)| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert!((4..=5).contains(&fields.len()), "line {}: four or five columns: {line}", index + 1);
            let deviation = fields.get(4).copied().filter(|d| !d.is_empty());
            if let Some(name) = deviation {
                assert!(
                    ["scheme", "url", "ip", "refused"].contains(&name),
                    "line {}: unknown deviation {name}",
                    index + 1
                );
            }
            Case {
                line: index + 1,
                default: if verdict(fields[0]) == Verdict::Allow { Action::Allow } else { Action::Block },
                entries: fields[1].split(' ').collect(),
                url: fields[2],
                chrome: verdict(fields[3]),
                deviation,
            }
        })
        .collect()
}

/// The list file the entries make, and the verdict Satchel gives the URL under it.
fn decide(case: &Case<'_>) -> Verdict {
    let section = |sign: char| -> String {
        case.entries.iter().filter_map(|e| e.strip_prefix(sign)).map(|e| format!("{e}\n")).collect()
    };
    assert!(case.entries.iter().all(|e| e.starts_with(['+', '-'])), "line {}: entries start with + or -", case.line);
    let list = format!("[allow]\n{}[block]\n{}", section('+'), section('-'));
    let mut builder = Policy::builder();
    builder.add_list("case.list", &list).default_action(case.default);
    let policy = builder.build();
    let websocket = ["ws:", "wss:"].iter().any(|s| case.url.get(..s.len()).is_some_and(|p| p.eq_ignore_ascii_case(s)));
    let kind = if websocket { RequestKind::Subresource } else { RequestKind::Navigation };
    match policy.decide(case.url, kind).verdict {
        Verdict::Rewrite => Verdict::Allow,
        other => other,
    }
}

#[test]
fn chromium_filter_cases_decide_as_chrome_does_except_documented_deviations() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/chromium-filters.tsv");
    let text = std::fs::read_to_string(&path).unwrap();
    let cases = cases(&text);
    let mut agree = 0;
    let mut deviations: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for case in &cases {
        let satchel = decide(case);
        match case.deviation {
            None if satchel == case.chrome => agree += 1,
            Some(name) if satchel != case.chrome => *deviations.entry(name).or_default() += 1,
            _ => failures.push(format!(
                "line {}: {} for {}: Chrome {:?}, Satchel {satchel:?}{}",
                case.line,
                case.entries.join(" "),
                case.url,
                case.chrome,
                case.deviation
                    .map(|d| format!(" (marked as the {d} deviation, so Satchel should differ)"))
                    .unwrap_or_default(),
            )),
        }
    }
    let deviated: usize = deviations.values().sum();
    println!(
        "{agree} of {} Chromium cases decide as Chrome does; {deviated} are documented deviations {deviations:?}",
        cases.len()
    );
    assert!(cases.len() > 400, "the cases were read");
    assert!(failures.is_empty(), "{} of {} cases fail:\n{}", failures.len(), cases.len(), failures.join("\n"));
}
