//! `blaxel-emulator` binary (placeholder until its issue lands).

fn main() {}
