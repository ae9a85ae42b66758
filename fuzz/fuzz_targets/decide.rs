//! Fuzzes decisions: the input is list text, a newline, then a URL (after the last newline, so
//! the list can have sections); decides that URL every way
//! the policy offers and checks that `CanonicalUrl::parse` (fast path) agrees with
//! `CanonicalUrl::parse_reference` (the `url` crate path).
#![no_main]

use libfuzzer_sys::fuzz_target;
use satchel::canonical::CanonicalUrl;
use satchel::policy::{Policy, RequestKind};

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let (text, url) = input.rsplit_once('\n').unwrap_or(("", &input));

    let mut b = Policy::builder();
    b.add_list("fuzz", text);
    let p = b.build();

    for kind in [RequestKind::Navigation, RequestKind::Subresource] {
        let _ = p.decide(url, kind);
        let _ = p.decide_from(url, kind, "https://a.example/");
    }
    let _ = p.decide_connect(url, 443);
    let _ = p.decide_subresource_as_proxy(url);

    let fast = CanonicalUrl::parse(url).map(|u| u.to_string());
    let reference = CanonicalUrl::parse_reference(url).map(|u| u.to_string());
    assert_eq!(fast, reference, "parse and parse_reference disagree on {url:?}");
});
