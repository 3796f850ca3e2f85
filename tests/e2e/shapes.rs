//! The response shapes, reviewed as insta snapshots (seeded data, fixed virtual clock).

use serde_json::json;

use crate::harness::*;

const EXECUTION: &str = r#"{
  jobExecution(jobName: "data-processing-job", id: "exec-abc123") {
    id status statusRaw
    metadata { id job workspace cluster createdAt startedAt completedAt updatedAt deletedAt expiredAt }
    spec { parallelism timeout memoryOverride envOverride
           tasks { metadata { name } spec { maxRetries timeout } } }
    stats { cancelled failure retried running success total }
    tasks { status statusRaw
            conditions { executionReason message reason severity state type }
            metadata { name createdAt scheduledAt startedAt completedAt updatedAt }
            spec { maxRetries timeout } }
  }
}"#;

const JOB: &str = r#"{
  job(name: "data-processing-job") {
    id status statusRaw
    metadata { name displayName externalId labels plan url workspace createdAt updatedAt createdBy updatedBy }
    spec { enabled githubRunner { repositories } policies region
           revision { active canary canaryPercent stickySessionTtl traffic }
           runtime { diskPercent envs { name secret value } generation image maxRetries memory
                     ports { name protocol target } timeout }
           triggers { id enabled type configuration { authenticationType callbackUrl path retry schedule tasks timeout } }
           volumes { name mountPath readOnly sizeMb type } }
    events { canaryRevision message revision status time type }
    executions(first: 2, sort: NAME_ASC) { totalCount pageInfo { hasNextPage hasPreviousPage } nodes { metadata { id } } }
  }
}"#;

#[tokio::test]
async fn reference_execution_shape() {
    let env = Env::start(emulator_config(20)).await;
    let resp = env.gql(EXECUTION, json!({})).await;
    assert!(resp["errors"].is_null(), "{resp}");
    insta::assert_json_snapshot!("reference_execution", resp);
}

#[tokio::test]
async fn job_shape() {
    let env = Env::start(emulator_config(20)).await;
    let resp = env.gql(JOB, json!({})).await;
    assert!(resp["errors"].is_null(), "{resp}");
    insta::assert_json_snapshot!("job", resp);
}
