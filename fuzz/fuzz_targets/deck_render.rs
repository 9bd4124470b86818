//! libFuzzer target: the input bytes are a deck file. They are parsed, every slide is laid out
//! at tiny to wide widths and drawn as a whole frame at several terminal sizes, with the same
//! invariants and time budget as the property tests (`tests/fuzz_support/mod.rs`, included by
//! path so there is one definition of what "works" means).
#![no_main]

#[path = "../../tests/fuzz_support/mod.rs"]
mod fuzz_support;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz_support::exercise(data);
});
