//! Where a PostgreSQL connection goes and how: the database URL as tokio-postgres reads it,
//! and TLS (rustls) when the URL asks for it with `sslmode=require` (or libpq's
//! `verify-full`). TLS here is always verified, the host name too, against the CA in
//! `sslrootcert=FILE` (a trust's own), or else the public roots (a managed database); a
//! certificate that fails is a failed connection, never a plain one. Without `sslmode` the
//! connection is plain, for a private network or the host's local socket.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use tokio_postgres::Socket;

/// A database to connect to.
#[derive(Clone)]
pub struct Target {
    pub config: tokio_postgres::Config,
    /// `None`: plain.
    pub tls: Option<Rustls>,
}

impl Target {
    /// Reads a `postgres://` URL; a bad one, or a CA file that cannot be read, is named.
    pub fn parse(url: &str) -> Result<Target, String> {
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let (mut ca_file, mut verified, mut kept) = (None, false, Vec::new());
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match (key.as_ref(), value.as_ref()) {
                ("sslrootcert", file) => ca_file = Some(file.to_owned()),
                ("sslmode", "require" | "verify-full" | "verify-ca") => verified = true,
                ("sslmode", "disable" | "prefer") => {}
                ("sslmode", other) => {
                    return Err(format!("sslmode `{other}` is not one of disable, require, verify-full"))
                }
                (key, value) => kept.push((key.to_owned(), value.to_owned())),
            }
        }
        if ca_file.is_some() && !verified {
            return Err("sslrootcert is given without sslmode=require: the connection would not use it".into());
        }
        let query = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&kept).finish();
        let plain = if query.is_empty() { base.to_owned() } else { format!("{base}?{query}") };
        let mut config: tokio_postgres::Config =
            plain.parse().map_err(|error| format!("the database URL is not usable: {error}"))?;
        // What the server offers decides nothing: TLS is ours to require, or not to use.
        config.ssl_mode(tokio_postgres::config::SslMode::Disable);
        let tls = if verified {
            config.ssl_mode(tokio_postgres::config::SslMode::Require);
            Some(Rustls::new(ca_file.as_deref())?)
        } else {
            None
        };
        Ok(Target { config, tls })
    }
}

/// Makes verified TLS sessions to the database's host.
#[derive(Clone)]
pub struct Rustls(Arc<rustls::ClientConfig>);

impl Rustls {
    fn new(ca_file: Option<&str>) -> Result<Rustls, String> {
        let mut roots = rustls::RootCertStore::empty();
        match ca_file {
            Some(file) => {
                let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(file)
                    .and_then(|certificates| certificates.collect())
                    .map_err(|error| format!("cannot read the database's CA certificate {file}: {error}"))?;
                if certificates.is_empty() {
                    return Err(format!("{file} holds no certificate"));
                }
                for certificate in certificates {
                    roots.add(certificate).map_err(|error| format!("{file}: {error}"))?;
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|error| error.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Rustls(Arc::new(config)))
    }
}

impl MakeTlsConnect<Socket> for Rustls {
    type Stream = Session;
    type TlsConnect = Handshake;
    type Error = rustls::pki_types::InvalidDnsNameError;

    fn make_tls_connect(&mut self, host: &str) -> Result<Handshake, Self::Error> {
        Ok(Handshake { config: Arc::clone(&self.0), host: ServerName::try_from(host.to_owned())? })
    }
}

/// One connection's TLS handshake, to `host`.
pub struct Handshake {
    config: Arc<rustls::ClientConfig>,
    host: ServerName<'static>,
}

impl TlsConnect<Socket> for Handshake {
    type Stream = Session;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Session>> + Send>>;

    fn connect(self, socket: Socket) -> Self::Future {
        Box::pin(async move {
            let connector = tokio_rustls::TlsConnector::from(self.config);
            Ok(Session(connector.connect(self.host, socket).await?))
        })
    }
}

/// A TLS session with the database.
pub struct Session(tokio_rustls::client::TlsStream<Socket>);

impl TlsStream for Session {
    fn channel_binding(&self) -> ChannelBinding {
        // SCRAM's channel binding is not offered: the certificate is already verified.
        ChannelBinding::none()
    }
}

impl AsyncRead for Session {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Session {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_decides_tls_and_a_ca_without_it_or_an_unknown_mode_is_refused() {
        let plain = Target::parse("postgres://satchel:pw@db.trust.example/satchel?application_name=x").unwrap();
        assert!(plain.tls.is_none());
        assert_eq!(plain.config.get_application_name(), Some("x"));
        assert!(Target::parse("postgres://db.trust.example/satchel?sslmode=require").unwrap().tls.is_some());
        assert!(Target::parse("postgres://db.trust.example/satchel?sslmode=verify-full").unwrap().tls.is_some());
        assert!(Target::parse("postgres://db/satchel?sslmode=allow").err().unwrap().contains("allow"));
        assert!(Target::parse("postgres://db/satchel?sslrootcert=/x.pem").err().unwrap().contains("sslmode=require"));
        let missing = Target::parse("postgres://db/satchel?sslmode=require&sslrootcert=/nowhere/ca.pem");
        assert!(missing.err().unwrap().contains("/nowhere/ca.pem"));
    }
}
