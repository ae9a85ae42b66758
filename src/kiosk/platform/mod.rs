//! What the kiosk needs from the webview and its window beyond wry and tao, one small trait
//! per concern, so another platform (WebView2, WKWebView) implements these and the shell stays
//! as it is. Linux (WebKitGTK) is the one implementation today.

use std::rc::Rc;

use wry::{WebView, WebViewBuilder};

use super::navigation::Frame;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub use linux::accelerate;

/// Where things go in the kiosk window: the toolbar strip across the top at a fixed height,
/// the content view below it taking the rest.
pub trait Layout {
    /// The platform's own widgets, not a web page: no web process to feed, no script channel
    /// a page could reach, and nothing a page can draw over.
    fn add_toolbar(
        &self,
        words: &ToolbarWords,
        height: i32,
        pressed: impl Fn(ToolbarPress) + 'static,
    ) -> anyhow::Result<Box<dyn Toolbar>>;
    /// Also each new pupil session's view, in place of the dropped one.
    fn add_content(&self, content: WebViewBuilder<'_>) -> anyhow::Result<WebView>;
}

/// The strip across the top: Home, Back, Tell my teacher and the badge of reports waiting
/// to be sent; in their place, on the teacher's chord, the exit PIN prompt.
pub trait Toolbar {
    /// How many reports wait in the outbox; 0 hides the badge.
    fn set_waiting(&self, reports: usize);
    /// The PIN prompt, with the keyboard in its PIN box.
    fn show_exit_prompt(&self);
    /// "That PIN is not right.", with the box emptied for another try.
    fn wrong_pin(&self);
    /// The pupil's buttons again.
    fn show_buttons(&self);
}

/// What a press on the toolbar asks for.
#[derive(Debug)]
pub enum ToolbarPress {
    Home,
    Back,
    Tell,
    Exit { pin: String },
    Cancel,
}

/// The toolbar's words, in the kiosk's language, and its direction.
#[derive(Debug)]
pub struct ToolbarWords {
    pub home: String,
    pub back: String,
    pub tell: String,
    /// The Tell button's full name, for screen readers.
    pub tell_label: String,
    pub reports_waiting: String,
    pub exit_pin_label: String,
    pub exit_leave: String,
    pub exit_cancel: String,
    pub exit_wrong_pin: String,
    pub right_to_left: bool,
}

/// Forgets every cookie, storage, cache and credential the pages of a web context left, and
/// then calls back; never, if they could not be forgotten (no next session on the last one's
/// data).
pub type Forget = Rc<dyn Fn(Box<dyn FnOnce() + Send>)>;

/// What the pages of a view's web context stored. Every pupil session's view comes from one
/// context (one network process for the kiosk's whole run), so between sessions it is all
/// forgotten. The forgetting outlives the view, which goes first.
pub trait StoredData {
    fn forget_stored_data(&self) -> Forget;
}

/// The kiosk window's keyboard: taken from the window manager, so its shortcuts never fire,
/// and watched for the teacher's exit chord (Ctrl+Alt+Shift+T) before any view sees it.
pub trait Keyboard {
    fn grab_keyboard(&self);
    fn on_exit_chord(&self, pressed: impl Fn() + 'static);
}

/// A navigation WebKit is about to start, with what the platform knows about it.
#[derive(Clone, Debug)]
pub struct NavigationRequest {
    pub url: String,
    pub frame: Frame,
    /// The address the view shows now (the page the navigation starts from).
    pub from: String,
}

/// Everything a page could use to escape or change the kiosk, switched off.
pub trait Lockdown {
    fn lock_down(&self, settings: &ViewSettings);
}

/// The choices a profile makes about what a view may do.
#[derive(Clone, Copy, Debug)]
pub struct ViewSettings {
    pub allow_uploads: bool,
    /// As [`accelerate`] decided.
    pub hardware_acceleration: bool,
}

/// Decides every navigation of every frame before it starts (`true` lets it load). A
/// navigation the platform cannot tie to the main frame counts as a subframe's, so a
/// blocked one is stopped without replacing the page; [`MainFrameLoads`] catches a main-frame
/// page let through that way.
pub trait NavigationGate {
    fn gate_navigations(&self, decide: impl Fn(&NavigationRequest) -> bool + 'static);
}

/// Answers the loopback proxy's challenge with the per-run credentials.
pub trait ProxyCredentials {
    fn answer_proxy_challenge(&self, user: &str, token: &str);
}

/// Turns a captured picture into PNG bytes; called after the page is covered, since
/// encoding takes longer than capturing.
pub type PngEncoder = Box<dyn FnOnce() -> Option<Vec<u8>>>;

/// The view as the pupil sees it (WebKitGTK's snapshot; WebView2's CapturePreview and
/// WKWebView's takeSnapshot fit here), with the page's title.
pub trait Snapshot {
    fn snapshot(&self, done: impl FnOnce(Option<PngEncoder>, String) + 'static);
}

/// Calls back on every pupil input (touch, click, key, scroll), for the idle timeout.
pub trait Activity {
    fn on_activity(&self, touched: impl Fn() + 'static);
}

/// Main-frame loads as they happen: the address of each page the main frame commits to
/// (checked again, whatever the gate thought), each address a page moves to without loading
/// (`history.pushState`, which no navigation gate sees) and the address at the end of each
/// load (a page may move it while still loading), and each page that could not be loaded.
pub trait MainFrameLoads {
    fn on_main_frame_committed(&self, committed: impl Fn(String) + 'static);
    fn on_address_moved_in_page(&self, moved: impl Fn(String) + 'static);
    fn on_load_failed(&self, failed: impl Fn(String) + 'static);
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                rust_files(&path, files);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }

    /// The seam holds only while nothing reaches round it: another platform would have to
    /// change every file that names GTK, WebKitGTK, cairo or wry's and tao's Unix extensions.
    #[test]
    fn nothing_outside_the_platform_folder_names_gtk_or_webkitgtk() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let platform = src.join("kiosk").join("platform");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let mut named = Vec::new();
        for file in files.iter().filter(|file| !file.starts_with(&platform)) {
            let text = std::fs::read_to_string(file).unwrap();
            for (number, line) in text.lines().enumerate() {
                if ["gtk", "vbox", "cairo", "ExtUnix"].iter().any(|word| line.contains(word)) {
                    named.push(format!("{}:{}: {}", file.display(), number + 1, line.trim()));
                }
            }
        }
        assert!(named.is_empty(), "platform code outside kiosk/platform/:\n{}", named.join("\n"));
    }
}
