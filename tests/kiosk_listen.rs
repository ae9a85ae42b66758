//! Listen for real, in every pupil language: the kiosk under Xvfb speaks each page's sentence
//! and each Home tile's name with espeak-ng's voice for the locale, the page plays it, and sox
//! reads the audio the page was handed.
#![cfg(feature = "automation")]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use support::{one_at_a_time, wait_for, Display, TempDir, WebDriver};

const SHORT_TILE: &str = "Owl";
const LONG_TILE: &str = "Caterpillars and butterflies in the garden";

fn kiosk_in(locale: &str, dir: &TempDir) -> PathBuf {
    std::fs::write(dir.path().join("school.list"), "[allow]\nowl.test\ngarden.test\n").unwrap();
    std::fs::write(
        dir.path().join("tiles.toml"),
        format!(
            "[[tile]]\ntitle = \"{SHORT_TILE}\"\nurl = \"https://owl.test/\"\nicon = \"🦉\"\n\n\
             [[tile]]\ntitle = \"{LONG_TILE}\"\nurl = \"https://garden.test/\"\nicon = \"🦋\"\n"
        ),
    )
    .unwrap();
    let config = dir.path().join("kiosk.toml");
    std::fs::write(
        &config,
        format!("locale = \"{locale}\"\nlist = \"school.list\"\ntiles = \"tiles.toml\"\nstate_dir = \"state\"\n"),
    )
    .unwrap();
    config
}

/// What `satchel://pupil/<path>` answers the page: the HTTP status and the body.
fn fetch(driver: &WebDriver, path: &str) -> (u64, Vec<u8>) {
    let answer = driver.run_async(&format!(
        r#"const done = arguments[arguments.length - 1];
        fetch("satchel://pupil/{path}").then(async (response) => {{
            const bytes = new Uint8Array(await response.arrayBuffer());
            let text = "";
            for (const byte of bytes) text += String.fromCharCode(byte);
            done({{ status: response.status, body: btoa(text) }});
        }}).catch((error) => done({{ status: 0, body: "", error: String(error) }}));"#
    ));
    let body = base64::engine::general_purpose::STANDARD.decode(answer["body"].as_str().unwrap_or("")).unwrap();
    (answer["status"].as_u64().unwrap_or_else(|| panic!("fetch {path}: {answer}")), body)
}

/// The length of a WAV file in seconds, as sox reads it.
fn seconds_of(wav: &[u8], dir: &Path, name: &str) -> f64 {
    let file = dir.join(format!("{name}.wav"));
    std::fs::write(&file, wav).unwrap();
    let output = Command::new("soxi").arg("-D").arg(&file).output().expect("soxi (apt-get install sox) runs");
    assert!(output.status.success(), "sox cannot read {name}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().parse().unwrap()
}

/// Spoken words: long enough to be words (a silent or cut-off file is a few hundredths of
/// a second), short enough to be one sentence read slowly.
fn assert_plausible_speech(seconds: f64, what: &str) {
    assert!((0.4..12.0).contains(&seconds), "{what}: {seconds} s of audio");
}

/// Presses a speaker and waits until the page's player has played (or is playing) what it
/// asked the kiosk for.
fn press_and_hear(driver: &WebDriver, selector: &str, expected_source: &str) {
    driver.click(selector);
    wait_for(&format!("{selector} to play {expected_source}"), Duration::from_secs(20), || {
        let state = driver.run(
            r#"const voice = document.getElementById("voice");
            return voice ? { src: voice.getAttribute("data-words") || "", played: voice.played.length > 0 && voice.currentTime > 0 || voice.ended,
                             error: voice.error ? voice.error.code : 0 } : null;"#,
        );
        assert_eq!(state["error"].as_u64(), Some(0), "the page could not play {expected_source}: {state}");
        state["src"].as_str().is_some_and(|src| src.ends_with(expected_source)) && state["played"] == true
    });
}

#[test]
fn listen_speaks_every_sentence_and_tile_name_in_every_locale() {
    let _turn = one_at_a_time();
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    for locale in ["en-GB", "cy", "pl", "ur", "ar"] {
        let dir = TempDir::new("listen");
        let display = Display::start();
        let driver = WebDriver::start(&display, &kiosk_in(locale, &dir));
        driver.wait_for_url("satchel://pupil/home.html");
        let shown = driver.run(
            r#"return [...document.querySelectorAll("[data-say], [data-say-tile]")].filter((b) => !b.hidden).length"#,
        );
        assert_eq!(shown.as_u64(), Some(3), "{locale}: Listen and a speaker on each of the two tiles show");

        for page in ["home", "blocked", "offline", "thanks"] {
            let (status, wav) = fetch(&driver, &format!("say/{page}"));
            assert_eq!(status, 200, "{locale} {page}");
            assert_plausible_speech(
                seconds_of(&wav, dir.path(), &format!("{locale}-{page}")),
                &format!("{locale} {page}"),
            );
        }
        let tile = |url: &str| fetch(&driver, &format!("say/tile?url={}", urlencode(url)));
        let (short, long) = (tile("https://owl.test/"), tile("https://garden.test/"));
        assert_eq!((short.0, long.0), (200, 200), "{locale}: both tile names are spoken");
        let short = seconds_of(&short.1, dir.path(), &format!("{locale}-owl"));
        let long = seconds_of(&long.1, dir.path(), &format!("{locale}-garden"));
        assert_plausible_speech(long, &format!("{locale} long tile name"));
        assert!(short > 0.2 && long > 2.0 * short, "{locale}: a tile's own name is said ({short} s against {long} s)");

        // Nothing but the pages' sentences and today's tiles can be said.
        for other in ["say/toolbar", "say/exit", "say/nothing", "say/tile?url=https%3A%2F%2Fevil.test%2F", "say/tile"] {
            assert_eq!(fetch(&driver, other).0, 404, "{locale}: {other}");
        }

        press_and_hear(&driver, ".listen", "say/home");
        press_and_hear(
            &driver,
            "#tiles li:nth-child(2) .tile-say",
            &format!("say/tile?url={}", urlencode("https://garden.test/")),
        );
        assert_eq!(driver.url(), "satchel://pupil/home.html", "{locale}: the tile's speaker does not open the tile");
        if locale == "cy" || locale == "ar" {
            display.screenshot(&shots.join(format!("listen-home-{locale}.png")));
        }
    }
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
