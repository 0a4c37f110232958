//! Synthetic Sovereign fleets for benchmarks, and the helpers the fleet
//! benchmark (`compiler/catalyst-cli/benches/fleet.rs`) measures with.
//!
//! [`generate`] makes a self-contained workspace: a copy of a repository's
//! catalog and N varied, valid Sovereign specs, the same bytes for the
//! same N on every run. The `catalyst-fleet` binary is its command line:
//!
//! ```text
//! cargo run --release -p catalyst-bench -- --sovereigns 1000 --out /dev/shm/fleet
//! ```

mod fleet;
pub mod measure;

pub use fleet::{CATALOG_PARTS, FleetInfo, find_repo, generate};

#[cfg(test)]
mod tests;
