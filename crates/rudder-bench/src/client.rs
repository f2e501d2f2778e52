//! A lean HTTPS client for the API server: one HTTP/1.1 connection per simulated client, kept
//! open and reused, authenticated with the admin client certificate of a kubeconfig.
//!
//! Lean on purpose: the benchmark shares the machine's two cores with the server, so every
//! microsecond the client spends is one the server does not get.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::Bytes;
use http::{header, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rudder_pki::Kubeconfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Why a request could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The kubeconfig could not be read or parsed.
    #[error("reading the kubeconfig {path}")]
    Kubeconfig {
        /// Its path.
        path: String,
        /// What went wrong.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The kubeconfig lacks a field the client needs.
    #[error("the kubeconfig has no {0}")]
    Missing(&'static str),
    /// The kubeconfig's PEM data could not be decoded.
    #[error("decoding the kubeconfig's PEM data")]
    Pem(#[source] std::io::Error),
    /// The certificate material was rejected.
    #[error("building the TLS configuration")]
    Tls(#[source] rustls::Error),
    /// The TCP connection or TLS handshake failed.
    #[error("connecting to {addr}")]
    Connect {
        /// The server address.
        addr: SocketAddr,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// HTTP failed on an established connection.
    #[error("HTTP exchange failed")]
    Http(#[from] hyper::Error),
    /// The request could not be built.
    #[error("building a request")]
    Request(#[from] http::Error),
    /// The server answered with an unexpected status.
    #[error("{method} {path} answered {status}: {body}")]
    Status {
        /// The request method.
        method: Method,
        /// The request path.
        path: String,
        /// The status.
        status: StatusCode,
        /// The start of the body.
        body: String,
    },
}

/// Where the server is and how to authenticate to it.
#[derive(Clone)]
pub struct Endpoint {
    addr: SocketAddr,
    authority: String,
    tls: TlsConnector,
}

fn decode_pem(data: Option<&String>, what: &'static str) -> Result<Vec<u8>, ClientError> {
    let data = data.ok_or(ClientError::Missing(what))?;
    BASE64.decode(data).map_err(|e| ClientError::Kubeconfig {
        path: what.to_owned(),
        source: Box::new(e),
    })
}

impl Endpoint {
    /// Reads the first cluster and user of the kubeconfig at `path`.
    ///
    /// # Errors
    /// When the file is missing or unreadable, lacks a field, or holds rejected certificates.
    pub fn from_kubeconfig(path: &Path) -> Result<Self, ClientError> {
        let wrap = |source: Box<dyn std::error::Error + Send + Sync>| ClientError::Kubeconfig {
            path: path.display().to_string(),
            source,
        };
        let text = std::fs::read_to_string(path).map_err(|e| wrap(Box::new(e)))?;
        let config: Kubeconfig = serde_yaml::from_str(&text).map_err(|e| wrap(Box::new(e)))?;
        let cluster = &config
            .clusters
            .first()
            .ok_or(ClientError::Missing("cluster"))?
            .cluster;
        let user = &config
            .users
            .first()
            .ok_or(ClientError::Missing("user"))?
            .user;
        let authority = cluster
            .server
            .strip_prefix("https://")
            .ok_or(ClientError::Missing("https server URL"))?
            .trim_end_matches('/')
            .to_owned();
        let addr: SocketAddr = authority.parse().map_err(|e| wrap(Box::new(e)))?;
        let ca = decode_pem(
            cluster.certificate_authority_data.as_ref(),
            "certificate-authority-data",
        )?;
        let cert = decode_pem(
            user.client_certificate_data.as_ref(),
            "client-certificate-data",
        )?;
        let key = decode_pem(user.client_key_data.as_ref(), "client-key-data")?;
        let tls = tls_config(&ca, &cert, &key)?;
        Ok(Self {
            addr,
            authority,
            tls: TlsConnector::from(Arc::new(tls)),
        })
    }

    /// The server's socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Opens a new connection.
    ///
    /// # Errors
    /// When the TCP connection, the TLS handshake or the HTTP handshake fails.
    pub async fn connect(&self) -> Result<Conn, ClientError> {
        let connect_err = |source| ClientError::Connect {
            addr: self.addr,
            source,
        };
        let tcp = TcpStream::connect(self.addr).await.map_err(connect_err)?;
        tcp.set_nodelay(true).map_err(connect_err)?;
        let name = ServerName::IpAddress(self.addr.ip().into());
        let tls = self.tls.connect(name, tcp).await.map_err(connect_err)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
        // Ends when the sender is dropped or the server closes the connection.
        tokio::spawn(connection);
        Ok(Conn {
            sender,
            authority: self.authority.clone(),
        })
    }
}

fn tls_config(ca: &[u8], cert: &[u8], key: &[u8]) -> Result<rustls::ClientConfig, ClientError> {
    let pem_err = ClientError::Pem;
    let mut roots = rustls::RootCertStore::empty();
    for ca in rustls_pemfile::certs(&mut &ca[..]) {
        roots.add(ca.map_err(pem_err)?).map_err(ClientError::Tls)?;
    }
    let chain: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut &cert[..])
        .collect::<Result<_, _>>()
        .map_err(pem_err)?;
    let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut &key[..])
        .map_err(pem_err)?
        .ok_or(ClientError::Missing("client key"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(ClientError::Tls)?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(ClientError::Tls)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// One open HTTP/1.1 connection.
pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
    authority: String,
}

impl Conn {
    /// Sends a request and returns the response head with its body still streaming.
    ///
    /// # Errors
    /// When the connection fails.
    pub async fn open(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
        gzip: bool,
    ) -> Result<http::Response<Incoming>, ClientError> {
        self.open_as(method, path, body, gzip, "application/json")
            .await
    }

    /// [`Conn::open`] with an explicit `Accept` header.
    ///
    /// # Errors
    /// When the connection fails.
    pub async fn open_as(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
        gzip: bool,
        accept: &str,
    ) -> Result<http::Response<Incoming>, ClientError> {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, &self.authority)
            .header(header::ACCEPT, accept);
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        if gzip {
            request = request.header(header::ACCEPT_ENCODING, "gzip");
        }
        let request = request.body(Full::new(body.unwrap_or_default()))?;
        self.sender.ready().await?;
        Ok(self.sender.send_request(request).await?)
    }

    /// Sends a request, reads the whole response, and checks its status is a success.
    ///
    /// # Errors
    /// When the connection fails or the status is not 2xx.
    pub async fn call(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<Bytes, ClientError> {
        self.call_with(method, path, body, false).await
    }

    /// [`Conn::call`], optionally asking for a gzip response (which is read but not inflated).
    ///
    /// # Errors
    /// As [`Conn::call`].
    pub async fn call_with(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
        gzip: bool,
    ) -> Result<Bytes, ClientError> {
        let response = self.open(method.clone(), path, body, gzip).await?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        if !status.is_success() {
            return Err(ClientError::Status {
                method,
                path: path.to_owned(),
                status,
                body: String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned(),
            });
        }
        Ok(bytes)
    }
}
