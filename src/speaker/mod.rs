//! The speaker window (`trio-present speaker DECK`) and the presenter's side of it: a Unix
//! socket per deck under `$XDG_RUNTIME_DIR` (see [`path`]), the presenter's accept thread
//! ([`server`]), the window's connection that reconnects by itself ([`client`]), the messages
//! ([`protocol`]), the window's own state ([`app`]) and its event loop ([`run`]).

pub mod app;
pub mod client;
pub mod pace;
pub mod path;
pub mod protocol;
pub mod run;
pub mod server;
