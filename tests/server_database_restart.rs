//! Replicas through a restart of their PostgreSQL (a test binary of its own, so that the
//! restart cuts off no other test's servers).
#![cfg(feature = "server")]

mod support;

use std::time::Duration;

use reqwest::StatusCode;
use support::server::{first_replica, lesson_reaches_the_other_replica, replica_of};

#[test]
fn replicas_carry_on_after_their_database_restarts() {
    let first = first_replica();
    let second = replica_of(&first);
    let kiosk = first.enrolled();
    lesson_reaches_the_other_replica(&first, &second, &kiosk);

    support::postgres::cluster().restart();
    // A request in flight as the database went may fail; the next ones are answered from it
    // again, by both replicas.
    support::wait_for("both replicas to answer from the database again", Duration::from_secs(30), || {
        [&first, &second].iter().all(|replica| {
            replica
                .as_kiosk(&kiosk, reqwest::Method::GET, "/api/v1/rules")
                .send()
                .is_ok_and(|response| response.status() == StatusCode::OK)
        })
    });
    // The listening connections are made again too (they retry each second).
    std::thread::sleep(Duration::from_secs(3));
    lesson_reaches_the_other_replica(&first, &second, &kiosk);
    let code = first.code(60);
    assert_eq!(second.enrol(&code).0, StatusCode::OK, "writes work again too");
}
