//! `satchel learn`: opens a site in an ordinary window on a technician's or teacher's machine,
//! through a proxy that lets everything through and notes every host the site loads from
//! (pictures, scripts, frames, redirects), then prints the list entry with its resource
//! hosts, ready to paste: `www.example.org uses: cdn.example.net, img.example.com`.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use tao::event::{Event, WindowEvent};
use tao::event_loop::{ControlFlow, EventLoopBuilder};
use tao::window::WindowBuilder;
use tracing::info;
use url::Url;
use wry::{NewWindowResponse, ProxyConfig, ProxyEndpoint, WebViewBuilder};

use super::platform::{Layout, ProxyCredentials};
use super::proxy::{self, Passage, PolicyCell, Resolver};
use crate::config::KioskConfig;
use crate::policy::{Action, Policy};

/// The kiosk user `satchel setup-kiosk` makes; its session is a pupil's.
const KIOSK_USER: &str = "satchel";

/// Set in the kiosk session's environment (`satchel-kiosk.service`).
pub const KIOSK_SESSION_VARIABLE: &str = "SATCHEL_KIOSK_SESSION";

/// What the learning window ends with.
enum LearnEvent {
    TimeUp,
    OpenHere(String),
}

/// Opens `address` for `seconds` (or until the window is closed) and prints its list entry.
pub fn run(config: &KioskConfig, address: &str, seconds: u64) -> Result<()> {
    if in_kiosk_session() {
        bail!("satchel learn runs on a technician's or teacher's machine, never in a pupil's kiosk session");
    }
    let start = Url::parse(address).with_context(|| format!("`{address}` is not a web address"))?;
    if !matches!(start.scheme(), "http" | "https") || start.host_str().is_none() {
        bail!("`{address}`: satchel learn opens http and https sites");
    }
    let hosts = Arc::new(Mutex::new(BTreeSet::new()));
    let seen = Arc::clone(&hosts);
    let mut everything = Policy::builder();
    everything.default_action(Action::Allow);
    let proxy = proxy::start(
        Arc::new(PolicyCell::new(everything.build())),
        Resolver::new(config.hosts.clone()),
        Box::new(move |host, passage| {
            if passage == Passage::Allowed {
                seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(host.to_ascii_lowercase());
            }
        }),
    )?;

    let event_loop = EventLoopBuilder::<LearnEvent>::with_user_event().build();
    let window = WindowBuilder::new()
        .with_title(format!("Satchel learn: {}", start.host_str().unwrap_or_default()))
        .with_inner_size(tao::dpi::LogicalSize::new(1200.0, 800.0))
        .build(&event_loop)
        .context("cannot open the learning window")?;
    let events = event_loop.create_proxy();
    let view = WebViewBuilder::new()
        .with_incognito(true)
        .with_devtools(false)
        .with_proxy_config(ProxyConfig::Http(ProxyEndpoint {
            host: proxy.address.ip().to_string(),
            port: proxy.address.port().to_string(),
        }))
        .with_url(start.as_str())
        .with_download_started_handler(|_, _| false)
        .with_new_window_req_handler(move |url, _| {
            let _ = events.send_event(LearnEvent::OpenHere(url));
            NewWindowResponse::Deny
        });
    let view = window.add_content(view)?;
    view.answer_proxy_challenge(proxy::PROXY_USER, &proxy.token);
    eprintln!("satchel learn: click around {start} (the window closes in {seconds} s, or close it when done)");

    let time_up = event_loop.create_proxy();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(seconds));
        let _ = time_up.send_event(LearnEvent::TimeUp);
    });
    event_loop.run(move |event, _, control_flow| {
        *control_flow = ControlFlow::Wait;
        let finished = match event {
            Event::WindowEvent { event: WindowEvent::CloseRequested, .. } => true,
            Event::UserEvent(LearnEvent::TimeUp) => true,
            Event::UserEvent(LearnEvent::OpenHere(url)) => {
                let _ = view.load_url(&url);
                false
            }
            _ => false,
        };
        if finished {
            let hosts = hosts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            info!(hosts = hosts.len(), "learning ended");
            println!("{}", list_entry(&start, &hosts));
            *control_flow = ControlFlow::Exit;
        }
    })
}

/// The allow entry for `start` with the hosts it used that the entry does not cover already.
/// A bare host covers its subdomains; an entry with a path covers pages under that path only,
/// so the site's own hosts are resource hosts too (as in `bbc.co.uk/bitesize uses:
/// bbc.co.uk`).
fn list_entry(start: &Url, hosts: &BTreeSet<String>) -> String {
    let host = start.host_str().unwrap_or_default().trim_end_matches('.').to_ascii_lowercase();
    let path = start.path().trim_end_matches('/');
    let entry = format!("{host}{path}");
    let covered = |name: &str| path.is_empty() && (name == host || name.ends_with(&format!(".{host}")));
    let uses: Vec<&str> = hosts.iter().map(String::as_str).filter(|name| !covered(name)).collect();
    if uses.is_empty() {
        entry
    } else {
        format!("{entry} uses: {}", uses.join(", "))
    }
}

/// Whether this is a pupil's kiosk session: its environment says so, or this is the kiosk
/// user. Learning lets every site through, so it never runs there.
fn in_kiosk_session() -> bool {
    std::env::var_os(KIOSK_SESSION_VARIABLE).is_some_and(|value| !value.is_empty())
        || current_uid().is_some_and(|uid| user_uid(Path::new("/etc/passwd"), KIOSK_USER) == Some(uid))
}

fn current_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").ok().map(|meta| meta.uid())
}

fn user_uid(passwd: &Path, user: &str) -> Option<u32> {
    let text = std::fs::read_to_string(passwd).ok()?;
    text.lines().find_map(|line| {
        let mut fields = line.split(':');
        (fields.next() == Some(user)).then(|| fields.nth(1)?.parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|name| name.to_string()).collect()
    }

    #[test]
    fn a_host_entry_lists_only_the_hosts_it_does_not_cover() {
        let start = Url::parse("https://www.example.org/").unwrap();
        let used = hosts(&["cdn.example.net", "img.example.com", "www.example.org", "static.www.example.org"]);
        assert_eq!(list_entry(&start, &used), "www.example.org uses: cdn.example.net, img.example.com");
        assert_eq!(list_entry(&start, &hosts(&["www.example.org"])), "www.example.org");
    }

    #[test]
    fn a_path_entry_lists_the_sites_own_hosts_as_resource_hosts() {
        let start = Url::parse("https://bbc.co.uk/bitesize/?x=1").unwrap();
        let used = hosts(&["bbc.co.uk", "bbci.co.uk", "www.bbc.co.uk"]);
        assert_eq!(list_entry(&start, &used), "bbc.co.uk/bitesize uses: bbc.co.uk, bbci.co.uk, www.bbc.co.uk");
    }

    #[test]
    fn the_kiosk_users_id_is_read_from_passwd() {
        let dir = std::env::temp_dir().join(format!("satchel-learn-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let passwd = dir.join("passwd");
        std::fs::write(&passwd, "root:x:0:0::/root:/bin/sh\nsatchel:x:998:998::/var/lib/satchel:/usr/sbin/nologin\n")
            .unwrap();
        assert_eq!(user_uid(&passwd, "satchel"), Some(998));
        assert_eq!(user_uid(&passwd, "nobody"), None);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
