//! `pairwise worker`: a standalone job worker that processes queued runs (several may share one
//! database).

use clap::Args;
use pairwise_pipeline::{Worker, WorkerOptions};
use pairwise_store::DatabaseConnection;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Seconds a claim lasts without a heartbeat (a killed worker's run is taken over after it).
    #[arg(long, default_value_t = 30)]
    pub lease_secs: u64,
    /// Stop once nothing is queued and no run is waiting to be cut into chunks.
    #[arg(long)]
    pub exit_when_idle: bool,
    /// ONNX Runtime threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

/// `pairwise worker`: processes queued runs until interrupted (or, with --exit-when-idle, until
/// the queue is empty).
pub async fn run(db: &DatabaseConnection, args: WorkerArgs) -> anyhow::Result<()> {
    let mut options = WorkerOptions {
        lease: Duration::from_secs(args.lease_secs.max(1)),
        ..WorkerOptions::default()
    };
    if let Some(t) = args.threads {
        options.threads = t;
    }
    let mut worker = Worker::new(db.clone(), options);
    eprintln!("worker {} waiting for runs", worker.id());
    if args.exit_when_idle {
        loop {
            match worker.run_one().await? {
                Some((id, outcome)) => eprintln!("run {id}: {outcome:?}"),
                // Idle once nothing is queued or being planned (another worker may be about to
                // cut a run into chunks that this one could share).
                None if pairwise_pipeline::work_ahead(db).await? => {
                    tokio::time::sleep(Duration::from_millis(200)).await
                }
                None => return Ok(()),
            }
        }
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        let _ = stop_tx.send(true);
    });
    worker.run(stop_rx).await;
    Ok(())
}
