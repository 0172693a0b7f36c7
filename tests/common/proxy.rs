//! A loopback TCP proxy a test can cut: `cut()` kills every open connection (pooled
//! keep-alive ones included) and closes every new one at once, `restore()` forwards again.
//! Plain threads and blocking sockets, so it works under any runtime flavor.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    cut: AtomicBool,
    stop: AtomicBool,
    /// Connections forwarded to the upstream.
    connections: AtomicU64,
    /// Connections closed at once because the proxy was cut.
    refused: AtomicU64,
    /// Bytes from clients to the upstream.
    bytes_up: AtomicU64,
    /// Bytes from the upstream to clients.
    bytes_down: AtomicU64,
    next_id: AtomicU64,
    /// Open connections: both sockets, to shut them down on `cut()`.
    open: Mutex<HashMap<u64, (TcpStream, TcpStream)>>,
}

impl Proxy {
    /// A proxy on 127.0.0.1 (a free port) forwarding to `upstream`.
    pub fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        let accept_shared = shared.clone();
        thread::Builder::new()
            .name(format!("proxy-{}", addr.port()))
            .spawn(move || accept_loop(listener, upstream, accept_shared))
            .expect("spawn the proxy thread");
        Proxy { addr, shared }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Drops every open connection and closes new ones as they arrive.
    pub fn cut(&self) {
        self.shared.cut.store(true, Ordering::SeqCst);
        self.shared.kill_open();
    }

    /// Forwards again.
    pub fn restore(&self) {
        self.shared.cut.store(false, Ordering::SeqCst);
    }

    pub fn is_cut(&self) -> bool {
        self.shared.cut.load(Ordering::SeqCst)
    }

    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
    }

    pub fn refused(&self) -> u64 {
        self.shared.refused.load(Ordering::SeqCst)
    }

    pub fn bytes_up(&self) -> u64 {
        self.shared.bytes_up.load(Ordering::SeqCst)
    }

    pub fn bytes_down(&self) -> u64 {
        self.shared.bytes_down.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.kill_open();
        // Wake the accept loop so it sees `stop`.
        let _ = TcpStream::connect(self.addr);
    }
}

impl Shared {
    fn kill_open(&self) {
        let open: Vec<_> = self.open.lock().unwrap().drain().collect();
        for (_, (client, upstream)) in open {
            let _ = client.shutdown(Shutdown::Both);
            let _ = upstream.shutdown(Shutdown::Both);
        }
    }
}

fn accept_loop(listener: TcpListener, upstream: SocketAddr, shared: Arc<Shared>) {
    for client in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = client else { continue };
        if shared.cut.load(Ordering::SeqCst) {
            shared.refused.fetch_add(1, Ordering::SeqCst);
            let _ = client.shutdown(Shutdown::Both);
            continue;
        }
        let Ok(server) = TcpStream::connect(upstream) else {
            let _ = client.shutdown(Shutdown::Both);
            continue;
        };
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        let id = shared.next_id.fetch_add(1, Ordering::SeqCst);
        let (Ok(c2), Ok(s2), Ok(c3), Ok(s3)) = (
            client.try_clone(),
            server.try_clone(),
            client.try_clone(),
            server.try_clone(),
        ) else {
            continue;
        };
        shared.open.lock().unwrap().insert(id, (c3, s3));
        // A cut between the check above and the insert must still kill this one.
        if shared.cut.load(Ordering::SeqCst) {
            shared.kill_open();
            continue;
        }
        shared.connections.fetch_add(1, Ordering::SeqCst);
        let up = shared.clone();
        thread::spawn(move || {
            pump(client, server, &up.bytes_up);
            up.open.lock().unwrap().remove(&id);
        });
        let down = shared.clone();
        thread::spawn(move || pump(s2, c2, &down.bytes_down));
    }
}

/// Copies `from` to `to` until either side closes, then closes both directions.
fn pump(mut from: TcpStream, mut to: TcpStream, counter: &AtomicU64) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
                counter.fetch_add(n as u64, Ordering::SeqCst);
            }
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}
