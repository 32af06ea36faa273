//! A TCP proxy in front of the test PostgreSQL server that a test can cut and restore,
//! to play a database outage without touching the shared server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinSet;

pub struct Proxy {
    listen: SocketAddr,
    database_url: String,
    state: Arc<State>,
    acceptor: tokio::task::JoinHandle<()>,
}

struct State {
    open: AtomicBool,
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
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

async fn accept(listener: TcpListener, server: String, state: Arc<State>) {
    while let Ok((mut inbound, _)) = listener.accept().await {
        let mut tunnels = state.tunnels.lock().await;
        if !state.open.load(Ordering::SeqCst) {
            // Refused: the client sees its connection closed at once.
            drop(inbound);
            continue;
        }
        let server = server.clone();
        tunnels.spawn(async move {
            if let Ok(mut outbound) = TcpStream::connect(&server).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
    }
}
