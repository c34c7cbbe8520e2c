//! The `pairwise` binary.

use clap::Parser;

/// mimalloc (Rust crates, the C library vendored): rows of an import or export are allocated on
/// one thread and freed on another, which glibc's allocator serialises on its arenas.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

// `MI_OPTION_PURGE_DELAY` and `MI_OPTION_ARENA_EAGER_COMMIT`: `libmimalloc-sys` names neither,
// so build.rs writes their numbers, checked against the vendored mimalloc header.
include!(concat!(env!("OUT_DIR"), "/mi_options.rs"));

/// The allocator's settings, each unless the operator set it through mimalloc's own environment
/// variable (read by mimalloc when the process starts).
const MI_DEFAULTS: [(libmimalloc_sys::mi_option_t, &str, std::ffi::c_long); 2] = [
    (MI_OPTION_PURGE_DELAY, "MIMALLOC_PURGE_DELAY", 0),
    (
        MI_OPTION_ARENA_EAGER_COMMIT,
        "MIMALLOC_ARENA_EAGER_COMMIT",
        0,
    ),
];

// The one unsafe block of the server: option setters of the allocator.
#[allow(unsafe_code)]
fn main() -> std::process::ExitCode {
    // Memory freed is given back at once and arenas are committed as they fill: peak memory stays
    // at or below the system allocator's (an export's read-ahead pages are freed on another
    // thread than the one that allocated them), for a few percent of the allocator's speed-up.
    for (option, variable, value) in MI_DEFAULTS {
        if std::env::var_os(variable).is_none() {
            // SAFETY: a plain option setter, called before any other thread exists.
            unsafe { libmimalloc_sys::mi_option_set(option, value) };
        }
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime starts")
        .block_on(run())
}

async fn run() -> std::process::ExitCode {
    let cli = pairwise_server::cli::Cli::parse();
    pairwise_server::cli::init_tracing();
    let result = pairwise_server::cli::run(cli).await;
    if std::env::var_os("PAIRWISE_REPORT_RSS").is_some() {
        // For `pairwise bench datasets`, which runs commands as children to measure each alone.
        if let Some(peak) = pairwise_server::bench::peak_rss_bytes() {
            eprintln!("peak_rss_bytes={peak}");
        }
    }
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
