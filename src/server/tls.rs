//! HTTPS for the school server: a certificate and key named on the command line, or a
//! self-signed certificate made on first start and kept in the data directory. Kiosks pin its
//! SHA-256 fingerprint at enrolment, so no certificate authority is needed.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::durable::write_durably;

pub struct Tls {
    pub config: Arc<rustls::ServerConfig>,
    /// SHA-256 of the certificate, as the kiosk pins it.
    pub fingerprint: String,
}

/// The certificate and key given, or the data directory's own (made once, on first use).
pub fn load(data: &Path, given: Option<(&Path, &Path)>) -> Result<Tls> {
    let (cert_path, key_path) = match given {
        Some((cert, key)) => (cert.to_owned(), key.to_owned()),
        None => {
            let dir = data.join("tls");
            let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
            if !cert.exists() {
                std::fs::create_dir_all(&dir)?;
                let host = std::fs::read_to_string("/etc/hostname")
                    .map(|h| h.trim().to_owned())
                    .unwrap_or_else(|_| "satchel-server".into());
                let made = rcgen::generate_simple_self_signed(vec![host, "localhost".into(), "127.0.0.1".into()])
                    .context("cannot make a certificate")?;
                write_durably(&key, made.signing_key.serialize_pem().as_bytes())?;
                write_durably(&cert, made.cert.pem().as_bytes())?;
            }
            (cert, key)
        }
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_path)
        .and_then(|certs| certs.collect())
        .with_context(|| format!("{}: not a PEM certificate", cert_path.display()))?;
    let first = certs.first().with_context(|| format!("{}: no certificate in it", cert_path.display()))?;
    let fingerprint = crate::keys::fingerprint(first.as_ref());
    let key = PrivateKeyDer::from_pem_file(&key_path)
        .with_context(|| format!("{}: not a PEM private key", key_path.display()))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the certificate and key do not go together")?;
    Ok(Tls { config: Arc::new(config), fingerprint })
}
