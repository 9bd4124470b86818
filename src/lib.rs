//! trio-present: a terminal slide presenter that runs the Python on its slides live on trio.
//!
//! The flow: [`deck`] parses the markdown into slides; [`render`] lays a slide out as styled
//! lines using a [`theme`]; [`app`] holds the state that keys and [`kernel`] events update;
//! [`ui`] draws that state; [`runtime`] is the event loop that ties them together. [`cli`] is
//! the command line, [`headless`] the `run` command, [`check`] the rehearsal `check`;
//! [`consent`] decides whether a deck's code may run; [`record`] keeps every run and plays it
//! back, and [`export`] turns recordings into asciicast files.
pub mod app;
pub mod check;
pub mod cli;
pub mod config;
pub mod consent;
pub mod deck;
pub mod dirs;
pub mod export;
pub mod headless;
pub mod kernel;
pub mod latency;
pub mod log;
pub mod net;
pub mod record;
pub mod render;
pub mod runtime;
pub mod speaker;
pub mod suspend;
pub mod terminal;
pub mod theme;
pub mod ui;
pub mod watcher;
pub mod web;
