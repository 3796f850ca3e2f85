//! `POST /v0/jobs/{jobId}/executions`: creating an execution.

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
};
use blaxel_models::{CreateJobExecutionOutput, CreateJobExecutionRequest};
use rand::Rng;

use super::{
    ApiError,
    error::{ApiResult, json},
    request::{Call, job_slot, write},
};
use crate::{
    Emulator,
    state::lock,
    timeline::{Exec, TaskPlan},
};

/// Creates an execution.
///
/// - `executionId`: used when given (1..=128 characters, no `/` or whitespace, else 400); 409
///   `conflict` when the job already has it; otherwise `exec-` + 8 random hex digits.
/// - `memory`: MB, 1..=the job's `runtime.memory`, else 400 (stored as `memoryOverride`).
/// - `env`: stored as `envOverride`, an object with every value masked `***`.
/// - `tasks`: one task per item (at least one); each runs 10..=60 virtual seconds and succeeds.
/// - `allowQueue: false`: 400 when the request has more tasks than the workspace capacity
///   (it can never fit), 429 `Maximum parallel executions limit reached` when `capacity`
///   executions are already pending, running or cancelling; nothing is created on rejection.
///   An accepted one skips `queued` (capacity was checked): pending 3 s, then running.
/// - Otherwise it is `queued` for 2 s, `pending` for 3 s, then running.
pub(crate) async fn create_execution(
    State(emu): State<Emulator>,
    Path(job): Path<String>,
    Call { ctx, .. }: Call,
    body: Bytes,
) -> ApiResult {
    let (emu, job) = (&emu, job.as_str());
    let req: CreateJobExecutionRequest = if body.iter().all(u8::is_ascii_whitespace) {
        CreateJobExecutionRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("invalid request body: {e}")))?
    };
    let now = emu.now_secs();
    let capacity = emu.inner().capacity;
    let mut store = write(emu);
    let (ws, j) = job_slot(&mut store, &ctx, job)?;
    if let Some(id) = &req.execution_id {
        if id.is_empty() || id.len() > 128 || id.contains(|c: char| c == '/' || c.is_whitespace()) {
            return Err(ApiError::bad_request(format!(
                "invalid executionId \"{id}\": 1 to 128 characters, no '/' or whitespace"
            )));
        }
        if ws.jobs[j].by_id.contains_key(id.as_str()) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("execution \"{id}\" already exists for job \"{job}\""),
            ));
        }
    }
    let job_memory = ws.jobs[j].memory;
    if let Some(m) = req.memory
        && !(1..=job_memory).contains(&m)
    {
        return Err(ApiError::bad_request(format!(
            "invalid memory {m}: must be between 1 and the job's configured memory ({job_memory} MB)"
        )));
    }
    let task_count = req.tasks.len().max(1);
    let no_queue = req.allow_queue == Some(false);
    if no_queue {
        if task_count > capacity {
            return Err(ApiError::bad_request(format!(
                "the request needs {task_count} parallel tasks but the workspace quota is {capacity}: it can never fit"
            )));
        }
        let active = ws.active_at(now);
        if active >= capacity {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "Maximum parallel executions limit reached",
                format!(
                    "workspace \"{}\" has {active} of {capacity} executions running; retry later or allow queueing",
                    ws.name
                ),
            ));
        }
    }
    let mut rng = lock(&emu.inner().create_rng);
    let id = match &req.execution_id {
        Some(id) => id.clone(),
        None => loop {
            let candidate = format!("exec-{:08x}", rng.random::<u32>());
            if !ws.jobs[j].by_id.contains_key(candidate.as_str()) {
                break candidate;
            }
        },
    };
    let parallelism = task_count.min(10);
    let mut slots = vec![0u32; parallelism];
    let tasks: Vec<TaskPlan> = (0..task_count)
        .map(|i| {
            let slot = i % parallelism;
            let start = slots[slot];
            let attempt_secs = rng.random_range(10..=60);
            slots[slot] += attempt_secs;
            TaskPlan {
                start,
                attempt_secs,
                attempts: 1,
                max_retries: 3,
                fails: false,
                timeout: "30m",
            }
        })
        .collect();
    let request_id = req.id.clone().unwrap_or_else(|| {
        let a: u128 = rng.random();
        let h = format!("{a:032x}");
        format!(
            "{}-{}-4{}-a{}-{}",
            &h[..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        )
    });
    drop(rng);
    let mut env_names: Vec<String> = req.env.keys().cloned().collect();
    env_names.sort();
    let exec = Exec {
        id: id.clone().into(),
        created: now,
        queue: if no_queue { 0 } else { 2 },
        pending: 3,
        timeout: ws.jobs[j].timeout,
        parallelism: parallelism as u16,
        tasks: tasks.into_boxed_slice(),
        env: (!env_names.is_empty()).then_some(env_names),
        memory: req.memory,
        cancel_at: None,
        rendered: Default::default(),
    };
    let slot = ws.jobs[j].insert(exec);
    ws.live.push((j, slot));
    let out = CreateJobExecutionOutput {
        execution_id: Some(id),
        id: Some(request_id),
        job_id: Some(job.to_owned()),
        tasks: if req.tasks.is_empty() {
            vec![serde_json::Map::new()]
        } else {
            req.tasks
        },
        workspace_id: Some(ws.name.clone()),
    };
    Ok(json(StatusCode::OK, &out, 256))
}
