//! Passwords and PINs, kept only as argon2 hashes: the teacher's exit PIN on the kiosk, staff
//! passwords on the server.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// The secret's argon2 hash (PHC string, with a fresh salt).
pub fn hash(secret: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(secret.as_bytes(), &salt).map(|hash| hash.to_string()).map_err(|e| e.to_string())
}

/// Whether `secret` is the one `hash` was made from; a damaged hash matches nothing.
pub fn matches(hash: &str, secret: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|hash| Argon2::default().verify_password(secret.as_bytes(), &hash).is_ok())
}

/// Whether `text` is a hash this module can check.
pub fn is_hash(text: &str) -> bool {
    PasswordHash::new(text).is_ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_hash_matches_its_secret_only() {
        let hash = super::hash("2468").unwrap();
        assert!(super::is_hash(&hash));
        assert!(super::matches(&hash, "2468"));
        assert!(!super::matches(&hash, "1357"));
        assert!(!super::matches("not a hash", "2468"));
    }
}
