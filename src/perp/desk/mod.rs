//! The perp desk's worker: reads DePerp, evaluates the flags, proposes hedges and their
//! closes through the action queue, and executes approved ones on the venue.

pub mod executor;
