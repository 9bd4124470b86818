//! The `trio-present` binary: hands over to the library's command line.
fn main() {
    std::process::exit(trio_present::cli::main());
}
