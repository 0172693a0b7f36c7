//! Actions: what desks propose, the policy that decides, the approval queue, the
//! runner that hands approved actions to executors. The journal itself is in `store`.

pub mod cli;
mod model;
pub mod policy;
mod queue;
pub mod runner;

pub use model::*;
pub use queue::{ActionQueue, ActionsSnapshot};
pub use runner::{ExecFuture, ExecOutcome, Executor, Executors};
