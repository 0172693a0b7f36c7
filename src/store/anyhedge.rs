//! The AnyHedge desk's offers, hedge positions, funding, settlements and redemptions.
