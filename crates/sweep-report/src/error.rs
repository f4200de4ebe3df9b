//! Why a report could not be built: every case names what the user typed and
//! what would have been accepted, since the user is at a command line.

/// A request the results cannot answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("unknown metric `{name}`{hint}; known metrics: {known}")]
    UnknownMetric {
        name: String,
        hint: String,
        known: String,
    },
    /// A `--where`, `--baseline` or `--group-by` field or value.
    #[error(transparent)]
    Select(#[from] sweep_core::select::SelectError),
    #[error("no run matches {filter}{seen}")]
    NoMatch { filter: String, seen: String },
    #[error("no run to report: the plan is empty")]
    NoRuns,
    #[error("the baseline {baseline} matches no row; rows: {rows}")]
    BaselineNotFound { baseline: String, rows: String },
    #[error("the baseline {baseline} matches {count} rows; add fields to pick one: {fields}")]
    AmbiguousBaseline {
        baseline: String,
        count: usize,
        fields: String,
    },
    #[error(
        "the selection spans {count} configurations that differ in {fields}; \
         narrow it with --where (or pick a run by key)"
    )]
    SeveralConfigurations { count: usize, fields: String },
    #[error("the selected runs use different datasets ({0}); select one dataset")]
    SeveralDatasets(String),
    #[error("none of the {selected} selected runs is done: {reasons}")]
    NothingDone { selected: usize, reasons: String },
    #[error("run {key}: {message}")]
    UnreadableRun { key: String, message: String },
    #[error(
        "--flatten reads the labels as one binary vector, which binary and multi-label tasks have; `{dataset}` is {task}"
    )]
    NotFlattenable { dataset: String, task: String },
}
