//! The drift test between the JSON Schema (source of truth of REST payloads) and the protos:
//! every property of the execution, task and job schemas is either mapped to a proto field
//! ([`mapping::MAPPED`]) or on the commented ignore list ([`mapping::IGNORED`]); every mapped
//! proto field exists in the compiled descriptor set; no entry is stale.

use std::collections::BTreeSet;

use prost::Message as _;
use prost_types::{DescriptorProto, FileDescriptorSet};
use serde_json::Value;

use super::{mapping, proto};

/// The schema definitions whose properties the protos must cover. A reference to one of them
/// from another is a message field of its own (a leaf here).
const ROOTS: [&str; 3] = ["JobExecution", "JobExecutionTask", "Job"];

/// Every leaf property path under `root` (`Job.spec.runtime.envs.name`): objects with
/// properties and arrays of them are walked into; enums, maps, free objects and references to
/// another root are leaves.
fn leaves(
    defs: &serde_json::Map<String, Value>,
    path: &str,
    schema: &Value,
    out: &mut Vec<String>,
) {
    let resolved = |schema: &Value| -> (Option<String>, Value) {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let name = r.trim_start_matches("#/definitions/").to_owned();
                (Some(name.clone()), defs[&name].clone())
            }
            None => (None, schema.clone()),
        }
    };
    let (_, schema) = resolved(schema);
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        out.push(path.to_owned());
        return;
    };
    for (name, prop) in props {
        let child = format!("{path}.{name}");
        let (ref_name, resolved_prop) = resolved(prop);
        let items = if resolved_prop.get("type") == Some(&Value::from("array")) {
            resolved_prop.get("items").map(resolved)
        } else {
            None
        };
        let target = match (&items, &ref_name) {
            (Some((item_ref, _)), _) => item_ref.clone(),
            (None, r) => r.clone(),
        };
        if target.as_deref().is_some_and(|t| ROOTS.contains(&t)) {
            out.push(child);
            continue;
        }
        match items {
            Some((_, item)) => leaves(defs, &child, &item, out),
            None => leaves(defs, &child, &resolved_prop, out),
        }
    }
}

/// The message `name` (without package) of the descriptor set.
fn message<'a>(fds: &'a FileDescriptorSet, name: &str) -> Option<&'a DescriptorProto> {
    fds.file
        .iter()
        .filter(|f| f.package() == "blaxel.jobs.v1")
        .flat_map(|f| &f.message_type)
        .find(|m| m.name() == name)
}

/// Whether `Message.field.field` resolves in the descriptor set.
fn proto_path_exists(fds: &FileDescriptorSet, path: &str) -> bool {
    let mut parts = path.split('.');
    let Some(mut current) = parts.next().and_then(|root| message(fds, root)) else {
        return false;
    };
    let mut parts = parts.peekable();
    while let Some(field_name) = parts.next() {
        let Some(field) = current.field.iter().find(|f| f.name() == field_name) else {
            return false;
        };
        if parts.peek().is_some() {
            let type_name = field.type_name().rsplit('.').next().unwrap_or_default();
            match message(fds, type_name) {
                Some(next) => current = next,
                None => return false,
            }
        }
    }
    true
}

#[test]
fn every_schema_property_is_mapped_or_ignored() {
    let schema: Value =
        serde_json::from_str(include_str!("../../../../schema/blaxel-jobs.schema.json")).unwrap();
    let defs = schema["definitions"].as_object().unwrap();
    let mut paths = Vec::new();
    for root in ROOTS {
        leaves(defs, root, &defs[root], &mut paths);
    }
    let mapped: BTreeSet<&str> = mapping::MAPPED.iter().map(|(json, _)| *json).collect();
    let ignored: BTreeSet<&str> = mapping::IGNORED.iter().map(|(json, _)| *json).collect();
    let unmapped: Vec<&String> = paths
        .iter()
        .filter(|p| !mapped.contains(p.as_str()) && !ignored.contains(p.as_str()))
        .collect();
    assert!(
        unmapped.is_empty(),
        "JSON Schema properties with no proto field: map them in grpc/convert.rs and grpc/mapping.rs (and the .proto) or add them to IGNORED with a reason: {unmapped:#?}"
    );
    let known: BTreeSet<&str> = paths.iter().map(String::as_str).collect();
    let stale: Vec<&&str> = mapped
        .union(&ignored)
        .filter(|p| !known.contains(**p))
        .collect();
    assert!(
        stale.is_empty(),
        "entries for properties the schema no longer has: {stale:#?}"
    );
    assert!(
        mapped.is_disjoint(&ignored),
        "a property is both mapped and ignored"
    );
}

#[test]
fn every_mapped_proto_field_exists() {
    let fds = FileDescriptorSet::decode(proto::FILE_DESCRIPTOR_SET).unwrap();
    let missing: Vec<&str> = mapping::MAPPED
        .iter()
        .map(|(_, proto)| *proto)
        .filter(|p| !proto_path_exists(&fds, p))
        .collect();
    assert!(
        missing.is_empty(),
        "proto fields named in MAPPED that do not exist: {missing:#?}"
    );
}

#[test]
fn the_walk_sees_nested_properties() {
    // Guards the walker itself: without these, an empty walk would pass the first test.
    let schema: Value =
        serde_json::from_str(include_str!("../../../../schema/blaxel-jobs.schema.json")).unwrap();
    let defs = schema["definitions"].as_object().unwrap();
    let mut paths = Vec::new();
    leaves(defs, "Job", &defs["Job"], &mut paths);
    for expected in [
        "Job.spec.runtime.envs.name",
        "Job.events.time",
        "Job.metadata.labels",
    ] {
        assert!(
            paths.iter().any(|p| p == expected),
            "{expected} in {paths:#?}"
        );
    }
}
