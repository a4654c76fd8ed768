//! Thin entry point: everything testable lives in the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    let code = auto_etl::main_entry();
    ExitCode::from(code)
}
