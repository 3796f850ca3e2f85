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

    // 2. Generate: messages and both the server and the client (the client is the crate other
    //    Rust services link). Well-known types map to prost-types.
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(compiler.file_descriptor_set())?;
    Ok(())
}
