//! The `rawx` command.

/// mimalloc instead of glibc's malloc: rendering a page of objects is
/// mostly small allocations, and glibc's spent a third of the API's CPU
/// on them (its consolidation and free-list upkeep, under perf).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    rawx::cli::main()
}
