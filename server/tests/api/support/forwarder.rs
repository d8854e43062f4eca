//! A test-only TCP balancer: it accepts on a loopback port and hands each connection to
//! the next backend in turn (round robin, nothing sticky), copying bytes both ways. Enough
//! to put several in-process instances behind one address, as a load balancer would.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::net::{TcpListener, TcpStream};

pub struct Forwarder {
    pub addr: SocketAddr,
    listener: Option<TcpListener>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Forwarder {
    /// Binds first, so the instances can be configured with the forwarder's origin.
    pub async fn bind() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self {
            addr: listener.local_addr().unwrap(),
            listener: Some(listener),
            task: None,
        }
    }

    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Starts forwarding to `backends`, in turn.
    pub fn forward_to(&mut self, backends: Vec<SocketAddr>) {
        let listener = self.listener.take().expect("forward_to is called once");
        let next = Arc::new(AtomicUsize::new(0));
        self.task = Some(tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let backend = backends[next.fetch_add(1, Ordering::Relaxed) % backends.len()];
                tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(backend).await {
                        // Either side closing ends the copy; errors are the peers leaving.
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        }));
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}
