//! The platform traits on WebKitGTK (see `shared/webkitgtk-notes.md` for what each call was
//! checked against).

use std::cell::Cell;
use std::rc::Rc;

use gtk::glib::{self, translate::ToGlibPtr};
use gtk::prelude::*;
use tao::platform::unix::WindowExtUnix;
use webkit2gtk::{
    AuthenticationRequestExt, Credential, CredentialPersistence, FileChooserRequestExt, LoadEvent,
    NavigationPolicyDecision, NavigationPolicyDecisionExt, NavigationType, PermissionRequestExt, PolicyDecisionExt,
    PolicyDecisionType, SettingsExt, URIRequestExt, UserContentInjectedFrames, UserContentManagerExt, UserStyleLevel,
    UserStyleSheet, WebViewExt,
};
use wry::{WebView, WebViewBuilder, WebViewBuilderExtUnix, WebViewExtUnix};

use super::{
    Activity, Keyboard, Layout, Lockdown, MainFrameLoads, NavigationGate, NavigationRequest, PngEncoder,
    ProxyCredentials, Snapshot, ViewSettings,
};
use crate::kiosk::navigation::Frame;

/// Pupils tap and drag; selecting text only gets in the way (the PIN box opts back in).
const NO_SELECTION: &str = "* { user-select: none !important; -webkit-user-select: none !important; }";

impl Lockdown for WebView {
    fn lock_down(&self, choices: &ViewSettings) {
        let view = self.webview();
        // The menu offers Inspect Element and Open Link in New Window.
        view.connect_context_menu(|_, _, _, _| true);
        // Mouse buttons 8 and 9 navigate through wry's synthetic events; the raw `event`
        // signal runs first.
        view.connect_event(|_, event| {
            let side_button =
                matches!(event.event_type(), gtk::gdk::EventType::ButtonPress | gtk::gdk::EventType::ButtonRelease)
                    && matches!(event.button(), Some(8 | 9));
            if side_button {
                glib::Propagation::Stop
            } else {
                glib::Propagation::Proceed
            }
        });
        if !choices.allow_uploads {
            view.connect_run_file_chooser(|_, request| {
                request.cancel();
                true
            });
        }
        if let Some(settings) = WebViewExt::settings(&view) {
            // The page's fullscreen API would pull the kiosk window out of fullscreen.
            settings.set_enable_fullscreen(false);
            if !choices.hardware_acceleration {
                settings.set_hardware_acceleration_policy(webkit2gtk::HardwareAccelerationPolicy::Never);
            }
            settings.set_enable_developer_extras(false);
            settings.set_javascript_can_open_windows_automatically(false);
            // WebKit's own DNS lookups would bypass the proxy's resolver.
            #[allow(deprecated)]
            settings.set_enable_dns_prefetching(false);
            // Off already by default; said here so that no default can change it. WebRTC's
            // UDP would go round the proxy, and a camera or microphone has no place here.
            settings.set_enable_webrtc(false);
            settings.set_enable_media_stream(false);
        }
        // Camera, microphone, location, notifications, pointer lock…: all refused.
        view.connect_permission_request(|_, request| {
            request.deny();
            true
        });
        // Upstream WebKit answers an unhandled window.print() with GTK's print dialog (printers,
        // and "Print to File" with a file chooser onto the disk). On this machine's WebKitGTK
        // no dialog appeared either way, so no test shows the difference; handled, it cannot.
        view.connect_print(|_, _| true);
        if let Some(manager) = view.user_content_manager() {
            let sheet =
                UserStyleSheet::new(NO_SELECTION, UserContentInjectedFrames::AllFrames, UserStyleLevel::User, &[], &[]);
            manager.add_style_sheet(&sheet);
        }
    }
}

impl NavigationGate for WebView {
    fn gate_navigations(&self, decide: impl Fn(&NavigationRequest) -> bool + 'static) {
        let view = self.webview();
        // WebKitGTK does not say which frame a navigation is for (the frame name is empty for
        // iframes too). `load-changed` is for the main frame only, so a redirect while it is
        // loading is the main frame's; otherwise the pupil's own clicks and submits are.
        let main_frame_loading = Rc::new(Cell::new(false));
        let loading = Rc::clone(&main_frame_loading);
        view.connect_load_changed(move |_, event| {
            loading.set(matches!(event, LoadEvent::Started | LoadEvent::Redirected))
        });
        view.connect_decide_policy(move |view, decision, kind| {
            if kind != PolicyDecisionType::NavigationAction {
                return false;
            }
            let Some(navigation) = decision.downcast_ref::<NavigationPolicyDecision>() else { return false };
            let Some(mut action) = navigation.navigation_action() else {
                decision.ignore();
                return true;
            };
            let url = action.request().and_then(|r| r.uri()).map(|u| u.to_string()).unwrap_or_default();
            let by_pupil = action.is_user_gesture()
                || action.mouse_button() != 0
                || matches!(
                    action.navigation_type(),
                    NavigationType::LinkClicked
                        | NavigationType::FormSubmitted
                        | NavigationType::FormResubmitted
                        | NavigationType::BackForward
                        | NavigationType::Reload
                );
            let redirect = action.is_redirect();
            let frame = if by_pupil || (redirect && main_frame_loading.get()) { Frame::Main } else { Frame::Sub };
            tracing::trace!(url, ?frame, redirect, by_pupil, "navigation");
            let from = view.uri().map(|u| u.to_string()).unwrap_or_default();
            if decide(&NavigationRequest { url, frame, from }) {
                decision.use_();
            } else {
                decision.ignore();
            }
            true
        });
    }
}

impl ProxyCredentials for WebView {
    fn answer_proxy_challenge(&self, user: &str, token: &str) {
        let credential = Credential::new(user, token, CredentialPersistence::ForSession);
        self.webview().connect_authenticate(move |_, request| {
            if request.is_for_proxy() {
                // The safe binding has no `authenticate`; the C call takes the request and a
                // credential it copies.
                // SAFETY: both pointers come from live GObjects borrowed for the call (the
                // request from the signal, the credential from the closure), and WebKit copies
                // the credential rather than keeping the pointer.
                unsafe {
                    webkit2gtk::ffi::webkit_authentication_request_authenticate(
                        request.to_glib_none().0,
                        ToGlibPtr::<*const webkit2gtk::ffi::WebKitCredential>::to_glib_none(&credential).0 as *mut _,
                    );
                }
            } else {
                // Sites asking for a password get none: pupils do not type passwords into
                // browser dialogs.
                request.cancel();
            }
            true
        });
    }
}

impl Snapshot for WebView {
    fn snapshot(&self, done: impl FnOnce(Option<PngEncoder>, String) + 'static) {
        let view = self.webview();
        let title = view.title().map(|t| t.to_string()).unwrap_or_default();
        view.snapshot(
            webkit2gtk::SnapshotRegion::Visible,
            webkit2gtk::SnapshotOptions::NONE,
            None::<&gtk::gio::Cancellable>,
            move |result| {
                let image = result.map_err(|e| e.to_string()).and_then(|surface| {
                    cairo::ImageSurface::try_from(surface).map_err(|_| "not an image surface".to_owned())
                });
                let encoder = match image {
                    Ok(image) => Some(Box::new(move || {
                        let mut png = Vec::new();
                        match image.write_to_png(&mut png) {
                            Ok(()) => Some(png),
                            Err(error) => {
                                tracing::warn!(%error, "the screenshot could not be encoded");
                                None
                            }
                        }
                    }) as PngEncoder),
                    Err(error) => {
                        tracing::warn!(error, "no screenshot for the report");
                        None
                    }
                };
                done(encoder, title);
            },
        );
    }
}

impl Activity for WebView {
    fn on_activity(&self, touched: impl Fn() + 'static) {
        use gtk::gdk::EventType::*;
        self.webview().connect_event(move |_, event| {
            if matches!(event.event_type(), ButtonPress | KeyPress | Scroll | TouchBegin | TouchUpdate | MotionNotify) {
                touched();
            }
            glib::Propagation::Proceed
        });
    }
}

impl MainFrameLoads for WebView {
    fn on_main_frame_committed(&self, committed: impl Fn(String) + 'static) {
        self.webview().connect_load_changed(move |view, event| {
            if event == LoadEvent::Committed {
                committed(view.uri().map(|u| u.to_string()).unwrap_or_default());
            }
        });
    }

    fn on_address_moved_in_page(&self, moved: impl Fn(String) + 'static) {
        let moved = Rc::new(moved);
        let at_rest = Rc::clone(&moved);
        // During a load the address changes too; the gate and the commit check see those, and
        // the end of the load sees where a page moved its address while it was loading.
        self.webview().connect_uri_notify(move |view| {
            if !view.is_loading() {
                at_rest(view.uri().map(|u| u.to_string()).unwrap_or_default());
            }
        });
        self.webview().connect_load_changed(move |view, event| {
            if event == LoadEvent::Finished {
                moved(view.uri().map(|u| u.to_string()).unwrap_or_default());
            }
        });
    }

    fn on_load_failed(&self, failed: impl Fn(String) + 'static) {
        self.webview().connect_load_failed(move |_, _, uri, error| {
            // Stopped on purpose (our own gate, a new navigation, a download refused): not a
            // site that is down.
            let on_purpose = error.matches(webkit2gtk::NetworkError::Cancelled)
                || error.matches(webkit2gtk::PolicyError::FrameLoadInterruptedByPolicyChange)
                || error.matches(webkit2gtk::PolicyError::CannotShowUri);
            tracing::debug!(uri, %error, on_purpose, "load failed");
            if on_purpose || uri.starts_with("satchel:") {
                return false;
            }
            failed(uri.to_owned());
            // Handled: WebKit's own error page would replace the kiosk's.
            true
        });
    }
}

impl Layout for tao::window::Window {
    fn add_toolbar(&self, toolbar: WebViewBuilder<'_>, height: i32) -> anyhow::Result<WebView> {
        let container = window_box(self)?;
        let toolbar = toolbar.build_gtk(container)?;
        // GTK does the layout: the strip keeps its height whatever the window's size.
        let widget = toolbar.webview();
        container.set_child_packing(&widget, false, false, 0, gtk::PackType::Start);
        container.reorder_child(&widget, 0);
        widget.set_size_request(-1, height);
        Ok(toolbar)
    }

    fn add_content(&self, content: WebViewBuilder<'_>) -> anyhow::Result<WebView> {
        Ok(content.build_gtk(window_box(self)?)?)
    }
}

/// The box tao fills the window with; `build_as_child` would leave the keyboard out of the
/// page (see the notes).
fn window_box(window: &tao::window::Window) -> anyhow::Result<&gtk::Box> {
    window.default_vbox().ok_or_else(|| anyhow::anyhow!("the window has no GTK box"))
}

impl Keyboard for tao::window::Window {
    fn grab_keyboard(&self) {
        let Some(gdk_window) = self.gtk_window().window() else { return };
        let Some(seat) = gdk_window.display().default_seat() else { return };
        let status = seat.grab(&gdk_window, gtk::gdk::SeatCapabilities::KEYBOARD, true, None, None, None);
        if status != gtk::gdk::GrabStatus::Success {
            tracing::warn!(?status, "could not grab the keyboard");
        }
    }

    fn on_exit_chord(&self, pressed: impl Fn() + 'static) {
        use gtk::gdk::ModifierType;
        let chord = ModifierType::CONTROL_MASK | ModifierType::MOD1_MASK | ModifierType::SHIFT_MASK;
        self.gtk_window().connect_key_press_event(move |_, event| {
            let key = event.keyval().to_lower();
            if event.state().contains(chord) && key == gtk::gdk::keys::constants::t {
                pressed();
                return glib::Propagation::Stop;
            }
            glib::Propagation::Proceed
        });
    }
}
