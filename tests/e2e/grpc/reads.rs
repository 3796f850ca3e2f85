//! Reads over gRPC equal the REST listing, page by page, at one upstream call per page.

use blaxel_emulator::route;
use blaxel_gateway::grpc::proto::{
    GetJobExecutionRequest, GetJobRequest, JobExecutionState, ListJobExecutionTasksRequest,
    ListJobExecutionsRequest, ListJobsRequest,
};
use blaxel_transport::{Client, Credentials, ListExecutionsRequest, ListTasksRequest};

use super::{GrpcEnv, JOB};
use crate::harness::{emulator_config, options};

/// Every execution id of `JOB` as the upstream lists it (newest first).
async fn rest_ids(env: &GrpcEnv) -> Vec<String> {
    let client = Client::new(options().client_config(&env.emulator.base_url())).unwrap();
    let page = client
        .list_job_executions(
            &Credentials::default(),
            JOB,
            &ListExecutionsRequest {
                limit: Some(100),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.has_more(), Some(true));
    let mut ids: Vec<String> = page
        .items
        .iter()
        .map(|e| e.metadata.id.clone().unwrap())
        .collect();
    let rest = client
        .list_job_executions(
            &Credentials::default(),
            JOB,
            &ListExecutionsRequest {
                limit: Some(100),
                cursor: page.next_cursor().map(str::to_owned),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    ids.extend(rest.items.iter().map(|e| e.metadata.id.clone().unwrap()));
    ids
}

#[tokio::test]
async fn a_page_walk_equals_the_rest_listing_at_one_upstream_call_per_page() {
    let env = GrpcEnv::start(emulator_config(120)).await;
    let expected = rest_ids(&env).await;
    assert_eq!(expected.len(), 120);
    env.reset();
    let mut client = env.executions().await;
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = client
            .list_job_executions(ListJobExecutionsRequest {
                parent: format!("jobs/{JOB}"),
                page_size: 50,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        assert_eq!(page.total_size, 120);
        assert_eq!(
            env.upstream(route::LIST_EXECUTIONS),
            pages,
            "one upstream call per page"
        );
        for e in &page.job_executions {
            assert_eq!(e.name, format!("jobs/{JOB}/executions/{}", e.id));
            assert_eq!(e.job, JOB);
        }
        seen.extend(page.job_executions.into_iter().map(|e| e.id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, expected);

    // AIP-158: 0 means 20, above 100 is served as 100 (still one upstream call).
    env.reset();
    let sizes = [(0, 20), (1000, 100)];
    for (asked, served) in sizes {
        let page = client
            .list_job_executions(ListJobExecutionsRequest {
                parent: format!("jobs/{JOB}"),
                page_size: asked,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(page.job_executions.len(), served, "page_size {asked}");
    }
    assert_eq!(env.upstream(route::LIST_EXECUTIONS), 2);
}

#[tokio::test]
async fn order_by_and_query_reach_the_upstream() {
    let env = GrpcEnv::start(emulator_config(30)).await;
    let mut client = env.executions().await;
    let list = |order_by: &str, query: &str| ListJobExecutionsRequest {
        parent: format!("jobs/{JOB}"),
        page_size: 100,
        order_by: order_by.to_owned(),
        query: query.to_owned(),
        ..Default::default()
    };
    let by_name = client
        .list_job_executions(list("name", ""))
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<&str> = by_name
        .job_executions
        .iter()
        .map(|e| e.id.as_str())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted);
    let desc = client
        .list_job_executions(list("name desc", ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        desc.job_executions.first().unwrap().id,
        *ids.last().unwrap()
    );
    let found = client
        .list_job_executions(list("", "abc123"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(found.job_executions.len(), 1);
    assert_eq!(found.job_executions[0].id, "exec-abc123");
}

#[tokio::test]
async fn get_an_execution_its_tasks_and_jobs() {
    let env = GrpcEnv::start(emulator_config(10)).await;
    let mut executions = env.executions().await;
    let name = format!("jobs/{JOB}/executions/exec-abc123");
    let e = executions
        .get_job_execution(GetJobExecutionRequest { name: name.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(e.name, name);
    assert_eq!((e.id.as_str(), e.job.as_str()), ("exec-abc123", JOB));
    assert_eq!(e.workspace, "my-workspace");
    assert_ne!(e.state, JobExecutionState::Unspecified as i32, "{e:?}");
    assert!(e.create_time.is_some(), "{e:?}");
    assert!(e.spec.is_some() && e.stats.is_some(), "{e:?}");

    // Tasks: the same as the upstream's listing.
    let client = Client::new(options().client_config(&env.emulator.base_url())).unwrap();
    let rest = client
        .list_job_execution_tasks(
            &Credentials::default(),
            JOB,
            "exec-abc123",
            &ListTasksRequest {
                limit: Some(100),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let tasks = executions
        .list_job_execution_tasks(ListJobExecutionTasksRequest {
            parent: name.clone(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let names: Vec<String> = tasks
        .job_execution_tasks
        .iter()
        .map(|t| t.name.clone())
        .collect();
    let rest_names: Vec<String> = rest
        .items
        .iter()
        .map(|t| t.metadata.as_ref().unwrap().name.clone().unwrap())
        .collect();
    assert!(!names.is_empty());
    assert_eq!(names, rest_names);

    // Jobs: two pages of 2, then the job itself.
    let mut jobs = env.jobs().await;
    let first = jobs
        .list_jobs(ListJobsRequest {
            page_size: 2,
            order_by: "name".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.jobs.len(), 2);
    assert_eq!(first.total_size, 3);
    assert!(!first.next_page_token.is_empty());
    let second = jobs
        .list_jobs(ListJobsRequest {
            page_size: 2,
            order_by: "name".into(),
            page_token: first.next_page_token,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.jobs.len(), 1);
    assert!(second.next_page_token.is_empty());
    let job = jobs
        .get_job(GetJobRequest {
            name: format!("jobs/{JOB}"),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(job.name, format!("jobs/{JOB}"));
    assert_eq!(job.job_id, JOB);
    assert!(job.spec.is_some());
}

#[tokio::test]
async fn both_faces_answer_the_same_page_from_one_state() {
    let env = GrpcEnv::start(emulator_config(15)).await;
    let (url, graphql) = env.graphql().await;
    let resp = crate::harness::post(
        &reqwest::Client::new(),
        &url,
        "query($job: String!) { jobExecutions(jobName: $job, first: 7) { nodes { metadata { id } } } }",
        serde_json::json!({"job": JOB}),
        &[],
    )
    .await;
    let from_graphql: Vec<String> = resp["data"]["jobExecutions"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["metadata"]["id"].as_str().unwrap().to_owned())
        .collect();
    let from_grpc = env.first_ids(7).await;
    assert_eq!(from_graphql.len(), 7);
    assert_eq!(from_graphql, from_grpc);
    graphql.abort();
}
