//! The `rawx` command.

fn main() -> std::process::ExitCode {
    rawx::cli::main()
}
