//! The `pairwise` binary.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
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
