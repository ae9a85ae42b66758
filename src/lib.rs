//! Satchel: a child-friendly kiosk browser with built-in safe search for KS1 classrooms.
//!
//! The decision core is pure ([`policy`], [`safesearch`], [`categories`], [`hostname`]): a URL
//! and a policy go in, a [`policy::Decision`] that explains itself comes out. [`lists`] loads
//! lists and category folders from disk for the binaries around that core; [`config`] and
//! [`pages`] are the kiosk's settings and pupil pages; [`kiosk`] is the shell and its proxy.

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
#[cfg(feature = "kiosk")]
pub mod setup;
#[cfg(feature = "server")]
pub mod server;
