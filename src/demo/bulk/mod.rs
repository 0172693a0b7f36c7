//! `hedgedesk demo --margin-positions N --perp-positions N --anyhedge-contracts N`: load
//! for the soak test, seeded after the devnet is up and before the market and the desks
//! start, so the desks meet it all at their first cycle.
//!
//! - [`margin`]: lenders' orders and N borrowers' loans on the margin module, some traded
//!   into leveraged longs (a few close enough to the line to sink in the scripted fall);
//! - [`perp`]: N DePerp positions from the owner, in long/short pairs so the vault's net
//!   PnL stays the normal demo's (a few pairs large enough to flag in the fall);
//! - [`anyhedge`]: N hedges created and funded on the factory, then recorded in the store
//!   as the API records a settled offer's position, with their funding unvalidated: the
//!   desk only watches the contracts its store holds, so it reads each one's funding back
//!   from the chain itself, then watches them for maturity and liquidation.
//!
//! Every draw comes from the demo's seed. With every count 0 nothing happens.

mod accounts;
mod anyhedge;
mod margin;
mod miner;
mod perp;
mod plan;
mod send;

use std::time::Instant;

use alloy::signers::local::PrivateKeySigner;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::market::OWNER;
use super::setup::World;
use crate::cli::DemoArgs;

/// What the bulk parts work with.
pub struct Bulk<'a> {
    pub world: &'a World,
    pub rpc_url: String,
    pub chain_id: u64,
    pub owner: PrivateKeySigner,
    seed: u64,
}

impl Bulk<'_> {
    /// The generator of the part `name`, from the demo's seed.
    pub fn rng(&self, name: &str) -> ChaCha8Rng {
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&self.seed.to_le_bytes());
        seed[8..].copy_from_slice(&alloy::primitives::keccak256(format!("bulk {name}"))[..24]);
        ChaCha8Rng::from_seed(seed)
    }

    pub fn address(&self, name: &str) -> anyhow::Result<alloy::primitives::Address> {
        self.world.devnet.address(name)
    }
}

/// Seeds what the scale flags ask for, printing a line per part and the total.
pub async fn seed(args: &DemoArgs, world: &World) -> anyhow::Result<()> {
    if args.margin_positions == 0 && args.perp_positions == 0 && args.anyhedge_contracts == 0 {
        return Ok(());
    }
    println!(
        "  bulk       seeding {} margin positions, {} DePerp positions and {} AnyHedge contracts…",
        args.margin_positions, args.perp_positions, args.anyhedge_contracts
    );
    let node = &world.devnet.node;
    let bulk = Bulk {
        world,
        rpc_url: node.http_url(),
        chain_id: node.chain_id,
        owner: node.signer(OWNER),
        seed: args.seed,
    };
    let started = Instant::now();
    let miner = miner::Miner::start(send::node(&bulk.rpc_url)?).await?;
    if args.margin_positions > 0 {
        let at = Instant::now();
        let report = margin::seed(&bulk, args.margin_positions).await?;
        println!(
            "  bulk       margin: {report} in {:.1} s",
            at.elapsed().as_secs_f64()
        );
    }
    if args.perp_positions > 0 {
        let at = Instant::now();
        let report = perp::seed(&bulk, args.perp_positions).await?;
        println!(
            "  bulk       perp: {report} in {:.1} s",
            at.elapsed().as_secs_f64()
        );
    }
    if args.anyhedge_contracts > 0 {
        let at = Instant::now();
        let report = anyhedge::seed(&bulk, args.anyhedge_contracts).await?;
        println!(
            "  bulk       anyhedge: {report} in {:.1} s",
            at.elapsed().as_secs_f64()
        );
    }
    miner.stop().await?;
    println!(
        "  bulk       seeded in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
