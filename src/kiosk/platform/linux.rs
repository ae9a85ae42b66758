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
    UserStyleSheet, WebContextExt, WebViewExt, WebsiteDataManagerExtManual, WebsiteDataTypes,
};
use wry::{WebView, WebViewBuilder, WebViewBuilderExtUnix, WebViewExtUnix};

use super::{
    Activity, Keyboard, Layout, Lockdown, MainFrameLoads, NavigationGate, NavigationRequest, PngEncoder,
    ProxyCredentials, Snapshot, StoredData, Toolbar, ToolbarPress, ToolbarWords, ViewSettings,
};
use crate::kiosk::navigation::Frame;

impl StoredData for WebView {
    fn forget_stored_data(&self) -> super::Forget {
        let data = self.webview().context().and_then(|context| context.website_data_manager());
        Rc::new(move |done| {
            let Some(data) = &data else {
                tracing::error!("the view's web context has no data manager: nothing can be forgotten");
                return;
            };
            let all_time = glib::TimeSpan(0);
            data.clear(WebsiteDataTypes::ALL, all_time, None::<&gtk::gio::Cancellable>, move |cleared| match cleared {
                Ok(()) => done(),
                Err(error) => tracing::error!(%error, "the last session's stored data could not be forgotten"),
            });
        })
    }
}

/// Whether the views draw with the GPU: as the configuration says, or (`None`) where the
/// machine has one. Call it first, before any thread starts: without acceleration, WebKit is
/// told by its environment never to start GL at all (with only the settings' policy, its UI
/// process still brought up Mesa's EGL: 55 ms of the start and libLLVM in memory).
pub fn accelerate(chosen: Option<bool>) -> bool {
    let accelerate = chosen.unwrap_or_else(has_gpu_render_node);
    if !accelerate {
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
    accelerate
}

/// Whether the kernel offers a GPU for rendering (a DRM render node). Without one, GL is
/// Mesa's llvmpipe on the CPU, slower and heavier than WebKit drawing on the CPU itself.
fn has_gpu_render_node() -> bool {
    std::fs::read_dir("/dev/dri")
        .is_ok_and(|nodes| nodes.flatten().any(|node| node.file_name().to_string_lossy().starts_with("renderD")))
}

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
        // No memory or disk cache (the document-viewer model, context-wide): a cached
        // response would reach the page without passing the proxy, whatever the rules say
        // by then. The web process is lighter for it.
        if let Some(context) = view.context() {
            context.set_cache_model(webkit2gtk::CacheModel::DocumentViewer);
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
    fn add_toolbar(
        &self,
        words: &ToolbarWords,
        height: i32,
        pressed: impl Fn(ToolbarPress) + 'static,
    ) -> anyhow::Result<Box<dyn Toolbar>> {
        let container = window_box(self)?;
        let toolbar = GtkToolbar::new(words, Rc::new(pressed));
        toolbar.stack.set_size_request(-1, height);
        // GTK does the layout: the strip keeps its height whatever the window's size.
        container.pack_start(&toolbar.stack, false, false, 0);
        container.reorder_child(&toolbar.stack, 0);
        toolbar.stack.show_all();
        toolbar.badge.hide();
        toolbar.wrong.hide();
        Ok(Box::new(toolbar))
    }

    fn add_content(&self, content: WebViewBuilder<'_>) -> anyhow::Result<WebView> {
        Ok(content.build_gtk(window_box(self)?)?)
    }
}

/// The toolbar's look, after `shared/pupil-ui.md` and the pupil pages' colours: Andika, big
/// targets with a picture over one word, and the amber Tell button with the raised hand.
const TOOLBAR_CSS: &str = "
.satchel-bar { background-color: #e6edf4; box-shadow: inset 0 -2px #aebccb; }
.satchel-bar, .satchel-bar label, .satchel-bar entry {
  font-family: Andika, 'Noto Naskh Arabic', 'Noto Sans Arabic', sans-serif; color: #1b2a3a; }
.satchel-bar button {
  min-width: 74px; min-height: 0; padding: 0 16px; border-radius: 16px; border: 3px solid #2f6b45;
  background-image: none; background-color: #cfead6; box-shadow: none; font-size: 20px; font-weight: bold; }
.satchel-bar button:hover { background-color: #c3e2cb; }
.satchel-bar button:focus { outline: 4px solid #0b3a8c; outline-offset: -9px; }
.satchel-bar button.satchel-tell { min-width: 182px; background-color: #ffb020; border-color: #8a5300; }
.satchel-bar button.satchel-tell:hover { background-color: #f5a814; }
.satchel-bar label { font-size: 19px; font-weight: bold; }
.satchel-bar label.satchel-pic { font-family: 'Noto Color Emoji'; font-size: 27px; font-weight: normal; }
/* The raised hand sits on a white disc, as on every pupil screen. */
.satchel-bar button.satchel-tell label.satchel-pic {
  background-color: #ffffff; border-radius: 999px; min-width: 36px; min-height: 36px; font-size: 22px; }
.satchel-badge { background-color: #ffffff; border: 2px solid #aebccb; border-radius: 999px; padding: 4px 12px;
  font-size: 20px; font-weight: bold; }
.satchel-bar entry { min-height: 44px; min-width: 160px; font-size: 22px; border: 3px solid #2f6b45; border-radius: 12px; }
";

/// The toolbar in GTK widgets: a stack of two strips, the pupil's buttons and the exit
/// prompt.
struct GtkToolbar {
    stack: gtk::Stack,
    badge: gtk::Box,
    count: gtk::Label,
    pin: gtk::Entry,
    wrong: gtk::Label,
}

impl GtkToolbar {
    fn new(words: &ToolbarWords, pressed: Rc<dyn Fn(ToolbarPress)>) -> GtkToolbar {
        let direction = if words.right_to_left { gtk::TextDirection::Rtl } else { gtk::TextDirection::Ltr };
        // Every selector is under .satchel-bar, so the rest of the screen is untouched; at the
        // application's priority it wins over the desktop theme.
        let provider = gtk::CssProvider::new();
        match (provider.load_from_data(TOOLBAR_CSS.as_bytes()), gtk::gdk::Screen::default()) {
            (Ok(()), Some(screen)) => {
                gtk::StyleContext::add_provider_for_screen(&screen, &provider, gtk::STYLE_PROVIDER_PRIORITY_APPLICATION)
            }
            (Err(error), _) => tracing::warn!(%error, "the toolbar's style did not load"),
            (_, None) => tracing::warn!("no screen for the toolbar's style"),
        }
        let stack = gtk::Stack::new();
        stack.set_direction(direction);
        stack.style_context().add_class("satchel-bar");

        let buttons = strip(direction);
        let home = picture_button("🏠", &words.home, &pressed, || ToolbarPress::Home);
        let back_picture = if words.right_to_left { "➡️" } else { "⬅️" };
        let back = picture_button(back_picture, &words.back, &pressed, || ToolbarPress::Back);
        let count = gtk::Label::new(Some("0"));
        let badge = gtk::Box::new(gtk::Orientation::Horizontal, 4);
        badge.style_context().add_class("satchel-badge");
        badge.set_valign(gtk::Align::Center);
        badge.set_tooltip_text(Some(&words.reports_waiting));
        badge.pack_start(&emoji("⏳"), false, false, 0);
        badge.pack_start(&count, false, false, 0);
        let tell = picture_button("✋", &words.tell, &pressed, || ToolbarPress::Tell);
        tell.style_context().add_class("satchel-tell");
        tell.set_tooltip_text(Some(&words.tell_label));
        buttons.pack_start(&home, false, false, 0);
        buttons.pack_start(&back, false, false, 0);
        buttons.pack_end(&tell, false, false, 0);
        buttons.pack_end(&badge, false, false, 0);

        let prompt = strip(direction);
        let pin = gtk::Entry::new();
        pin.set_visibility(false);
        pin.set_input_purpose(gtk::InputPurpose::Pin);
        pin.set_valign(gtk::Align::Center);
        let label = gtk::Label::new(Some(&words.exit_pin_label));
        label.set_mnemonic_widget(Some(&pin));
        let leave = text_button(&words.exit_leave);
        let cancel = text_button(&words.exit_cancel);
        let wrong = gtk::Label::new(Some(&words.exit_wrong_pin));
        let submit = {
            let (pressed, pin) = (Rc::clone(&pressed), pin.clone());
            Rc::new(move || {
                let typed = pin.text().to_string();
                pin.set_text("");
                pressed(ToolbarPress::Exit { pin: typed });
            })
        };
        let on_enter = Rc::clone(&submit);
        pin.connect_activate(move |_| on_enter());
        leave.connect_clicked(move |_| submit());
        let on_cancel = Rc::clone(&pressed);
        cancel.connect_clicked(move |_| on_cancel(ToolbarPress::Cancel));
        prompt.pack_start(&emoji("🔒"), false, false, 0);
        prompt.pack_start(&label, false, false, 0);
        prompt.pack_start(&pin, false, false, 0);
        prompt.pack_start(&leave, false, false, 0);
        prompt.pack_start(&cancel, false, false, 0);
        prompt.pack_start(&wrong, false, false, 0);

        stack.add_named(&buttons, "buttons");
        stack.add_named(&prompt, "exit");
        stack.set_visible_child_name("buttons");
        GtkToolbar { stack, badge, count, pin, wrong }
    }
}

impl Toolbar for GtkToolbar {
    fn set_waiting(&self, reports: usize) {
        self.count.set_text(&reports.to_string());
        self.badge.set_visible(reports > 0);
    }

    fn show_exit_prompt(&self) {
        self.wrong.hide();
        self.pin.set_text("");
        self.stack.set_visible_child_name("exit");
        self.pin.grab_focus();
    }

    fn wrong_pin(&self) {
        self.pin.set_text("");
        self.wrong.show();
        self.pin.grab_focus();
    }

    fn show_buttons(&self) {
        self.pin.set_text("");
        self.stack.set_visible_child_name("buttons");
    }
}

/// One row of the strip, 12 px from the window's edges and between its parts.
fn strip(direction: gtk::TextDirection) -> gtk::Box {
    let row = gtk::Box::new(gtk::Orientation::Horizontal, 12);
    row.set_direction(direction);
    row.set_margin_start(12);
    row.set_margin_end(12);
    row.set_margin_top(2);
    row.set_margin_bottom(2);
    row
}

fn emoji(picture: &str) -> gtk::Label {
    let label = gtk::Label::new(Some(picture));
    label.style_context().add_class("satchel-pic");
    label
}

/// A picture over one word; a press calls `pressed` with what `press` makes.
fn picture_button(
    picture: &str,
    word: &str,
    pressed: &Rc<dyn Fn(ToolbarPress)>,
    press: impl Fn() -> ToolbarPress + 'static,
) -> gtk::Button {
    let button = gtk::Button::new();
    let inside = gtk::Box::new(gtk::Orientation::Vertical, 0);
    inside.set_valign(gtk::Align::Center);
    let picture = emoji(picture);
    picture.set_halign(gtk::Align::Center);
    inside.pack_start(&picture, false, false, 0);
    inside.pack_start(&gtk::Label::new(Some(word)), false, false, 0);
    button.add(&inside);
    button.set_focus_on_click(false);
    let pressed = Rc::clone(pressed);
    button.connect_clicked(move |_| pressed(press()));
    button
}

fn text_button(word: &str) -> gtk::Button {
    let button = gtk::Button::with_label(word);
    button.set_valign(gtk::Align::Center);
    button
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
