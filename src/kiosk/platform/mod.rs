//! What the kiosk needs from the webview beyond wry, one small trait per concern, so another
//! platform (WebView2, WKWebView) implements these and the shell stays as it is. Linux
//! (WebKitGTK) is the one implementation today.

use super::navigation::Frame;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub use linux::{grab_keyboard, on_exit_chord, pack_toolbar};

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
/// (`history.pushState`, which no navigation gate sees), and each page that could not be
/// loaded.
pub trait MainFrameLoads {
    fn on_main_frame_committed(&self, committed: impl Fn(String) + 'static);
    fn on_address_moved_in_page(&self, moved: impl Fn(String) + 'static);
    fn on_load_failed(&self, failed: impl Fn(String) + 'static);
}
