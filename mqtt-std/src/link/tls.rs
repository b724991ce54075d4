//! TLS set-up (rustls with the `ring` provider) and typed TLS errors.
//!
//! [`TlsConfig::builder`] is the TLS setup hook of `nxd_mqtt_client_secure_connect`: trusted CA
//! certificates (PEM or DER), an optional client certificate and key for mutual TLS, and the
//! server name to check. The server's certificate chain and name are verified by default;
//! a handshake failure is reported as a [`TlsError`] that names the problem (unknown CA, name
//! mismatch, expired certificate, ...).
//!
//! ```no_run
//! # fn main() -> Result<(), mqtt_std::TlsError> {
//! use mqtt_std::TlsConfig;
//!
//! let tls = TlsConfig::builder()
//!     .ca_file("/etc/mqtt/ca.pem")?
//!     .client_cert_files("/etc/mqtt/client.pem", "/etc/mqtt/client.key")?
//!     .server_name("broker.example")
//!     .build()?;
//! # let _ = tls;
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

/// A TLS failure: a bad local configuration, or a handshake the server or its certificate failed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum TlsError {
    /// The server's certificate chain does not lead to a trusted CA.
    UnknownCa,
    /// The server's certificate is not valid for the server name.
    NameMismatch,
    /// The server's certificate (or one in its chain) has expired.
    Expired,
    /// The server's certificate (or one in its chain) is not valid yet.
    NotYetValid,
    /// The server's certificate was revoked.
    Revoked,
    /// Another certificate problem (bad signature, bad encoding, unsupported algorithm, ...).
    BadCertificate(CertificateError),
    /// The server ended the handshake with a TLS alert (for example a client certificate it
    /// did not accept, or none when it requires one).
    AlertReceived(rustls::AlertDescription),
    /// Any other TLS protocol failure.
    Protocol(rustls::Error),
    /// The configuration has no trusted CA certificate.
    NoTrustedCa,
    /// A PEM file or text held no item of the expected kind, or could not be parsed.
    Pem {
        /// What was being read ("CA certificate", "client certificate", "private key").
        what: &'static str,
        /// The parser's complaint.
        detail: String,
    },
    /// A certificate could not be added as a trust anchor.
    BadCaCertificate(rustls::Error),
    /// The client certificate or key was refused by rustls.
    BadClientCertificate(rustls::Error),
    /// The server name is not a valid DNS name or IP address.
    InvalidServerName(String),
    /// A file could not be read.
    File {
        /// The file.
        path: PathBuf,
        /// The error (shared, so that the error can be cloned).
        error: Arc<io::Error>,
    },
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownCa => f.write_str("unknown certificate authority"),
            Self::NameMismatch => f.write_str("certificate is not valid for the server name"),
            Self::Expired => f.write_str("certificate expired"),
            Self::NotYetValid => f.write_str("certificate not valid yet"),
            Self::Revoked => f.write_str("certificate revoked"),
            Self::BadCertificate(e) => write!(f, "bad certificate: {e:?}"),
            Self::AlertReceived(a) => write!(f, "the server refused the handshake (alert {a:?})"),
            Self::Protocol(e) => write!(f, "{e}"),
            Self::NoTrustedCa => f.write_str("no trusted CA certificate configured"),
            Self::Pem { what, detail } => write!(f, "cannot read {what}: {detail}"),
            Self::BadCaCertificate(e) => write!(f, "bad CA certificate: {e}"),
            Self::BadClientCertificate(e) => write!(f, "bad client certificate or key: {e}"),
            Self::InvalidServerName(n) => write!(f, "invalid server name {n:?}"),
            Self::File { path, error } => write!(f, "{}: {error}", path.display()),
        }
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Protocol(e) | Self::BadCaCertificate(e) | Self::BadClientCertificate(e) => {
                Some(e)
            }
            Self::File { error, .. } => Some(&**error),
            _ => None,
        }
    }
}

impl From<rustls::Error> for TlsError {
    /// Sorts a rustls handshake error into the variant that names it.
    fn from(e: rustls::Error) -> Self {
        use CertificateError as C;
        match e {
            rustls::Error::InvalidCertificate(c) => match c {
                C::UnknownIssuer => Self::UnknownCa,
                C::NotValidForName | C::NotValidForNameContext { .. } => Self::NameMismatch,
                C::Expired | C::ExpiredContext { .. } => Self::Expired,
                C::NotValidYet | C::NotValidYetContext { .. } => Self::NotYetValid,
                C::Revoked => Self::Revoked,
                other => Self::BadCertificate(other),
            },
            rustls::Error::AlertReceived(a) => Self::AlertReceived(a),
            other => Self::Protocol(other),
        }
    }
}

/// A finished TLS client configuration; cheap to clone. Made by [`TlsConfig::builder`].
#[derive(Clone)]
pub struct TlsConfig {
    pub(crate) config: Arc<ClientConfig>,
    pub(crate) server_name: Option<ServerName<'static>>,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// Starts a configuration: add trusted CAs, optionally a client certificate and a server
    /// name, then [`TlsConfigBuilder::build`].
    pub fn builder() -> TlsConfigBuilder {
        TlsConfigBuilder {
            roots: RootCertStore::empty(),
            alpn: Vec::new(),
            client_auth: None,
            server_name: None,
            skip_name_check: false,
        }
    }

    /// Wraps a rustls configuration made by the caller (anything rustls allows). The server
    /// name defaults to the host given to `connect`.
    pub fn from_rustls(config: Arc<ClientConfig>) -> Self {
        Self {
            config,
            server_name: None,
        }
    }

    /// The server name to send and check, given the host the client connects to.
    pub(crate) fn server_name_for(&self, host: &str) -> Result<ServerName<'static>, TlsError> {
        match &self.server_name {
            Some(n) => Ok(n.clone()),
            None => ServerName::try_from(host.to_owned())
                .map_err(|_| TlsError::InvalidServerName(host.to_owned())),
        }
    }
}

/// Builds a [`TlsConfig`]: the TLS setup hook.
pub struct TlsConfigBuilder {
    roots: RootCertStore,
    client_auth: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    server_name: Option<String>,
    skip_name_check: bool,
    alpn: Vec<Vec<u8>>,
}

impl fmt::Debug for TlsConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfigBuilder")
            .field("trusted_cas", &self.roots.len())
            .field("client_auth", &self.client_auth.is_some())
            .field("server_name", &self.server_name)
            .field("skip_name_check", &self.skip_name_check)
            .field(
                "alpn",
                &self
                    .alpn
                    .iter()
                    .map(|p| String::from_utf8_lossy(p))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|error| TlsError::File {
        path: path.to_owned(),
        error: Arc::new(error),
    })
}

fn pem_error(what: &'static str, e: impl fmt::Debug) -> TlsError {
    TlsError::Pem {
        what,
        detail: format!("{e:?}"),
    }
}

impl TlsConfigBuilder {
    /// Trusts every CA certificate in `pem` (one or more `CERTIFICATE` blocks).
    pub fn ca_pem(mut self, pem: &[u8]) -> Result<Self, TlsError> {
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| pem_error("CA certificate", e))?;
            self.roots.add(cert).map_err(TlsError::BadCaCertificate)?;
            added += 1;
        }
        if added == 0 {
            return Err(pem_error("CA certificate", "no CERTIFICATE block"));
        }
        Ok(self)
    }

    /// Trusts one CA certificate in DER form.
    pub fn ca_der(mut self, der: &[u8]) -> Result<Self, TlsError> {
        self.roots
            .add(CertificateDer::from(der.to_vec()))
            .map_err(TlsError::BadCaCertificate)?;
        Ok(self)
    }

    /// Trusts the CA certificates of a PEM file.
    pub fn ca_file(self, path: impl AsRef<Path>) -> Result<Self, TlsError> {
        let pem = read_file(path.as_ref())?;
        self.ca_pem(&pem)
    }

    /// Trusts the operating system's CA certificates (its trust store, as `openssl` and
    /// `curl` use it: on Linux the distribution's bundle, `SSL_CERT_FILE`/`SSL_CERT_DIR`
    /// where set), the way to connect to a broker with a certificate from a public CA.
    /// Fails with [`TlsError::NoTrustedCa`] when the store holds none.
    ///
    /// ```no_run
    /// let tls = mqtt_std::TlsConfig::builder().os_roots()?.build()?;
    /// # Ok::<(), mqtt_std::TlsError>(())
    /// ```
    pub fn os_roots(mut self) -> Result<Self, TlsError> {
        let found = rustls_native_certs::load_native_certs();
        let (added, _ignored) = self.roots.add_parsable_certificates(found.certs);
        if added == 0 {
            return Err(TlsError::NoTrustedCa);
        }
        Ok(self)
    }

    /// Trusts Mozilla's CA certificates as compiled into this program (feature
    /// `webpki-roots`): for static builds and machines without a trust store. They are as
    /// fresh as the `webpki-roots` release the program was built with.
    #[cfg(feature = "webpki-roots")]
    pub fn webpki_roots(mut self) -> Self {
        self.roots
            .extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        self
    }

    /// Trusts the CA certificates (PEM) of every file in a directory (`mosquitto --capath`);
    /// files that hold no certificate are skipped. Fails when none holds one.
    pub fn ca_dir(mut self, dir: impl AsRef<Path>) -> Result<Self, TlsError> {
        let dir = dir.as_ref();
        let entries = std::fs::read_dir(dir).map_err(|error| TlsError::File {
            path: dir.to_owned(),
            error: Arc::new(error),
        })?;
        let mut added = 0usize;
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.is_file() {
                continue;
            }
            let Ok(pem) = std::fs::read(&path) else {
                continue;
            };
            for cert in CertificateDer::pem_slice_iter(&pem).flatten() {
                if self.roots.add(cert).is_ok() {
                    added += 1;
                }
            }
        }
        if added == 0 {
            return Err(pem_error(
                "CA certificate",
                format!("none in {}", dir.display()),
            ));
        }
        Ok(self)
    }

    /// Offers these application protocols in the handshake (ALPN), in order of preference:
    /// AWS IoT Core takes MQTT on port 443 with `x-amzn-mqtt-ca`.
    pub fn alpn(mut self, protocols: &[&str]) -> Self {
        self.alpn = protocols.iter().map(|p| p.as_bytes().to_vec()).collect();
        self
    }

    /// Presents a client certificate (chain, PEM) and its private key (PEM: PKCS#8, PKCS#1
    /// or SEC1) for mutual TLS.
    pub fn client_cert_pem(mut self, cert_pem: &[u8], key_pem: &[u8]) -> Result<Self, TlsError> {
        let chain = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| pem_error("client certificate", e))?;
        if chain.is_empty() {
            return Err(pem_error("client certificate", "no CERTIFICATE block"));
        }
        let key =
            PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| pem_error("private key", e))?;
        self.client_auth = Some((chain, key));
        Ok(self)
    }

    /// Presents a client certificate chain and PKCS#8 private key in DER form.
    pub fn client_cert_der(mut self, chain: Vec<Vec<u8>>, pkcs8_key: Vec<u8>) -> Self {
        let chain = chain.into_iter().map(CertificateDer::from).collect();
        let key = PrivateKeyDer::Pkcs8(pkcs8_key.into());
        self.client_auth = Some((chain, key));
        self
    }

    /// Reads the client certificate and key from PEM files.
    pub fn client_cert_files(
        self,
        cert_path: impl AsRef<Path>,
        key_path: impl AsRef<Path>,
    ) -> Result<Self, TlsError> {
        let cert = read_file(cert_path.as_ref())?;
        let key = read_file(key_path.as_ref())?;
        self.client_cert_pem(&cert, &key)
    }

    /// The name to send (SNI) and to check the server certificate against; by default the
    /// host given to `connect`. An IP address is checked against the certificate's IP SANs.
    pub fn server_name(mut self, name: &str) -> Self {
        self.server_name = Some(name.to_owned());
        self
    }

    /// Skips the server-name check only (`mqttc --insecure`). The certificate chain is still
    /// verified against the trusted CAs; use only for tests.
    pub fn skip_server_name_check(mut self, skip: bool) -> Self {
        self.skip_name_check = skip;
        self
    }

    /// Finishes the configuration (TLS 1.2 and 1.3, rustls' safe defaults).
    pub fn build(self) -> Result<TlsConfig, TlsError> {
        if self.roots.is_empty() {
            return Err(TlsError::NoTrustedCa);
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier =
            WebPkiServerVerifier::builder_with_provider(Arc::new(self.roots), provider.clone())
                .build()
                .map_err(|e| TlsError::Protocol(rustls::Error::General(e.to_string())))?;
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Protocol)?;
        let builder = if self.skip_name_check {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(SkipNameCheck(verifier)))
        } else {
            builder.with_webpki_verifier(verifier)
        };
        let mut config = match self.client_auth {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain, key)
                .map_err(TlsError::BadClientCertificate)?,
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = self.alpn;
        let server_name = match self.server_name {
            Some(n) => {
                Some(ServerName::try_from(n.clone()).map_err(|_| TlsError::InvalidServerName(n))?)
            }
            None => None,
        };
        Ok(TlsConfig {
            config: Arc::new(config),
            server_name,
        })
    }
}

/// Verifies the chain with webpki and accepts a name mismatch (the name is checked last, after
/// the chain, so a name error means the chain was good).
#[derive(Debug)]
struct SkipNameCheck(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for SkipNameCheck {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "webpki-roots")]
    #[test]
    fn the_compiled_in_roots_are_a_full_trust_store() {
        let b = TlsConfig::builder().webpki_roots();
        // Mozilla's program holds well over a hundred roots.
        assert!(b.roots.len() > 100, "{}", b.roots.len());
        let tls = b.alpn(&["mqtt"]).build().expect("a configuration");
        assert_eq!(tls.config.alpn_protocols, [b"mqtt".to_vec()]);
    }

    #[test]
    fn a_configuration_needs_a_trusted_ca() {
        assert!(matches!(
            TlsConfig::builder().build(),
            Err(TlsError::NoTrustedCa)
        ));
    }

    #[test]
    fn bad_pem_is_reported_not_ignored() {
        assert!(matches!(
            TlsConfig::builder().ca_pem(b"not a certificate"),
            Err(TlsError::Pem { .. })
        ));
        assert!(matches!(
            TlsConfig::builder()
                .ca_pem(b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"),
            Err(TlsError::Pem { .. })
        ));
        assert!(matches!(
            TlsConfig::builder().client_cert_pem(b"", b""),
            Err(TlsError::Pem { .. })
        ));
        assert!(matches!(
            TlsConfig::builder().ca_file("/nonexistent/ca.pem"),
            Err(TlsError::File { .. })
        ));
        assert!(matches!(
            TlsConfig::builder().ca_der(b"\x30\x03\x02\x01\x00"),
            Err(TlsError::BadCaCertificate(_))
        ));
    }

    #[test]
    fn certificate_errors_map_to_named_variants() {
        let cases = [
            (
                CertificateError::UnknownIssuer,
                "unknown certificate authority",
            ),
            (
                CertificateError::NotValidForName,
                "certificate is not valid for the server name",
            ),
            (CertificateError::Expired, "certificate expired"),
            (CertificateError::NotValidYet, "certificate not valid yet"),
            (CertificateError::Revoked, "certificate revoked"),
        ];
        for (c, text) in cases {
            let e = TlsError::from(rustls::Error::InvalidCertificate(c));
            assert_eq!(e.to_string(), text);
        }
        assert!(matches!(
            TlsError::from(rustls::Error::InvalidCertificate(
                CertificateError::BadSignature
            )),
            TlsError::BadCertificate(CertificateError::BadSignature)
        ));
    }
}
