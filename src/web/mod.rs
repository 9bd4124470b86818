//! The web view of a talk: one page for the audience's own screens. [`page`] builds the
//! self-contained HTML (slides, highlighting, the player), [`runs`] turns runs into what the page
//! shows, [`html`] has the HTML helpers. For `--share`, [`hub`] holds the presenter's current
//! slide and runs for the viewers (bounded, never blocking the presenter) and [`server`] serves
//! the page and the event stream over HTTP (hyper, on one low-priority thread).

pub mod html;
pub mod hub;
pub mod page;
pub mod runs;
pub mod server;
