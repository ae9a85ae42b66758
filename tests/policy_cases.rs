//! Data-driven precedence and hardening cases (`tests/data/precedence.*`) through the library,
//! the shared public corpus through `satchel check`, and categories over the real UT1 data.

use std::path::PathBuf;
use std::process::Command;

use satchel::policy::{Policy, RequestKind, Verdict};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

/// The shared test data beside the checkout (CI clones with `shared/` next to it).
fn shared_data() -> PathBuf {
    let dir = std::env::var_os("SATCHEL_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    assert!(dir.is_dir(), "shared test data not found at {}; set SATCHEL_SHARED_DATA", dir.display());
    dir
}

fn satchel_check(args: &[&str], stdin: &str) -> (i32, String, String) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_satchel"))
        .arg("check")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("satchel runs");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn precedence_and_hardening_cases_decide_as_written() {
    let mut builder = Policy::builder();
    builder.add_list("precedence.list", &std::fs::read_to_string(data("precedence.list")).unwrap());
    assert_eq!(builder.errors(), &[], "the case list itself is valid");
    let policy = builder.build();
    let cases = std::fs::read_to_string(data("precedence.tsv")).unwrap();
    let mut failures = Vec::new();
    let mut count = 0;
    for line in cases.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split('\t').collect();
        let (kind, url, expected) = (fields[0], fields[1], fields[2]);
        let decision = match kind {
            "nav" => policy.decide(url, RequestKind::Navigation),
            "sub" => policy.decide(url, RequestKind::Subresource),
            "proxy" => policy.decide_subresource_as_proxy(url),
            "connect" => {
                let (host, port) = url.rsplit_once(':').unwrap();
                policy.decide_connect(host, port.parse().unwrap())
            }
            other => panic!("unknown kind {other}"),
        };
        let verdict = format!("{:?}", decision.verdict).to_lowercase();
        let reason = decision.reason.to_string();
        if verdict != expected || fields.get(3).is_some_and(|want| !reason.contains(want)) {
            failures.push(format!(
                "{kind} {url}: got {verdict} ({reason}), want {expected} {}",
                fields.get(3).unwrap_or(&"")
            ));
        }
        count += 1;
    }
    assert!(count > 50, "cases were read");
    assert!(failures.is_empty(), "{} of {count} cases failed:\n{}", failures.len(), failures.join("\n"));
}

/// The public corpus: `safe:ENGINE` means a rewrite whose query forces that engine's safe
/// search; `youtube` means not blocked and restricted by header or safe address.
#[test]
fn shared_corpus_through_satchel_check() {
    let dir = shared_data();
    let cases = std::fs::read_to_string(dir.join("policy-cases.tsv")).unwrap();
    let cases: Vec<(&str, &str)> = cases.lines().filter_map(|l| l.split_once('\t')).collect();
    let urls: String = cases.iter().map(|(url, _)| format!("{url}\n")).collect();
    let list = dir.join("policy-list.txt");
    let (status, stdout, stderr) = satchel_check(&["--strict", "--list", list.to_str().unwrap()], &urls);
    assert_eq!(status, 0, "{stderr}");
    let outputs: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(outputs.len(), cases.len(), "one object per URL");
    let mut failures = Vec::new();
    for ((url, expected), out) in cases.iter().zip(&outputs) {
        assert_eq!(out["url"], *url, "in order, URL as given");
        let verdict = out["verdict"].as_str().unwrap();
        let location = out["location"].as_str().unwrap_or("");
        let ok = match *expected {
            "allow" | "block" => verdict == *expected,
            "safe:google" => verdict == "rewrite" && forces(location, "safe=active&ssui=on", &["safe", "ssui"]),
            "safe:bing" => verdict == "rewrite" && forces(location, "adlt=strict", &["adlt"]),
            "safe:ddg" => {
                verdict == "rewrite"
                    && forces(location, "kp=1", &["kp"])
                    && !location.to_lowercase().contains("safeoff")
            }
            "youtube" => {
                verdict != "block"
                    && (out["headers"]["YouTube-Restrict"] == "Strict" || out["connect_to"] == "restrict.youtube.com")
            }
            other => panic!("unknown expectation {other}"),
        };
        if !ok {
            failures.push(format!("{url}: want {expected}, got {out}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The query ends with the forcing parameters and names none of `names` anywhere else.
fn forces(location: &str, forcing: &str, names: &[&str]) -> bool {
    let query = location.split_once('?').map_or("", |(_, q)| q);
    let Some(rest) = query.strip_suffix(forcing) else { return false };
    url::form_urlencoded::parse(rest.as_bytes()).all(|(name, _)| !names.iter().any(|n| name.eq_ignore_ascii_case(n)))
}

#[test]
fn check_reports_bad_lines_with_file_and_line_and_strict_refuses_them() {
    let dir = std::env::temp_dir().join(format!("satchel-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let list = dir.join("bad.list");
    std::fs::write(&list, "good.example\n*.sub.example\nco.uk\n").unwrap();
    let list = list.to_str().unwrap();
    let (status, stdout, stderr) = satchel_check(&["--list", list, "https://good.example/"], "");
    assert_eq!(status, 0);
    assert!(stdout.contains("\"verdict\":\"allow\""), "valid lines are used: {stdout}");
    assert!(stderr.contains("bad.list:2: `*.sub.example`: ") && stderr.contains("use `sub.example`"), "{stderr}");
    assert!(stderr.contains("bad.list:3: `co.uk`: ") && stderr.contains("public suffix"), "{stderr}");
    let (status, stdout, stderr) = satchel_check(&["--strict", "--list", list, "https://good.example/"], "");
    assert_eq!((status, stdout.as_str()), (2, ""), "{stderr}");
    let (status, _, stderr) = satchel_check(&["--list", "/nonexistent.list", "https://a.example/"], "");
    assert_eq!(status, 2);
    assert!(stderr.contains("/nonexistent.list"), "names the file: {stderr}");
}

/// A list file in a fresh folder, named for the test.
fn list_file(test: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("satchel-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let list = dir.join("bad.list");
    std::fs::write(&list, text).unwrap();
    list
}

#[test]
fn a_refused_block_line_blocks_its_whole_host_and_check_says_which_line_and_why() {
    let list = list_file(
        "refused-block",
        "[allow]\nexample.com\nexample.com/stories\n[block]\nhttp://example.com:99999/stories/scary\n",
    );
    let list = list.to_str().unwrap();
    let (status, stdout, stderr) = satchel_check(
        &["--explain", "--list", list, "https://example.com/stories/happy", "https://www.example.com/"],
        "",
    );
    assert_eq!(status, 0, "{stderr}");
    assert!(
        stderr.contains("bad.list:5: `http://example.com:99999/stories/scary`: `99999` is not a port number")
            && stderr.contains("all of example.com (and its subdomains) is blocked instead"),
        "{stderr}"
    );
    let blocks: Vec<&str> = stdout.lines().filter(|l| l.starts_with("BLOCK")).collect();
    assert_eq!(blocks.len(), 2, "the host and its subdomains, whatever the allow entries say: {stdout}");
    assert!(
        stdout.contains(
            "a [block] line that could not be read (`99999` is not a port number (1 to 65535)) blocks its whole host"
        ) && stdout.contains("at ")
            && stdout.contains("bad.list:5"),
        "which line and why: {stdout}"
    );
    let (_, json, _) = satchel_check(&["--subresource", "--list", list, "https://example.com/stories/happy"], "");
    assert!(
        json.contains("\"verdict\":\"block\"") && json.contains("\"by_host\":true"),
        "the proxy blocks the host too: {json}"
    );
}

#[test]
fn a_block_line_with_no_readable_host_makes_check_refuse_the_lists() {
    let list = list_file("unusable", "[allow]\nexample.com\n[block]\nexam*ple.com/secret\n");
    let (status, stdout, stderr) = satchel_check(&["--list", list.to_str().unwrap(), "https://example.com/"], "");
    assert_eq!((status, stdout.as_str()), (2, ""), "{stderr}");
    assert!(
        stderr.contains("bad.list:4: `exam*ple.com/secret`: `*` can only stand alone")
            && stderr.contains("the lists cannot be used"),
        "{stderr}"
    );
}

#[test]
fn lines_under_an_unknown_section_are_read_as_block_lines() {
    let list = list_file("unknown-section", "[allow]\nexample.com\n[blokc]\nexample.com/secret\n");
    let (status, stdout, stderr) =
        satchel_check(&["--list", list.to_str().unwrap(), "https://example.com/secret", "https://example.com/"], "");
    assert_eq!(status, 0, "{stderr}");
    assert!(
        stderr.contains("bad.list:3: `[blokc]`: unknown section") && stderr.contains("read as [block] lines"),
        "{stderr}"
    );
    let verdicts: Vec<&str> =
        stdout.lines().map(|l| if l.contains("\"verdict\":\"block\"") { "block" } else { "allow" }).collect();
    assert_eq!(verdicts, ["block", "allow"], "{stdout}");
}

#[test]
fn check_subresource_decides_https_by_host_as_the_kiosks_proxy_does() {
    let list = list_file("subresource", "[allow]\nexample.com\n[block]\nexample.com/secret\n");
    let list = list.to_str().unwrap();
    let urls = ["https://example.com/secret/a.png", "http://example.com/secret/a.png", "https://example.com/secret/"];
    let (status, stdout, _) = satchel_check(&["--subresource", "--list", list, urls[0], urls[1]], "");
    assert_eq!(status, 0);
    let outputs: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(
        (outputs[0]["verdict"].as_str(), outputs[0]["by_host"].as_bool()),
        (Some("allow"), Some(true)),
        "CONNECT shows only the host: {stdout}"
    );
    assert_eq!(
        (outputs[1]["verdict"].as_str(), outputs[1]["by_host"].as_bool()),
        (Some("block"), None),
        "plain http is seen whole: {stdout}"
    );
    let (_, explained, _) = satchel_check(&["--subresource", "--explain", "--list", list, urls[0]], "");
    assert!(explained.contains("decided by host") && explained.contains("CONNECT"), "{explained}");
    let (_, page, _) = satchel_check(&["--list", list, urls[2]], "");
    assert!(page.contains("\"verdict\":\"block\""), "a page at that path is still blocked: {page}");
}

#[test]
fn check_explains_in_words() {
    let list = data("precedence.list");
    let (status, stdout, _) =
        satchel_check(&["--explain", "--list", list.to_str().unwrap(), "https://www.google.co.uk/search?q=x"], "");
    assert_eq!(status, 0);
    assert!(stdout.starts_with("REWRITE"), "{stdout}");
    assert!(
        stdout.contains("precedence.list:") && stdout.contains("connect to: forcesafesearch.google.com"),
        "{stdout}"
    );
}

#[test]
fn categories_block_the_open_web_but_explicit_allows_win() {
    let ut1 = shared_data().join("ut1");
    let gambling = std::fs::read_to_string(ut1.join("gambling/domains")).unwrap();
    let domain = gambling.lines().find(|l| l.contains('.') && !l.starts_with('#')).unwrap().trim().to_owned();
    let dir = std::env::temp_dir().join(format!("satchel-cat-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let list = dir.join("open.list");
    std::fs::write(&list, format!("[allow]\n.www.{domain}\n")).unwrap();
    let urls = format!(
        "https://{domain}/\nhttps://m.{domain}/\nhttps://www.{domain}/\nhttps://never-listed-satchel.example/\n"
    );
    let args = [
        "--default",
        "allow",
        "--categories",
        ut1.to_str().unwrap(),
        "--block-category",
        "gambling",
        "--list",
        list.to_str().unwrap(),
    ];
    let (status, stdout, stderr) = satchel_check(&args, &urls);
    assert_eq!(status, 0, "{stderr}");
    let verdicts: Vec<String> = stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["verdict"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(verdicts, ["block", "block", "allow", "allow"], "{stdout}");
    assert!(stdout.contains("in the blocked category \\\"gambling\\\""), "{stdout}");
    let (status, _, stderr) = satchel_check(
        &["--categories", ut1.to_str().unwrap(), "--block-category", "nope", "--list", list.to_str().unwrap()],
        "",
    );
    assert_eq!(status, 2);
    assert!(stderr.contains("no category `nope`") && stderr.contains("gambling"), "{stderr}");
}

#[test]
fn decisions_depend_only_on_url_and_policy() {
    let text = std::fs::read_to_string(data("precedence.list")).unwrap();
    let build = || {
        let mut b = Policy::builder();
        b.add_list("l", &text);
        b.build()
    };
    let (first, second) = (build(), build());
    for url in ["https://path.example/chat", "https://www.google.co.uk/", "https://other.example/"] {
        assert_eq!(first.decide(url, RequestKind::Navigation), second.decide(url, RequestKind::Navigation));
    }
    assert_eq!(first.decide("https://path.example/", RequestKind::Navigation).verdict, Verdict::Allow);
}
