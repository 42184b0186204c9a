//! One integration-test binary for the crate: each module covers a group of
//! kinds; `support` holds the fixtures and assertion helpers.

mod apps;
mod batch;
mod config;
mod core_kinds;
mod defaults;
mod misc;
mod names;
mod networking;
mod pods;
mod services;
mod support;
mod valid_objects;
