//! Runtime: builds the store, queue and workers, starts and stops them; headless mode.

mod context;
pub mod headless;
pub mod log_buffer;
pub mod logging;
mod runtime;
pub mod supervisor;
pub mod unlock;

pub use context::AppContext;
pub use runtime::{Runtime, Secrets};
