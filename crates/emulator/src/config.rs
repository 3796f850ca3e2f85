//! [`EmulatorConfig`] and the demo credential.

use blaxel_models::ApiVersion;

/// The bearer token of the default configuration: it reaches [`DEMO_WORKSPACE`]. Demo mode
/// (the gateway without `--upstream`) uses it for callers that send no credential.
pub const DEMO_TOKEN: &str = "dev-token";

/// The workspace of [`DEMO_TOKEN`]; it holds the reference example (`exec-abc123` of
/// `data-processing-job`).
pub const DEMO_WORKSPACE: &str = "my-workspace";

/// API versions the emulator knows: (year, month, day). Each is accepted with and without the
/// `.preview` suffix. 2026-04-16 and 2026-04-20 are legacy (bare arrays); 2026-04-28 and later
/// use the `{data, meta}` envelope and cursors. 2026-09-22 is the default of the official
/// Python SDK (`blaxel` 0.4.24, `BLAXEL_API_VERSION`); its contract adds `spec.taskCount`,
/// `spec.tasksRef` and `meta.totalIsPartial` to the same envelope and cursors.
pub const KNOWN_VERSIONS: [(u16, u8, u8); 4] =
    [(2026, 4, 16), (2026, 4, 20), (2026, 4, 28), (2026, 9, 22)];

/// Configuration of an emulator instance.
#[derive(Debug, Clone, PartialEq)]
pub struct EmulatorConfig {
    /// Seed of the generated data (and of fault probabilities). Same seed, same data.
    pub seed: u64,
    /// Jobs per workspace: `data-processing-job`, then `job-1`, `job-2`, ...
    pub jobs: usize,
    /// Seeded executions per job (ids `exec-` + 8 hex digits; `my-workspace`'s
    /// `data-processing-job` includes the reference `exec-abc123`).
    pub executions_per_job: usize,
    /// Accepted bearer tokens as (token, workspace). Each distinct workspace is created; a
    /// token listed with several workspaces reaches all of them (the first is its default).
    pub tokens: Vec<(String, String)>,
    /// Capacity of a workspace, in concurrent executions (pending, running or cancelling), as
    /// checked by `allowQueue: false`: 429 when that many are active, 400 when the request asks
    /// for more tasks than `capacity` (it could never run at once).
    pub capacity: usize,
    /// Accepted `Blaxel-Version` values; anything else is a 400 `invalid_api_version`.
    pub valid_versions: Vec<ApiVersion>,
    /// Largest task count an execution still carries inline (`tasks` and `spec.tasks`). An
    /// execution with more tasks carries `spec.tasksRef` instead and leaves both lists out:
    /// clients page `GET .../executions/{executionId}/tasks` (upstream: `JobExecutionSpec.tasksRef`,
    /// "Where this execution's task list is stored (server-managed)", SDK `blaxel` 0.4.24).
    /// `spec.taskCount` is sent on every execution either way. Default 100.
    pub inline_tasks_max: usize,
    /// Bound on counting a job's executions for `meta.total`: a job with more executions
    /// answers `total` = this bound and `totalIsPartial: true` (upstream
    /// `PaginationMeta.totalIsPartial`: "`total` is a lower bound"). `None` (the default)
    /// counts exactly.
    pub total_count_limit: Option<usize>,
}

impl Default for EmulatorConfig {
    /// Seed 42, 3 jobs of 50 executions, [`DEMO_TOKEN`] for [`DEMO_WORKSPACE`], capacity 16,
    /// every [`KNOWN_VERSIONS`] entry and its `.preview` variant, inline tasks up to 100, exact
    /// totals.
    fn default() -> Self {
        let valid_versions = KNOWN_VERSIONS
            .iter()
            .flat_map(|&(y, m, d)| {
                let v = ApiVersion::new(y, m, d);
                [v, ApiVersion { preview: true, ..v }]
            })
            .collect();
        Self {
            seed: 42,
            jobs: 3,
            executions_per_job: 50,
            tokens: vec![(DEMO_TOKEN.into(), DEMO_WORKSPACE.into())],
            capacity: 16,
            valid_versions,
            inline_tasks_max: 100,
            total_count_limit: None,
        }
    }
}
