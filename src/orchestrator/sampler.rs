//! Adapter between the step runner and the metrics module's process-tree
//! sampler.

use crate::metrics::{ProcessTreeSampler, StepMetrics};

/// A running sampler of one step's process group.
pub struct GroupSampler {
    inner: Option<ProcessTreeSampler>,
}

/// Starts sampling process group `pgid` (nothing when the step never started).
pub fn sample_group(pgid: i32) -> GroupSampler {
    GroupSampler {
        inner: (pgid > 0)
            .then(|| ProcessTreeSampler::start(pgid, ProcessTreeSampler::DEFAULT_INTERVAL)),
    }
}

impl GroupSampler {
    /// Stops sampling and returns the step's figures.
    pub async fn finish(self) -> StepMetrics {
        match self.inner {
            // Joining the sampler thread takes at most one /proc scan.
            Some(s) => tokio::task::spawn_blocking(move || s.stop())
                .await
                .unwrap_or_default(),
            None => StepMetrics::default(),
        }
    }
}
