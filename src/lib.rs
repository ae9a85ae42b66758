//! Satchel: a child-friendly kiosk browser with built-in safe search for KS1 classrooms.
//!
//! The decision core is pure ([`policy`], [`safesearch`], [`categories`], [`hostname`]): a URL
//! and a policy go in, a [`policy::Decision`] that explains itself comes out. [`lists`] loads
//! lists and category folders from disk for the binaries around that core.

pub mod categories;
pub mod hostname;
pub mod lists;
pub mod policy;
pub mod safesearch;
