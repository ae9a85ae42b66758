//! Properties of canonicalisation and deciding, over generated input and the real crawl in
//! `requests.jsonl` of the shared test data (`SATCHEL_SHARED_DATA`, or `../shared/data`).

use proptest::prelude::*;
use satchel::canonical::CanonicalUrl;
use satchel::policy::{Policy, RequestKind};

fn url_like() -> impl Strategy<Value = String> {
    let scheme = prop_oneof!["http", "https", "ws", "wss", "HTTP", "javascript", "ftp", "blob:https"];
    let host = prop_oneof![
        "[a-z0-9-]{1,8}(\\.[a-z0-9-]{1,8}){0,3}",
        "[A-Za-z0-9.%-]{1,12}",
        "[0-9]{1,10}",
        "0x[0-9a-f]{1,8}(\\.[0-9]{1,3}){0,3}",
        "\\[[0-9a-f:]{2,12}\\]",
        "[a-zé\u{0435}\u{0430}]{1,6}\\.[a-z]{2,3}\\.?",
        "[a-z]{1,5}@[a-z]{1,5}\\.[a-z]{2}",
    ];
    let path = "(/[A-Za-z0-9._~%!$&()*+,;=:@'\\\\-]{0,6}){0,4}";
    let query = "(\\?[A-Za-z0-9=&%+.*!' -]{0,16})?";
    let fragment = "(#[a-z]{0,4})?";
    (scheme, host, path, query, fragment, "(:[0-9]{1,5})?")
        .prop_map(|(s, h, p, q, f, port)| format!("{s}://{h}{port}{p}{q}{f}"))
}

fn small_policy() -> Policy {
    let mut builder = Policy::builder();
    builder.add_list("p", "a.example\n.b.example/x?k=v*\n[block]\na.example/%62ad\n*\n10.0.0.1\n");
    builder.build()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn canonicalisation_is_idempotent(input in prop_oneof![url_like(), any::<String>()]) {
        if let Ok(once) = CanonicalUrl::parse(&input) {
            let text = once.to_string();
            let twice = CanonicalUrl::parse(&text).expect("a canonical URL parses again");
            prop_assert_eq!(twice.to_string(), text.clone());
            prop_assert_eq!(twice, once);
        }
    }

    #[test]
    fn fast_path_agrees_with_the_reference(input in url_like()) {
        let fast = CanonicalUrl::parse(&input).map(|u| u.to_string());
        let reference = CanonicalUrl::parse_reference(&input).map(|u| u.to_string());
        prop_assert_eq!(fast, reference);
    }

    #[test]
    fn deciding_never_panics(input in prop_oneof![url_like(), any::<String>()], page in url_like()) {
        let policy = small_policy();
        for kind in [RequestKind::Navigation, RequestKind::Subresource] {
            let _ = policy.decide(&input, kind);
            let _ = policy.decide_from(&input, kind, &page);
        }
        let _ = policy.decide_connect(&input, 443);
    }

    /// A `[block]` entry spoiled so that it cannot be read (a bad port, `*.`, text after it, a
    /// misspelt section) still blocks at least every URL it would have blocked, whatever the
    /// allow entries: a spoilt block line never fails open.
    #[test]
    fn a_spoilt_block_line_blocks_at_least_what_it_would_have(
        host in "[a-z]{1,5}\\.example",
        path in "(/[a-z]{1,3}){0,2}",
        query in "(\\?[ab]=[0-9]{1,2}|\\?a\\*)?",
        spoil in 0..5usize,
        allow_path in "(/[a-z]{1,3}){0,3}",
        url_host in prop_oneof!["", "www\\."],
        url_path in "(/[a-z]{1,3}){0,3}",
        url_query in "(\\?[ab0-9=&]{0,8})?",
    ) {
        let entry = format!("{host}{path}{query}");
        let (section, spoilt) = match spoil {
            0 => ("[block]", format!("{host}:99999{path}{query}")),
            1 => ("[block]", format!("*.{entry}")),
            2 => ("[block]", format!("{entry} oops")),
            3 => ("[block]", format!("{entry} uses: cdn.example")),
            _ => ("[blokc]", entry.clone()),
        };
        let lists = |section: &str, block: &str| {
            let mut builder = Policy::builder();
            builder.add_list("l", &format!("[allow]\n{host}\n{host}{allow_path}\n{section}\n{block}\n"));
            builder.build()
        };
        let (intended, written) = (lists("[block]", &entry), lists(section, &spoilt));
        let url = format!("https://{url_host}{host}{url_path}{url_query}");
        if !intended.decide(&url, RequestKind::Navigation).allows() {
            prop_assert!(!written.decide(&url, RequestKind::Navigation).allows(), "{spoilt} under {section} opens {url}");
        }
    }

    #[test]
    fn list_parsing_never_panics(text in "(\\[?[a-z*.:/?=&#%\\[\\] -]{0,24}\n){0,8}") {
        let mut builder = Policy::builder();
        builder.add_list("fuzz", &text);
        let policy = builder.build();
        let _ = policy.decide("https://a.example/x?k=v", RequestKind::Navigation);
    }
}

#[test]
fn fast_path_agrees_with_the_reference_on_a_real_crawl() {
    let data = std::env::var_os("SATCHEL_SHARED_DATA").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
        std::path::PathBuf::from,
    );
    let path = data.join("requests.jsonl");
    let crawl = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut checked = 0;
    for line in crawl.lines() {
        let request: serde_json::Value = serde_json::from_str(line).unwrap();
        for field in ["url", "frameUrl"] {
            let url = request[field].as_str().unwrap();
            let fast = CanonicalUrl::parse(url).map(|u| u.to_string());
            let reference = CanonicalUrl::parse_reference(url).map(|u| u.to_string());
            assert_eq!(fast, reference, "{url}");
            checked += 1;
        }
    }
    assert!(checked > 60_000);
}
