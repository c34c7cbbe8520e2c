//! Refusal classifier checks: every labelled answer read by the rules and, with a judge, by the
//! rules with the judge deciding refusal vs compliance; both compared with the human labels.
//! A check is one chunk (its rows are not prompts); a resumed check reads its rows again.

use super::{
    payload,
    verdicts::{judge_refusal, TokenIds},
    Progress, Worker,
};
use crate::{
    error::{PipelineError, Result},
    runs::{RefusalCheckPayload, RefusalCheckSummary},
};
use pairwise_core::{
    judge::JudgeMode,
    refusal::{classify, combine, evaluate_labels},
};
use pairwise_store::entities::job;

impl Worker {
    /// Runs the check; returns its summary as JSON text (the run's one chunk hands it over).
    pub(super) async fn refusal_check(
        &mut self,
        job: &job::Model,
        progress: &Progress,
    ) -> Result<String> {
        let payload: RefusalCheckPayload = payload(job)?;
        let rules: Vec<_> = payload
            .rows
            .iter()
            .map(|r| classify(&r.completion))
            .collect();
        let with_judge = match &payload.judge {
            None => {
                self.advance(progress, payload.rows.len() as i64, 0).await?;
                None
            }
            Some(model) => {
                let backend = self.backend(model).await?;
                let ids = TokenIds::find(&backend, JudgeMode::Pairwise)?;
                let mut labels = Vec::with_capacity(payload.rows.len());
                for row in &payload.rows {
                    progress.check()?;
                    let (refuses, _) = progress
                        .stoppable(judge_refusal(&backend, &ids, &row.prompt, &row.completion))
                        .await?;
                    labels.push(combine(refuses, &row.completion));
                    self.advance(progress, 1, 0).await?;
                }
                Some(evaluate_labels(&payload.rows, &labels))
            }
        };
        let summary = RefusalCheckSummary {
            rules: evaluate_labels(&payload.rows, &rules),
            with_judge,
        };
        serde_json::to_string(&summary).map_err(|e| PipelineError::Internal(e.to_string()))
    }
}
