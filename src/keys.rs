//! The keys and fingerprints a kiosk and its server exchange at enrolment, as people and
//! configuration files write them: the server's ed25519 public key in base64, its
//! certificate's SHA-256 fingerprint as `AB:CD:…`.

use base64::Engine as _;
use ed25519_dalek::VerifyingKey;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A verifying key written as base64, as the server hands it out at enrolment.
pub fn parse_public_key(text: &str) -> Option<VerifyingKey> {
    let bytes: [u8; 32] = B64.decode(text.trim()).ok()?.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

/// A certificate's SHA-256 fingerprint as people compare it: `AB:CD:…`.
pub fn fingerprint(der: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(der).iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

/// A fingerprint as typed (any case, with or without colons or spaces), as 32 bytes.
pub fn parse_fingerprint(text: &str) -> Option<[u8; 32]> {
    let hex: String = text.chars().filter(|c| !matches!(c, ':' | ' ')).collect();
    if hex.len() != 64 {
        return None;
    }
    let mut bytes = [0u8; 32];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(bytes)
}

pub fn public_key_text(key: &VerifyingKey) -> String {
    B64.encode(key.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_key_reads_back_from_its_text() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[1; 32]).verifying_key();
        assert_eq!(parse_public_key(&format!(" {}\n", public_key_text(&key))), Some(key));
        assert_eq!(parse_public_key("not a key"), None);
    }

    #[test]
    fn a_fingerprint_reads_back_however_it_was_typed() {
        let printed = fingerprint(b"a certificate");
        assert_eq!(printed.len(), 32 * 3 - 1);
        let bytes = parse_fingerprint(&printed).unwrap();
        assert_eq!(parse_fingerprint(&printed.to_ascii_lowercase().replace(':', " ")), Some(bytes));
        assert_eq!(parse_fingerprint(&printed[3..]), None);
    }
}
