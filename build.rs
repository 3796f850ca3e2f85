//! Generates the REST model types of `blaxel-models` from `schema/blaxel-jobs.schema.json` with
//! typify, into `$OUT_DIR/blaxel_jobs.rs`. `crates/models/lib.rs` includes the result.

use std::{env, fs, path::Path};

use typify::{TypeSpace, TypeSpaceImpl, TypeSpaceSettings};

const SCHEMA: &str = "schema/blaxel-jobs.schema.json";

/// Types that typify cannot express as we need: status enums that must keep unknown values and
/// `envOverride`, which arrives as an object or as a string. They are hand-written in
/// `crates/models/lib.rs` and substituted here by name.
const REPLACEMENTS: &[(&str, &str)] = &[
    ("JobExecutionStatus", "crate::JobExecutionStatus"),
    ("JobExecutionTaskStatus", "crate::JobExecutionTaskStatus"),
    ("Status", "crate::Status"),
    ("EnvOverride", "crate::EnvOverride"),
];

fn main() {
    println!("cargo::rerun-if-changed={SCHEMA}");
    println!("cargo::rerun-if-changed=build.rs");

    let text = fs::read_to_string(SCHEMA).expect("read the JSON Schema");
    let schema: schemars::schema::RootSchema =
        serde_json::from_str(&text).expect("parse the JSON Schema");

    let mut settings = TypeSpaceSettings::default();
    settings
        .with_struct_builder(false)
        .with_derive("PartialEq".to_owned());
    for (name, path) in REPLACEMENTS {
        settings.with_replacement(
            name,
            path,
            [TypeSpaceImpl::Display, TypeSpaceImpl::FromStr].into_iter(),
        );
    }

    let mut space = TypeSpace::new(&settings);
    space
        .add_root_schema(schema)
        .expect("typify accepts the schema");

    let file = syn::parse2::<syn::File>(space.to_stream()).expect("typify emits valid Rust");
    // Collections default when absent (typify) and also when explicitly `null` (our rule).
    let code = prettyplease::unparse(&file).replace(
        "#[serde(default, skip_serializing_if",
        "#[serde(default, deserialize_with = \"crate::null_as_default\", skip_serializing_if",
    );
    // An execution's two inline task lists are skipped, not built, when the reader's projection
    // leaves them out (`crate::projection::task_list`).
    let task_list = "deserialize_with = \"crate::null_as_default\", skip_serializing_if = \"::std::vec::Vec::is_empty\")]\n    pub tasks: ::std::vec::Vec<JobExecutionTask>,";
    assert_eq!(
        code.matches(task_list).count(),
        2,
        "JobExecution.tasks and JobExecutionSpec.tasks, as typify writes them"
    );
    let code = code.replace(
        task_list,
        &task_list.replace("crate::null_as_default", "crate::projection::task_list"),
    );
    let out = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("blaxel_jobs.rs");
    fs::write(out, code).expect("write the generated models");
}
