//! `pairwise calibration`: the calibration report of a project's annotation (/calibration as
//! text or JSON).

use anyhow::Context;
use pairwise_pipeline::calibration;
use pairwise_store::DatabaseConnection;

pub async fn report(
    db: &DatabaseConnection,
    actor: &pairwise_core::Actor,
    project: &str,
    json: bool,
) -> anyhow::Result<()> {
    let role = pairwise_core::Role::Reviewer;
    pairwise_pipeline::access::project(db, actor, project, role, "see calibration").await?;
    let r = calibration::report(db, project)
        .await
        .with_context(|| format!("calibration of {project}"))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    let f = |v: Option<f64>| v.map_or_else(|| "—".into(), |v| format!("{v:.3}"));
    println!(
        "{}: {} items ({} gold); agreement {}, Fleiss κ {}, Krippendorff α {}, left-choice rate {}",
        r.project,
        r.comparisons,
        r.gold_items,
        f(r.agreement.percent_agreement),
        f(r.agreement.fleiss_kappa),
        f(r.agreement.krippendorff_alpha),
        f(r.left_rate)
    );
    for a in &r.annotators {
        println!(
            "  {:<16} votes {:>5}  gold {:>3} acc {}  κ gold {}  κ peers {}  left {}  repeats {} consistent {}{}",
            a.annotator,
            a.votes,
            a.gold_n,
            f(a.gold_accuracy),
            f(a.kappa_gold),
            f(a.kappa_peers),
            f(a.left_rate),
            a.repeats,
            f(a.repeat_consistency),
            if a.quarantined { "  QUARANTINED" } else { "" }
        );
    }
    for p in &r.agreement.cohen {
        println!("  κ {} × {}: {} on {} items", p.a, p.b, f(p.kappa), p.n);
    }
    let drift = &r.gold_drift;
    if !drift.judges.is_empty() {
        println!("judges against gold (run by run, oldest first):");
    }
    for s in &drift.judges {
        let judge: String = s.judge.chars().take(24).collect();
        for run in &s.runs {
            println!(
                "  {judge:<24} {} {:<8} run {:>5} {}  gold {:>4} (unread {})  acc {}  κ {}",
                s.rubric,
                s.mode,
                run.run,
                run.at,
                run.n,
                run.unread,
                f(run.accuracy),
                f(run.kappa)
            );
        }
    }
    println!(
        "annotators against gold: {} votes, acc {}, κ {}",
        drift.humans.n,
        f(drift.humans.accuracy),
        f(drift.humans.kappa)
    );
    Ok(())
}
