//! The policy decision benchmark: the real URL mix of `requests.jsonl` against a 500-entry
//! list plus category lists of at least 1,000,000 domains (UT1's real ones, padded with
//! generated names), and the same URLs through Brave's `adblock` engine loaded with the same
//! domains, in one run. Prints a table; run with `make bench` (or `cargo bench --bench policy`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use satchel::categories::{CategoryIndex, CategoryIndexBuilder, CategorySet};
use satchel::policy::{Policy, RequestKind};

const ALLOWLIST_ENTRIES: usize = 500;
const TARGET_DOMAINS: usize = 1_000_000;
/// Each URL is decided this many times in a row and the mean taken, so that the clock's own
/// cost (about 20 ns a reading) does not swamp a ~100 ns decision.
const REPEATS: u32 = 16;

struct Request {
    url: String,
    frame_url: String,
    kind: String,
}

fn main() {
    let data = std::env::var_os("SATCHEL_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    let requests = load_requests(&data.join("requests.jsonl"));
    let categories = load_category_texts(&data.join("ut1"));
    let real_domains: usize = categories.iter().map(|(_, text)| text.lines().count()).sum();
    let padding = padding_domains(TARGET_DOMAINS.saturating_sub(real_domains));
    let total_domains = real_domains + padding.lines().count();
    let list = allowlist(&requests);

    println!("Satchel policy benchmark: {} requests; {} list entries; {} category domains ({} real UT1 + {} generated) in {} categories",
        requests.len(), ALLOWLIST_ENTRIES, total_domains, real_domains, total_domains - real_domains, categories.len() + 1);

    // Index build, from text already in memory (reading files is not the index's cost).
    let mut build_times = Vec::new();
    let mut index = None;
    for _ in 0..5 {
        let started = Instant::now();
        let built = build_index(&categories, &padding);
        build_times.push(started.elapsed());
        index = Some(built);
    }
    let index = Arc::new(index.expect("built at least once"));
    build_times.sort();
    let build = build_times[build_times.len() / 2];
    let per_million = build.as_secs_f64() * 1e3 * 1e6 / total_domains as f64;
    let memory = index.memory_bytes() as f64 / 1e6;

    let mut blocked = CategorySet::EMPTY;
    for id in 0..index.names().len() as u8 {
        if index.name(id) != "child" {
            blocked = blocked.with(id);
        }
    }
    let mut builder = Policy::builder();
    builder
        .add_list("bench.list", &list)
        .default_action(satchel::policy::Action::Allow)
        .block_categories(index.clone(), blocked);
    assert!(builder.errors().is_empty(), "{:?}", builder.errors());
    let policy = builder.build();

    let satchel_times = time_each(&requests, |r| {
        let kind = if r.kind == "document" { RequestKind::Navigation } else { RequestKind::Subresource };
        std::hint::black_box(policy.decide(&r.url, kind).verdict);
    });
    // What the parts cost: canonicalising alone, and deciding without the category index.
    let parse_times = time_each(&requests, |r| {
        std::hint::black_box(satchel::canonical::CanonicalUrl::parse(&r.url).is_ok());
    });
    let mut list_only = Policy::builder();
    list_only.add_list("bench.list", &list).default_action(satchel::policy::Action::Allow);
    let list_only = list_only.build();
    let list_only_times = time_each(&requests, |r| {
        let kind = if r.kind == "document" { RequestKind::Navigation } else { RequestKind::Subresource };
        std::hint::black_box(list_only.decide(&r.url, kind).verdict);
    });
    let verdicts: HashMap<String, usize> = requests.iter().fold(HashMap::new(), |mut counts, r| {
        let kind = if r.kind == "document" { RequestKind::Navigation } else { RequestKind::Subresource };
        *counts.entry(format!("{:?}", policy.decide(&r.url, kind).verdict).to_lowercase()).or_default() += 1;
        counts
    });

    println!("building the adblock engine with the same domains and list (this takes a while)...");
    let started = Instant::now();
    let engine = adblock_engine(&categories, &padding, &list);
    let adblock_build = started.elapsed();
    let adblock_times = time_each(&requests, |r| {
        if let Ok(request) = adblock::request::Request::new(&r.url, &r.frame_url, &r.kind, "GET") {
            std::hint::black_box(engine.check_network_request(&request).should_block());
        }
    });
    let adblock_blocked = requests
        .iter()
        .filter(|r| {
            adblock::request::Request::new(&r.url, &r.frame_url, &r.kind, "GET")
                .is_ok_and(|q| engine.check_network_request(&q).should_block())
        })
        .count();

    let (s50, s99) = percentiles(&satchel_times);
    let (a50, a99) = percentiles(&adblock_times);
    println!();
    println!("| per URL, parse + decide     | p50       | p99       | goal                 |");
    println!("|-----------------------------|-----------|-----------|----------------------|");
    println!("| satchel Policy::decide      | {:>6.0} ns | {:>6.0} ns | p50 ≤ 150, p99 ≤ 1000 |", s50, s99);
    let (p50, p99) = percentiles(&parse_times);
    println!("|   of which canonicalising   | {:>6.0} ns | {:>6.0} ns |                      |", p50, p99);
    let (l50, l99) = percentiles(&list_only_times);
    println!("|   without the category index | {:>6.0} ns | {:>6.0} ns |                      |", l50, l99);
    println!("| adblock check_network_request | {:>6.0} ns | {:>6.0} ns |                      |", a50, a99);
    println!("| adblock ÷ satchel           | {:>8.1}× | {:>8.1}× | ≥ 10× at p50         |", a50 / s50, a99 / s99);
    println!();
    println!("| index                       | figure                    | goal                      |");
    println!("|-----------------------------|---------------------------|---------------------------|");
    println!(
        "| build (median of 5)         | {:>7.1} ms ({:>5.1} ms/M)  | ≤ 150 ms per M domains     |",
        build.as_secs_f64() * 1e3,
        per_million
    );
    println!(
        "| memory (tables)             | {:>7.1} MB ({:>5.1} MB/M)  | ≤ 20 MB per M domains      |",
        memory,
        memory * 1e6 / total_domains as f64
    );
    println!(
        "| adblock engine build        | {:>7.1} s                 |                           |",
        adblock_build.as_secs_f64()
    );
    println!();
    println!("satchel verdicts: {verdicts:?}; adblock blocked {adblock_blocked} of {}", requests.len());
}

fn time_each(requests: &[Request], mut decide: impl FnMut(&Request)) -> Vec<f64> {
    for request in requests.iter().take(2000) {
        decide(request); // warm caches and branch predictors
    }
    requests
        .iter()
        .map(|request| {
            let started = Instant::now();
            for _ in 0..REPEATS {
                decide(request);
            }
            started.elapsed().as_nanos() as f64 / REPEATS as f64
        })
        .collect()
}

fn percentiles(times: &[f64]) -> (f64, f64) {
    let mut sorted = times.to_vec();
    sorted.sort_by(f64::total_cmp);
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    (at(0.50), at(0.99))
}

fn load_requests(path: &std::path::Path) -> Vec<Request> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).expect("one JSON object per line");
            let field = |name: &str| value[name].as_str().unwrap_or_default().to_owned();
            Request { url: field("url"), frame_url: field("frameUrl"), kind: field("cpt") }
        })
        .collect()
}

fn load_category_texts(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut categories: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let bytes = std::fs::read(path.join("domains")).ok()?;
            Some((path.file_name()?.to_string_lossy().into_owned(), String::from_utf8_lossy(&bytes).into_owned()))
        })
        .collect();
    categories.sort();
    categories
}

/// Names that cannot collide with real ones, to reach a million domains.
fn padding_domains(count: usize) -> String {
    (0..count).map(|i| format!("p{:x}.padding-{}.test\n", satchel::hostname::hash(&i.to_le_bytes()), i % 997)).collect()
}

fn build_index(categories: &[(String, String)], padding: &str) -> CategoryIndex {
    let mut builder = CategoryIndexBuilder::default();
    for (name, text) in categories {
        let id = builder.category(name).expect("fewer than 128 categories");
        builder.add_domains(id, text);
    }
    let id = builder.category("padding").expect("fewer than 128 categories");
    builder.add_domains(id, padding);
    builder.build().expect("index builds")
}

/// 500 entries from the crawl's own sites, so a realistic share of requests meets a rule:
/// the most requested hosts as allow entries (some with their resource hosts), a tenth of
/// them as path blocks.
fn allowlist(requests: &[Request]) -> String {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for request in requests {
        if let Ok(url) = url::Url::parse(&request.url) {
            if let Some(host) = url.host_str() {
                if let Some(site) = psl::domain_str(host) {
                    *counts.entry(site.to_owned()).or_default() += 1;
                }
            }
        }
    }
    let mut hosts: Vec<(String, usize)> = counts.into_iter().filter(|(h, _)| h.contains('.')).collect();
    hosts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut list = String::from("[allow]\n");
    let allow = ALLOWLIST_ENTRIES * 9 / 10;
    for (host, _) in hosts.iter().take(allow) {
        list.push_str(host);
        list.push('\n');
    }
    list.push_str("[block]\n");
    for (host, _) in hosts.iter().take(ALLOWLIST_ENTRIES - allow) {
        list.push_str(&format!("{host}/ads\n"));
    }
    list
}

fn adblock_engine(categories: &[(String, String)], padding: &str, list: &str) -> adblock::Engine {
    let mut rules = String::with_capacity(TARGET_DOMAINS * 24);
    let domains =
        categories.iter().filter(|(name, _)| name != "child").flat_map(|(_, t)| t.lines()).chain(padding.lines());
    for domain in domains.map(str::trim).filter(|d| !d.is_empty() && !d.starts_with('#')) {
        rules.push_str("||");
        rules.push_str(domain);
        rules.push_str("^\n");
    }
    let mut section_block = false;
    for line in list.lines() {
        match line {
            "[allow]" => section_block = false,
            "[block]" => section_block = true,
            entry if section_block => rules.push_str(&format!("||{entry}\n")),
            entry => rules.push_str(&format!("@@||{entry}^\n")),
        }
    }
    let mut set = adblock::lists::FilterSet::new(false);
    set.add_filter_list(rules, adblock::lists::ParseOptions::default());
    adblock::Engine::new_with_filter_set(set)
}
