//! TLS policy: verified by default, a pinned SHA-256 certificate fingerprint, or an
//! explicit insecure mode. XenServer hosts usually present self-signed certificates, so
//! pinning (with [`fetch_fingerprint`] for trust on first use) is the practical secure mode.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// A SHA-256 certificate fingerprint, written `AB:CD:…` (as `openssl x509 -fingerprint
/// -sha256` and XenCenter show it); plain hex and a `sha256:`/`sha-256:` prefix also parse.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// The fingerprint of a DER-encoded certificate.
    pub fn of_der(der: &[u8]) -> Self {
        Fingerprint(Sha256::digest(der).into())
    }
}

impl FromStr for Fingerprint {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let trimmed = s.trim();
        let body = ["sha-256:", "sha256:", "SHA-256:", "SHA256:"]
            .iter()
            .find_map(|p| trimmed.strip_prefix(p))
            .unwrap_or(trimmed);
        let hex_digits: String = body
            .chars()
            .filter(|c| *c != ':' && !c.is_whitespace())
            .collect();
        let bytes = hex::decode(&hex_digits).map_err(|_| {
            Error::invalid_argument(
                "fingerprint",
                format!("not a SHA-256 fingerprint (hex expected): {s:?}"),
            )
        })?;
        let array: [u8; 32] = bytes.try_into().map_err(|_| {
            Error::invalid_argument(
                "fingerprint",
                format!("a SHA-256 fingerprint has 32 bytes: {s:?}"),
            )
        })?;
        Ok(Fingerprint(array))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// How to check a host's TLS certificate.
#[derive(Debug, Clone, Default)]
pub enum Tls {
    /// Verify the chain and host name against the system's trust store plus `extra_roots`
    /// (PEM or DER CA certificates). The default.
    #[default]
    Verified,
    /// Verify against exactly these CA certificates (PEM or DER) instead of the system's.
    TrustedRoots(Vec<Vec<u8>>),
    /// Accept exactly the certificate with this fingerprint (names are not checked: the
    /// pin is stronger than any name). When a pool member redirects to its master, the
    /// master's fingerprint is learnt from the pinned member
    /// (docs/wire-protocol.md#certificate-thumbprint).
    Pinned(Fingerprint),
    /// Accept any certificate. Only when explicitly asked for: anyone on the path can
    /// read the password.
    Insecure,
}

pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Starts the TLS stack's one-time set-up on a background thread. aws-lc seeds its random
/// generator from CPU jitter once per process, which takes tens of milliseconds of CPU;
/// without this it falls on the first connection (a script's login). Front ends call it
/// as they load, so it overlaps their own start-up; calling it again does nothing.
pub fn warm_up() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        let _ = std::thread::Builder::new()
            .name("xenpool-tls-warm-up".into())
            .spawn(|| {
                let mut seed = [0u8; 16];
                let _ = provider().secure_random.fill(&mut seed);
            });
    });
}

/// Accepts a certificate whose SHA-256 matches the pin, and checks the handshake
/// signatures so the peer must hold the pinned certificate's key.
#[derive(Debug)]
struct PinVerifier {
    pin: Option<Fingerprint>,
    algorithms: WebPkiSupportedAlgorithms,
    seen: Arc<std::sync::Mutex<Option<Fingerprint>>>,
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let got = Fingerprint::of_der(end_entity.as_ref());
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(got);
        }
        match self.pin {
            Some(pin) if pin != got => Err(rustls::Error::General(format!(
                "certificate fingerprint {got} does not match the pinned {pin}"
            ))),
            _ => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

fn pin_config(
    pin: Option<Fingerprint>,
) -> (
    rustls::ClientConfig,
    Arc<std::sync::Mutex<Option<Fingerprint>>>,
) {
    let provider = provider();
    let seen = Arc::new(std::sync::Mutex::new(None));
    let verifier = PinVerifier {
        pin,
        algorithms: provider.signature_verification_algorithms,
        seen: seen.clone(),
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the aws-lc-rs provider supports the default TLS versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    (config, seen)
}

fn parse_certificates(blobs: &[Vec<u8>]) -> Result<Vec<reqwest::Certificate>> {
    let mut out = Vec::new();
    for blob in blobs {
        let cert = if blob.starts_with(b"-----BEGIN") {
            reqwest::Certificate::from_pem(blob)
        } else {
            reqwest::Certificate::from_der(blob)
        }
        .map_err(|e| {
            Error::invalid_argument("trusted_roots", format!("unusable CA certificate: {e}"))
        })?;
        out.push(cert);
    }
    Ok(out)
}

/// Applies the policy to a reqwest client builder.
pub(crate) fn apply(builder: reqwest::ClientBuilder, tls: &Tls) -> Result<reqwest::ClientBuilder> {
    Ok(match tls {
        Tls::Verified => builder,
        Tls::TrustedRoots(roots) => builder.tls_certs_only(parse_certificates(roots)?),
        Tls::Pinned(pin) => builder.tls_backend_preconfigured(pin_config(Some(*pin)).0),
        Tls::Insecure => builder.tls_danger_accept_invalid_certs(true),
    })
}

/// Connects to `address` (`host`, `host:port` or an `https://` URL; port 443 by default),
/// completes a TLS handshake without judging the certificate, and returns its SHA-256
/// fingerprint, for trust on first use: show it to a person, then connect with
/// [`Tls::Pinned`].
pub async fn fetch_fingerprint(address: &str, timeout: Duration) -> Result<Fingerprint> {
    let (host, port) = host_and_port(address)?;
    let (config, seen) = pin_config(None);
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let server_name = ServerName::try_from(host.clone()).map_err(|_| {
        Error::invalid_argument("address", format!("not a host name or address: {host:?}"))
    })?;
    let url = format!("https://{host}:{port}");
    let attempt = async {
        let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| Error::Transport {
                url: url.clone(),
                message: e.to_string(),
                may_have_reached_host: false,
                source: Some(Box::new(e)),
            })?;
        connector
            .connect(server_name, tcp)
            .await
            .map_err(|e| Error::Tls {
                url: url.clone(),
                message: e.to_string(),
                source: Some(Box::new(e)),
            })?;
        Ok::<_, Error>(())
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .map_err(|_| Error::Timeout {
            url: url.clone(),
            method: "TLS handshake".into(),
            after: timeout,
            may_have_reached_host: false,
        })??;
    let fingerprint = seen.lock().ok().and_then(|s| *s);
    fingerprint.ok_or_else(|| Error::Tls {
        url,
        message: "the host sent no certificate".into(),
        source: None,
    })
}

fn host_and_port(address: &str) -> Result<(String, u16)> {
    let rest = address.strip_prefix("https://").unwrap_or(address);
    let authority = rest.split('/').next().unwrap_or(rest);
    let bad = || Error::invalid_argument("address", format!("not an address: {address:?}"));
    if let Some(v6) = authority.strip_prefix('[') {
        let (host, tail) = v6.split_once(']').ok_or_else(bad)?;
        let port = match tail.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| bad())?,
            None => 443,
        };
        return Ok((host.to_string(), port));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Ok((host.to_string(), port.parse().map_err(|_| bad())?)),
        None if !authority.is_empty() => Ok((authority.to_string(), 443)),
        None => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_forms() {
        let hex = "ab".repeat(32);
        let a: Fingerprint = hex.parse().unwrap();
        let colons = a.to_string();
        assert_eq!(colons.len(), 32 * 3 - 1);
        assert_eq!(colons.parse::<Fingerprint>().unwrap(), a);
        assert_eq!(format!("sha-256:{hex}").parse::<Fingerprint>().unwrap(), a);
        assert!("abcd".parse::<Fingerprint>().is_err());
        assert!("zz".repeat(32).parse::<Fingerprint>().is_err());
    }

    #[test]
    fn addresses() {
        assert_eq!(
            host_and_port("127.0.0.1").unwrap(),
            ("127.0.0.1".into(), 443)
        );
        assert_eq!(
            host_and_port("https://127.0.0.2:8443/").unwrap(),
            ("127.0.0.2".into(), 8443)
        );
        assert_eq!(host_and_port("[::1]:9").unwrap(), ("::1".into(), 9));
        assert!(host_and_port("").is_err());
    }
}
