//! The `pairwise` binary.

use clap::Parser;

/// mimalloc (Rust crates, the C library vendored): rows of an import or export are allocated on
/// one thread and freed on another, which glibc's allocator serialises on its arenas.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_arena_eager_commit` and `mi_option_purge_delay` of mimalloc v3's `mi_option_e`
/// (`libmimalloc-sys` names neither).
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

// The one unsafe block of the server: two option setters of the allocator.
#[allow(unsafe_code)]
fn main() -> std::process::ExitCode {
    // Memory freed is given back at once and arenas are committed as they fill: peak memory stays
    // at or below the system allocator's (an export's read-ahead pages are freed on another
    // thread than the one that allocated them), for a few percent of the allocator's speed-up.
    // SAFETY: plain option setters, called before any other thread exists.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0);
        libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0);
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
