//! One TCP client connection, like `nc`: a reader thread reports everything the server sends
//! (and how the connection ended) as [`ClientEvent`]s; the owner writes lines, half-closes
//! (EOF, Ctrl-d) or closes it.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

/// What happened on a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    Connected,
    /// Bytes from the server (decoded lossily for display; the bytes are what the server sent).
    Data(Vec<u8>),
    /// The server closed its side (EOF).
    ClosedByServer,
    /// The connection failed or was reset; the reason is human-readable.
    Failed(String),
}

/// Where a client's events go, tagged with the client id.
pub type ClientSink = Arc<dyn Fn(usize, ClientEvent) + Send + Sync>;

/// A live connection.
pub struct Client {
    pub id: usize,
    pub addr: SocketAddr,
    stream: TcpStream,
}

impl Client {
    /// Connects (with a short timeout: the server is on this machine) and starts reading.
    pub fn connect(id: usize, addr: SocketAddr, sink: ClientSink) -> std::io::Result<Client> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        stream.set_nodelay(true)?;
        let mut reader = stream.try_clone()?;
        sink(id, ClientEvent::Connected);
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) => {
                        sink(id, ClientEvent::ClosedByServer);
                        break;
                    }
                    Ok(n) => sink(id, ClientEvent::Data(buf[..n].to_vec())),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        sink(id, ClientEvent::Failed(describe(&e)));
                        break;
                    }
                }
            }
        });
        Ok(Client { id, addr, stream })
    }

    /// Sends bytes (a typed line plus newline).
    pub fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Half-close: the server reads EOF, and can still answer (what Ctrl-d does in `nc`).
    pub fn send_eof(&self) -> std::io::Result<()> {
        self.stream.shutdown(Shutdown::Write)
    }

    /// Closes both directions; the reader thread ends.
    pub fn close(&self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.close();
    }
}

/// A short reason for a failed connection.
pub fn describe(e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match e.kind() {
        ConnectionRefused => "connection refused (is the demo listening?)".into(),
        ConnectionReset => "connection reset by the server".into(),
        ConnectionAborted => "connection aborted".into(),
        TimedOut => "timed out".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::sync::mpsc;

    fn sink() -> (ClientSink, mpsc::Receiver<ClientEvent>) {
        let (tx, rx) = mpsc::channel();
        let tx = std::sync::Mutex::new(tx);
        (
            Arc::new(move |_, ev| {
                let _ = tx.lock().unwrap().send(ev);
            }),
            rx,
        )
    }

    #[test]
    fn echo_half_close_and_server_close() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut all = Vec::new();
            conn.read_to_end(&mut all).unwrap(); // until the client's EOF
            conn.write_all(&all).unwrap();
            all
        });
        let (sink, rx) = sink();
        let mut c = Client::connect(1, addr, sink).unwrap();
        assert_eq!(rx.recv().unwrap(), ClientEvent::Connected);
        c.send(b"hello \xff\n").unwrap();
        c.send_eof().unwrap();
        let mut got = Vec::new();
        loop {
            match rx.recv_timeout(Duration::from_secs(5)).unwrap() {
                ClientEvent::Data(d) => got.extend(d),
                ClientEvent::ClosedByServer => break,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(got, b"hello \xff\n");
        assert_eq!(server.join().unwrap(), b"hello \xff\n");
    }

    #[test]
    fn refused_connection_is_an_error() {
        let addr = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let (sink, _rx) = sink();
        let err = Client::connect(1, addr, sink)
            .err()
            .expect("nothing listens");
        assert!(describe(&err).contains("refused"));
    }
}
