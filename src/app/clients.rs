//! Client panes: the state of the built-in TCP clients of an echo-server demo (what was sent,
//! what came back, how the connection stands) and the keys typed into them while one has the
//! focus. Connections themselves live in the event loop (`net::Client`); this is their model.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::net::ClientEvent;

/// Lines of transcript kept per client.
const TRANSCRIPT: usize = 500;

/// How a connection stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnState {
    Connecting,
    Connected,
    /// We sent EOF (Ctrl-d); the server may still answer.
    HalfClosed,
    ClosedByServer,
    Failed(String),
    /// Closed by the speaker.
    Closed,
}

impl ConnState {
    pub fn label(&self) -> String {
        match self {
            ConnState::Connecting => "connecting…".into(),
            ConnState::Connected => "connected".into(),
            ConnState::HalfClosed => "EOF sent".into(),
            ConnState::ClosedByServer => "closed by server".into(),
            ConnState::Failed(why) => why.clone(),
            ConnState::Closed => "closed".into(),
        }
    }

    pub fn is_open(&self) -> bool {
        matches!(self, ConnState::Connecting | ConnState::Connected)
    }
}

/// One line of a client's transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Said {
    /// What the speaker sent.
    Sent(String),
    /// What the server sent back (may be a partial line).
    Received(String),
}

/// One client pane.
#[derive(Debug, Clone)]
pub struct ClientPane {
    pub id: usize,
    pub addr: String,
    pub state: ConnState,
    pub transcript: Vec<Said>,
    /// The line being typed.
    pub input: String,
    /// Bytes received that do not yet end a line.
    open_line: bool,
}

impl ClientPane {
    pub fn new(id: usize, addr: String) -> ClientPane {
        ClientPane {
            id,
            addr,
            state: ConnState::Connecting,
            transcript: Vec::new(),
            input: String::new(),
            open_line: false,
        }
    }

    fn say(&mut self, s: Said) {
        if self.transcript.len() >= TRANSCRIPT {
            self.transcript.remove(0);
        }
        self.transcript.push(s);
    }

    /// Folds a connection event into the pane.
    pub fn apply(&mut self, ev: ClientEvent) {
        match ev {
            ClientEvent::Connected => self.state = ConnState::Connected,
            ClientEvent::Data(bytes) => {
                let text =
                    crate::app::output::sanitize_keep_newlines(&String::from_utf8_lossy(&bytes));
                for piece in text.split_inclusive('\n') {
                    let ends = piece.ends_with('\n');
                    let piece = piece.trim_end_matches('\n').to_string();
                    match self.transcript.last_mut() {
                        Some(Said::Received(last)) if self.open_line => last.push_str(&piece),
                        _ => self.say(Said::Received(piece)),
                    }
                    self.open_line = !ends;
                }
            }
            ClientEvent::ClosedByServer => {
                if self.state != ConnState::Closed {
                    self.state = ConnState::ClosedByServer;
                }
            }
            ClientEvent::Failed(why) => {
                if self.state != ConnState::Closed {
                    self.state = ConnState::Failed(why);
                }
            }
        }
    }
}

/// What a key typed into a focused client pane asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientKey {
    /// Nothing for the loop to do (typing, editing).
    Edited,
    /// Send these bytes.
    Send(Vec<u8>),
    /// Half-close (Ctrl-d).
    Eof,
    /// Close this client (Ctrl-w).
    Close,
    /// Focus the next client (Tab).
    Next,
    /// Leave the pane (Esc): keys go back to slide navigation.
    Leave,
}

/// Handles a key while a client pane has the focus.
pub fn key(pane: &mut ClientPane, key: KeyEvent) -> ClientKey {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Esc => ClientKey::Leave,
        KeyCode::Tab => ClientKey::Next,
        KeyCode::Char('d') if ctrl => ClientKey::Eof,
        KeyCode::Char('w') if ctrl => ClientKey::Close,
        KeyCode::Char('u') if ctrl => {
            pane.input.clear();
            ClientKey::Edited
        }
        KeyCode::Enter => {
            let line = std::mem::take(&mut pane.input);
            pane.open_line = false;
            pane.say(Said::Sent(line.clone()));
            let mut bytes = line.into_bytes();
            bytes.push(b'\n');
            ClientKey::Send(bytes)
        }
        KeyCode::Backspace => {
            pane.input.pop();
            ClientKey::Edited
        }
        KeyCode::Char(c) if !ctrl => {
            pane.input.push(c);
            ClientKey::Edited
        }
        _ => ClientKey::Edited,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn typing_enter_sends_a_line_and_received_data_joins_lines() {
        let mut p = ClientPane::new(1, "127.0.0.1:1234".into());
        p.apply(ClientEvent::Connected);
        for c in "hi".chars() {
            assert_eq!(key(&mut p, k(KeyCode::Char(c))), ClientKey::Edited);
        }
        assert_eq!(
            key(&mut p, k(KeyCode::Enter)),
            ClientKey::Send(b"hi\n".to_vec())
        );
        p.apply(ClientEvent::Data(b"h".to_vec()));
        p.apply(ClientEvent::Data(b"i\nnext".to_vec()));
        assert_eq!(
            p.transcript,
            vec![
                Said::Sent("hi".into()),
                Said::Received("hi".into()),
                Said::Received("next".into())
            ]
        );
        let ctrl_d = KeyEvent::new(KeyCode::Char('d'), KeyModifiers::CONTROL);
        assert_eq!(key(&mut p, ctrl_d), ClientKey::Eof);
        p.apply(ClientEvent::ClosedByServer);
        assert_eq!(p.state, ConnState::ClosedByServer);
        assert_eq!(key(&mut p, k(KeyCode::Esc)), ClientKey::Leave);
    }

    #[test]
    fn control_sequences_from_the_server_are_neutralised() {
        let mut p = ClientPane::new(1, "x".into());
        p.apply(ClientEvent::Data(b"\x1b[2Jok\xff\n".to_vec()));
        assert_eq!(p.transcript, vec![Said::Received("ok\u{fffd}".into())]);
    }
}
