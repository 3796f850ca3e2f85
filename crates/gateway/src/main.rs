//! `blaxel-gateway` binary (placeholder until its issue lands).

fn main() {}
