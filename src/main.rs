//! trio-present: entry point.
pub mod deck;
pub mod render;
pub mod theme;
fn main() {}
