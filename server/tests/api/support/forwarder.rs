//! A test-only TCP balancer: it accepts on a loopback port and hands each connection to
//! the next backend in turn (round robin, nothing sticky), copying bytes both ways. Enough
//! to put several in-process instances behind one address, as a load balancer would, and
//! optionally to terminate TLS in front of them (with a certificate the test made), as a
//! TLS-terminating balancer that adds no headers would.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::net::{TcpListener, TcpStream};

pub struct Forwarder {
    pub addr: SocketAddr,
    /// Like nginx's `proxy_read_timeout`: a connection whose backend sends nothing for this
    /// long is closed.
    pub read_timeout: Option<std::time::Duration>,
    listener: Option<TcpListener>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Forwarder {
    /// Binds first, so the instances can be configured with the forwarder's origin.
    pub async fn bind() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self {
            addr: listener.local_addr().unwrap(),
            read_timeout: None,
            listener: Some(listener),
            task: None,
        }
    }

    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Starts forwarding to `backends`, in turn.
    pub fn forward_to(&mut self, backends: Vec<SocketAddr>) {
        self.start(backends, None);
    }

    /// Starts forwarding to `backends`, in turn, after a TLS handshake with this acceptor.
    pub fn forward_tls_to(
        &mut self,
        backends: Vec<SocketAddr>,
        acceptor: tokio_rustls::TlsAcceptor,
    ) {
        self.start(backends, Some(acceptor));
    }

    fn start(&mut self, backends: Vec<SocketAddr>, tls: Option<tokio_rustls::TlsAcceptor>) {
        let listener = self.listener.take().expect("the forwarder is started once");
        let next = Arc::new(AtomicUsize::new(0));
        let read_timeout = self.read_timeout;
        self.task = Some(tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let backend = backends[next.fetch_add(1, Ordering::Relaxed) % backends.len()];
                let tls = tls.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(backend).await else {
                        return;
                    };
                    // Either side closing ends the copy; errors are the peers leaving.
                    match tls {
                        None if read_timeout.is_some() => {
                            let _ = copy_with_read_timeout(client, server, read_timeout).await;
                        }
                        None => {
                            let mut client = client;
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                        Some(acceptor) => {
                            if let Ok(mut client) = acceptor.accept(client).await {
                                let _ =
                                    tokio::io::copy_bidirectional(&mut client, &mut server).await;
                            }
                        }
                    }
                });
            }
        }));
    }
}

/// Copies both ways until either side closes, or until the backend has sent nothing for
/// `read_timeout`; then both directions end and the connection closes.
async fn copy_with_read_timeout(
    client: TcpStream,
    server: TcpStream,
    read_timeout: Option<std::time::Duration>,
) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let timeout = read_timeout.unwrap_or(std::time::Duration::MAX);
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let upstream = tokio::io::copy(&mut client_read, &mut server_write);
    let downstream = async {
        let mut buffer = [0u8; 8192];
        loop {
            let read = match tokio::time::timeout(timeout, server_read.read(&mut buffer)).await {
                Ok(read) => read?,
                Err(_) => return Ok::<(), std::io::Error>(()),
            };
            if read == 0 {
                return Ok(());
            }
            client_write.write_all(&buffer[..read]).await?;
        }
    };
    tokio::select! {
        result = upstream => result.map(|_| ()),
        result = downstream => result,
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// A private CA and a certificate for 127.0.0.1 signed by it, made with `openssl` in `dir`
/// (valid 20 days): the acceptor serving it, and the CA's PEM path for `--ca`.
pub fn test_certificate(dir: &std::path::Path) -> (tokio_rustls::TlsAcceptor, std::path::PathBuf) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let run = |args: &[&str]| {
        let output = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl runs");
        assert!(output.status.success(), "openssl {args:?}: {output:?}");
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "30",
        "-subj",
        "/CN=Sori test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    run(&ca);
    let mut csr = vec!["req"];
    csr.extend(ec);
    csr.extend([
        "-keyout",
        "leaf.key",
        "-out",
        "leaf.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    run(&csr);
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "leaf.pem",
        "-days",
        "20",
        "-extfile",
        "leaf.ext",
    ]);
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("leaf.pem"))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(dir.join("leaf.key")).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    (
        tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config)),
        dir.join("ca.pem"),
    )
}
