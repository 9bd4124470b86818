//! The kernel: running slide code in a child Python interpreter with trio. [`python`] finds an
//! interpreter and provisions trio, [`process`] runs one harness child (the Python side is
//! [`harness`], a package embedded in the binary), [`pool`] keeps a warm spare and the current
//! run, [`protocol`] is the wire format, [`watchdog`] ends a run whose presenter died.
pub mod doctor;
pub mod drive;
pub mod harness;
pub mod pool;
pub mod process;
pub mod protocol;
pub mod python;
pub mod reaper;
pub mod watchdog;
