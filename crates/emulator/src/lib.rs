//! `blaxel-emulator` (placeholder until its issue lands).
