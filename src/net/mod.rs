//! The built-in network client for echo-server demos: a TCP connection to the demo's port,
//! owned by a client pane, so the speaker never has to switch to a second terminal for `nc`.

pub mod client;

pub use client::{Client, ClientEvent};
