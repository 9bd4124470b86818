//! The `trio-present` binary: hands over to the library's command line.
fn main() {
    // First: this binary doubles as the interpreters' watchdog (see kernel::watchdog).
    trio_present::kernel::watchdog::run_if_asked();
    std::process::exit(trio_present::cli::main());
}
