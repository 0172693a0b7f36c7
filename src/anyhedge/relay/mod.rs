//! Oracle relays: fetching signed price messages.
//!
//! - `client`: the General Protocols relay REST API (`/api/v1/oracleMessages`).
//! - `poller`: one oracle's poll (fetch what is missing, verify, store, report) and its loop.

pub mod client;
pub mod poller;

pub use client::{MessageQuery, RelayClient, RelayError, RelayMessage};
pub use poller::{PollError, PollReport, Rejection, fetch_count, poll_once, run_poller};
