//! The parts of each execution a GraphQL document can read ([`ExecutionProjection`]): the
//! loaders of its request drop the rest as each upstream page is decoded, so that a request
//! selecting a few fields of many executions holds a few fields of each.

use async_graphql::BatchRequest;
use blaxel_models::ExecutionProjection;

/// The field names that read each optional part of an execution. A field is selected only if
/// its name is written in the document (GraphQL has no computed field names, and aliases,
/// fragments and variables cannot make one up), so a document whose text holds none of these
/// names reads none of these parts. A name in a comment, a string or on another type only keeps
/// more than needed, never less.
pub const PARTS: [(&str, ExecutionProjection); 11] = [
    // JobExecution.tasks, JobExecution.tasksConnection, JobExecutionSpec.tasks.
    ("tasks", ExecutionProjection::TASKS),
    // JobExecutionTask.conditions.
    ("conditions", ExecutionProjection::CONDITIONS),
    // JobExecutionSpec.envOverride.
    ("envOverride", ExecutionProjection::ENV_OVERRIDE),
    // JobExecutionTask.metadata.
    ("metadata", ExecutionProjection::TASK_METADATA),
    // JobExecutionMetadata's strings other than the identity.
    ("cluster", ExecutionProjection::CLUSTER),
    ("createdAt", ExecutionProjection::CREATED_AT),
    ("startedAt", ExecutionProjection::STARTED_AT),
    ("completedAt", ExecutionProjection::COMPLETED_AT),
    ("updatedAt", ExecutionProjection::UPDATED_AT),
    ("deletedAt", ExecutionProjection::DELETED_AT),
    ("expiredAt", ExecutionProjection::EXPIRED_AT),
];

/// The parts of each execution that the document `query` can read.
pub fn of_document(query: &str) -> ExecutionProjection {
    PARTS
        .iter()
        .filter(|(name, _)| query.contains(name))
        .fold(ExecutionProjection::IDENTITY, |kept, (_, part)| {
            kept.union(*part)
        })
}

/// The parts of each execution that any operation of `batch` can read (its operations share
/// one set of loaders, hence one projection).
pub fn of_batch(batch: &BatchRequest) -> ExecutionProjection {
    match batch {
        BatchRequest::Single(request) => of_document(&request.query),
        BatchRequest::Batch(requests) => requests
            .iter()
            .fold(ExecutionProjection::IDENTITY, |kept, request| {
                kept.union(of_document(&request.query))
            }),
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};

    use super::*;

    /// Fields that read only what every projection keeps (`ExecutionProjection`'s doc): the
    /// identity, `spec`'s scalars, `stats`, `status`, and a task's own scalars. Every other field
    /// of these types must be named in [`PARTS`], so a field added later that reads a part the
    /// projection may drop fails here until it is classified.
    const ALWAYS: &[&str] = &[
        "JobExecution.id",
        "JobExecution.metadata",
        "JobExecutionMetadata.id",
        "JobExecutionMetadata.job",
        "JobExecutionMetadata.workspace",
        "JobExecution.spec",
        "JobExecution.stats",
        "JobExecution.status",
        "JobExecution.statusRaw",
        "JobExecutionSpec.parallelism",
        "JobExecutionSpec.timeout",
        "JobExecutionSpec.memoryOverride",
        "JobExecutionSpec.taskCount",
        "JobExecutionStats.cancelled",
        "JobExecutionStats.failure",
        "JobExecutionStats.retried",
        "JobExecutionStats.running",
        "JobExecutionStats.success",
        "JobExecutionStats.total",
        "JobExecutionTask.spec",
        "JobExecutionTask.status",
        "JobExecutionTask.statusRaw",
    ];

    #[test]
    fn every_field_over_a_trimmed_part_is_named_in_parts() {
        let sdl = crate::graphql::sdl();
        let schema = async_graphql::parser::parse_schema(&sdl).unwrap();
        let checked = [
            "JobExecution",
            "JobExecutionMetadata",
            "JobExecutionSpec",
            "JobExecutionStats",
            "JobExecutionTask",
        ];
        let mut seen = 0;
        for definition in &schema.definitions {
            let TypeSystemDefinition::Type(ty) = definition else {
                continue;
            };
            let name = ty.node.name.node.as_str();
            let TypeKind::Object(object) = &ty.node.kind else {
                continue;
            };
            if !checked.contains(&name) {
                continue;
            }
            seen += 1;
            for field in &object.fields {
                let field = field.node.name.node.as_str();
                let path = format!("{name}.{field}");
                let gated = PARTS.iter().any(|(part, _)| field.starts_with(part));
                assert!(
                    gated || ALWAYS.contains(&path.as_str()),
                    "{path} is neither always kept nor named in PARTS: classify it"
                );
            }
        }
        assert_eq!(seen, checked.len());
    }

    #[test]
    fn a_document_keeps_the_parts_it_names() {
        let narrow = of_document("{ jobExecutions(jobName: \"j\") { nodes { id status } } }");
        assert_eq!(narrow, ExecutionProjection::IDENTITY);
        let tasks = of_document(
            "{ a: jobExecution(jobName: \"j\", id: \"e\") { tasksConnection { totalCount } } }",
        );
        assert_eq!(tasks, ExecutionProjection::TASKS);
        let every = of_document(
            "{ nodes { metadata { cluster createdAt startedAt completedAt updatedAt deletedAt expiredAt } spec { envOverride } tasks { conditions { type } metadata { name } } } }",
        );
        assert_eq!(every, ExecutionProjection::ALL);
        let batch = BatchRequest::Batch(vec![
            async_graphql::Request::new("{ nodes { metadata { createdAt } } }"),
            async_graphql::Request::new("{ nodes { spec { envOverride } } }"),
        ]);
        // `metadata` keeps the tasks' metadata too (the name says nothing of the type).
        let expected = ExecutionProjection::CREATED_AT
            .union(ExecutionProjection::TASK_METADATA)
            .union(ExecutionProjection::ENV_OVERRIDE);
        assert_eq!(of_batch(&batch), expected);
    }
}
