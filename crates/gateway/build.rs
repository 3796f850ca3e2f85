//! Generates the gRPC face's code from `schema/proto/` without a system `protoc`: protox compiles
//! the protos into a descriptor set (kept in `$OUT_DIR` for server reflection and the drift
//! test), and tonic-prost-build turns that set into prost messages and tonic services.

use std::{env, error::Error, fs, path::PathBuf};

/// The protos of package `blaxel.jobs.v1`, relative to the proto root.
const PROTOS: &[&str] = &[
    "blaxel/jobs/v1/job.proto",
    "blaxel/jobs/v1/job_execution.proto",
    "blaxel/jobs/v1/job_execution_service.proto",
    "blaxel/jobs/v1/job_service.proto",
];

fn main() -> Result<(), Box<dyn Error>> {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?).join("../../schema/proto");
    let out = PathBuf::from(env::var("OUT_DIR")?);
    println!("cargo::rerun-if-changed={}", root.display());

    // 1. Compile: every file with its imports (the well-known types come with protox) and
    //    source info (comments become docs, and reflection clients show them).
    let mut compiler = protox::Compiler::new([&root])?;
    compiler.include_source_info(true).include_imports(true);
    compiler.open_files(PROTOS)?;
    fs::write(
        out.join("blaxel_jobs_v1.bin"),
        compiler.encode_file_descriptor_set(),
    )?;

    // 2. Generate the messages and the clients (the client is the crate other Rust services
    //    link). Well-known types map to prost-types.
    tonic_prost_build::configure()
        .build_server(false)
        .build_client(true)
        .compile_fds(compiler.file_descriptor_set())?;

    // 3. Generate the servers over those messages, except the answer of `ListJobExecutions`:
    //    the server sends a wire type that may carry the answer already encoded, shared by
    //    identical calls in flight (`crate::grpc::wire`). The most specific extern path wins.
    let servers = out.join("server");
    fs::create_dir_all(&servers)?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(false)
        .out_dir(&servers)
        .extern_path(".blaxel.jobs.v1", "crate::grpc::proto")
        .extern_path(
            ".blaxel.jobs.v1.ListJobExecutionsResponse",
            "crate::grpc::wire::ListJobExecutionsResponse",
        )
        .compile_fds(compiler.file_descriptor_set())?;
    Ok(())
}
