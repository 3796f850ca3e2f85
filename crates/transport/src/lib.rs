//! `blaxel-transport` (placeholder until its issue lands).
