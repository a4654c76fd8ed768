//! Thin entry point: everything testable lives in the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    // Last resort for a `print!` that meets a closed pipe: a quiet exit, not
    // a panic message (the commands themselves return the error instead).
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info.to_string();
        if auto_etl::exit::is_stdout_pipe_panic(&message) {
            std::process::exit(i32::from(auto_etl::exit::SUCCESS));
        }
        default_hook(info);
    }));
    ExitCode::from(auto_etl::main_entry())
}
