//! The AnyHedge desk's oracles and their signed price messages (filters by pubkey and ranges).
