//! Contract parameters and payouts (AnyHedge v0.12 arithmetic).
