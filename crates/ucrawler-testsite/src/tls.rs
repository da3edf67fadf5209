//! [`TlsFront`]: HTTPS in front of a plain-HTTP server (a [`crate::TestSite`]), with a
//! self-signed certificate made when it starts, for tests of certificate verification.
//! (Feature `tls`.)

use std::io;
use std::net::SocketAddr;
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// A TLS terminator on `127.0.0.1` and a free port, relaying each connection's bytes to a
/// backend. Its certificate (for `localhost` and `127.0.0.1`) is signed by nobody a client
/// trusts. Dropping it stops it.
pub struct TlsFront {
    addr: SocketAddr,
    certificate_pem: String,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TlsFront {
    /// Serves HTTPS for `backend` (plain HTTP, e.g. [`crate::TestSite::addr`]).
    pub fn start(backend: SocketAddr) -> io::Result<TlsFront> {
        let other = |e: String| io::Error::other(e);
        let certified = rcgen::generate_simple_self_signed(vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
        ])
        .map_err(|e| other(format!("certificate: {e}")))?;
        let key =
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| other(format!("TLS: {e}")))?
            .with_no_client_auth()
            .with_single_cert(vec![certified.cert.der().clone()], key)
            .map_err(|e| other(format!("TLS: {e}")))?;
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("ucrawler-testsite-tls".into())
            .spawn(move || run(acceptor, backend, ready_tx, stop_rx))?;
        let addr = ready_rx
            .recv()
            .map_err(|_| other("the TLS thread ended".into()))??;
        Ok(TlsFront {
            addr,
            certificate_pem: certified.cert.pem(),
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }

    /// The self-signed certificate, PEM-encoded.
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(
    acceptor: TlsAcceptor,
    backend: SocketAddr,
    ready: mpsc::Sender<io::Result<SocketAddr>>,
    stop: oneshot::Receiver<()>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    runtime.block_on(async move {
        let listener = match TcpListener::bind(("127.0.0.1", 0)).await {
            Ok(listener) => listener,
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        let _ = ready.send(listener.local_addr());
        tokio::select! {
            _ = accept(listener, acceptor, backend) => {}
            _ = stop => {}
        }
    });
}

async fn accept(listener: TcpListener, acceptor: TlsAcceptor, backend: SocketAddr) {
    while let Ok((stream, _)) = listener.accept().await {
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            // A client that rejects the certificate ends the handshake: nothing to relay.
            let Ok(mut tls) = acceptor.accept(stream).await else {
                return;
            };
            let Ok(mut plain) = TcpStream::connect(backend).await else {
                return;
            };
            let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
        });
    }
}
