//! A TCP proxy in front of the test PostgreSQL server that a test can cut and restore, or
//! stall and resume, to play a database outage without touching the shared server.

#![allow(dead_code)] // each test file uses some of it

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, watch};
use tokio::task::JoinSet;

pub struct Proxy {
    listen: SocketAddr,
    database_url: String,
    state: Arc<State>,
    acceptor: tokio::task::JoinHandle<()>,
}

struct State {
    open: AtomicBool,
    /// `false` while stalled: nothing is forwarded, in either direction, not even a close.
    flowing: watch::Sender<bool>,
    /// One task per forwarded connection. Held while deciding whether to forward a new
    /// connection, so `cut` cannot miss one.
    tunnels: Mutex<JoinSet<()>>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards to the server of `database_url`.
    pub async fn start(database_url: &str) -> Self {
        let config: tokio_postgres::Config = database_url.parse().unwrap();
        let tokio_postgres::config::Host::Tcp(host) = &config.get_hosts()[0] else {
            panic!("the outage test needs PostgreSQL over TCP");
        };
        let server = format!("{host}:{}", config.get_ports().first().unwrap_or(&5432));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let listen = listener.local_addr().unwrap();
        let state = Arc::new(State {
            open: AtomicBool::new(true),
            flowing: watch::Sender::new(true),
            tunnels: Mutex::new(JoinSet::new()),
        });
        let acceptor = tokio::spawn(accept(listener, server, state.clone()));
        Self {
            listen,
            database_url: database_url.to_owned(),
            state,
            acceptor,
        }
    }

    /// The database URL, pointed at the proxy.
    pub fn url(&self) -> String {
        let (scheme, rest) = self.database_url.split_once("://").unwrap();
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let userinfo = authority
            .rsplit_once('@')
            .map(|(user, _)| format!("{user}@"))
            .unwrap_or_default();
        format!("{scheme}://{userinfo}{}{path}", self.listen)
    }

    /// Closes every forwarded connection and refuses new ones; returns once all are
    /// closed.
    pub async fn cut(&self) {
        let mut tunnels = self.state.tunnels.lock().await;
        self.state.open.store(false, Ordering::SeqCst);
        tunnels.abort_all();
        while tunnels.join_next().await.is_some() {}
    }

    /// Forwards new connections again.
    pub fn restore(&self) {
        self.state.open.store(true, Ordering::SeqCst);
    }

    /// Plays a database that stops answering: open connections stay open but nothing is
    /// forwarded in either direction (bytes read are held back), and new connections are
    /// accepted but not forwarded, until [`Proxy::resume`].
    pub fn stall(&self) {
        self.state.flowing.send_replace(false);
    }

    /// Forwards again, on every connection, whatever was held back first.
    pub fn resume(&self) {
        self.state.flowing.send_replace(true);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

async fn accept(listener: TcpListener, server: String, state: Arc<State>) {
    while let Ok((inbound, _)) = listener.accept().await {
        let mut tunnels = state.tunnels.lock().await;
        if !state.open.load(Ordering::SeqCst) {
            // Refused: the client sees its connection closed at once.
            drop(inbound);
            continue;
        }
        let server = server.clone();
        let mut flowing = state.flowing.subscribe();
        tunnels.spawn(async move {
            // Accepted while stalled: held until resumed.
            if flowing.wait_for(|on| *on).await.is_err() {
                return;
            }
            if let Ok(outbound) = TcpStream::connect(&server).await {
                let (client_read, client_write) = inbound.into_split();
                let (server_read, server_write) = outbound.into_split();
                tokio::join!(
                    pump(client_read, server_write, flowing.clone()),
                    pump(server_read, client_write, flowing),
                );
            }
        });
    }
}

/// Copies `from` to `to` while the proxy is not stalled; what is read during a stall (an
/// end of stream included) is held until it resumes.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut flowing: watch::Receiver<bool>) {
    let mut buffer = vec![0; 16 * 1024];
    loop {
        let read = from.read(&mut buffer).await;
        if flowing.wait_for(|on| *on).await.is_err() {
            return;
        }
        match read {
            Ok(0) | Err(_) => return, // dropping `to` passes the close on
            Ok(n) => {
                if to.write_all(&buffer[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}
