//! Bulk DePerp positions: the owner's `addPositions`, [`deperp::POSITION_BATCH`] per
//! transaction, for traders whose addresses are derived (DePerp's positions are the
//! owner's to write, so the traders never send anything).

use std::collections::{BTreeSet, HashSet};

use alloy::eips::BlockId;
use alloy::primitives::{Address, I256, U256};

use super::Bulk;
use super::accounts::derived;
use super::plan::{self, BTC_USDC, ETH_USDC};
use crate::devnet::perp::{self as deperp, CONTRACTS, DePerpContracts};
use crate::perp::model::TraderPosition;
use crate::perp::reader::read_funding_tracers;

/// Traders the positions are spread over.
const TRADERS: usize = 50;
const USDC: u64 = 1_000_000;
/// DePerp's price scale (Pyth's 8 decimals).
const PRICE_E8: u64 = 100_000_000;

/// Opens `n` positions; returns what was made.
pub async fn seed(bulk: &Bulk<'_>, n: usize) -> anyhow::Result<String> {
    let mut addresses = [Address::ZERO; 6];
    for (slot, (name, _, _)) in addresses.iter_mut().zip(CONTRACTS) {
        *slot = bulk.address(name)?;
    }
    let contracts = DePerpContracts::from_addresses(addresses);
    let usdc = bulk.address("token.usdc")?;
    let owner = bulk.world.devnet.wallet(super::OWNER)?;
    let tracers = read_funding_tracers(
        &owner,
        contracts.funding_rate,
        &BTreeSet::from([(usdc, "BTC-USD"), (usdc, "ETH-USD")]),
        BlockId::latest(),
    )
    .await?;
    let tracer = |market: &str| {
        tracers
            .iter()
            .find(|(_, m, _)| m == market)
            .map_or(I256::ZERO, |(_, _, t)| *t)
    };
    let traders: Vec<Address> = (0..TRADERS)
        .map(|i| derived("perp trader", i).address())
        .collect();
    let mut rng = bulk.rng("perp");
    let now = chrono::Utc::now().timestamp() as u64;
    let mut keys = HashSet::new();
    let mut positions = Vec::with_capacity(n);
    let mut large = 0;
    for i in 0..n.div_ceil(2) {
        let pair = plan::perp_pair(&mut rng);
        large += usize::from(pair.size >= 400_000);
        let (market, opening) = if pair.btc {
            ("BTC-USD", BTC_USDC)
        } else {
            ("ETH-USD", ETH_USDC)
        };
        let price = (opening * PRICE_E8) as i64 * (10_000 + pair.entry_offset_bps) / 10_000;
        // A long for one trader and a short for the next: the same key never repeats
        // because the pair's time is moved on until both keys are new.
        let mut position = TraderPosition {
            user: traders[(2 * i) % TRADERS],
            asset: usdc,
            market: market.into(),
            is_long: true,
            size: U256::from(pair.size * USDC),
            collateral: U256::from(pair.size / pair.leverage * USDC),
            funding_tracer: tracer(market),
            price: U256::from(price as u64),
            timestamp: U256::from(now - pair.age_secs),
        };
        let mut short = TraderPosition {
            user: traders[(2 * i + 1) % TRADERS],
            is_long: false,
            ..position.clone()
        };
        while keys.contains(&position.key()) || keys.contains(&short.key()) {
            position.timestamp += U256::from(1u8);
            short.timestamp = position.timestamp;
        }
        keys.insert(position.key());
        positions.push(position);
        if positions.len() < n {
            keys.insert(short.key());
            positions.push(short);
        }
    }
    deperp::open_positions(&owner, &contracts, &positions).await?;
    Ok(format!(
        "{} positions for {TRADERS} traders in {} transactions ({large} large pairs)",
        positions.len(),
        positions.len().div_ceil(deperp::POSITION_BATCH)
    ))
}
