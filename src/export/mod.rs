//! Exports of recorded runs: [`cast`] writes the presenter's frames as an asciicast v2 file,
//! [`html`] the deck as a self-contained web page with a player for each recorded run.

pub mod cast;
pub mod html;
