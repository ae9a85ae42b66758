//! Satchel: a child-friendly kiosk browser with built-in safe search for KS1 classrooms.
//!
//! The decision core is pure ([`policy`], [`safesearch`], [`categories`], [`canonical`],
//! [`hostname`]): a URL and a policy go in, a [`policy::Decision`] that explains itself comes
//! out. Modules read bottom-up: [`hostname`] and [`canonical`]; [`safesearch`] and
//! [`categories`]; [`policy`]; [`bundle`]; [`config`] and [`protocol`] (the kiosk API's
//! messages, shared by kiosk and server). [`lists`] loads lists and category folders from disk
//! for the binaries around that core; [`pages`] are the pupil pages; [`kiosk`] is the shell and
//! its proxy, [`server`] the school server.

pub mod activity;
pub mod alerts;
pub mod attempts;
pub mod bundle;
pub mod canonical;
pub mod categories;
pub mod config;
pub mod durable;
pub mod hostname;
pub mod keys;
pub mod lists;
pub mod logging;
pub mod outbox;
pub mod pages;
pub mod policy;
pub mod protocol;
pub mod safesearch;
pub mod secrets;

#[cfg(feature = "kiosk")]
pub mod kiosk;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "kiosk")]
pub mod setup;
