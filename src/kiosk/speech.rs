//! Listen: the pupil pages' sentences and the Home tiles' names, spoken in the page's own
//! language. WebKitGTK's speech goes through Flite, whose only voices are American English,
//! so the kiosk synthesises the words itself (espeak-ng, whose Debian package speaks every
//! shipped locale) and hands the page the audio as WAV under `satchel://pupil/say/…`.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context, Result};
use tracing::info;

/// A text-to-speech engine with one voice (the page's language). espeak-ng here; Windows'
/// SAPI or macOS's AVSpeechSynthesizer would fit the same seam.
pub trait Voice: Send + Sync {
    /// `text` spoken, as a complete WAV file.
    fn speak(&self, text: &str) -> Result<Vec<u8>>;
}

/// espeak-ng's voice for each shipped locale: British English, not the default American.
const ESPEAK_VOICES: &[(&str, &str)] = &[("en-GB", "en-gb"), ("cy", "cy"), ("pl", "pl"), ("ur", "ur"), ("ar", "ar")];

/// Words a minute: slower than espeak-ng's 175, for children learning to listen and read.
const WORDS_PER_MINUTE: &str = "140";

/// The longest text spoken: a sentence or a tile's name, never a page of text.
const MOST_CHARACTERS: usize = 200;

/// espeak-ng, run once per phrase with the locale's voice.
pub struct Espeak {
    program: PathBuf,
    voice: &'static str,
}

impl Espeak {
    /// espeak-ng with the voice for `locale`, when the program is installed and has one.
    pub fn for_locale(locale: &str) -> Option<Espeak> {
        let voice = ESPEAK_VOICES.iter().find(|(tag, _)| tag.eq_ignore_ascii_case(locale))?.1;
        let program = find_program("espeak-ng")?;
        Some(Espeak { program, voice })
    }
}

impl Voice for Espeak {
    fn speak(&self, text: &str) -> Result<Vec<u8>> {
        let mut child = Command::new(&self.program)
            // UTF-8 text on standard input (Arabic and Urdu included), WAV on standard output.
            .args(["-v", self.voice, "-s", WORDS_PER_MINUTE, "-b", "1", "--stdin", "--stdout"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot run {}", self.program.display()))?;
        let mut stdin = child.stdin.take().context("espeak-ng has no standard input")?;
        stdin.write_all(text.as_bytes())?;
        drop(stdin);
        let output = child.wait_with_output()?;
        if !output.status.success() {
            bail!("espeak-ng -v {} failed: {}", self.voice, String::from_utf8_lossy(&output.stderr).trim());
        }
        let mut wav = output.stdout;
        fix_streamed_wav_lengths(&mut wav)?;
        Ok(wav)
    }
}

/// A program on `PATH`.
fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// espeak-ng writing to a pipe cannot go back to fill in the RIFF and data lengths, and
/// leaves placeholders there; a media player that trusts them finds no sound. Writes the
/// real lengths in.
fn fix_streamed_wav_lengths(wav: &mut [u8]) -> Result<()> {
    if wav.len() < 12 || &wav[0..4] != b"RIFF" || &wav[8..12] != b"WAVE" {
        bail!("espeak-ng did not write a WAV file");
    }
    let riff_length = u32::try_from(wav.len() - 8).context("WAV too long")?;
    wav[4..8].copy_from_slice(&riff_length.to_le_bytes());
    let mut chunk = 12;
    while chunk + 8 <= wav.len() {
        let id = &wav[chunk..chunk + 4];
        if id == b"data" {
            let data_length = u32::try_from(wav.len() - chunk - 8).context("WAV too long")?;
            wav[chunk + 4..chunk + 8].copy_from_slice(&data_length.to_le_bytes());
            return Ok(());
        }
        let length = u32::from_le_bytes(wav[chunk + 4..chunk + 8].try_into().expect("four bytes")) as usize;
        chunk += 8 + length + (length & 1);
    }
    bail!("espeak-ng's WAV has no data chunk")
}

/// A voice and what it has already said this run: a pupil pressing Listen again hears it at
/// once, and ten quick taps make one synthesis, not ten.
pub struct Speaker {
    voice: Box<dyn Voice>,
    spoken: Mutex<HashMap<String, Arc<[u8]>>>,
}

/// Phrases kept: every page's sentence and a screen of tiles, with room to spare.
const PHRASES_KEPT: usize = 64;

impl Speaker {
    pub fn new(voice: Box<dyn Voice>) -> Speaker {
        Speaker { voice, spoken: Mutex::new(HashMap::new()) }
    }

    /// `text` as WAV audio. Slow the first time (a process to run), so not on the UI thread.
    pub fn say(&self, text: &str) -> Result<Arc<[u8]>> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > MOST_CHARACTERS {
            bail!("Listen speaks a sentence or a name of at most {MOST_CHARACTERS} characters");
        }
        // Held while speaking, so the same phrase asked for twice is made once.
        let mut spoken = self.spoken.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(audio) = spoken.get(text) {
            return Ok(Arc::clone(audio));
        }
        let audio: Arc<[u8]> = self.voice.speak(text)?.into();
        info!(text, bytes = audio.len(), "spoken");
        if spoken.len() >= PHRASES_KEPT {
            spoken.clear();
        }
        spoken.insert(text.to_owned(), Arc::clone(&audio));
        Ok(audio)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn every_shipped_locale_has_an_espeak_voice() {
        for tag in crate::pages::locale_tags() {
            assert!(ESPEAK_VOICES.iter().any(|(locale, _)| *locale == tag), "no espeak-ng voice for {tag}");
        }
    }

    /// A WAV header as espeak-ng streams it: placeholder lengths, a fmt chunk, then data.
    fn streamed_wav(samples: usize) -> Vec<u8> {
        let mut wav = b"RIFF\x24\xf0\xff\x7fWAVEfmt ".to_vec();
        wav.extend_from_slice(&16u32.to_le_bytes());
        wav.extend_from_slice(&[1, 0, 1, 0, 0x22, 0x56, 0, 0, 0x44, 0xac, 0, 0, 2, 0, 16, 0]);
        wav.extend_from_slice(b"data\x00\xf0\xff\x7f");
        wav.extend(std::iter::repeat_n(0u8, samples * 2));
        wav
    }

    #[test]
    fn streamed_lengths_are_replaced_by_the_real_ones() {
        let mut wav = streamed_wav(1000);
        fix_streamed_wav_lengths(&mut wav).unwrap();
        assert_eq!(u32::from_le_bytes(wav[4..8].try_into().unwrap()) as usize, wav.len() - 8);
        assert_eq!(u32::from_le_bytes(wav[40..44].try_into().unwrap()), 2000);
    }

    #[test]
    fn something_that_is_not_wav_is_an_error() {
        assert!(fix_streamed_wav_lengths(&mut b"not a wav file at all".to_vec()).is_err());
        let mut no_data = streamed_wav(0);
        no_data.truncate(36);
        assert!(fix_streamed_wav_lengths(&mut no_data).is_err());
    }

    struct Counting(Arc<AtomicUsize>);

    impl Voice for Counting {
        fn speak(&self, text: &str) -> Result<Vec<u8>> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(text.as_bytes().to_vec())
        }
    }

    #[test]
    fn a_phrase_is_made_once_and_nothing_long_or_empty_is_spoken() {
        let made = Arc::new(AtomicUsize::new(0));
        let speaker = Speaker::new(Box::new(Counting(Arc::clone(&made))));
        assert_eq!(&*speaker.say("Pick a picture.").unwrap(), b"Pick a picture.");
        assert_eq!(&*speaker.say(" Pick a picture. ").unwrap(), b"Pick a picture.");
        assert_eq!(made.load(Ordering::SeqCst), 1);
        assert!(speaker.say("   ").is_err());
        assert!(speaker.say(&"word ".repeat(50)).is_err());
        assert_eq!(made.load(Ordering::SeqCst), 1);
    }
}
