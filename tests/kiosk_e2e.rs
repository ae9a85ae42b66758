//! The kiosk for real: a WebKitGTK window under Xvfb and openbox, test sites on loopback
//! reached by fake names through the proxy's `hosts` table, WebKitWebDriver for the content
//! view and xdotool for the toolbar. Each site logs every request, so "blocked" means the
//! site never heard of it.
#![cfg(feature = "automation")]

mod support;

use std::path::Path;
use std::time::Duration;

use support::{one_at_a_time, wait_for, Display, KioskProcess, Reply, Seen, Site, TempDir, WebDriver};

/// Toolbar buttons on a 1280×800 screen (toolbar.html, left to right).
const HOME_BUTTON: (u32, u32) = (68, 40);
const BACK_BUTTON: (u32, u32) = (192, 40);
/// The first Home tile.
const FIRST_TILE: (u32, u32) = (178, 294);

// `localhost` (the allowed site again) is a secure context, where camera and location exist.
const SCHOOL_LIST: &str =
    "[allow]\nallowed.test uses: cdn.test\nsecure.test uses: secure-cdn.test\ndown.test\nnowhere.test\nhanging.test\nlater.test\nlocalhost\n[block]\nallowed.test/secret\n";

/// The pages of the allowed site.
fn allowed_site(seen: &Seen) -> Reply {
    match seen.path() {
        "/" => Reply::html(
            r#"<!doctype html><title>allowed</title><body style="background:#3c3">
            <a id="unlisted" href="http://unlisted.test/page">unlisted</a>
            <a id="cdn-page" href="http://cdn.test/page">resource host as a page</a>
            <a id="resources" href="/resources">resources</a>
            <a id="redirect-out" href="/redirect-out">redirect out</a>
            <a id="search" href="http://www.google.co.uk/search?q=dogs&amp;safe=off">search</a>
            <a id="redirect-search" href="/redirect-search">redirect to search</a>
            <a id="blank-out" target="_blank" href="http://unlisted.test/blank">blank out</a>
            <a id="blank-in" target="_blank" href="http://allowed.test/opened">blank in</a>
            <button id="open-out" onclick="window.open('http://unlisted.test/popup')">open out</button>
            <button id="open-in" onclick="window.open('http://allowed.test/popup')">open in</button>
            <a id="download" href="/download">download</a>
            <a id="next" href="/next">next</a>
            <a id="down" href="http://down.test/lesson">a listed site that is down</a></body>"#,
        ),
        "/resources" => Reply::html(
            r#"<!doctype html><title>resources</title>
            <link rel="stylesheet" href="http://unlisted.test/style.css"><link rel="stylesheet" href="http://cdn.test/style.css">
            <img src="http://unlisted.test/img.png"><img src="http://cdn.test/img.png">
            <script src="http://unlisted.test/script.js"></script><script src="http://cdn.test/script.js"></script>
            <iframe src="http://unlisted.test/frame"></iframe><iframe src="http://cdn.test/frame"></iframe>
            <script>
              for (const host of ["unlisted.test", "cdn.test"]) {
                fetch(`http://${host}/fetch`).catch(() => {});
                const xhr = new XMLHttpRequest(); xhr.open("GET", `http://${host}/xhr`); xhr.send();
                try { new WebSocket(`ws://${host}/ws`); } catch (e) {}
              }
            </script>"#,
        ),
        // Moves its own address to a blocked path while it is still loading.
        "/moves-while-loading" => Reply::html(
            r#"<!doctype html><title>moving</title><script>history.pushState({}, '', '/secret?during=load');</script><p>still loading</p>"#,
        ),
        "/redirect-out" => Reply::redirect("http://unlisted.test/redirected"),
        "/redirect-search" => Reply::redirect("http://www.google.co.uk/search?q=cats&safe=off"),
        "/download" => Reply::typed("application/octet-stream", b"not for pupils")
            .with("Content-Disposition", "attachment; filename=\"x.bin\""),
        "/upload" => Reply::html(r#"<!doctype html><input id="upload" type="file" style="width:100vw;height:100vh">"#),
        // Tells the site what it finds in the page's storage, then stores something; the
        // picture may be cached for an hour, if anything caches it.
        "/cookie" => {
            let body = format!(
                r#"<!doctype html><a href="/cookie" style="display:block;height:100vh;background:#36c">cookie: {}</a>
                <img src="/cacheable.png" width=8 height=8>
                <script>
                  fetch("/stored/" + (localStorage.getItem("pupil") || "none"));
                  localStorage.setItem("pupil", "1");
                </script>"#,
                seen.headers.get("cookie").map_or("none", String::as_str)
            );
            Reply::html(&body).with("Set-Cookie", "pupil=1; Path=/")
        }
        "/cacheable.png" => Reply::typed("image/png", b"not really a picture").with("Cache-Control", "max-age=3600"),
        path if path.starts_with("/busy") => busy_page("http://cdn.test", path),
        _ => Reply::html("<!doctype html><title>page</title><p>a page</p>"),
    }
}

/// Sixty pictures from the resource host and ten frames from the site itself, all at once:
/// each request meets the proxy's password challenge. `/busy<round>`.
fn busy_page(resource_host: &str, path: &str) -> Reply {
    let round = path.trim_start_matches("/busy");
    let pictures: String =
        (0..60).map(|n| format!(r#"<img src="{resource_host}/img/{round}/{n}.png" width=8 height=8>"#)).collect();
    let frames: String =
        (0..10).map(|n| format!(r#"<iframe src="/frame/{round}/{n}" width=40 height=40></iframe>"#)).collect();
    Reply::html(&format!("<!doctype html><title>busy</title>{pictures}{frames}"))
}

struct Lab {
    dir: TempDir,
    allowed: Site,
    cdn: Site,
    unlisted: Site,
    /// Stands in for `forcesafesearch.google.com`, where the proxy sends Google searches.
    safe_google: Site,
    /// Stands in for `www.google.co.uk` itself: it must never be reached.
    plain_google: Site,
    display: Display,
}

impl Lab {
    fn new(extra_config: &str) -> Lab {
        Lab::with_tile(extra_config, "http://allowed.test/cookie")
    }

    /// A lab whose Home page has one tile, to `tile_url`.
    fn with_tile(extra_config: &str, tile_url: &str) -> Lab {
        let dir = TempDir::new("e2e");
        let allowed = Site::start(allowed_site);
        let cdn = Site::start(|_| Reply::typed("text/plain", b"resource"));
        let unlisted = Site::start(|_| Reply::html("<p>unlisted</p>"));
        let safe_google = Site::start(|_| Reply::html("<p>safe results</p>"));
        let plain_google = Site::start(|_| Reply::html("<p>unsafe results</p>"));
        std::fs::write(dir.path().join("school.list"), SCHOOL_LIST).unwrap();
        std::fs::write(
            dir.path().join("tiles.toml"),
            format!("[[tile]]\ntitle = \"Tile\"\nurl = \"{tile_url}\"\nicon = \"🍪\"\n"),
        )
        .unwrap();
        let config = format!(
            "list = \"school.list\"\ntiles = \"tiles.toml\"\nstate_dir = \"state\"\n{extra_config}\n[hosts]\n\
             \"allowed.test\" = \"{}\"\n\"cdn.test\" = \"{}\"\n\"unlisted.test\" = \"{}\"\n\
             \"forcesafesearch.google.com\" = \"{}\"\n\"www.google.co.uk\" = \"{}\"\n\"down.test\" = \"127.0.0.1:{}\"\n\"localhost\" = \"{}\"\n",
            allowed.address(),
            cdn.address(),
            unlisted.address(),
            safe_google.address(),
            plain_google.address(),
            closed_port(),
            allowed.address()
        );
        std::fs::write(dir.path().join("kiosk.toml"), config).unwrap();
        Lab { dir, allowed, cdn, unlisted, safe_google, plain_google, display: Display::start() }
    }

    fn config(&self) -> std::path::PathBuf {
        self.dir.path().join("kiosk.toml")
    }

    fn driver(&self) -> WebDriver {
        let driver = WebDriver::start(&self.display, &self.config());
        driver.wait_for_url("satchel://pupil/home.html");
        driver.open("http://allowed.test/");
        driver
    }

    fn assert_unlisted_never_reached(&self) {
        assert_eq!(self.unlisted.paths(), Vec::<String>::new(), "the unlisted site was reached");
    }
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn blocked_page_for(address: &str) -> String {
    format!(
        "satchel://pupil/blocked.html?url={}",
        url::form_urlencoded::byte_serialize(address.as_bytes()).collect::<String>()
    )
}

#[test]
fn allowed_page_loads_and_unlisted_page_shows_the_block_page_without_reaching_the_site() {
    let _turn = one_at_a_time();
    let lab = Lab::new("");
    let driver = lab.driver();
    assert!(lab.allowed.paths().contains(&"/".to_owned()));

    driver.click("#unlisted");
    driver.wait_for_url(&blocked_page_for("http://unlisted.test/page"));

    // A resource host serves a site's pictures and scripts, never pages of its own.
    driver.open("http://allowed.test/");
    driver.click("#cdn-page");
    driver.wait_for_url(&blocked_page_for("http://cdn.test/page"));
    assert!(lab.cdn.paths().is_empty(), "the resource host was asked for a page");
    lab.assert_unlisted_never_reached();
}

#[test]
fn every_kind_of_subresource_from_an_unlisted_host_is_blocked_and_from_a_resource_host_loads() {
    let _turn = one_at_a_time();
    let lab = Lab::new("");
    let driver = lab.driver();
    driver.click("#resources");
    driver.wait_for_url("http://allowed.test/resources");
    let kinds = ["/style.css", "/img.png", "/script.js", "/frame", "/fetch", "/xhr", "/ws"];
    wait_for("every resource from the resource host", Duration::from_secs(20), || {
        let paths = lab.cdn.paths();
        kinds.iter().all(|kind| paths.iter().any(|p| p == kind))
    });
    let websocket = lab.cdn.requests().into_iter().find(|seen| seen.path() == "/ws").unwrap();
    assert_eq!(websocket.headers.get("upgrade").map(|u| u.to_ascii_lowercase()).as_deref(), Some("websocket"));
    // Give anything still in flight time to arrive where it must not.
    std::thread::sleep(Duration::from_millis(500));
    lab.assert_unlisted_never_reached();
    assert_eq!(driver.url(), "http://allowed.test/resources", "a blocked iframe does not replace the page");
}

#[test]
fn redirects_and_new_windows_to_unlisted_hosts_are_blocked_and_listed_ones_open_in_the_same_view() {
    let _turn = one_at_a_time();
    let lab = Lab::new("");
    let driver = lab.driver();

    driver.click("#redirect-out");
    driver.wait_for_url(&blocked_page_for("http://unlisted.test/redirected"));

    for (link, expected) in [
        ("#blank-out", blocked_page_for("http://unlisted.test/blank")),
        ("#blank-in", "http://allowed.test/opened".to_owned()),
        ("#open-out", blocked_page_for("http://unlisted.test/popup")),
        ("#open-in", "http://allowed.test/popup".to_owned()),
    ] {
        driver.open("http://allowed.test/");
        driver.click(link);
        driver.wait_for_url(&expected);
        assert_eq!(driver.window_count(), 1, "{link} opened no window");
    }
    lab.assert_unlisted_never_reached();
}

#[test]
fn a_listed_site_that_cannot_be_reached_shows_the_friendly_page_with_go_back() {
    let _turn = one_at_a_time();
    let lab = Lab::new("");
    let driver = lab.driver();
    driver.click("#down");
    wait_for("the friendly page", Duration::from_secs(20), || {
        driver
            .run("return document.body ? document.body.innerText : ''")
            .as_str()
            .unwrap_or("")
            .contains("This page is not working just now.")
    });
    driver.click("a[href='satchel://action/back']");
    driver.wait_for_url("http://allowed.test/");
}

#[test]
fn a_download_link_downloads_nothing() {
    let _turn = one_at_a_time();
    let lab = Lab::new("");
    let driver = lab.driver();
    driver.click("#download");
    wait_for("the download request", Duration::from_secs(10), || lab.allowed.paths().contains(&"/download".to_owned()));
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(driver.url(), "http://allowed.test/");
    let home = std::env::var("HOME").unwrap_or_default();
    let downloads = Path::new(&home).join("Downloads");
    let found = std::fs::read_dir(&downloads)
        .map(|d| d.flatten().any(|e| e.file_name().to_string_lossy().starts_with("x")))
        .unwrap_or(false);
    assert!(!found, "a file arrived in {}", downloads.display());
}

#[test]
fn searches_arrive_at_the_engine_with_safe_search_forced_also_after_a_redirect() {
    let _turn = one_at_a_time();
    let lab = Lab::new("");
    let driver = lab.driver();
    driver.click("#search");
    wait_for("the search", Duration::from_secs(20), || !lab.safe_google.requests().is_empty());
    driver.open("http://allowed.test/");
    driver.click("#redirect-search");
    wait_for("the redirected search", Duration::from_secs(20), || lab.safe_google.requests().len() >= 2);

    let searches: Vec<String> = lab.safe_google.requests().iter().map(|seen| seen.target.clone()).collect();
    assert_eq!(searches, ["/search?q=dogs&safe=active&ssui=on", "/search?q=cats&safe=active&ssui=on"]);
    assert!(lab
        .safe_google
        .requests()
        .iter()
        .all(|seen| seen.headers.get("host").map(String::as_str) == Some("www.google.co.uk")));
    assert!(lab.plain_google.requests().is_empty(), "a search went to Google's unfiltered address");
}

#[test]
fn home_and_back_buttons_work_from_the_toolbar() {
    let _turn = one_at_a_time();
    let lab = Lab::new("");
    let driver = lab.driver();
    driver.click("#next");
    driver.wait_for_url("http://allowed.test/next");
    lab.display.click(BACK_BUTTON.0, BACK_BUTTON.1);
    driver.wait_for_url("http://allowed.test/");
    lab.display.click(HOME_BUTTON.0, HOME_BUTTON.1);
    driver.wait_for_url("satchel://pupil/home.html");
}

/// What the cookie page found in the page's storage at each visit, in order.
fn stored_values(site: &Site) -> Vec<String> {
    site.paths().iter().filter_map(|path| path.strip_prefix("/stored/")).map(str::to_owned).collect()
}

#[test]
fn an_idle_kiosk_starts_a_fresh_session_with_no_cookie_storage_or_cache_from_the_last() {
    let _turn = one_at_a_time();
    let lab = Lab::new("idle_timeout_seconds = 10");
    let _kiosk = KioskProcess::start(&lab.display, &lab.config());
    let cookie_requests =
        || lab.allowed.requests().into_iter().filter(|seen| seen.path() == "/cookie").collect::<Vec<_>>();
    // Home shows the tile once the kiosk has painted it; keep tapping until the site hears.
    wait_for("the tile to open the cookie page", Duration::from_secs(30), || {
        lab.display.click(FIRST_TILE.0, FIRST_TILE.1);
        std::thread::sleep(Duration::from_millis(400));
        !cookie_requests().is_empty()
    });
    let first = cookie_requests().len();
    lab.display.click(640, 500);
    wait_for("the second visit", Duration::from_secs(10), || cookie_requests().len() > first);
    let second = cookie_requests().last().cloned().unwrap();
    assert_eq!(second.headers.get("cookie").map(String::as_str), Some("pupil=1"), "cookies work within a session");
    wait_for("the second visit's storage", Duration::from_secs(10), || stored_values(&lab.allowed).len() == 2);
    assert_eq!(stored_values(&lab.allowed), ["none", "1"], "storage works within a session");
    let pictures = lab.allowed.paths().iter().filter(|path| *path == "/cacheable.png").count();
    assert_eq!(pictures, 2, "the second visit's picture came from a cache the proxy never saw");

    std::thread::sleep(Duration::from_secs(13));
    let before = cookie_requests().len();
    lab.display.click(FIRST_TILE.0, FIRST_TILE.1);
    wait_for("the visit after the reset", Duration::from_secs(10), || cookie_requests().len() > before);
    let after = cookie_requests().last().cloned().unwrap();
    assert_eq!(after.headers.get("cookie"), None, "the new session has no cookie from the old one");
    wait_for("the storage after the reset", Duration::from_secs(10), || stored_values(&lab.allowed).len() == 3);
    assert_eq!(stored_values(&lab.allowed)[2], "none", "the new session found the old one's storage");
}

#[test]
fn the_kiosk_ignores_close_and_leaves_only_with_the_chord_and_the_right_pin() {
    let _turn = one_at_a_time();
    let hash = std::process::Command::new(support::SATCHEL)
        .arg("hash-pin")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(b"2468\n")?;
            child.wait_with_output()
        })
        .unwrap();
    let hash = String::from_utf8(hash.stdout).unwrap();
    let lab = Lab::new(&format!("exit_pin_hash = \"{}\"", hash.trim()));
    // A folder a killed kiosk left (no process has that id): its cookies go at the next start.
    let left_behind = std::env::temp_dir().join("satchel-views-4199999999");
    std::fs::create_dir_all(left_behind.join("cookies")).unwrap();
    let mut kiosk = KioskProcess::start(&lab.display, &lab.config());
    let views_folder = std::env::temp_dir().join(format!("satchel-views-{}", kiosk.pid()));
    assert!(views_folder.is_dir(), "the kiosk keeps its views' files in {}", views_folder.display());
    assert!(!left_behind.exists(), "a dead kiosk's views' folder is still there");

    lab.display.xdotool(&["key", "alt+F4"]);
    std::thread::sleep(Duration::from_secs(1));
    assert!(kiosk.exited().is_none(), "Alt+F4 closed the kiosk");

    lab.display.xdotool(&["key", "ctrl+alt+shift+t"]);
    std::thread::sleep(Duration::from_secs(1));
    lab.display.xdotool(&["type", "1357"]);
    lab.display.xdotool(&["key", "Return"]);
    std::thread::sleep(Duration::from_secs(2));
    assert!(kiosk.exited().is_none(), "a wrong PIN let the teacher out");

    lab.display.xdotool(&["type", "2468"]);
    lab.display.xdotool(&["key", "Return"]);
    wait_for("the kiosk to exit", Duration::from_secs(10), || kiosk.exited().is_some());
    assert!(kiosk.exited().unwrap().success());

    // Five wrong tries, and then even the right PIN waits: nobody tries every PIN.
    let mut kiosk = KioskProcess::start(&lab.display, &lab.config());
    // WebKit's network process may write a file or two as it ends; the next start sweeps.
    assert!(!views_folder.exists(), "the teacher left, and the views' folder stayed");
    lab.display.xdotool(&["key", "ctrl+alt+shift+t"]);
    std::thread::sleep(Duration::from_secs(1));
    for wrong in ["1111", "2222", "3333", "4444", "5555", "2468"] {
        lab.display.xdotool(&["type", wrong]);
        lab.display.xdotool(&["key", "Return"]);
        std::thread::sleep(Duration::from_millis(700));
    }
    std::thread::sleep(Duration::from_secs(1));
    assert!(kiosk.exited().is_none(), "after five wrong tries the right PIN waits");
}

/// Whether GTK's file chooser is on screen.
fn file_chooser_shown(display: &Display) -> bool {
    std::process::Command::new("xdotool")
        .env("DISPLAY", &display.name)
        .args(["search", "--onlyvisible", "--name", "Select File"])
        .status()
        .expect("xdotool runs")
        .success()
}

/// Opens the upload page from Home as a pupil would (no automation: WebKit answers file
/// choosers itself when automated) and taps the file input, which fills the page.
fn file_chooser_opens(allow_uploads: bool) -> bool {
    let lab = Lab::with_tile(&format!("allow_uploads = {allow_uploads}"), "http://allowed.test/upload");
    let _kiosk = KioskProcess::start(&lab.display, &lab.config());
    wait_for("the upload page", Duration::from_secs(30), || {
        lab.display.click(FIRST_TILE.0, FIRST_TILE.1);
        std::thread::sleep(Duration::from_millis(400));
        lab.allowed.paths().contains(&"/upload".to_owned())
    });
    std::thread::sleep(Duration::from_secs(1));
    lab.display.click(640, 400);
    std::thread::sleep(Duration::from_secs(2));
    file_chooser_shown(&lab.display)
}

#[test]
fn uploads_open_no_file_chooser_unless_the_profile_allows_them() {
    let _turn = one_at_a_time();
    assert!(file_chooser_opens(true), "with uploads allowed the file chooser opens (so the check below can see one)");
    assert!(!file_chooser_opens(false), "a file chooser opened although uploads are off");
}

#[test]
fn a_loopback_address_by_number_goes_through_the_filter_too() {
    let _turn = one_at_a_time();
    let lab = Lab::new("");
    let driver = lab.driver();
    // A proxy resolver might send loopback addresses direct; the unlisted site (on
    // 127.0.0.1) must hear nothing. (The fetch itself ends either way: the proxy answers.)
    let script = format!(
        "const done = arguments[arguments.length - 1];
         fetch('http://{}/by-number', {{ mode: 'no-cors' }}).then(() => done('answered'), () => done('failed'));",
        lab.unlisted.address()
    );
    driver.run_async(&script);
    lab.assert_unlisted_never_reached();
}

#[test]
fn pages_get_no_webrtc_camera_microphone_or_location() {
    let _turn = one_at_a_time();
    let lab = Lab::new("");
    let driver = lab.driver();
    driver.navigate("http://localhost/");
    driver.wait_for_url("http://localhost/");
    assert_eq!(
        driver.run("return window.isSecureContext"),
        true,
        "localhost is a secure context, where these APIs exist"
    );
    // WebRTC's UDP would go round the proxy (this WebKitGTK build has none; others might).
    assert_eq!(driver.run("return typeof RTCPeerConnection"), "undefined", "WebRTC is off");
    let camera = driver.run_async(
        "const done = arguments[arguments.length - 1];
         if (!navigator.mediaDevices) done('absent');
         else navigator.mediaDevices.getUserMedia({ video: true, audio: true }).then(() => done('given'), (error) => done('refused ' + error.name));",
    );
    assert_ne!(camera, "given", "no camera or microphone");
    let location = driver.run_async(
        "const done = arguments[arguments.length - 1];
         navigator.geolocation.getCurrentPosition(() => done('given'), (error) => done('refused ' + error.code), { timeout: 5000 });",
    );
    assert_eq!(location, "refused 1", "location is refused (PERMISSION_DENIED)");
}

#[test]
fn a_page_moving_its_own_address_to_a_blocked_one_gets_the_block_page() {
    let _turn = one_at_a_time();
    let lab = Lab::new("");
    let driver = lab.driver();
    driver.wait_for_url("http://allowed.test/");
    // As single-page sites do: no load, no navigation for the gate, only a new address.
    driver.run("history.pushState({}, '', '/secret?id=7')");
    driver.wait_for_url(&blocked_page_for("http://allowed.test/secret?id=7"));
    assert!(!lab.allowed.paths().iter().any(|path| path.starts_with("/secret")), "nothing was fetched");
}

#[test]
fn a_listed_name_that_resolves_to_loopback_reaches_nothing_on_the_kiosk() {
    let _turn = one_at_a_time();
    let lab = Lab::new("");
    // `localhost` is on the list, but here not in the hosts table: the system resolver gives
    // 127.0.0.1, as a listed site's DNS could for one of its names.
    let config = std::fs::read_to_string(lab.config()).unwrap();
    let unmapped: String =
        config.lines().filter(|line| !line.starts_with("\"localhost\"")).map(|line| format!("{line}\n")).collect();
    std::fs::write(lab.config(), unmapped).unwrap();
    let driver = lab.driver();
    let port = lab.unlisted.address().rsplit(':').next().unwrap().to_owned();
    for path in ["page", "image"] {
        let script = format!(
            "const done = arguments[arguments.length - 1];
             fetch('http://localhost:{port}/{path}', {{ mode: 'no-cors' }}).then(() => done('answered'), () => done('failed'));"
        );
        driver.run_async(&script);
    }
    driver.run(&format!("location.href = 'http://localhost:{port}/as-a-page';"));
    std::thread::sleep(Duration::from_secs(3));
    lab.assert_unlisted_never_reached();
}

#[test]
fn home_shows_only_tiles_that_open_web_pages() {
    let _turn = one_at_a_time();
    let lab = Lab::new("");
    std::fs::write(
        lab.dir.path().join("tiles.toml"),
        "[[tile]]\ntitle = \"Owls\"\nurl = \"http://allowed.test/\"\nicon = \"🦉\"\n\
         [[tile]]\ntitle = \"Trick\"\nurl = \"javascript:location='http://unlisted.test/'\"\nicon = \"🎩\"\n\
         [[tile]]\ntitle = \"Files\"\nurl = \"file:///etc/passwd\"\nicon = \"📁\"\n",
    )
    .unwrap();
    let driver = WebDriver::start(&lab.display, &lab.config());
    driver.wait_for_url("satchel://pupil/home.html");
    let titles = driver.run("return [...document.querySelectorAll('#tiles .tile-title')].map(t => t.textContent)");
    assert_eq!(titles, serde_json::json!(["Owls"]));
}

#[test]
fn a_page_moving_its_address_while_it_loads_gets_the_block_page_when_the_load_ends() {
    let _turn = one_at_a_time();
    let lab = Lab::new("");
    let driver = lab.driver();
    driver.wait_for_url("http://allowed.test/");
    driver.run("location.href = '/moves-while-loading';");
    driver.wait_for_url(&blocked_page_for("http://allowed.test/secret?during=load"));
}

/// Taps Home's one tile and waits up to `within` for the offline page.
fn offline_page_within(lab: &Lab, within: Duration) -> WebDriver {
    let driver = WebDriver::start(&lab.display, &lab.config());
    driver.wait_for_url("satchel://pupil/home.html");
    driver.click("#tiles a");
    wait_for("the offline page", within, || {
        driver
            .run("return document.body ? document.body.innerText : ''")
            .as_str()
            .unwrap_or("")
            .contains("This page is not working just now.")
    });
    driver
}

#[test]
fn a_listed_https_site_that_refuses_the_connection_shows_the_offline_page() {
    let _turn = one_at_a_time();
    offline_page_within(&Lab::with_tile("", "https://down.test/"), Duration::from_secs(5));
}

#[test]
fn the_offline_page_offers_home() {
    let _turn = one_at_a_time();
    let lab = Lab::new("");
    let driver = lab.driver();
    driver.click("#down");
    wait_for("the offline page", Duration::from_secs(20), || {
        driver
            .run("return document.body ? document.body.innerText : ''")
            .as_str()
            .unwrap_or("")
            .contains("This page is not working just now.")
    });
    // Where a screenshot of the page goes, to look at (not part of the repository).
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    // The page is in the view before it is on the screen: wait for the site's green to go.
    wait_for("the offline page on screen", Duration::from_secs(10), || lab.display.pixel(640, 700) != "#33cc33");
    lab.display.screenshot(&shots.join("kiosk-offline.png"));
    driver.click("a[href='satchel://action/home']");
    driver.wait_for_url("satchel://pupil/home.html");
}

#[test]
fn the_offline_page_opens_the_site_by_itself_once_it_answers_again() {
    let _turn = one_at_a_time();
    let port = closed_port();
    let lab = Lab::with_tile("", "http://later.test/");
    let mut config = std::fs::read_to_string(lab.config()).unwrap();
    config.push_str(&format!("\"later.test\" = \"127.0.0.1:{port}\"\n"));
    std::fs::write(lab.config(), config).unwrap();
    let driver = offline_page_within(&lab, Duration::from_secs(5));
    // The site comes back (the network returns): nobody touches the kiosk.
    let site = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    std::thread::spawn(move || {
        for mut stream in site.incoming().map_while(Result::ok) {
            let mut request = [0u8; 4096];
            let _ = std::io::Read::read(&mut stream, &mut request);
            let page = "<!doctype html><title>back</title><p>back again</p>";
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            );
            let _ = std::io::Write::write_all(&mut stream, reply.as_bytes());
        }
    });
    wait_for("the site on screen again", Duration::from_secs(15), || driver.url() == "http://later.test/");
}

#[test]
fn a_listed_https_site_whose_name_does_not_resolve_shows_the_offline_page() {
    let _turn = one_at_a_time();
    offline_page_within(&Lab::with_tile("", "https://nowhere.test/"), Duration::from_secs(5));
}

#[test]
fn a_listed_https_site_that_fails_its_tls_handshake_shows_the_offline_page() {
    let _turn = one_at_a_time();
    // allowed.test speaks plain http: the tunnel opens, the handshake fails.
    offline_page_within(&Lab::with_tile("", "https://allowed.test/"), Duration::from_secs(5));
}

/// A lab whose one tile is a listed site whose connection hangs: its address is a listener
/// whose queue of unaccepted connections is full, so a new connection's SYN goes unanswered,
/// as for a site whose network has gone. The listener and streams returned keep it so.
fn hanging_lab() -> (Lab, (std::net::TcpListener, Vec<std::net::TcpStream>)) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let mut queued = Vec::new();
    while let Ok(stream) = std::net::TcpStream::connect_timeout(&address, Duration::from_millis(300)) {
        queued.push(stream);
    }
    let lab = Lab::with_tile("", "https://hanging.test/");
    let mut config = std::fs::read_to_string(lab.config()).unwrap();
    config.push_str(&format!("\"hanging.test\" = \"{address}\"\n"));
    std::fs::write(lab.config(), config).unwrap();
    (lab, (listener, queued))
}

#[test]
fn a_listed_https_site_whose_connection_hangs_shows_the_offline_page() {
    let _turn = one_at_a_time();
    let (lab, _queued) = hanging_lab();
    offline_page_within(&lab, Duration::from_secs(15));
}

#[test]
fn a_tapped_tile_shows_at_once_that_its_site_is_on_the_way() {
    let _turn = one_at_a_time();
    let (lab, _queued) = hanging_lab();
    let _kiosk = KioskProcess::start(&lab.display, &lab.config());
    // The tile's border, left of its picture: light before the tap, dark once tapped.
    let border = || lab.display.pixel(FIRST_TILE.0 - 145, FIRST_TILE.1);
    wait_for("Home's tile", Duration::from_secs(20), || luminance(&border()) > 0.5);
    lab.display.click(FIRST_TILE.0, FIRST_TILE.1);
    wait_for("the tapped tile's dark outline", Duration::from_secs(2), || luminance(&border()) < 0.3);
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    lab.display.screenshot(&shots.join("kiosk-tile-tapped.png"));
}

/// How light a `#rrggbb` colour is, from 0 (black) to 1 (white).
fn luminance(hex: &str) -> f64 {
    let channel = |at: usize| u8::from_str_radix(hex.get(at..at + 2).unwrap_or("00"), 16).unwrap_or(0) as f64 / 255.0;
    0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
}

#[test]
fn a_tile_to_a_site_not_on_todays_list_opens_the_block_page() {
    let _turn = one_at_a_time();
    let lab = Lab::with_tile("", "http://unlisted.test/page");
    let driver = WebDriver::start(&lab.display, &lab.config());
    driver.wait_for_url("satchel://pupil/home.html");
    lab.display.click(FIRST_TILE.0, FIRST_TILE.1);
    wait_for("the block page", Duration::from_secs(10), || {
        driver
            .run("return document.body ? document.body.innerText : ''")
            .as_str()
            .unwrap_or("")
            .contains("This page is not on today's list.")
    });
    lab.assert_unlisted_never_reached();
}

/// Five rounds of [`busy_page`] at `site`, each waiting until every picture reached `cdn`
/// and every frame `site`.
fn every_picture_and_frame_arrives(driver: &WebDriver, site: (&str, &Site), cdn: &Site) {
    for round in 1..=5 {
        driver.open(&format!("{}/busy{round}", site.0));
        let want = |site: &Site, prefix: &str, count: usize| {
            let seen: std::collections::HashSet<String> =
                site.paths().into_iter().filter(|path| path.starts_with(prefix)).collect();
            seen.len() == count
        };
        wait_for(&format!("every picture and frame of {}, round {round}", site.0), Duration::from_secs(20), || {
            want(cdn, &format!("/img/{round}/"), 60) && want(site.1, &format!("/frame/{round}/"), 10)
        });
    }
}

#[test]
fn a_page_with_sixty_pictures_and_ten_frames_loads_every_one_every_time() {
    let _turn = one_at_a_time();
    let lab = Lab::new("");
    // The burst is the session's first contact with the proxy: no credentials yet.
    let driver = WebDriver::start(&lab.display, &lab.config());
    driver.wait_for_url("satchel://pupil/home.html");
    every_picture_and_frame_arrives(&driver, ("http://allowed.test", &lab.allowed), &lab.cdn);
}

#[test]
fn an_https_page_with_sixty_pictures_and_ten_frames_loads_every_one_every_time() {
    let _turn = one_at_a_time();
    let lab = Lab::new("");
    let secure = Site::start_tls(&["secure.test"], |seen| match seen.path() {
        path if path.starts_with("/busy") => busy_page("https://secure-cdn.test", path),
        _ => Reply::html("<!doctype html><title>frame</title>"),
    });
    let secure_cdn = Site::start_tls(&["secure-cdn.test"], |_| Reply::typed("text/plain", b"resource"));
    let mut config = std::fs::OpenOptions::new().append(true).open(lab.config()).unwrap();
    use std::io::Write as _;
    // The hosts table is the configuration's last section.
    write!(config, "\"secure.test\" = \"{}\"\n\"secure-cdn.test\" = \"{}\"\n", secure.address(), secure_cdn.address())
        .unwrap();
    // Every request is a CONNECT meeting the proxy's challenge, each tunnel its own TLS.
    let driver = WebDriver::start_accepting_any_certificate(&lab.display, &lab.config());
    driver.wait_for_url("satchel://pupil/home.html");
    every_picture_and_frame_arrives(&driver, ("https://secure.test", &secure), &secure_cdn);
}

#[test]
fn the_burst_loads_whole_in_the_kiosk_as_pupils_run_it_with_a_fresh_view_each_session() {
    let _turn = one_at_a_time();
    // No automation: each pupil session is a new private view, whose first requests all meet
    // the proxy's challenge at once. The idle timeout ends the first session.
    let lab = Lab::with_tile("idle_timeout_seconds = 10", "http://allowed.test/busy1");
    let _kiosk = KioskProcess::start(&lab.display, &lab.config());
    let count = |site: &Site, prefix: &str| site.paths().iter().filter(|path| path.starts_with(prefix)).count();
    for session in 1..=2 {
        // Home shows: the tile's own calm blue, inside its edge.
        wait_for("Home", Duration::from_secs(30), || lab.display.pixel(FIRST_TILE.0 - 120, FIRST_TILE.1) == "#dcebf8");
        lab.display.click(FIRST_TILE.0, FIRST_TILE.1);
        wait_for(&format!("every picture and frame, session {session}"), Duration::from_secs(30), || {
            count(&lab.cdn, "/img/1/") == 60 * session && count(&lab.allowed, "/frame/1/") == 10 * session
        });
    }
}
