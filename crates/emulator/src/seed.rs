//! Seed data: deterministic jobs and executions per workspace, covering every status, with the
//! reference example of the documentation.

use std::collections::{HashMap, HashSet};

use blaxel_models::{
    CoreEvent, CoreEvents, Job, JobRuntime, JobRuntimeGeneration, JobSpec, Metadata,
    MetadataLabels, RevisionConfiguration, RevisionMetadata, Status,
};
use rand::{Rng, SeedableRng, rngs::StdRng};
use sha2::{Digest, Sha256};

use crate::{
    store::{JobState, WorkspaceState},
    timeline::{CANCEL_GRACE_SECS, Exec, START, TaskPlan, ts},
};

/// Name of the first job of every workspace (the reference example's job).
pub(crate) const REFERENCE_JOB: &str = "data-processing-job";
/// Workspace holding the reference execution.
pub(crate) const REFERENCE_WORKSPACE: &str = crate::DEMO_WORKSPACE;
/// The reference execution id of the seed page.
pub(crate) const REFERENCE_EXECUTION: &str = "exec-abc123";
/// A stable 64-bit hash of some text (first 8 bytes of SHA-256), used to derive per-job seeds.
pub(crate) fn hash64(parts: &[&str]) -> u64 {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    let d = h.finalize();
    u64::from_be_bytes(d[..8].try_into().unwrap_or([0; 8]))
}
const TASK_TIMEOUTS: [&str; 4] = ["30m", "15m", "1h", "2h"];
const ENV_NAMES: [&str; 5] = ["MY_VAR", "BATCH_SIZE", "LOG_LEVEL", "REGION", "MODEL_NAME"];

/// Builds generic tasks that all finish within `budget` seconds of the run start.
pub(crate) fn random_tasks(
    rng: &mut StdRng,
    count: usize,
    parallelism: usize,
    budget: u32,
) -> Vec<TaskPlan> {
    let parallelism = parallelism.clamp(1, count.max(1));
    let waves = count.div_ceil(parallelism).max(1) as u32;
    let dmax = (budget / waves).max(2);
    let mut slots = vec![0u32; parallelism];
    let max_retries: u8 = rng.random_range(0..=3);
    let timeout = TASK_TIMEOUTS[rng.random_range(0..TASK_TIMEOUTS.len())];
    (0..count)
        .map(|_| {
            let d = rng.random_range(1..=dmax);
            let attempts = if max_retries > 0 && rng.random_bool(0.2) {
                rng.random_range(2..=max_retries + 1)
            } else {
                1
            };
            let (slot, start) = slots
                .iter()
                .copied()
                .enumerate()
                .min_by_key(|(_, end)| *end)
                .unwrap_or((0, 0));
            let attempt_secs = (d / u32::from(attempts)).max(1);
            slots[slot] = start + attempt_secs * u32::from(attempts);
            TaskPlan {
                start,
                attempt_secs,
                attempts,
                max_retries,
                fails: false,
                timeout,
            }
        })
        .collect()
}

#[derive(Clone, Copy)]
enum Role {
    Queued,
    Pending,
    Running,
    Cancelling,
    Succeeded,
    Failed,
    Cancelled,
    Timeout,
}

fn role_for(i: usize, rng: &mut StdRng) -> Role {
    const FORCED: [Role; 9] = [
        Role::Queued,
        Role::Pending,
        Role::Running,
        Role::Cancelling,
        Role::Running,
        Role::Succeeded,
        Role::Failed,
        Role::Cancelled,
        Role::Timeout,
    ];
    if let Some(r) = FORCED.get(i) {
        return *r;
    }
    match rng.random_range(0..100) {
        0..65 => Role::Succeeded,
        65..80 => Role::Failed,
        80..90 => Role::Cancelled,
        _ => Role::Timeout,
    }
}

/// Plans one seeded execution created at `created` so that at [`START`] it is in `role`.
fn plan_exec(rng: &mut StdRng, id: String, created: i64, role: Role, job_timeout: u32) -> Exec {
    let e = (START - created).max(30) as u32; // elapsed at START
    let count = rng.random_range(1..=6usize);
    let parallelism = rng.random_range(1..=count.min(5));
    let env = rng.random_bool(0.3).then(|| {
        let n = rng.random_range(1..=3);
        ENV_NAMES[..n].iter().map(|s| (*s).to_owned()).collect()
    });
    let memory = rng
        .random_bool(0.25)
        .then(|| [512, 1024, 2048][rng.random_range(0..3)]);
    let mut exec = Exec {
        id: id.into(),
        created,
        queue: 1,
        pending: 1,
        timeout: job_timeout,
        parallelism: parallelism as u16,
        tasks: Box::new([]),
        env,
        memory,
        cancel_at: None,
        rendered: Default::default(),
    };
    let mut tasks;
    match role {
        Role::Queued => {
            exec.queue = e + rng.random_range(600..3600);
            exec.pending = rng.random_range(1..30);
            tasks = random_tasks(rng, count, parallelism, 1800);
        }
        Role::Pending => {
            exec.queue = (e / 3).max(1);
            exec.pending = e - exec.queue + rng.random_range(300..900);
            tasks = random_tasks(rng, count, parallelism, 1800);
        }
        Role::Running | Role::Cancelling => {
            exec.queue = rng.random_range(1..=(e / 4).clamp(1, 10));
            exec.pending = rng.random_range(1..=(e / 4).clamp(1, 10));
            let run_elapsed = e - exec.queue - exec.pending;
            tasks = random_tasks(rng, count, parallelism, run_elapsed.max(2));
            if let Some(last) = tasks.last_mut() {
                last.start = 0;
                last.attempts = 1;
                last.attempt_secs = run_elapsed + rng.random_range(600..1800);
            }
            let need = tasks.iter().map(TaskPlan::natural_end).max().unwrap_or(1);
            exec.timeout = job_timeout.max(need + 600);
            if matches!(role, Role::Cancelling) {
                exec.cancel_at = Some(START - 2);
            }
        }
        Role::Succeeded | Role::Failed | Role::Cancelled | Role::Timeout => {
            exec.queue = rng.random_range(1..=(e / 10).clamp(1, 30));
            exec.pending = rng.random_range(1..=(e / 10).clamp(1, 60));
            let budget = ((e - exec.queue - exec.pending) * 4 / 5).clamp(2, 7200);
            tasks = random_tasks(rng, count, parallelism, budget);
            let need = tasks.iter().map(TaskPlan::natural_end).max().unwrap_or(1);
            exec.timeout = job_timeout.max(need + 60);
            match role {
                Role::Failed => {
                    let i = rng.random_range(0..tasks.len());
                    let t = &mut tasks[i];
                    t.max_retries = t.max_retries.max(1);
                    let total = t.attempt_secs * u32::from(t.attempts);
                    t.attempts = t.max_retries + 1;
                    t.attempt_secs = (total / u32::from(t.attempts)).max(1);
                    t.fails = true;
                }
                Role::Timeout => exec.timeout = (need / 2).max(1),
                Role::Cancelled => {
                    let rs = created + i64::from(exec.queue) + i64::from(exec.pending);
                    let c = rs + i64::from(need / 2);
                    exec.cancel_at = Some(if c + CANCEL_GRACE_SECS < START {
                        c
                    } else {
                        created
                    });
                }
                _ => {}
            }
        }
    }
    exec.tasks = tasks.into_boxed_slice();
    exec
}

/// The reference execution of the seed page: at [`START`] it runs with stats
/// `{cancelled 0, failure 1, retried 2, running 1, success 8, total 10}`.
fn reference_exec(created: i64) -> Exec {
    let t = |start, attempt_secs, attempts, fails| TaskPlan {
        start,
        attempt_secs,
        attempts,
        max_retries: 3,
        fails,
        timeout: "30m",
    };
    Exec {
        id: REFERENCE_EXECUTION.into(),
        created,
        queue: 5,
        pending: 10,
        timeout: 3600,
        parallelism: 5,
        tasks: vec![
            t(0, 300, 1, false),
            t(0, 420, 1, false),
            t(0, 360, 1, false),
            t(0, 500, 1, false),
            t(0, 450, 1, false),
            t(300, 400, 1, false),
            t(360, 380, 1, false),
            t(420, 500, 1, false),
            t(450, 200, 3, true),
            t(500, 2300, 1, false),
        ]
        .into_boxed_slice(),
        // The reference page shows this as a string; the spec and the SDKs say object, which is
        // what is sent (the string form is the `envOverrideString` fault).
        env: Some(vec!["MY_VAR".into(), "BATCH_SIZE".into()]),
        memory: Some(2048),
        cancel_at: None,
        rendered: Default::default(),
    }
}

/// Builds the seeded executions of one job, sorted into its indexes.
pub(crate) fn seed_executions(seed: u64, workspace: &str, job: &str, n: usize) -> Vec<Exec> {
    let mut rng = StdRng::seed_from_u64(seed ^ hash64(&[workspace, job]));
    let with_reference = workspace == REFERENCE_WORKSPACE && job == REFERENCE_JOB && n > 0;
    let generated = n - usize::from(with_reference);
    let avg_gap = (14 * 86_400 / generated.max(1) as i64).max(1);
    let mut ids = HashSet::with_capacity(generated);
    let mut used_times = HashSet::with_capacity(n);
    let mut t = START - rng.random_range(20..90);
    let mut out = Vec::with_capacity(n);
    for i in 0..generated {
        let id = loop {
            let candidate = format!("exec-{:08x}", rng.random::<u32>());
            if ids.insert(candidate.clone()) {
                break candidate;
            }
        };
        let role = role_for(i, &mut rng);
        used_times.insert(t);
        out.push(plan_exec(&mut rng, id, t, role, 3600));
        let gap = if i < 9 {
            rng.random_range(40..180)
        } else {
            rng.random_range(1..=2 * avg_gap)
        };
        t -= gap;
    }
    if with_reference {
        let mut created = START - 1800;
        while used_times.contains(&created) {
            created -= 1;
        }
        out.push(reference_exec(created));
    }
    out
}

fn job_model(workspace: &str, name: &str, idx: usize, created: i64, memory: i64) -> Job {
    // Appended statuses keep the first jobs' statuses as they were before 2026-09-22's.
    const STATUSES: [Status; 7] = [
        Status::Deployed,
        Status::Deployed,
        Status::Failed,
        Status::Deactivated,
        Status::Archived,
        Status::Archiving,
        Status::Unarchiving,
    ];
    let status = STATUSES[idx % STATUSES.len()].clone();
    let labels: HashMap<String, String> = [
        (
            "team".to_owned(),
            if idx.is_multiple_of(2) { "data" } else { "ml" }.to_owned(),
        ),
        ("env".to_owned(), "production".to_owned()),
    ]
    .into_iter()
    .collect();
    Job {
        events: Some(CoreEvents(vec![CoreEvent {
            canary_revision: None,
            message: Some("Deployment completed".into()),
            revision: Some(format!("rev-{name}-2")),
            status: Some(status.as_str().to_owned()),
            time: Some(ts(created + 3600)),
            type_: Some("deployment".into()),
        }])),
        metadata: Metadata {
            created_at: Some(ts(created)),
            created_by: Some("dev@example.com".into()),
            display_name: Some(
                name.split('-')
                    .map(|w| {
                        let mut c = w.chars();
                        c.next()
                            .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                            .unwrap_or_default()
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            external_id: None,
            labels: Some(MetadataLabels(labels)),
            name: name.to_owned(),
            plan: Some("team".into()),
            updated_at: Some(ts(created + 3600)),
            updated_by: Some("dev@example.com".into()),
            url: Some(format!("https://run.blaxel.ai/{workspace}/jobs/{name}")),
            workspace: Some(workspace.to_owned()),
        },
        spec: JobSpec {
            enabled: Some(true),
            github_runner: None,
            policies: None,
            region: Some("us-was-1".into()),
            revision: Some(RevisionConfiguration {
                active: Some(format!("rev-{name}-2")),
                canary: None,
                canary_percent: None,
                sticky_session_ttl: Some(0),
                traffic: Some(100),
            }),
            runtime: Some(JobRuntime {
                disk_percent: None,
                envs: Vec::new(),
                generation: Some(JobRuntimeGeneration::Mk3),
                image: Some(format!("blaxel/{workspace}/{name}:latest")),
                max_retries: Some(3),
                memory: Some(memory),
                ports: None,
                timeout: Some(3600),
            }),
            triggers: None,
            volumes: None,
        },
        status: Some(status),
    }
}

fn revisions(name: &str, created: i64) -> Vec<RevisionMetadata> {
    vec![
        RevisionMetadata {
            active: Some(true),
            canary: Some(false),
            created_at: Some(ts(created + 3600)),
            created_by: Some("dev@example.com".into()),
            id: Some(format!("rev-{name}-2")),
            previous_active: Some(false),
            status: Some("DEPLOYED".into()),
            traffic_percent: Some(100),
        },
        RevisionMetadata {
            active: Some(false),
            canary: Some(false),
            created_at: Some(ts(created)),
            created_by: Some("dev@example.com".into()),
            id: Some(format!("rev-{name}-1")),
            previous_active: Some(true),
            status: Some("DEPLOYED".into()),
            traffic_percent: Some(0),
        },
    ]
}

/// Job names of a workspace: `data-processing-job`, then `job-1`, `job-2`, ...
pub(crate) fn job_names(jobs: usize) -> impl Iterator<Item = String> {
    (0..jobs).map(|i| {
        if i == 0 {
            REFERENCE_JOB.to_owned()
        } else {
            format!("job-{i}")
        }
    })
}

/// Builds one workspace's seed data.
pub(crate) fn seed_workspace(
    seed: u64,
    workspace: &str,
    jobs: usize,
    per_job: usize,
) -> WorkspaceState {
    let mut ws = WorkspaceState {
        name: workspace.to_owned(),
        cluster: format!(
            "us-was-1-{}",
            &format!("{:04x}", hash64(&[workspace]) & 0xffff)
        ),
        jobs: Vec::with_capacity(jobs),
        job_by_name: HashMap::new(),
        jobs_by_created: Vec::new(),
        jobs_by_name: Vec::new(),
        live: Vec::new(),
    };
    for (idx, name) in job_names(jobs).enumerate() {
        let created =
            START - 30 * 86_400 + idx as i64 * 86_400 + (hash64(&[workspace, &name]) % 3600) as i64;
        let memory = 4096;
        let execs = seed_executions(seed, workspace, &name, per_job);
        let mut job = JobState {
            job: job_model(workspace, &name, idx, created, memory),
            revisions: revisions(&name, created),
            name: name.clone(),
            created,
            memory,
            timeout: 3600,
            by_id: HashMap::with_capacity(execs.len()),
            by_created: (0..execs.len() as u32).collect(),
            by_name: (0..execs.len() as u32).collect(),
            execs,
        };
        for (slot, e) in job.execs.iter().enumerate() {
            job.by_id.insert(e.id.clone(), slot as u32);
            if !e.status_at(START).is_terminal() {
                ws.live.push((idx, slot as u32));
            }
        }
        let mut by_created = std::mem::take(&mut job.by_created);
        by_created.sort_unstable_by(|a, b| job.created_key(*a).cmp(&job.created_key(*b)));
        job.by_created = by_created;
        let mut by_name = std::mem::take(&mut job.by_name);
        by_name.sort_unstable_by(|a, b| job.name_key(*a).cmp(job.name_key(*b)));
        job.by_name = by_name;
        ws.job_by_name.insert(name, idx);
        ws.jobs.push(job);
    }
    let mut by_created: Vec<usize> = (0..ws.jobs.len()).collect();
    by_created.sort_by(|a, b| {
        (ws.jobs[*a].created, &ws.jobs[*a].name).cmp(&(ws.jobs[*b].created, &ws.jobs[*b].name))
    });
    let mut by_name: Vec<usize> = (0..ws.jobs.len()).collect();
    by_name.sort_by(|a, b| ws.jobs[*a].name.cmp(&ws.jobs[*b].name));
    ws.jobs_by_created = by_created;
    ws.jobs_by_name = by_name;
    ws
}

#[cfg(test)]
mod tests {
    use blaxel_models::{JobExecutionStatus, JobExecutionTaskStatus};

    use super::*;

    #[test]
    fn reference_matches_seed_page_stats() {
        let e = reference_exec(START - 1800);
        let m = e.model("my-workspace", REFERENCE_JOB, "c", START, 100);
        let s = m.stats.unwrap();
        assert_eq!(
            (
                s.cancelled,
                s.failure,
                s.retried,
                s.running,
                s.success,
                s.total
            ),
            (Some(0), Some(1), Some(2), Some(1), Some(8), Some(10))
        );
        assert_eq!(m.status, Some(JobExecutionStatus::Running));
        assert_eq!(e.status_at(START + 10_000), JobExecutionStatus::Failed);
    }

    #[test]
    fn seeded_job_covers_every_status() {
        let execs = seed_executions(42, "w", "j", 60);
        for want in JobExecutionStatus::KNOWN {
            assert!(
                execs.iter().any(|e| &e.status_at(START) == want),
                "missing {want}"
            );
        }
    }

    #[test]
    fn stats_agree_with_tasks_over_time() {
        let execs = seed_executions(7, "w", "j", 40);
        for e in &execs {
            for dt in [0, 30, 300, 3000, 30_000] {
                let m = e.model("w", "j", "c", START + dt, 100);
                let s = m.stats.unwrap();
                let count = |st: JobExecutionTaskStatus| {
                    m.tasks
                        .iter()
                        .filter(|t| t.status == Some(st.clone()))
                        .count() as i64
                };
                assert_eq!(s.running, Some(count(JobExecutionTaskStatus::Running)));
                assert_eq!(s.success, Some(count(JobExecutionTaskStatus::Succeeded)));
                assert_eq!(s.failure, Some(count(JobExecutionTaskStatus::Failed)));
                assert_eq!(s.cancelled, Some(count(JobExecutionTaskStatus::Cancelled)));
                if m.status
                    .as_ref()
                    .is_some_and(JobExecutionStatus::is_terminal)
                {
                    assert_eq!(s.running, Some(0), "{:?}", e.id);
                    assert!(m.metadata.completed_at.is_some());
                }
            }
        }
    }
}
