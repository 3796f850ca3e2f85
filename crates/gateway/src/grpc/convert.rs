//! Conversions from the REST models (`blaxel_models`, generated from the JSON Schema, the source
//! of truth for payloads) to the proto messages: the one place where the two meet.
//!
//! Upstream values that do not read (a malformed timestamp, an unparsable duration, an
//! `envOverride` that is not an object) are left unset in place, as the GraphQL face answers
//! `null` for them: one bad value never fails a page. [`super::mapping`] lists, for the drift
//! test, where every JSON Schema property goes: keep it in step with the functions here.

use blaxel_models as m;
use prost_types::{Duration, Timestamp};

use super::proto;

/// `jobs/{job}/executions/{id}`: the resource name of an execution.
pub fn execution_name(job: &str, id: &str) -> String {
    execution_name_parts(job, id).concat()
}

/// The pieces of [`execution_name`], for a writer that copies them where the name goes.
pub fn execution_name_parts<'a>(job: &'a str, id: &'a str) -> [&'a str; 4] {
    ["jobs/", job, "/executions/", id]
}

/// An execution as a proto message.
pub fn execution(e: &m::JobExecution) -> proto::JobExecution {
    let md = &e.metadata;
    let id = md.id.clone().unwrap_or_default();
    let job = md.job.clone().unwrap_or_default();
    let status = e.status.as_ref();
    proto::JobExecution {
        name: execution_name(&job, &id),
        id,
        job,
        workspace: md.workspace.clone().unwrap_or_default(),
        state: status.map_or(proto::JobExecutionState::Unspecified, execution_state) as i32,
        raw_state: status.map(|s| s.as_str().to_owned()).unwrap_or_default(),
        cluster: md.cluster.clone().unwrap_or_default(),
        create_time: timestamp(md.created_at.as_deref()),
        start_time: timestamp(md.started_at.as_deref()),
        complete_time: timestamp(md.completed_at.as_deref()),
        update_time: timestamp(md.updated_at.as_deref()),
        delete_time: timestamp(md.deleted_at.as_deref()),
        expire_time: timestamp(md.expired_at.as_deref()),
        spec: Some(execution_spec(&e.spec)),
        stats: e.stats.as_ref().map(|s| proto::JobExecutionStats {
            cancelled: s.cancelled,
            failure: s.failure,
            retried: s.retried,
            running: s.running,
            success: s.success,
            total: s.total,
        }),
        tasks: e.tasks.iter().map(task).collect(),
    }
}

fn execution_spec(s: &m::JobExecutionSpec) -> proto::JobExecutionSpec {
    proto::JobExecutionSpec {
        parallelism: s.parallelism,
        timeout: s.timeout.map(seconds),
        memory_override_mb: s.memory_override,
        env_override: s
            .env_override
            .as_ref()
            .and_then(|env| env.vars().ok())
            .map(|vars| {
                vars.into_iter()
                    .map(|(k, v)| match v {
                        serde_json::Value::String(s) => (k, s),
                        other => (k, other.to_string()),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        task_count: s.task_count,
        tasks: s.tasks.iter().map(task).collect(),
        tasks_ref: s.tasks_ref.clone().unwrap_or_default(),
    }
}

/// The proto state of an upstream execution status (`Unknown` is UNSPECIFIED; `raw_state`
/// keeps the text).
pub fn execution_state(s: &m::JobExecutionStatus) -> proto::JobExecutionState {
    use m::JobExecutionStatus as S;
    use proto::JobExecutionState as P;
    match s {
        S::Queued => P::Queued,
        S::Pending => P::Pending,
        S::Running => P::Running,
        S::Cancelling => P::Cancelling,
        S::Cancelled => P::Cancelled,
        S::Failed => P::Failed,
        S::Succeeded => P::Succeeded,
        S::Timeout => P::Timeout,
        S::Unknown(_) => P::Unspecified,
    }
}

/// The proto state of an upstream task status (`UNSPECIFIED` and unknown values are
/// UNSPECIFIED; `raw_state` keeps the text).
pub fn task_state(s: &m::JobExecutionTaskStatus) -> proto::JobExecutionTaskState {
    use m::JobExecutionTaskStatus as S;
    use proto::JobExecutionTaskState as P;
    match s {
        S::Pending => P::Pending,
        S::Reconciling => P::Reconciling,
        S::Failed => P::Failed,
        S::Succeeded => P::Succeeded,
        S::Running => P::Running,
        S::Cancelled => P::Cancelled,
        S::Unspecified | S::Unknown(_) => P::Unspecified,
    }
}

/// A task as a proto message.
pub fn task(t: &m::JobExecutionTask) -> proto::JobExecutionTask {
    let md = t.metadata.as_ref();
    let spec = t.spec.as_ref();
    let state = t
        .status
        .as_ref()
        .map_or(proto::JobExecutionTaskState::Unspecified, task_state);
    proto::JobExecutionTask {
        name: md.and_then(|md| md.name.clone()).unwrap_or_default(),
        state: state as i32,
        raw_state: t
            .status
            .as_ref()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        create_time: md.and_then(|md| timestamp(md.created_at.as_deref())),
        schedule_time: md.and_then(|md| timestamp(md.scheduled_at.as_deref())),
        start_time: md.and_then(|md| timestamp(md.started_at.as_deref())),
        complete_time: md.and_then(|md| timestamp(md.completed_at.as_deref())),
        update_time: md.and_then(|md| timestamp(md.updated_at.as_deref())),
        max_retries: spec.and_then(|spec| spec.max_retries),
        timeout: spec
            .and_then(|spec| spec.timeout.as_deref())
            .and_then(duration_text),
        conditions: t
            .conditions
            .iter()
            .map(|c| proto::JobExecutionTaskCondition {
                r#type: c.type_.clone().unwrap_or_default(),
                state: c.state.clone().unwrap_or_default(),
                reason: c.reason.clone().unwrap_or_default(),
                message: c.message.clone().unwrap_or_default(),
                severity: c.severity.clone().unwrap_or_default(),
                execution_reason: c.execution_reason.clone().unwrap_or_default(),
            })
            .collect(),
    }
}

/// A job as a proto message.
pub fn job(j: &m::Job) -> proto::Job {
    let md = &j.metadata;
    let s = &j.spec;
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    proto::Job {
        name: format!("jobs/{}", md.name),
        job_id: md.name.clone(),
        display_name: text(&md.display_name),
        workspace: text(&md.workspace),
        labels: md.labels.as_ref().map(|l| l.0.clone()).unwrap_or_default(),
        create_time: timestamp(md.created_at.as_deref()),
        update_time: timestamp(md.updated_at.as_deref()),
        creator: text(&md.created_by),
        updater: text(&md.updated_by),
        external_id: text(&md.external_id),
        plan: text(&md.plan),
        url: text(&md.url),
        status: j.status.as_ref().map(|s| s.to_string()).unwrap_or_default(),
        spec: Some(proto::JobSpec {
            enabled: s.enabled.unwrap_or(true),
            region: text(&s.region),
            runtime: s.runtime.as_ref().map(runtime),
            triggers: s.triggers.iter().flat_map(|t| &t.0).map(trigger).collect(),
            volumes: s
                .volumes
                .iter()
                .flat_map(|v| &v.0)
                .map(|v| proto::JobVolume {
                    name: v.name.clone(),
                    mount_path: v.mount_path.clone(),
                    read_only: v.read_only.unwrap_or(false),
                    size_mb: v.size_mb,
                    r#type: v.type_.to_string(),
                })
                .collect(),
            policies: s.policies.clone().map(|p| p.0).unwrap_or_default(),
            revision: s.revision.as_ref().map(|r| proto::JobRevision {
                active: text(&r.active),
                canary: text(&r.canary),
                canary_percent: r.canary_percent,
                sticky_session_ttl: r.sticky_session_ttl.map(seconds),
                traffic: r.traffic,
            }),
            github_runner_repositories: s
                .github_runner
                .as_ref()
                .map(|g| g.repositories.clone())
                .unwrap_or_default(),
        }),
        events: j
            .events
            .iter()
            .flat_map(|e| &e.0)
            .map(|e| proto::JobEvent {
                r#type: text(&e.type_),
                status: text(&e.status),
                message: text(&e.message),
                revision: text(&e.revision),
                canary_revision: text(&e.canary_revision),
                time: timestamp(e.time.as_deref()),
            })
            .collect(),
    }
}

fn runtime(r: &m::JobRuntime) -> proto::JobRuntime {
    proto::JobRuntime {
        disk_percent: r.disk_percent,
        envs: r
            .envs
            .iter()
            .map(|e| proto::JobEnv {
                name: e.name.clone().unwrap_or_default(),
                value: e.value.clone().unwrap_or_default(),
                secret: e.secret.unwrap_or(false),
            })
            .collect(),
        generation: r
            .generation
            .as_ref()
            .map(|g| g.to_string())
            .unwrap_or_default(),
        image: r.image.clone().unwrap_or_default(),
        max_retries: r.max_retries,
        memory_mb: r.memory,
        ports: r
            .ports
            .iter()
            .flat_map(|p| &p.0)
            .map(|p| proto::JobPort {
                name: p.name.clone().unwrap_or_default(),
                protocol: p
                    .protocol
                    .as_ref()
                    .map(|p| p.to_string())
                    .unwrap_or_default(),
                target: p.target,
            })
            .collect(),
        timeout: r.timeout.map(seconds),
    }
}

fn trigger(t: &m::Trigger) -> proto::JobTrigger {
    let c = t.configuration.clone().unwrap_or_default();
    proto::JobTrigger {
        id: t.id.clone().unwrap_or_default(),
        r#type: t.type_.as_ref().map(|t| t.to_string()).unwrap_or_default(),
        enabled: t.enabled.unwrap_or(true),
        authentication_type: c.authentication_type.unwrap_or_default(),
        callback_url: c.callback_url.unwrap_or_default(),
        path: c.path.unwrap_or_default(),
        retry: c.retry,
        schedule: c.schedule.unwrap_or_default(),
        tasks: c.tasks.iter().map(|t| object(&t.0)).collect(),
        tasks_ref: c.tasks_ref.unwrap_or_default(),
        timeout: c.timeout.map(seconds),
    }
}

/// A JSON object as a `google.protobuf.Struct`.
pub fn object(map: &serde_json::Map<String, serde_json::Value>) -> prost_types::Struct {
    prost_types::Struct {
        fields: map.iter().map(|(k, v)| (k.clone(), value(v))).collect(),
    }
}

/// A JSON value as a `google.protobuf.Value` (numbers become doubles, as in proto3 JSON).
pub fn value(v: &serde_json::Value) -> prost_types::Value {
    use prost_types::value::Kind;
    let kind = match v {
        serde_json::Value::Null => Kind::NullValue(0),
        serde_json::Value::Bool(b) => Kind::BoolValue(*b),
        serde_json::Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        serde_json::Value::String(s) => Kind::StringValue(s.clone()),
        serde_json::Value::Array(items) => Kind::ListValue(prost_types::ListValue {
            values: items.iter().map(value).collect(),
        }),
        serde_json::Value::Object(map) => Kind::StructValue(object(map)),
    };
    prost_types::Value { kind: Some(kind) }
}

/// A `google.protobuf.Struct` as a JSON object (the inverse of [`object`]).
pub fn json_object(s: &prost_types::Struct) -> serde_json::Map<String, serde_json::Value> {
    s.fields.iter().map(|(k, v)| (k.clone(), json(v))).collect()
}

fn json(v: &prost_types::Value) -> serde_json::Value {
    use prost_types::value::Kind;
    match &v.kind {
        None | Some(Kind::NullValue(_)) => serde_json::Value::Null,
        Some(Kind::BoolValue(b)) => (*b).into(),
        Some(Kind::NumberValue(n)) => {
            // Integers stay integers on the wire to the upstream (Struct only has doubles).
            if n.fract() == 0.0 && n.abs() < 9.0e15 {
                (*n as i64).into()
            } else {
                serde_json::Number::from_f64(*n).map_or(serde_json::Value::Null, Into::into)
            }
        }
        Some(Kind::StringValue(s)) => s.clone().into(),
        Some(Kind::ListValue(l)) => l.values.iter().map(json).collect(),
        Some(Kind::StructValue(s)) => json_object(s).into(),
    }
}

/// An RFC 3339 text as a `Timestamp`; unset when absent or unreadable.
pub fn timestamp(raw: Option<&str>) -> Option<Timestamp> {
    let (seconds, nanos) = m::parse_unix_timestamp(raw?).ok()?;
    Some(Timestamp {
        seconds,
        nanos: i32::try_from(nanos).unwrap_or(0),
    })
}

/// Whole seconds as a `Duration`.
pub fn seconds(secs: i64) -> Duration {
    Duration {
        seconds: secs,
        nanos: 0,
    }
}

/// A duration text as Go and Kubernetes write it (`30m`, `1h30m`, `45s`, `500ms`, `1.5h`) or
/// bare seconds (`90`); `None` when it does not read.
pub fn duration_text(text: &str) -> Option<Duration> {
    let text = text.trim();
    match whole_seconds(text.as_bytes()) {
        Some(secs) => Some(seconds(secs)),
        None => any_duration(text),
    }
}

/// [`duration_text`] of any text it reads (bare seconds, fractions, every unit), in `f64`.
fn any_duration(text: &str) -> Option<Duration> {
    if let Ok(secs) = text.parse::<i64>() {
        return Some(seconds(secs));
    }
    let mut total = 0f64;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let split = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter(|&i| i > 0)?;
        let (number, tail) = rest.split_at(split);
        let number: f64 = number.parse().ok()?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let scale = match unit {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        total += number * scale;
        rest = tail;
    }
    if !total.is_finite() || total > 1e12 {
        return None;
    }
    Some(Duration {
        seconds: total.trunc() as i64,
        nanos: ((total.fract() * 1e9).round() as i32).min(999_999_999),
    })
}

/// [`duration_text`] of whole hours, minutes and seconds (`1h`, `30m`, `1h30m15s`) in integer
/// arithmetic; `None` for anything else (bare seconds, a fraction, a smaller unit such as `ms`,
/// a number of more than 12 digits, a total past 10^12 s), which [`any_duration`] then decides.
/// Where this answers, [`any_duration`] gives the same: every number and product here stays below
/// 2^53, where its `f64` arithmetic is exact. A page of 20 executions has 240 task timeouts.
fn whole_seconds(text: &[u8]) -> Option<i64> {
    const MAX_DIGITS: usize = 12;
    const MAX_TOTAL: i64 = 1_000_000_000_000;
    let mut total = 0i64;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 || digits > MAX_DIGITS {
            return None;
        }
        let number = rest[..digits]
            .iter()
            .fold(0i64, |n, c| n * 10 + i64::from(c - b'0'));
        let (scale, tail) = match &rest[digits..] {
            [b'h', tail @ ..] => (3600, tail),
            [b'm', tail @ ..] => (60, tail),
            [b's', tail @ ..] => (1, tail),
            _ => return None,
        };
        total += number * scale;
        if total > MAX_TOTAL {
            return None;
        }
        rest = tail;
    }
    (!text.is_empty()).then_some(total)
}

/// A tasks list of the proto request as the upstream's JSON task parameters.
pub fn task_parameters(
    tasks: &[prost_types::Struct],
) -> Vec<serde_json::Map<String, serde_json::Value>> {
    tasks.iter().map(json_object).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_go_and_bare_seconds() {
        let d = |t| duration_text(t).map(|d| (d.seconds, d.nanos));
        assert_eq!(d("30m"), Some((1800, 0)));
        assert_eq!(d("1h30m"), Some((5400, 0)));
        assert_eq!(d("90"), Some((90, 0)));
        assert_eq!(d("1.5s"), Some((1, 500_000_000)));
        assert_eq!(d("250ms"), Some((0, 250_000_000)));
        for bad in ["", "m", "3x", "1h-", "1e999h"] {
            assert_eq!(d(bad), None, "{bad}");
        }
    }

    /// The general reading alone, as `duration_text` read every text before `whole_seconds`.
    fn general(text: &str) -> Option<(i64, i32)> {
        any_duration(text.trim()).map(|d| (d.seconds, d.nanos))
    }

    #[test]
    fn whole_units_read_as_the_general_reading_does() {
        for text in [
            "1h",
            "30m",
            "45s",
            "1h30m15s",
            "0s",
            "000001h",
            "999999999999s",
            "277777777h",
            "277777778h",
            "16666666666m",
            "16666666667m",
            "1000000000000s",
            "16666666666m40s",
            "16666666666m41s",
            "9999999999999s",
            "1h1h",
            "1ms",
            "1h5ms",
            "1h.5m",
            "1.5h",
            "1h-",
            "h",
            "1",
            "1x",
            " 1h ",
            "1hm",
            "1µs",
            "",
        ] {
            let fast = whole_seconds(text.trim().as_bytes());
            if let Some(secs) = fast {
                assert_eq!(Some((secs, 0)), general(text), "{text}");
            }
            assert_eq!(
                duration_text(text).map(|d| (d.seconds, d.nanos)),
                general(text),
                "{text}"
            );
        }
        assert_eq!(whole_seconds(b"1h30m15s"), Some(5415));
        assert_eq!(whole_seconds(b"16666666666m40s"), Some(1_000_000_000_000));
        assert_eq!(whole_seconds(b"16666666666m41s"), None);
        assert_eq!(whole_seconds(b"1000000000000s"), None);
        assert_eq!(whole_seconds(b"1ms"), None);
    }

    proptest::proptest! {
        /// Texts of digits, dots and units: the same duration, or the same refusal.
        #[test]
        fn durations_read_as_the_general_reading_does(
            text in "([0-9]{1,14}(\\.[0-9]{0,3})?(h|m|s|ms|us|ns|x|)){1,4}"
        ) {
            proptest::prop_assert_eq!(
                duration_text(&text).map(|d| (d.seconds, d.nanos)),
                general(&text),
                "{}", text
            );
        }
    }

    #[test]
    fn struct_round_trips_json_objects() {
        let json = serde_json::json!({"a": 1, "b": [true, null, "x"], "c": {"d": 1.5}});
        let map = json.as_object().unwrap();
        assert_eq!(&json_object(&object(map)), map);
    }

    #[test]
    fn unreadable_values_are_unset_not_errors() {
        let mut e: m::JobExecution = serde_json::from_value(serde_json::json!({
            "metadata": {"id": "x", "job": "j", "createdAt": "yesterday"},
            "spec": {"envOverride": 3, "timeout": 60},
            "status": "exploded"
        }))
        .unwrap();
        let p = execution(&e);
        assert_eq!(p.name, "jobs/j/executions/x");
        assert_eq!(p.create_time, None);
        assert!(p.spec.as_ref().unwrap().env_override.is_empty());
        assert_eq!(p.state, proto::JobExecutionState::Unspecified as i32);
        assert_eq!(p.raw_state, "exploded");
        e.status = Some(m::JobExecutionStatus::Running);
        assert_eq!(
            execution(&e).state,
            proto::JobExecutionState::Running as i32
        );
    }
}
