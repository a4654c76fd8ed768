//! The `auto-etl.toml` schema as written. Unknown keys are errors; values that
//! need validation keep their span so errors can name the line.

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub orchestrator: Option<OrchestratorFile>,
    #[serde(default)]
    pub steps: Vec<StepFile>,
    #[serde(default)]
    pub cycle: CycleFile,
    #[serde(default)]
    pub verify: VerifyFile,
    #[serde(default)]
    pub git: GitFile,
    #[serde(default)]
    pub docker: DockerFile,
    #[serde(default)]
    pub cleanup: CleanupFile,
    #[serde(default)]
    pub rules: Vec<RuleFile>,
    #[serde(default)]
    pub report: ReportFile,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrchestratorFile {
    pub command: Spanned<String>,
    pub timeout: Option<Spanned<String>>,
    #[serde(default)]
    pub wait_for: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepFile {
    pub name: Spanned<String>,
    pub run: Spanned<String>,
    pub timeout: Option<Spanned<String>>,
    pub kind: Option<Spanned<String>>,
    pub complexity: Option<Spanned<String>>,
    #[serde(default)]
    pub external_dependencies: bool,
    #[serde(default)]
    pub data_sensitive: bool,
    #[serde(default)]
    pub wait_for: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CycleFile {
    pub max_iterations: Option<Spanned<i64>>,
    pub max_elapsed: Option<Spanned<String>>,
    pub service_wait: Option<Spanned<String>>,
    pub stop_grace: Option<Spanned<String>>,
    #[serde(default)]
    pub backoff: BackoffFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackoffFile {
    pub initial: Option<Spanned<String>>,
    pub multiplier: Option<Spanned<f64>>,
    pub max: Option<Spanned<String>>,
    pub jitter: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyFile {
    pub success_patterns: Option<Vec<String>>,
    pub error_patterns: Option<Vec<String>>,
    #[serde(default)]
    pub expected_files: Vec<Spanned<String>>,
    pub validator: Option<Spanned<String>>,
    pub validator_timeout: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitFile {
    pub checkpoint: Option<Spanned<String>>,
    pub push: Option<bool>,
    pub rollback: Option<bool>,
    pub remote: Option<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    pub max_file_size: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DockerFile {
    pub project: Option<Spanned<String>>,
    #[serde(default)]
    pub labels: Vec<Spanned<String>>,
    pub level: Option<Spanned<String>>,
    pub stop_timeout: Option<Spanned<String>>,
    pub require: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CleanupFile {
    #[serde(default)]
    pub paths: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    pub id: Spanned<String>,
    pub class: Spanned<String>,
    pub pattern: Spanned<String>,
    pub retryable: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportFile {
    pub dir: Option<String>,
    pub junit: Option<String>,
}
