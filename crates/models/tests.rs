//! Decoding tests of the generated models and the hand-written helpers.

use serde_json::{Value, json};

use super::*;

const SEED: &str = include_str!("fixtures/seed-list-job-executions.json");

/// Decodes `value` as `T`, re-encodes it, and returns the re-encoded JSON.
fn round_trip<T: serde::de::DeserializeOwned + Serialize>(value: &Value) -> Value {
    let typed: T = serde_json::from_value(value.clone()).expect("decodes");
    serde_json::to_value(&typed).expect("encodes")
}

#[test]
fn seed_page_decodes_and_reencodes_without_loss() {
    let raw: Value = serde_json::from_str(SEED).unwrap();
    assert_eq!(round_trip::<JobExecutionList>(&raw), raw);
    assert_eq!(round_trip::<Page<JobExecution>>(&raw), raw);

    let page: Page<JobExecution> = serde_json::from_str(SEED).unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.total(), Some(123));
    assert_eq!(page.next_cursor(), Some("<string>"));
    let exec = &page.items[0];
    assert_eq!(exec.metadata.id.as_deref(), Some("exec-abc123"));
    assert_eq!(exec.metadata.job.as_deref(), Some("data-processing-job"));
    // The seed sends envOverride as a string holding a JSON object.
    let vars = exec.spec.env_override.as_ref().unwrap().vars().unwrap();
    assert_eq!(vars["MY_VAR"], "***");
    assert_eq!(vars["BATCH_SIZE"], "***");
    assert_eq!(
        exec.spec.tasks[0].spec.as_ref().unwrap().timeout.as_deref(),
        Some("30m")
    );
    assert_eq!(exec.stats.as_ref().unwrap().total, Some(10));
}

#[test]
fn legacy_bare_array_and_envelope_decode_into_one_page_type() {
    let exec = json!({"metadata": {"id": "exec-1", "job": "j"}, "spec": {}});
    let bare: Page<JobExecution> = serde_json::from_value(json!([exec.clone()])).unwrap();
    assert_eq!(bare.items.len(), 1);
    assert_eq!(bare.meta, None);
    assert_eq!(bare.has_more(), None);
    assert_eq!(bare.next_cursor(), None);
    assert_eq!(serde_json::to_value(&bare).unwrap(), json!([exec.clone()]));

    let envelope: Page<JobExecution> = serde_json::from_value(json!({
        "data": [exec.clone()],
        "meta": {"hasMore": false, "nextCursor": "", "total": 1}
    }))
    .unwrap();
    assert_eq!(envelope.items, bare.items);
    assert_eq!(envelope.has_more(), Some(false));
    assert_eq!(envelope.next_cursor(), None, "last page has no next cursor");
    assert_eq!(envelope.total(), Some(1));
}

#[test]
fn envelope_with_null_or_missing_parts_decodes() {
    let page: Page<JobExecution> =
        serde_json::from_value(json!({"data": null, "meta": null, "extra": 1})).unwrap();
    assert!(page.items.is_empty());
    assert_eq!(page.has_more(), Some(false));
    let page: Page<JobExecution> = serde_json::from_value(json!({})).unwrap();
    assert!(page.items.is_empty());
    // hasMore true with an empty cursor cannot be followed.
    let page: Page<JobExecution> =
        serde_json::from_value(json!({"data": [], "meta": {"hasMore": true, "nextCursor": ""}}))
            .unwrap();
    assert_eq!(page.next_cursor(), None);
}

#[test]
fn a_projection_drops_what_it_does_not_keep_as_each_item_decodes() {
    use serde::de::DeserializeSeed as _;
    let decode = |projection: ExecutionProjection, text: &str| {
        let mut de = serde_json::Deserializer::from_str(text);
        PageSeed(projection).deserialize(&mut de).unwrap()
    };
    let whole: Page<JobExecution> = serde_json::from_str(SEED).unwrap();
    assert_eq!(decode(ExecutionProjection::ALL, SEED), whole);

    let narrow = decode(ExecutionProjection::IDENTITY, SEED);
    let (kept, full) = (&narrow.items[0], &whole.items[0]);
    assert_eq!(narrow.meta, whole.meta);
    // The identity, the spec's scalars, stats and status stay.
    assert_eq!(kept.metadata.id, full.metadata.id);
    assert_eq!(kept.metadata.job, full.metadata.job);
    assert_eq!(kept.metadata.workspace, full.metadata.workspace);
    assert_eq!(kept.spec.parallelism, full.spec.parallelism);
    assert_eq!((&kept.stats, &kept.status), (&full.stats, &full.status));
    // The parts that grow with the execution go.
    assert!(full.metadata.created_at.is_some() && kept.metadata.created_at.is_none());
    assert!(!full.spec.tasks.is_empty() && kept.spec.tasks.is_empty());
    assert!(full.spec.env_override.is_some() && kept.spec.env_override.is_none());

    // One timestamp asked for: the others go.
    let created = decode(ExecutionProjection::CREATED_AT, SEED);
    let metadata = &created.items[0].metadata;
    assert_eq!(metadata.created_at, whole.items[0].metadata.created_at);
    assert!(whole.items[0].metadata.updated_at.is_some() && metadata.updated_at.is_none());

    // Tasks without their conditions or metadata.
    let tasks = decode(ExecutionProjection::TASKS, SEED);
    let task = &tasks.items[0].tasks[0];
    assert!(task.conditions.is_empty() && task.metadata.is_none());
    assert_eq!(task.status, whole.items[0].tasks[0].status);
    assert!(!whole.items[0].tasks[0].conditions.is_empty());

    // A bare array and a null `data` decode through the seed too; a single execution as well.
    let bare = json!([{"metadata": {"id": "e", "createdAt": "x"}, "spec": {}}]).to_string();
    let page = decode(ExecutionProjection::IDENTITY, &bare);
    assert_eq!((page.items.len(), page.meta.as_ref()), (1, None));
    assert_eq!(page.items[0].metadata.created_at, None);
    assert!(
        decode(ExecutionProjection::ALL, r#"{"data":null}"#)
            .items
            .is_empty()
    );
    let one = r#"{"metadata":{"id":"e","startedAt":"x"},"spec":{}}"#;
    let mut de = serde_json::Deserializer::from_str(one);
    let execution = ExecutionProjection::IDENTITY.deserialize(&mut de).unwrap();
    assert_eq!(execution.metadata.started_at, None);
}

#[test]
fn a_projection_without_tasks_skips_the_task_lists_and_answers_as_trimming_does() {
    use serde::de::DeserializeSeed as _;
    let decode = |projection: ExecutionProjection, text: &str| {
        let mut de = serde_json::Deserializer::from_str(text);
        PageSeed(projection).deserialize(&mut de)
    };
    let whole: Page<JobExecution> = serde_json::from_str(SEED).unwrap();
    let parts = [
        ExecutionProjection::IDENTITY,
        ExecutionProjection::TASKS,
        ExecutionProjection::ENV_OVERRIDE,
        ExecutionProjection::TASKS.union(ExecutionProjection::CONDITIONS),
        ExecutionProjection::CREATED_AT.union(ExecutionProjection::CLUSTER),
        ExecutionProjection::ALL,
    ];
    for projection in parts {
        let mut trimmed = whole.clone();
        trimmed.items.iter_mut().for_each(|e| projection.trim(e));
        assert_eq!(decode(projection, SEED).unwrap(), trimmed, "{projection:?}");
    }

    // A task list the reader leaves out is read past, whatever it holds; kept, it must decode.
    for tasks in [
        r#""not a list""#,
        "[1,2]",
        r#"[{"status":7}]"#,
        "null",
        "{}",
    ] {
        let text =
            format!(r#"[{{"metadata":{{"id":"e"}},"spec":{{"tasks":{tasks}}},"tasks":{tasks}}}]"#);
        let page = decode(ExecutionProjection::IDENTITY, &text).unwrap();
        assert!(page.items[0].tasks.is_empty() && page.items[0].spec.tasks.is_empty());
        let kept = decode(ExecutionProjection::TASKS, &text);
        assert_eq!(kept.is_err(), tasks != "null", "{tasks}: {kept:?}");
    }
    // Still JSON: a list that does not parse fails the page either way.
    let broken = r#"[{"metadata":{"id":"e"},"tasks":[1,}]"#;
    assert!(decode(ExecutionProjection::IDENTITY, broken).is_err());
    // Read past, a hostile list costs a parse and nothing kept: serde_json skips nesting
    // without recursing (100,000 deep: no stack overflow), a long list is not built.
    let nested = |depth: usize| {
        format!(
            r#"[{{"metadata":{{"id":"e"}},"spec":{{}},"tasks":{}{}}}]"#,
            "[".repeat(depth),
            "]".repeat(depth)
        )
    };
    for depth in [100, 100_000] {
        let page = decode(ExecutionProjection::IDENTITY, &nested(depth)).unwrap();
        assert!(page.items[0].tasks.is_empty());
    }
    // Kept, the same list is refused at its first level, as before.
    assert!(decode(ExecutionProjection::TASKS, &nested(100_000)).is_err());
    let long = format!(
        r#"[{{"metadata":{{"id":"e"}},"spec":{{}},"tasks":[{}{{}}]}}]"#,
        r#"{"status":"running","conditions":[{"type":"x"}]},"#.repeat(50_000)
    );
    let page = decode(ExecutionProjection::IDENTITY, &long).unwrap();
    assert!(page.items[0].tasks.is_empty());
    assert_eq!(
        decode(ExecutionProjection::TASKS, &long).unwrap().items[0]
            .tasks
            .len(),
        50_001
    );

    // The skip holds for one execution's decoding only: not after an error, not for a plain
    // decode on the same thread.
    assert!(
        decode(
            ExecutionProjection::IDENTITY,
            r#"[{"spec":{"parallelism":"x"}}]"#
        )
        .is_err()
    );
    let plain: JobExecution =
        serde_json::from_str(r#"{"metadata":{"id":"e"},"spec":{},"tasks":[{"status":"running"}]}"#)
            .unwrap();
    assert_eq!(plain.tasks.len(), 1);
    let plain: Page<JobExecution> = serde_json::from_str(SEED).unwrap();
    assert_eq!(plain, whole);
}

#[test]
fn page_rejects_scalars_and_duplicate_data() {
    assert!(serde_json::from_str::<Page<JobExecution>>("42").is_err());
    assert!(serde_json::from_str::<Page<JobExecution>>(r#"{"data":[],"data":[]}"#).is_err());
}

#[test]
fn unknown_fields_are_ignored() {
    let exec: JobExecution = serde_json::from_value(json!({
        "metadata": {"id": "e", "brandNew": {"x": 1}},
        "spec": {"parallelism": 2, "futureKnob": true},
        "somethingElse": [1, 2, 3]
    }))
    .unwrap();
    assert_eq!(exec.metadata.id.as_deref(), Some("e"));
    assert_eq!(exec.spec.parallelism, Some(2));
}

#[test]
fn explicit_nulls_and_absent_optionals_decode() {
    let exec: JobExecution = serde_json::from_value(json!({
        "metadata": {"cluster": null, "completedAt": null, "createdAt": null, "deletedAt": null,
                     "expiredAt": null, "id": null, "job": null, "startedAt": null,
                     "updatedAt": null, "workspace": null},
        "spec": {"envOverride": null, "memoryOverride": null, "parallelism": null,
                 "tasks": null, "timeout": null},
        "stats": {"cancelled": null, "failure": null, "retried": null, "running": null,
                  "success": null, "total": null},
        "status": null, "tasks": [{"conditions": null, "metadata": null, "spec": null, "status": null}]
    }))
    .unwrap();
    assert_eq!(exec.metadata.id, None);
    assert_eq!(exec.status, None);
    assert_eq!(exec.spec.env_override, None);
    assert!(exec.spec.tasks.is_empty());
    assert!(exec.tasks[0].conditions.is_empty());
    let job: Job = serde_json::from_value(json!({
        "metadata": {"name": "j", "labels": null, "displayName": null},
        "spec": {"enabled": null, "triggers": null, "runtime": {"envs": null, "ports": null}},
        "events": null, "status": null
    }))
    .unwrap();
    assert_eq!(job.spec.enabled, None);
    let minimal: JobExecution =
        serde_json::from_value(json!({"metadata": {}, "spec": {}})).unwrap();
    assert!(minimal.tasks.is_empty());
}

#[test]
fn required_fields_stay_required() {
    // `metadata` and `spec` are required by the spec: a payload without them is not an execution.
    assert!(serde_json::from_value::<JobExecution>(json!({"spec": {}})).is_err());
    assert!(serde_json::from_value::<Job>(json!({"metadata": {}, "spec": {}})).is_err());
    assert!(serde_json::from_value::<Error>(json!({"code": 400})).is_err());
}

#[test]
fn env_override_accepts_object_and_json_string() {
    let object: EnvOverride = serde_json::from_value(json!({"A": "***"})).unwrap();
    let string: EnvOverride = serde_json::from_value(json!("{\"A\": \"***\"}")).unwrap();
    assert_eq!(object.vars().unwrap(), string.vars().unwrap());
    // Kept as sent.
    assert_eq!(
        serde_json::to_value(&string).unwrap(),
        json!("{\"A\": \"***\"}")
    );
}

#[test]
fn env_override_of_other_shape_fails_that_value_only() {
    let exec: JobExecution = serde_json::from_value(json!({
        "metadata": {"id": "e"}, "spec": {"envOverride": "not json", "parallelism": 3}
    }))
    .unwrap();
    assert_eq!(exec.spec.parallelism, Some(3));
    let err = exec.spec.env_override.unwrap().vars().unwrap_err();
    assert!(err.to_string().contains("not JSON"), "{err}");
    assert!(EnvOverride(json!([1])).vars().is_err());
    assert!(EnvOverride(json!("[1]")).vars().is_err());
}

#[test]
fn unknown_status_decodes_to_explicit_unknown() {
    let page: Page<JobExecution> = serde_json::from_value(json!({"data": [
        {"metadata": {"id": "a"}, "spec": {}, "status": "running"},
        {"metadata": {"id": "b"}, "spec": {}, "status": "hibernating",
         "tasks": [{"status": "warming-up"}]}
    ]}))
    .unwrap();
    assert_eq!(page.items[0].status, Some(JobExecutionStatus::Running));
    assert_eq!(
        page.items[1].status,
        Some(JobExecutionStatus::Unknown("hibernating".into()))
    );
    assert_eq!(
        page.items[1].tasks[0].status,
        Some(JobExecutionTaskStatus::Unknown("warming-up".into()))
    );
    // Unknown values re-encode as sent.
    let again = serde_json::to_value(&page.items[1]).unwrap();
    assert_eq!(again["status"], "hibernating");
    let job_status: Status = serde_json::from_value(json!("HIBERNATED")).unwrap();
    assert_eq!(job_status.to_string(), "HIBERNATED");
}

#[test]
fn every_known_status_round_trips() {
    for status in JobExecutionStatus::KNOWN {
        let wire = serde_json::to_value(status).unwrap();
        assert_eq!(
            &serde_json::from_value::<JobExecutionStatus>(wire).unwrap(),
            status
        );
    }
    assert!(JobExecutionStatus::Timeout.is_terminal());
    assert!(!JobExecutionStatus::Cancelling.is_terminal());
    assert_eq!(JobExecutionTaskStatus::KNOWN.len(), 7);
    // The hand-written open enum follows the schema's enum (ARCHIVED, ARCHIVING, UNARCHIVING
    // came with blaxel 0.4.24).
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../schema/blaxel-jobs.schema.json")).unwrap();
    let wire: Vec<&str> = Status::KNOWN.iter().map(Status::as_str).collect();
    assert_eq!(
        json!(wire),
        schema["definitions"]["Status"]["enum"],
        "Status::KNOWN and the schema's Status enum"
    );
}

/// The fields of API version 2026-09-22 (blaxel 0.4.24's models) decode, absent or present.
#[test]
fn fields_of_2026_09_22_decode() {
    let page: Page<JobExecution> = serde_json::from_value(json!({
        "data": [{"metadata": {"id": "e"}, "spec": {"taskCount": 2500,
            "tasksRef": "blaxel://w/jobs/j/executions/e/tasks"}}],
        "meta": {"hasMore": true, "nextCursor": "c", "total": 10000, "totalIsPartial": true}
    }))
    .unwrap();
    let spec = &page.items[0].spec;
    assert_eq!(spec.task_count, Some(2500));
    assert_eq!(
        spec.tasks_ref.as_deref(),
        Some("blaxel://w/jobs/j/executions/e/tasks")
    );
    assert!(spec.tasks.is_empty() && page.items[0].tasks.is_empty());
    assert_eq!(page.total_is_partial(), Some(true));
    let older: Page<JobExecution> =
        serde_json::from_value(json!({"data": [], "meta": {"hasMore": false, "total": 0}}))
            .unwrap();
    assert_eq!(older.total_is_partial(), Some(false));
    let legacy: Page<JobExecution> = serde_json::from_value(json!([])).unwrap();
    assert_eq!(legacy.total_is_partial(), None);
    let trigger: TriggerConfiguration =
        serde_json::from_value(json!({"tasksRef": "ref", "tasks": []})).unwrap();
    assert_eq!(trigger.tasks_ref.as_deref(), Some("ref"));
    assert_eq!(
        serde_json::from_value::<Status>(json!("ARCHIVING")).unwrap(),
        Status::Archiving
    );
}

#[test]
fn timestamps_are_kept_as_sent_and_parse_with_offsets() {
    let exec: JobExecution = serde_json::from_value(json!({
        "metadata": {"createdAt": "2026-05-01T10:00:00+00:00", "startedAt": "2026-05-01T12:00:00+02:00",
                     "completedAt": "yesterday"},
        "spec": {}
    }))
    .unwrap();
    let created = exec.metadata.created_at.as_deref().unwrap();
    assert_eq!(created, "2026-05-01T10:00:00+00:00", "kept as sent");
    let created = parse_timestamp(created).unwrap();
    let started = parse_timestamp(exec.metadata.started_at.as_deref().unwrap()).unwrap();
    assert_eq!(created, started, "offsets are honoured");
    assert_eq!(created.to_rfc3339(), "2026-05-01T10:00:00+00:00");
    assert!(parse_timestamp("2026-05-01T10:00:00.123456Z").is_ok());
    // A bad timestamp fails that value, not the page.
    assert!(parse_timestamp(exec.metadata.completed_at.as_deref().unwrap()).is_err());
}

#[test]
fn api_versions_parse_and_order() {
    let v: ApiVersion = "2026-04-28".parse().unwrap();
    assert!(v.is_paginated());
    assert_eq!(v, ApiVersion::PAGINATED);
    let legacy: ApiVersion = "2026-04-16".parse().unwrap();
    assert!(!legacy.is_paginated());
    let preview: ApiVersion = "2026-05-01.preview".parse().unwrap();
    assert!(preview.preview && preview.is_paginated());
    assert_eq!(preview.to_string(), "2026-05-01.preview");
    for bad in [
        "",
        "2026-4-28",
        "2026-02-30",
        "latest",
        "2026-04-28.beta",
        "2026-04-28 ",
    ] {
        assert!(
            bad.parse::<ApiVersion>().is_err(),
            "{bad:?} should be rejected"
        );
    }
}

#[test]
fn sort_enum_matches_the_spec() {
    let all = ["createdAt:desc", "createdAt:asc", "name:asc", "name:desc"];
    for wire in all {
        let sort: PaginationSort = wire.parse().unwrap();
        assert_eq!(sort.to_string(), wire);
    }
    assert!("createdAt".parse::<PaginationSort>().is_err());
}

/// A realistic instance of each payload schema decodes and re-encodes to the same JSON.
#[test]
fn every_schema_round_trips_a_realistic_instance() {
    let task = json!({
        "conditions": [{"executionReason": "OOMKilled", "message": "container exceeded memory",
                        "reason": "Error", "severity": "error", "state": "terminated", "type": "Ready"}],
        "metadata": {"completedAt": "2026-05-01T10:05:00Z", "createdAt": "2026-05-01T10:00:00Z",
                     "name": "task-0", "scheduledAt": "2026-05-01T10:00:01Z",
                     "startedAt": "2026-05-01T10:00:02Z", "updatedAt": "2026-05-01T10:05:00Z"},
        "spec": {"maxRetries": 3, "timeout": "30m"},
        "status": "failed"
    });
    let execution = json!({
        "metadata": {"cluster": "us-was-1-a", "completedAt": "2026-05-01T10:05:00Z",
                     "createdAt": "2026-05-01T10:00:00Z", "id": "exec-abc123",
                     "job": "data-processing-job", "startedAt": "2026-05-01T10:00:02Z",
                     "updatedAt": "2026-05-01T10:05:00Z", "workspace": "my-workspace"},
        "spec": {"envOverride": {"MY_VAR": "***"}, "memoryOverride": 2048, "parallelism": 5,
                 "tasks": [task.clone()], "timeout": 3600},
        "stats": {"cancelled": 0, "failure": 1, "retried": 2, "running": 0, "success": 8, "total": 10},
        "status": "failed",
        "tasks": [task.clone()]
    });
    let meta = json!({"hasMore": true, "nextCursor": "abc", "total": 42});
    let job = json!({
        "events": [{"canaryRevision": "rev-2", "message": "Deployment successful", "revision": "rev-1",
                    "status": "DEPLOYED", "time": "2025-01-15T10:30:00Z", "type": "deployment"}],
        "metadata": {"createdAt": "2026-01-01T00:00:00Z", "createdBy": "alice", "displayName": "Data processing",
                     "externalId": "ext-1", "labels": {"team": "data"}, "name": "data-processing-job",
                     "plan": "pro", "updatedAt": "2026-01-02T00:00:00Z", "updatedBy": "bob",
                     "url": "https://example.invalid/jobs/data-processing-job", "workspace": "my-workspace"},
        "spec": {"enabled": true, "githubRunner": {"repositories": ["my-org/repo-a"]},
                 "policies": ["eu-only"], "region": "us-was-1",
                 "revision": {"active": "rev-1", "canary": "rev-2", "canaryPercent": 10,
                              "stickySessionTtl": 0, "traffic": 100},
                 "runtime": {"diskPercent": 50, "envs": [{"name": "A", "secret": true, "value": "x"}],
                             "generation": "mk3", "image": "img:1", "maxRetries": 3, "memory": 4096,
                             "ports": [{"name": "http", "protocol": "HTTP", "target": 8080}], "timeout": 3600},
                 "triggers": [{"configuration": {"authenticationType": "blaxel", "callbackSecret": "s",
                                                 "callbackUrl": "https://example.invalid/cb", "path": "/invoke",
                                                 "retry": 3, "schedule": "0 * * * *",
                                                 "tasks": [{"n": 1}], "timeout": 300},
                               "enabled": true, "id": "trigger-1", "type": "cron"}],
                 "volumes": [{"mountPath": "/mnt/data", "name": "scratch", "readOnly": false,
                              "sizeMb": 102400, "type": "ephemeral"}]},
        "status": "DEPLOYED"
    });

    assert_eq!(round_trip::<JobExecutionTask>(&task), task);
    assert_eq!(round_trip::<JobExecution>(&execution), execution);
    assert_eq!(round_trip::<PaginationMeta>(&meta), meta);
    let list = json!({"data": [execution.clone()], "meta": meta.clone()});
    assert_eq!(round_trip::<JobExecutionList>(&list), list);
    let tasks = json!({"data": [task.clone()], "meta": meta.clone()});
    assert_eq!(round_trip::<JobExecutionTaskList>(&tasks), tasks);
    assert_eq!(round_trip::<Job>(&job), job);
    let jobs = json!({"data": [job.clone()], "meta": meta.clone()});
    assert_eq!(round_trip::<JobList>(&jobs), jobs);
    let create = json!({"allowQueue": false, "env": {"BATCH_SIZE": "100"}, "executionId": "exec-1",
                        "id": "550e8400-e29b-41d4-a716-446655440000", "jobId": "data-processing-job",
                        "memory": 2048, "tasks": [{"n": 1}], "workspaceId": "my-workspace"});
    assert_eq!(round_trip::<CreateJobExecutionRequest>(&create), create);
    let output = json!({"executionId": "exec-1", "id": "550e8400-e29b-41d4-a716-446655440000",
                        "jobId": "data-processing-job", "tasks": [{"n": 1}], "workspaceId": "my-workspace"});
    assert_eq!(round_trip::<CreateJobExecutionOutput>(&output), output);
    let revision = json!({"active": true, "canary": false, "createdAt": "2026-01-01T00:00:00Z",
                          "createdBy": "alice", "id": "rev-1", "previousActive": false,
                          "status": "DEPLOYED", "trafficPercent": 100});
    assert_eq!(round_trip::<RevisionMetadata>(&revision), revision);
    let error = json!({"code": 400, "error": "invalid_cursor", "message": "cursor was issued for another query"});
    assert_eq!(round_trip::<Error>(&error), error);
    let platform = json!({"error": {"action": "check the URL", "code": "ROUTE_NOT_FOUND",
                          "do_not": "retry", "docs_url": "https://example.invalid/docs", "message": "no route",
                          "origin": "platform", "retryable": false, "status": 404,
                          "timestamp": "2026-04-23T14:49:43+00:00"}});
    assert_eq!(round_trip::<PlatformErrorBody>(&platform), platform);
}

/// The generated code is reviewed as a snapshot: a schema change shows up as a diff here.
#[test]
fn generated_code_snapshot() {
    let code = include_str!(concat!(env!("OUT_DIR"), "/blaxel_jobs.rs"));
    insta::assert_snapshot!("generated_models", code);
}
