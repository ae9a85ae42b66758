//! Fuzzes the list parser: arbitrary list text through `PolicyBuilder::add_list` and `build`,
//! then a few fixed decisions on the resulting policy, which must all block when a `[block]`
//! line names no readable host (lists that cannot be used never open anything).
#![no_main]

use libfuzzer_sys::fuzz_target;
use satchel::policy::{Policy, RequestKind};

const URLS: &[&str] = &[
    "https://a.example/",
    "https://www.a.example/path/page?x=1",
    "https://a.example/watch?abc=1&v=2&flag",
    "http://2130706433/",
    "https://a.example/%2e%2e/x",
    "https://www.google.co.uk/search?q=x&safe=off",
    "https://www.youtube.com/watch?v=abc",
    "wss://a.example/socket",
    "blob:https://a.example/1234",
    "not a url",
];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut b = Policy::builder();
    b.add_list("fuzz", &text);
    let unusable = b.unusable().is_some();
    let p = b.build();
    for url in URLS {
        let opened = p.decide(url, RequestKind::Navigation).allows();
        assert!(!(unusable && opened), "lists with an unreadable [block] line opened {url}");
    }
    assert!(!(unusable && p.decide_connect("a.example", 443).allows()));
});
