//! Micro-benchmarks of the gateway's hot paths (criterion; `cargo bench -p blaxel-gateway`).
//!
//! - `decode/page_100`: bytes of a 100-execution upstream page (the emulator's seeded data, as
//!   its router serves them) into `blaxel_models::Page<JobExecution>`;
//! - `execute/page_{20,100}_every_field`: the GraphQL response for that page, every field
//!   selected: parse, validation, resolvers and serialization to JSON, with the page already
//!   loaded (the request's loader is primed, so no upstream call is made); `..._cached_document`
//!   takes the parsed document from the gateway's [`DocumentCache`] instead of parsing;
//! - `cursor/encode`, `cursor/decode`: one edge cursor;
//! - `transcode/*`: the gRPC face's reading of a page of 20 into protobuf-encoded executions,
//!   by serde_json (`Json(PageSeed(ExecutionSeed))`) and from simd-json's tape
//!   (`EncodedPageDecoder`), side by side;
//! - `floor/*`: the physical floor of one request's own work, the page's JSON decoded into the
//!   model and the model encoded back to JSON (about the answer's size), without GraphQL: what a
//!   gateway could not do below, to read next to `execute/*` and the load tests' CPU per request.
//!
//! The bench binary uses mimalloc as the gateway's binary does, so the figures are comparable.
//! Sample counts are kept small so that the whole run takes about a minute.

// `criterion_group!` and `criterion_main!` generate undocumented items.
#![allow(missing_docs)]

use std::{sync::Arc, time::Duration};

use async_graphql::Request;
use axum::body::Body;
use blaxel_gateway::{
    AppState, Caller, Config,
    graphql::documents::DocumentCache,
    loader::{ExecutionsPage, RequestLoader},
    pagination::{
        Contract,
        cursor::{self, Binding, Position},
    },
};
use blaxel_models::{ExecutionProjection, JobExecution, Page, PaginationSort};
use blaxel_transport::{Client, Credentials, ListExecutionsRequest};
use criterion::{Criterion, criterion_group, criterion_main};
use tower::ServiceExt as _;

/// The gateway's allocator (see `src/main.rs`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Every field of an execution, as `bench/fields.graphql` selects them.
const FIELDS: &str = r#"
fragment Execution on JobExecution {
  id
  metadata { id job workspace cluster createdAt startedAt completedAt updatedAt deletedAt expiredAt }
  spec { parallelism timeout memoryOverride envOverride tasks { ...Task } }
  stats { cancelled failure retried running success total }
  status statusRaw
  tasks { ...Task }
}
fragment Task on JobExecutionTask {
  conditions { executionReason message reason severity state type }
  metadata { name createdAt scheduledAt startedAt completedAt updatedAt }
  spec { maxRetries timeout }
  status statusRaw
}"#;

const JOB: &str = "data-processing-job";

/// The body of `GET /v0/jobs/{JOB}/executions?limit={limit}` from the emulator's router.
fn upstream_page(rt: &tokio::runtime::Runtime, limit: u32) -> Vec<u8> {
    let (router, _emulator) = blaxel_emulator::router(blaxel_emulator::EmulatorConfig {
        executions_per_job: 1000,
        ..Default::default()
    });
    let request = http::Request::get(format!("/v0/jobs/{JOB}/executions?limit={limit}"))
        .header("authorization", "Bearer dev-token")
        .header("blaxel-version", "2026-04-28")
        .body(Body::empty())
        .expect("a valid request");
    rt.block_on(async {
        let response = router.oneshot(request).await.expect("the router answers");
        assert!(response.status().is_success(), "{}", response.status());
        axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("a body")
            .to_vec()
    })
}

fn decode(c: &mut Criterion) {
    let rt = runtime();
    let bytes = upstream_page(&rt, 100);
    let mut group = c.benchmark_group("decode");
    group.throughput(criterion::Throughput::Bytes(bytes.len() as u64));
    group.bench_function("page_100", |b| {
        b.iter(|| {
            serde_json::from_slice::<Page<JobExecution>>(std::hint::black_box(&bytes))
                .expect("the page decodes")
        })
    });
    group.finish();
}

fn floor(c: &mut Criterion) {
    let rt = runtime();
    let bytes = upstream_page(&rt, 20);
    let page: Page<JobExecution> = serde_json::from_slice(&bytes).expect("the page decodes");
    let encoded = serde_json::to_vec(&page).expect("the page encodes");
    let mut group = c.benchmark_group("floor");
    group.throughput(criterion::Throughput::Bytes(bytes.len() as u64));
    group.bench_function(format!("decode_page_20_{}kB", bytes.len() / 1000), |b| {
        b.iter(|| {
            serde_json::from_slice::<Page<JobExecution>>(std::hint::black_box(&bytes))
                .expect("the page decodes")
        })
    });
    group.throughput(criterion::Throughput::Bytes(encoded.len() as u64));
    group.bench_function(format!("encode_page_20_{}kB", encoded.len() / 1000), |b| {
        b.iter(|| serde_json::to_vec(std::hint::black_box(&page)).expect("the page encodes"))
    });
    group.bench_function("decode_and_encode_page_20", |b| {
        b.iter(|| {
            let page: Page<JobExecution> =
                serde_json::from_slice(std::hint::black_box(&bytes)).expect("the page decodes");
            serde_json::to_vec(&page).expect("the page encodes")
        })
    });
    group.finish();
}

fn execute(c: &mut Criterion) {
    let rt = runtime();
    // Never called: every page the queries need is primed into the request's loader.
    let config = Config {
        token: Some("dev-token".into()),
        // The page of 100 with every field is estimated at 4.8 MB (really about 0.5 MB), over
        // the default 4 MiB: this bench times the work, not the refusal.
        max_response_bytes: 16 * 1024 * 1024,
        ..Config::for_upstream("http://127.0.0.1:9/v0")
    };
    let client = Client::new(config.client_config("http://127.0.0.1:9/v0")).expect("a client");
    let state = AppState::new(client.clone(), config.limits(), None);
    let mut group = c.benchmark_group("execute");
    for first in [20u32, 100] {
        let page: Page<JobExecution> =
            serde_json::from_slice(&upstream_page(&rt, first)).expect("the page decodes");
        let query = format!(
            "{{ jobExecutions(jobName: \"{JOB}\", first: {first}) {{ totalCount pageInfo {{ hasNextPage endCursor }} edges {{ cursor node {{ ...Execution }} }} }} }}\n{FIELDS}"
        );
        let key = ExecutionsPage {
            job: JOB.to_owned(),
            request: ListExecutionsRequest {
                limit: Some(first),
                sort: Some(PaginationSort::CreatedAtDesc),
                ..Default::default()
            },
        };
        let request = || {
            let loader = RequestLoader::new(
                client.clone(),
                Credentials::default(),
                8,
                100,
                None,
                ExecutionProjection::ALL,
            );
            rt.block_on(loader.prime_executions_page(key.clone(), page.clone()));
            Request::new(query.as_str())
                .data(Caller::default())
                .data(Arc::new(loader))
        };
        // The answer is right before it is timed.
        let response = rt.block_on(state.schema().execute(request()));
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        group.bench_function(format!("page_{first}_every_field"), |b| {
            b.iter(|| {
                let response = rt.block_on(state.schema().execute(request()));
                serde_json::to_vec(&response).expect("the response serializes")
            })
        });
        let documents = DocumentCache::default();
        group.bench_function(format!("page_{first}_every_field_cached_document"), |b| {
            b.iter(|| {
                let mut request = request();
                documents.attach(&mut request);
                let response = rt.block_on(state.schema().execute(request));
                serde_json::to_vec(&response).expect("the response serializes")
            })
        });
    }
    group.finish();
}

fn cursors(c: &mut Criterion) {
    let binding = Binding {
        listing: "executions",
        job: JOB,
        sort: "createdAt:desc",
        query: "",
        workspace: "my-workspace",
        contract: Contract::Cursor,
    };
    let fingerprint = binding.fingerprint();
    let position = Position::Upstream {
        cursor: "eyJvZmZzZXQiOjEwMCwic29ydCI6ImNyZWF0ZWRBdDpkZXNjIn0".to_owned(),
        skip: 20,
        anchor: "exec-d75ed429".to_owned(),
    };
    let encoded = cursor::encode(fingerprint, &position);
    let mut group = c.benchmark_group("cursor");
    group.bench_function("encode", |b| {
        b.iter(|| cursor::encode(fingerprint, std::hint::black_box(&position)))
    });
    group.bench_function("decode", |b| {
        b.iter(|| cursor::decode(std::hint::black_box(&encoded), fingerprint).expect("decodes"))
    });
    group.bench_function("fingerprint", |b| {
        b.iter(|| std::hint::black_box(&binding).fingerprint())
    });
    group.finish();
}

fn transcode(c: &mut Criterion) {
    use blaxel_gateway::grpc::{tape::EncodedPageDecoder, transcode::ExecutionSeed};
    use blaxel_models::PageSeed;
    use blaxel_transport::{Decode, Json};
    let rt = runtime();
    let bytes = upstream_page(&rt, 20);
    let serde = Json(PageSeed(ExecutionSeed));
    let tape = EncodedPageDecoder;
    assert_eq!(
        tape.decode(&bytes).expect("the tape reads the page"),
        serde.decode(&bytes).expect("serde_json reads the page"),
        "the same encoded page both ways"
    );
    let mut group = c.benchmark_group("transcode");
    group.throughput(criterion::Throughput::Bytes(bytes.len() as u64));
    group.bench_function(
        format!("serde_json_page_20_{}kB", bytes.len() / 1000),
        |b| b.iter(|| serde.decode(std::hint::black_box(&bytes)).expect("reads")),
    );
    group.bench_function(format!("tape_page_20_{}kB", bytes.len() / 1000), |b| {
        b.iter(|| tape.decode(std::hint::black_box(&bytes)).expect("reads"))
    });
    group.finish();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = hot_paths;
    config = config();
    targets = decode, floor, execute, cursors, transcode
}
criterion_main!(hot_paths);
