//! trio-present: a terminal slide presenter that runs the Python on its slides live on trio.
//!
//! The flow: [`deck`] parses the markdown into slides; [`render`] lays a slide out as styled
//! lines using a [`theme`]; the app state takes input and kernel events and the UI draws it.
pub mod deck;
pub mod render;
pub mod theme;
