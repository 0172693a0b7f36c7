//! The offers pool: a party posts an offer (a side, an amount and terms), another finds it
//! (`matching`) and accepts it at the oracle's latest price, and the offer settles into a
//! hedge position before its settlement deadline or returns to the pool (`lifecycle`).

pub mod lifecycle;
pub mod matching;
