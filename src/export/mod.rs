//! Exports of recorded runs: [`cast`] writes the presenter's frames as an asciicast v2 file.

pub mod cast;
