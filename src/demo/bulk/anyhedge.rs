//! Bulk AnyHedge contracts: derived short and long parties, minted their collateral, each
//! approve their contracts' predicted addresses and sign `Funding` permits; the short party
//! sends `createAndFund`. Each contract is then recorded in the store as the API records a
//! settled offer's position, with its funding transaction unvalidated, so the desk (which
//! watches only the contracts its store holds) reads every funding back from the chain.

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;
use anyhow::Context;

use super::Bulk;
use super::accounts::{approve, derived_many, mint, send_gas};
use super::plan;
use super::send::{Sender, node};
use crate::anyhedge::chain::{
    HedgeParties, HedgeTerms, Params, Side, build_params, create_and_fund_calldata, funding_sats,
    predict_address,
};
use crate::anyhedge::offers::lifecycle::{CONTRACT_VERSION, compute_terms};
use crate::devnet::anyhedge::{COLLATERAL, FACTORY, sign_funding};
use crate::store::anyhedge::{Funding, NewPosition};

/// Contracts per party, about; at most [`MAX_PAIRS`] pairs send side by side.
const CONTRACTS_PER_PARTY: usize = 50;
const MAX_PAIRS: usize = 20;
/// `createAndFund` deploys a hedge: about 2M gas.
const CREATE_GAS: u64 = 6_000_000;
/// How long the parties' permits stay valid.
const PERMIT_SECS: u64 = 3_600;
/// Draws before a contract the math refuses is given up.
const TRIES: usize = 20;

/// One contract to open.
struct Hedge {
    short: usize,
    long: usize,
    terms: HedgeTerms,
    low_pct: u32,
    high_pct: u32,
    leveraged: bool,
    params: Params,
    address: Address,
}

/// Creates and funds `n` contracts and records them; returns what was made.
pub async fn seed(bulk: &Bulk<'_>, n: usize) -> anyhow::Result<String> {
    let factory = bulk.address(FACTORY)?;
    let collateral = bulk.address(COLLATERAL)?;
    let oracle = &bulk.world.gp_oracle;
    let start = oracle
        .messages()
        .pop()
        .context("the AnyHedge oracle has published no price yet")?;
    let pairs = n.div_ceil(CONTRACTS_PER_PARTY).min(MAX_PAIRS);
    let shorts = derived_many("hedge short", pairs);
    let longs = derived_many("hedge long", pairs);
    let mut rng = bulk.rng("anyhedge");
    let mut hedges = Vec::with_capacity(n);
    for i in 0..n {
        let (short, long) = (i % pairs, (i / pairs + i) % pairs);
        let parties = HedgeParties {
            collateral,
            oracle: oracle.address(),
            short_party: shorts[short].address(),
            long_party: longs[long].address(),
        };
        let (draw, terms) = (0..TRIES)
            .find_map(|_| {
                let h = plan::hedge(&mut rng);
                compute_terms(
                    h.short_sats,
                    start.message.price as u32,
                    i64::from(start.message.message_timestamp),
                    h.duration_secs,
                    f64::from(h.low_pct) / 100.0,
                    f64::from(h.high_pct) / 100.0,
                    h.leveraged,
                )
                .ok()
                .map(|terms| (h, terms))
            })
            .context("no contract terms the AnyHedge math accepts")?;
        let params = build_params(&parties, &terms);
        hedges.push(Hedge {
            short,
            long,
            terms,
            low_pct: draw.low_pct,
            high_pct: draw.high_pct,
            leveraged: draw.leveraged,
            address: predict_address(factory, &params),
            params,
        });
    }
    let provider = node(&bulk.rpc_url)?;

    // The owner's gas money and collateral for every party.
    let mut owner = Sender::new(&bulk.rpc_url, bulk.chain_id, bulk.owner.clone()).await?;
    let everyone: Vec<Address> = shorts.iter().chain(&longs).map(|s| s.address()).collect();
    send_gas(&mut owner, &everyone).await?;
    for (side, parties) in [(Side::Short, &shorts), (Side::Long, &longs)] {
        for (p, party) in parties.iter().enumerate() {
            let sats: u64 = hedges
                .iter()
                .filter(|h| party_of(h, side) == p)
                .map(|h| funding_sats(&h.params, side).unwrap_or(0))
                .sum();
            mint(&mut owner, collateral, party.address(), U256::from(sats)).await?;
        }
    }
    owner.finish("funding the AnyHedge parties").await?;

    // Each party approves its contracts' addresses, all parties side by side.
    let approvals = [(Side::Short, &shorts), (Side::Long, &longs)]
        .into_iter()
        .flat_map(|(side, parties)| {
            parties
                .iter()
                .enumerate()
                .map(move |(p, signer)| (side, p, signer))
        })
        .map(|(side, p, signer)| {
            let mine: Vec<(Address, u64)> = hedges
                .iter()
                .filter(|h| party_of(h, side) == p)
                .map(|h| (h.address, funding_sats(&h.params, side).unwrap_or(0)))
                .collect();
            approve_all(bulk, collateral, signer.clone(), mine)
        });
    futures::future::try_join_all(approvals).await?;

    let head = provider
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await?
        .context("no latest block")?
        .header
        .timestamp;
    let deadline = head + PERMIT_SECS;
    let creations = shorts.iter().enumerate().map(|(p, signer)| {
        let mine: Vec<&Hedge> = hedges.iter().filter(|h| h.short == p).collect();
        create_all(bulk, factory, signer.clone(), &longs, mine, deadline)
    });
    let funded: Vec<(Address, B256, Option<u64>)> = futures::future::try_join_all(creations)
        .await?
        .into_iter()
        .flatten()
        .collect();

    record(bulk, &hedges, &funded, factory, &start).await?;
    let maturing = hedges
        .iter()
        .filter(|h| h.terms.maturity_timestamp - h.terms.start_timestamp <= 480)
        .count();
    let edge = hedges.iter().filter(|h| h.low_pct >= 88).count();
    Ok(format!(
        "{n} contracts between {pairs} short and {pairs} long parties ({maturing} maturing within 8 min, {edge} near their low liquidation price)"
    ))
}

fn party_of(h: &Hedge, side: Side) -> usize {
    match side {
        Side::Short => h.short,
        Side::Long => h.long,
    }
}

/// `signer` approves each `(hedge, sats)`.
async fn approve_all(
    bulk: &Bulk<'_>,
    collateral: Address,
    signer: PrivateKeySigner,
    hedges: Vec<(Address, u64)>,
) -> anyhow::Result<()> {
    let mut sender = Sender::new(&bulk.rpc_url, bulk.chain_id, signer).await?;
    for (hedge, sats) in hedges {
        approve(&mut sender, collateral, hedge, U256::from(sats)).await?;
    }
    sender.finish("the parties' approvals").await?;
    Ok(())
}

/// The short party `signer` creates and funds its `hedges` with both parties' permits;
/// returns each one's address, funding transaction and block.
async fn create_all(
    bulk: &Bulk<'_>,
    factory: Address,
    signer: PrivateKeySigner,
    longs: &[PrivateKeySigner],
    hedges: Vec<&Hedge>,
    deadline: u64,
) -> anyhow::Result<Vec<(Address, B256, Option<u64>)>> {
    let mut sender = Sender::new(&bulk.rpc_url, bulk.chain_id, signer.clone()).await?;
    for h in &hedges {
        let short = sign_funding(
            &signer,
            bulk.chain_id,
            h.address,
            &h.params,
            Side::Short,
            deadline,
        )?;
        let long = sign_funding(
            &longs[h.long],
            bulk.chain_id,
            h.address,
            &h.params,
            Side::Long,
            deadline,
        )?;
        let input = create_and_fund_calldata(&h.params, &short, &long);
        sender.send(factory, input, U256::ZERO, CREATE_GAS).await?;
    }
    let receipts = sender.finish("createAndFund").await?;
    Ok(hedges
        .iter()
        .zip(receipts)
        .map(|(h, r)| (h.address, r.transaction_hash, r.block_number))
        .collect())
}

/// Records each funded contract as a position with its funding not yet validated.
async fn record(
    bulk: &Bulk<'_>,
    hedges: &[Hedge],
    funded: &[(Address, B256, Option<u64>)],
    factory: Address,
    start: &crate::devnet::gp_oracle::SignedMessage,
) -> anyhow::Result<()> {
    let store = &bulk.world.devnet.store;
    let now = chrono::Utc::now().timestamp();
    for h in hedges {
        let (_, tx_hash, block_number) = funded
            .iter()
            .find(|(a, _, _)| *a == h.address)
            .with_context(|| format!("{} was not funded", h.address))?;
        store
            .anyhedge_create_position(NewPosition {
                address: h.address,
                anyhedge_contract_version: CONTRACT_VERSION.into(),
                factory,
                parties: HedgeParties {
                    collateral: h.params.collateral,
                    oracle: h.params.oracle,
                    short_party: h.params.shortParty,
                    long_party: h.params.longParty,
                },
                terms: h.terms,
                short_wallet_hash: format!("demo-bulk-short-{}", h.short),
                long_wallet_hash: format!("demo-bulk-long-{}", h.long),
                oracle_pubkey: start.pubkey_hex(),
                low_liquidation_multiplier: f64::from(h.low_pct) / 100.0,
                high_liquidation_multiplier: f64::from(h.high_pct) / 100.0,
                leveraged: h.leveraged,
                starting_oracle_message: start.message_hex(),
                starting_oracle_signature: start.signature_hex(),
                fee: None,
                metadata: None,
            })
            .await??;
        store
            .anyhedge_record_funding(
                h.address,
                Funding {
                    tx_hash: *tx_hash,
                    block_number: *block_number,
                    short_funding_satoshis: h.terms.short_input_sats,
                    long_funding_satoshis: funding_sats(&h.params, Side::Long).unwrap_or(0),
                    gas_fee_wei: None,
                    validated: false,
                    recorded_at: now,
                },
            )
            .await??;
    }
    Ok(())
}
