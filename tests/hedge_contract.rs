//! `contracts/HedgeFactory.sol` (AnyHedge v0.12 ported to EVM) on a real anvil: the issue's
//! vector funded in one `createAndFund` from both parties' EIP-712 permits, settled at
//! maturity and by liquidation on either bound, a leveraged contract, funding by the parties
//! and its cancellation, the three mutual redemptions, and every revert the contracts name.
//! The devnet deploys through `hedgedesk::devnet::anyhedge`, the calldata and signatures come
//! from `hedgedesk::anyhedge::chain`.
//!
//! Fixed amounts come from the issue; for other prices an independent reference of the payout
//! formula (below) is compared with the contract's `payouts`.
//!
//! Needs anvil (`scripts/bootstrap` installs it in `.tools/bin`).

mod common;

use std::time::Duration;

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::{BlockNumberOrTag, TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolEvent, SolEventInterface};
use hedgedesk::anyhedge::chain::{
    self, HedgeParties, HedgeTerms, MutualRedemption, Params, RedemptionKind, SettlementKind, Side,
    predict_address,
};
use hedgedesk::chain::contracts::HedgeContract::{
    self, HedgeContractErrors, HedgeContractInstance,
};
use hedgedesk::chain::contracts::HedgeFactory::{self, HedgeFactoryErrors, HedgeFactoryInstance};
use hedgedesk::chain::contracts::TestToken;
use hedgedesk::devnet::anyhedge::{
    self as devnet_anyhedge, AnyHedgeContracts, Party, deploy_anyhedge, sign_funding,
    sign_redemption,
};
use hedgedesk::devnet::receipt::mined;
use hedgedesk::devnet::{AnvilNode, AnvilOptions, DevnetControl};
use hedgedesk::store::Store;

use common::wallet;

const OWNER: usize = 0; // deploys, owns and mints the collateral
const SHORT: usize = 1;
const LONG: usize = 2;
const KEEPER: usize = 3; // the watchtower: sends what the parties signed
const STRANGER: usize = 4;

const DUST: u64 = 1332;
const DAY: u64 = 86_400;

/// The simple hedge: 33379.2 nominal units at 10944, low 6944, high 43776.
const NOMINAL: u64 = 3_337_920_000_000;
const START: u32 = 10_944;
const LOW: u32 = 6_944;
const HIGH: u32 = 43_776;
const PAYOUT: u64 = 480_691_244;
const SHORT_IN: u64 = 305_000_000;
const LONG_IN: u64 = 175_691_244;

// ---------------------------------------------------------------------------------------
// Reference arithmetic, independent of the contract and of the desk's math

/// The terms AnyHedge derives from a nominal value and prices (0 sats at high: simple).
fn terms(nominal: u64, start: u32, low: u32, high: u32, leveraged: bool) -> HedgeTerms {
    let at_high = if leveraged {
        nominal / u64::from(high)
    } else {
        0
    };
    let payout = nominal / u64::from(low) - at_high;
    let short_in = nominal / u64::from(start) - at_high;
    HedgeTerms {
        start_timestamp: 0,
        maturity_timestamp: 0,
        start_price: start,
        low_price: low,
        high_price: high,
        nominal_units_x_sats_per_bch: nominal,
        sats_for_nominal_units_at_high: at_high,
        payout_sats: payout,
        short_input_sats: short_in,
        long_input_sats: payout - short_in,
    }
}

/// `(short, long)` at `price`: clamp to the band, floor both sides at DUST.
fn reference_payouts(p: &Params, price: u32) -> (u64, u64) {
    let clamped = u64::from(price.clamp(p.lowPrice, p.highPrice));
    let short = (p.nominalUnitsXSatsPerBch / clamped)
        .saturating_sub(p.satsForNominalUnitsAtHigh)
        .max(DUST);
    let long = p.payoutSats.saturating_sub(short).max(DUST);
    (short, long)
}

/// A 16-byte oracle message: four little-endian int32.
fn message(timestamp: i64, message_sequence: i32, price_sequence: i32, price: i32) -> [u8; 16] {
    let timestamp = i32::try_from(timestamp).expect("timestamp fits an int32");
    let mut out = [0u8; 16];
    for (i, field) in [timestamp, message_sequence, price_sequence, price]
        .into_iter()
        .enumerate()
    {
        out[i * 4..i * 4 + 4].copy_from_slice(&field.to_le_bytes());
    }
    out
}

/// A tiny deterministic generator for the random prices.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

// ---------------------------------------------------------------------------------------
// The chain

struct Env {
    node: AnvilNode,
    _dir: tempfile::TempDir,
    store: Store,
    contracts: AnyHedgeContracts,
    oracle: PrivateKeySigner,
    chain_id: u64,
}

impl Env {
    async fn start() -> Env {
        let node = AnvilNode::start(&AnvilOptions::default()).expect("anvil");
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.sqlite"), Duration::from_secs(5)).unwrap();
        let (contracts, deployments) =
            deploy_anyhedge(&wallet(&node, OWNER), node.address(OWNER), &store)
                .await
                .expect("deploy the AnyHedge contracts");
        assert_eq!(deployments.len(), 2);
        let chain_id = node.chain_id;
        Env {
            node,
            _dir: dir,
            store,
            contracts,
            oracle: PrivateKeySigner::from_bytes(&B256::repeat_byte(0x42)).unwrap(),
            chain_id,
        }
    }

    fn wallet(&self, index: usize) -> DynProvider {
        wallet(&self.node, index)
    }

    fn address(&self, index: usize) -> Address {
        self.node.address(index)
    }

    fn factory(&self, index: usize) -> HedgeFactoryInstance<DynProvider> {
        HedgeFactory::new(self.contracts.factory, self.wallet(index))
    }

    fn hedge(&self, hedge: Address, index: usize) -> HedgeContractInstance<DynProvider> {
        HedgeContract::new(hedge, self.wallet(index))
    }

    async fn now(&self) -> u64 {
        self.node
            .provider()
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await
            .unwrap()
            .unwrap()
            .header
            .timestamp
    }

    /// `terms` between SHORT and LONG on WBCH, starting now and maturing in 30 days.
    async fn params(&self, terms: HedgeTerms) -> Params {
        let now = self.now().await;
        chain::build_params(
            &HedgeParties {
                collateral: self.contracts.collateral,
                oracle: self.oracle.address(),
                short_party: self.address(SHORT),
                long_party: self.address(LONG),
            },
            &HedgeTerms {
                start_timestamp: now,
                maturity_timestamp: now + 30 * DAY,
                ..terms
            },
        )
    }

    async fn vector(&self) -> Params {
        self.params(terms(NOMINAL, START, LOW, HIGH, false)).await
    }

    /// Creates and funds `params` through the devnet helper (the keeper sends it).
    async fn open(&self, params: &Params) -> Address {
        let (short_key, long_key) = (self.node.signer(SHORT), self.node.signer(LONG));
        let (short_wallet, long_wallet) = (self.wallet(SHORT), self.wallet(LONG));
        let (hedge, receipt) = devnet_anyhedge::open_hedge(
            &self.wallet(KEEPER),
            &self.wallet(OWNER),
            self.contracts.factory,
            params,
            Party {
                signer: &short_key,
                wallet: &short_wallet,
            },
            Party {
                signer: &long_key,
                wallet: &long_wallet,
            },
            3600,
        )
        .await
        .expect("open the hedge");
        assert!(receipt.status());
        hedge
    }

    /// Mints `sats` to `party` and approves `hedge` for them.
    async fn provide(&self, party: usize, hedge: Address, sats: u64) {
        devnet_anyhedge::mint_and_approve(
            &self.wallet(OWNER),
            &self.wallet(party),
            self.address(party),
            self.contracts.collateral,
            hedge,
            sats,
        )
        .await
        .unwrap();
    }

    async fn balance(&self, who: Address) -> u64 {
        TestToken::new(self.contracts.collateral, self.node.provider())
            .balanceOf(who)
            .call()
            .await
            .unwrap()
            .to()
    }

    fn signed(&self, message: &[u8; 16]) -> (Bytes, Bytes) {
        (
            Bytes::copy_from_slice(message),
            chain::sign_oracle_message(&self.oracle, message).unwrap(),
        )
    }

    /// The oracle's signature over sha256 of arbitrary bytes (for malformed messages).
    fn oracle_sign_raw(&self, bytes: &[u8]) -> Bytes {
        chain::sign_digest(&self.oracle, chain::oracle_message_digest(bytes)).unwrap()
    }

    /// The previous message (before maturity, sequence `seq - 1`) and the settlement message
    /// at `timestamp`, `price`, sequence `seq`, both signed by the oracle.
    fn pair(&self, p: &Params, timestamp: u64, seq: i32, price: u32) -> [Bytes; 4] {
        let (prev, prev_sig) = self.signed(&message(
            p.maturityTimestamp as i64 - 60,
            seq + 6,
            seq - 1,
            START as i32,
        ));
        let (msg, sig) = self.signed(&message(timestamp as i64, seq + 7, seq, price as i32));
        [prev, prev_sig, msg, sig]
    }

    /// `settle` as the keeper: simulated, then sent as raw calldata from the desk's builder.
    async fn settle(&self, hedge: Address, messages: &[Bytes; 4]) -> TransactionReceipt {
        let [prev, prev_sig, msg, sig] = messages;
        let data = chain::settle_calldata(prev, prev_sig, msg, sig);
        self.send_raw(KEEPER, hedge, data).await
    }

    async fn send_raw(&self, from: usize, to: Address, data: Bytes) -> TransactionReceipt {
        let provider = self.wallet(from);
        let tx = TransactionRequest::default()
            .with_from(self.address(from))
            .with_to(to)
            .with_input(data);
        provider.call(tx.clone()).await.expect("simulation");
        let receipt = provider
            .send_transaction(tx)
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        assert!(receipt.status(), "reverted: {receipt:?}");
        receipt
    }

    /// What `settle` reverts with.
    async fn settle_error(&self, hedge: Address, messages: &[Bytes; 4]) -> HedgeContractErrors {
        let [prev, prev_sig, msg, sig] = messages.clone();
        let h = self.hedge(hedge, KEEPER);
        hedge_error(h.settle(prev, prev_sig, msg, sig).call_raw().await)
    }

    /// Both parties sign `redemption`.
    fn redemption_sigs(&self, redemption: &MutualRedemption) -> (Bytes, Bytes) {
        (
            sign_redemption(&self.node.signer(SHORT), self.chain_id, redemption).unwrap(),
            sign_redemption(&self.node.signer(LONG), self.chain_id, redemption).unwrap(),
        )
    }

    async fn redemption(
        &self,
        hedge: Address,
        kind: RedemptionKind,
        price: u32,
        short_sats: u64,
        long_sats: u64,
    ) -> MutualRedemption {
        MutualRedemption {
            hedge,
            kind: kind as u8,
            price,
            shortSats: short_sats,
            longSats: long_sats,
            deadline: U256::from(self.now().await + 3600),
        }
    }

    async fn redeem_error(
        &self,
        r: &MutualRedemption,
        sigs: (Bytes, Bytes),
    ) -> HedgeContractErrors {
        let h = self.hedge(r.hedge, KEEPER);
        hedge_error(
            h.mutualRedeem(
                r.kind,
                r.price,
                r.shortSats,
                r.longSats,
                r.deadline,
                sigs.0,
                sigs.1,
            )
            .call_raw()
            .await,
        )
    }

    async fn state(&self, hedge: Address) -> (bool, bool, bool, bool) {
        let s = self.hedge(hedge, KEEPER).state().call().await.unwrap();
        (s.shortFunded, s.longFunded, s.live, s.settled)
    }

    /// The factory's validation error for `params`.
    async fn create_error(&self, params: Params) -> HedgeFactoryErrors {
        let err = self
            .factory(KEEPER)
            .create(params)
            .call_raw()
            .await
            .expect_err("create must revert");
        err.as_decoded_interface_error::<HedgeFactoryErrors>()
            .unwrap_or_else(|| panic!("not a HedgeFactory error: {err}"))
    }
}

fn hedge_error<T: std::fmt::Debug>(
    result: Result<T, alloy::contract::Error>,
) -> HedgeContractErrors {
    let err = result.expect_err("the call must revert");
    err.as_decoded_interface_error::<HedgeContractErrors>()
        .unwrap_or_else(|| panic!("not a HedgeContract error: {err}"))
}

fn hedge_events(receipt: &TransactionReceipt) -> Vec<HedgeContract::HedgeContractEvents> {
    receipt
        .logs()
        .iter()
        .filter_map(|log| HedgeContract::HedgeContractEvents::decode_log(&log.inner).ok())
        .map(|log| log.data)
        .collect()
}

fn settled_event(receipt: &TransactionReceipt) -> HedgeContract::Settled {
    receipt
        .logs()
        .iter()
        .find_map(|log| HedgeContract::Settled::decode_log(&log.inner).ok())
        .expect("Settled")
        .data
}

// ---------------------------------------------------------------------------------------
// Deployment, prediction and funding

#[tokio::test]
async fn devnet_deploys_and_records_wbch_and_the_factory() {
    let env = Env::start().await;
    let found = devnet_anyhedge::recorded(&env.store, env.chain_id)
        .await
        .unwrap()
        .expect("both recorded");
    assert_eq!(found, env.contracts);
    let factory = env
        .store
        .deployment(env.chain_id, devnet_anyhedge::FACTORY)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(factory.artifact, "HedgeFactory");
    assert_ne!(factory.tx_hash, B256::ZERO);
    let collateral = env
        .store
        .deployment(env.chain_id, devnet_anyhedge::COLLATERAL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(collateral.artifact, "TestToken");
    let token = TestToken::new(env.contracts.collateral, env.node.provider());
    assert_eq!(token.name().call().await.unwrap(), "Wrapped BCH");
    assert_eq!(token.symbol().call().await.unwrap(), "WBCH");
    assert_eq!(token.decimals().call().await.unwrap(), 8);
    assert_eq!(token.owner().call().await.unwrap(), env.address(OWNER));
    assert_eq!(
        env.factory(KEEPER)
            .hedgeInitCodeHash()
            .call()
            .await
            .unwrap(),
        chain::hedge_init_code_hash()
    );
    assert_eq!(env.factory(KEEPER).DUST().call().await.unwrap(), DUST);
}

/// The vector, created and funded in one transaction from both parties' permits
/// (the keeper sends the desk's calldata), at the address predicted three ways.
#[tokio::test]
async fn vector_is_created_and_funded_in_one_transaction_at_the_predicted_address() {
    let env = Env::start().await;
    let params = env.vector().await;
    assert_eq!(
        (
            params.payoutSats,
            params.shortInputSats,
            params.longInputSats
        ),
        (PAYOUT, SHORT_IN, LONG_IN)
    );
    let local = predict_address(env.contracts.factory, &params);
    let on_chain = env
        .factory(KEEPER)
        .predict(params.clone())
        .call()
        .await
        .unwrap();
    assert_eq!(on_chain, local);
    let hedge = local;

    env.provide(SHORT, hedge, SHORT_IN).await;
    env.provide(LONG, hedge, LONG_IN + DUST).await;
    let deadline = env.now().await + 600;
    let short = sign_funding(
        &env.node.signer(SHORT),
        env.chain_id,
        hedge,
        &params,
        Side::Short,
        deadline,
    )
    .unwrap();
    let long = sign_funding(
        &env.node.signer(LONG),
        env.chain_id,
        hedge,
        &params,
        Side::Long,
        deadline,
    )
    .unwrap();
    let data = chain::create_and_fund_calldata(&params, &short, &long);
    let receipt = env.send_raw(KEEPER, env.contracts.factory, data).await;
    eprintln!("createAndFund gas: {}", receipt.gas_used);

    // The contract is where all three said, and it is what the factory's event names.
    let created = receipt
        .logs()
        .iter()
        .find_map(|log| HedgeFactory::HedgeCreated::decode_log(&log.inner).ok())
        .expect("HedgeCreated");
    assert_eq!(created.address, env.contracts.factory);
    assert_eq!(created.hedge, hedge);
    assert_eq!(created.shortParty, env.address(SHORT));
    assert_eq!(created.longParty, env.address(LONG));
    assert_eq!(created.paramsHash, chain::params_hash(&params));
    assert_eq!(
        created.paramsHash,
        keccak256(alloy::sol_types::SolValue::abi_encode(&params))
    );
    assert!(
        !env.node
            .provider()
            .get_code_at(hedge)
            .await
            .unwrap()
            .is_empty()
    );

    let events = hedge_events(&receipt);
    assert_eq!(
        events,
        vec![
            HedgeContract::HedgeContractEvents::Funded(HedgeContract::Funded {
                side: 0,
                party: env.address(SHORT),
                sats: SHORT_IN
            }),
            HedgeContract::HedgeContractEvents::Funded(HedgeContract::Funded {
                side: 1,
                party: env.address(LONG),
                sats: LONG_IN + DUST
            }),
            HedgeContract::HedgeContractEvents::Live(HedgeContract::Live {}),
        ]
    );
    assert_eq!(env.state(hedge).await, (true, true, true, false));
    assert_eq!(env.balance(hedge).await, PAYOUT + DUST);
    assert_eq!(env.balance(env.address(SHORT)).await, 0);
    assert_eq!(env.balance(env.address(LONG)).await, 0);

    let h = env.hedge(hedge, KEEPER);
    assert_eq!(Params::from(h.params().call().await.unwrap()), params);
    assert_eq!(h.factory().call().await.unwrap(), env.contracts.factory);
    assert_eq!(h.DUST().call().await.unwrap(), DUST);
    assert_eq!(h.fundingSats(0).call().await.unwrap(), SHORT_IN);
    assert_eq!(h.fundingSats(1).call().await.unwrap(), LONG_IN + DUST);
    assert_eq!(
        hedge_error(h.fundingSats(2).call().await),
        HedgeContractErrors::BadSide(HedgeContract::BadSide { side: 2 })
    );
    let at_12000 = h.payouts(12_000).call().await.unwrap();
    assert_eq!(
        (at_12000.shortSats, at_12000.longSats),
        (278_160_000, 202_531_244)
    );

    // The same terms cannot be created twice; the permits were used.
    assert_eq!(
        env.create_error(params.clone()).await,
        HedgeFactoryErrors::AlreadyCreated(HedgeFactory::AlreadyCreated { hedge })
    );
    assert_eq!(
        hedge_error(
            h.fundFor(0, short.deadline, short.signature.clone())
                .call_raw()
                .await
        ),
        HedgeContractErrors::PermitUsed(HedgeContract::PermitUsed {
            digest: chain::funding_signing_hash(
                env.chain_id,
                &chain::funding_permit(hedge, &params, Side::Short, short.deadline).unwrap()
            )
        })
    );
}

/// One bad permit and nothing happens: no contract, nobody's collateral moved.
#[tokio::test]
async fn create_and_fund_is_all_or_nothing() {
    let env = Env::start().await;
    let params = env.vector().await;
    let hedge = predict_address(env.contracts.factory, &params);
    env.provide(SHORT, hedge, SHORT_IN).await;
    env.provide(LONG, hedge, LONG_IN + DUST).await;
    let deadline = env.now().await + 600;
    let short = sign_funding(
        &env.node.signer(SHORT),
        env.chain_id,
        hedge,
        &params,
        Side::Short,
        deadline,
    )
    .unwrap();
    // The long's permit signed by someone else.
    let forged = sign_funding(
        &env.node.signer(STRANGER),
        env.chain_id,
        hedge,
        &params,
        Side::Long,
        deadline,
    )
    .unwrap();
    let factory = env.factory(KEEPER);
    let call = factory.createAndFund(
        params.clone(),
        short.deadline,
        short.signature.clone(),
        forged.deadline,
        forged.signature.clone(),
    );
    assert_eq!(
        hedge_error(call.call_raw().await),
        HedgeContractErrors::BadPartySignature(HedgeContract::BadPartySignature { side: 1 })
    );
    // Mined anyway (fixed gas, so no estimate fails), it reverts as a whole.
    let receipt = call
        .gas(3_000_000)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(!receipt.status());
    assert!(
        env.node
            .provider()
            .get_code_at(hedge)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(env.balance(env.address(SHORT)).await, SHORT_IN);
    assert_eq!(env.balance(env.address(LONG)).await, LONG_IN + DUST);

    // An expired permit is named as such; a permit for the wrong amount is a bad signature.
    let late = sign_funding(
        &env.node.signer(SHORT),
        env.chain_id,
        hedge,
        &params,
        Side::Short,
        env.now().await - 1,
    )
    .unwrap();
    assert!(matches!(
        hedge_error(
            factory
                .createAndFund(
                    params.clone(),
                    late.deadline,
                    late.signature,
                    forged.deadline,
                    forged.signature.clone()
                )
                .call_raw()
                .await
        ),
        HedgeContractErrors::PermitExpired(_)
    ));
    let wrong_amount = chain::Funding {
        sats: SHORT_IN - 1,
        ..chain::funding_permit(hedge, &params, Side::Short, short.deadline).unwrap()
    };
    let wrong_sig = chain::sign_digest(
        &env.node.signer(SHORT),
        chain::funding_signing_hash(env.chain_id, &wrong_amount),
    )
    .unwrap();
    assert_eq!(
        hedge_error(
            factory
                .createAndFund(
                    params.clone(),
                    short.deadline,
                    wrong_sig,
                    forged.deadline,
                    forged.signature
                )
                .call_raw()
                .await
        ),
        HedgeContractErrors::BadPartySignature(HedgeContract::BadPartySignature { side: 0 })
    );

    // Someone creates the contract first (anyone may): createAndFund still funds both sides
    // in one transaction, without creating it again.
    mined(env.factory(STRANGER).create(params.clone()), "create")
        .await
        .unwrap();
    let long = sign_funding(
        &env.node.signer(LONG),
        env.chain_id,
        hedge,
        &params,
        Side::Long,
        deadline,
    )
    .unwrap();
    let receipt = devnet_anyhedge::create_and_fund(
        &env.wallet(KEEPER),
        env.contracts.factory,
        &params,
        &short,
        &long,
    )
    .await
    .unwrap();
    assert!(
        receipt
            .logs()
            .iter()
            .all(|log| HedgeFactory::HedgeCreated::decode_log(&log.inner).is_err())
    );
    assert_eq!(env.state(hedge).await, (true, true, true, false));
    assert_eq!(env.balance(hedge).await, PAYOUT + DUST);
}

/// The parties fund themselves (`fund`), take it back before the contract is live
/// (`cancelFunding`), and a used permit cannot pull their collateral again.
#[tokio::test]
async fn parties_fund_and_cancel_before_live() {
    let env = Env::start().await;
    let params = env.vector().await;
    let receipt = mined(env.factory(KEEPER).create(params.clone()), "create")
        .await
        .unwrap();
    let hedge = predict_address(env.contracts.factory, &params);
    assert!(receipt.status());
    assert_eq!(env.state(hedge).await, (false, false, false, false));
    // Enough allowance for each party to fund twice.
    env.provide(SHORT, hedge, 2 * SHORT_IN).await;
    env.provide(LONG, hedge, 2 * (LONG_IN + DUST)).await;

    // Only the party funds its side, once.
    let as_long = env.hedge(hedge, LONG);
    assert_eq!(
        hedge_error(as_long.fund(0).call_raw().await),
        HedgeContractErrors::NotParty(HedgeContract::NotParty {
            side: 0,
            caller: env.address(LONG)
        })
    );
    assert_eq!(
        hedge_error(as_long.fund(7).call_raw().await),
        HedgeContractErrors::BadSide(HedgeContract::BadSide { side: 7 })
    );
    let as_short = env.hedge(hedge, SHORT);
    let receipt = mined(as_short.fund(0), "fund short").await.unwrap();
    assert_eq!(
        hedge_events(&receipt),
        vec![HedgeContract::HedgeContractEvents::Funded(
            HedgeContract::Funded {
                side: 0,
                party: env.address(SHORT),
                sats: SHORT_IN
            }
        )]
    );
    assert_eq!(env.state(hedge).await, (true, false, false, false));
    assert_eq!(
        hedge_error(as_short.fund(0).call_raw().await),
        HedgeContractErrors::AlreadyFunded(HedgeContract::AlreadyFunded { side: 0 })
    );
    // Not live: nothing settles or redeems yet.
    let messages = env.pair(&params, params.maturityTimestamp, 10, 12_000);
    assert_eq!(
        env.settle_error(hedge, &messages).await,
        HedgeContractErrors::NotLive(HedgeContract::NotLive {})
    );

    // The short takes its funding back; the long cannot cancel what it has not funded.
    assert_eq!(
        hedge_error(as_long.cancelFunding(0).call_raw().await),
        HedgeContractErrors::NotParty(HedgeContract::NotParty {
            side: 0,
            caller: env.address(LONG)
        })
    );
    assert_eq!(
        hedge_error(as_long.cancelFunding(1).call_raw().await),
        HedgeContractErrors::NotFunded(HedgeContract::NotFunded { side: 1 })
    );
    let receipt = mined(as_short.cancelFunding(0), "cancel").await.unwrap();
    assert_eq!(
        hedge_events(&receipt),
        vec![HedgeContract::HedgeContractEvents::FundingCancelled(
            HedgeContract::FundingCancelled {
                side: 0,
                party: env.address(SHORT),
                sats: SHORT_IN
            }
        )]
    );
    assert_eq!(env.balance(env.address(SHORT)).await, 2 * SHORT_IN);
    assert_eq!(env.balance(hedge).await, 0);
    assert_eq!(env.state(hedge).await, (false, false, false, false));

    // The long funds by permit (the keeper sends it), cancels, and the permit is spent.
    let permit = sign_funding(
        &env.node.signer(LONG),
        env.chain_id,
        hedge,
        &params,
        Side::Long,
        env.now().await + 600,
    )
    .unwrap();
    let as_keeper = env.hedge(hedge, KEEPER);
    mined(
        as_keeper.fundFor(1, permit.deadline, permit.signature.clone()),
        "fundFor long",
    )
    .await
    .unwrap();
    assert_eq!(env.state(hedge).await, (false, true, false, false));
    mined(as_long.cancelFunding(1), "cancel long")
        .await
        .unwrap();
    assert!(matches!(
        hedge_error(
            as_keeper
                .fundFor(1, permit.deadline, permit.signature.clone())
                .call_raw()
                .await
        ),
        HedgeContractErrors::PermitUsed(_)
    ));
    // A permit of one side does not fund the other.
    assert_eq!(
        hedge_error(
            as_keeper
                .fundFor(0, permit.deadline, permit.signature.clone())
                .call_raw()
                .await
        ),
        HedgeContractErrors::BadPartySignature(HedgeContract::BadPartySignature { side: 0 })
    );

    // Both fund themselves: live, and then nothing can be cancelled.
    mined(as_short.fund(0), "fund short again").await.unwrap();
    let receipt = mined(as_long.fund(1), "fund long").await.unwrap();
    assert!(matches!(
        hedge_events(&receipt).last(),
        Some(HedgeContract::HedgeContractEvents::Live(_))
    ));
    assert_eq!(env.state(hedge).await, (true, true, true, false));
    assert_eq!(env.balance(hedge).await, PAYOUT + DUST);
    assert_eq!(
        hedge_error(as_short.cancelFunding(0).call_raw().await),
        HedgeContractErrors::AlreadyLive(HedgeContract::AlreadyLive {})
    );
    assert_eq!(
        hedge_error(as_long.fund(1).call_raw().await),
        HedgeContractErrors::AlreadyFunded(HedgeContract::AlreadyFunded { side: 1 })
    );
}

#[tokio::test]
async fn funding_after_maturity_reverts() {
    let env = Env::start().await;
    let now = env.now().await;
    let params = Params {
        maturityTimestamp: now + 100,
        ..env.vector().await
    };
    mined(env.factory(KEEPER).create(params.clone()), "create")
        .await
        .unwrap();
    let hedge = predict_address(env.contracts.factory, &params);
    env.provide(SHORT, hedge, SHORT_IN).await;
    let permit = sign_funding(
        &env.node.signer(SHORT),
        env.chain_id,
        hedge,
        &params,
        Side::Short,
        now + 10 * DAY,
    )
    .unwrap();
    DevnetControl::new(env.node.provider())
        .advance(200)
        .await
        .unwrap();
    let err = hedge_error(env.hedge(hedge, SHORT).fund(0).call_raw().await);
    let HedgeContractErrors::FundingAfterMaturity(e) = err else {
        panic!("{err:?}")
    };
    assert_eq!(e.maturityTimestamp, params.maturityTimestamp);
    assert!(e.blockTimestamp >= U256::from(params.maturityTimestamp));
    assert!(matches!(
        hedge_error(
            env.hedge(hedge, KEEPER)
                .fundFor(0, permit.deadline, permit.signature)
                .call_raw()
                .await
        ),
        HedgeContractErrors::FundingAfterMaturity(_)
    ));
}

// ---------------------------------------------------------------------------------------
// Settlement

#[tokio::test]
async fn maturation_at_12000_pays_the_vector() {
    let env = Env::start().await;
    let params = env.vector().await;
    let hedge = env.open(&params).await;
    let messages = env.pair(&params, params.maturityTimestamp, 500, 12_000);
    let receipt = env.settle(hedge, &messages).await;
    eprintln!("settle gas: {}", receipt.gas_used);
    let settled = settled_event(&receipt);
    assert_eq!(
        settled,
        HedgeContract::Settled {
            kind: SettlementKind::Maturation as u8,
            price: 12_000,
            priceSequence: 500,
            messageSequence: 507,
            messageTimestamp: params.maturityTimestamp as u32,
            shortSats: 278_160_000,
            longSats: 202_531_244,
        }
    );
    // Both payouts are above DUST, so the long's posted DUST is the whole remainder.
    assert_eq!(env.balance(env.address(SHORT)).await, 278_160_000);
    assert_eq!(env.balance(env.address(LONG)).await, 202_531_244 + DUST);
    assert_eq!(env.balance(hedge).await, 0);
    assert_eq!(env.state(hedge).await, (true, true, true, true));

    // Once only, whatever the messages.
    assert_eq!(
        env.settle_error(hedge, &messages).await,
        HedgeContractErrors::AlreadySettled(HedgeContract::AlreadySettled {})
    );
    let r = env
        .redemption(hedge, RedemptionKind::Refund, 0, SHORT_IN, LONG_IN + DUST)
        .await;
    assert_eq!(
        env.redeem_error(&r, env.redemption_sigs(&r)).await,
        HedgeContractErrors::AlreadySettled(HedgeContract::AlreadySettled {})
    );
}

/// Matures from a message after maturity at an out-of-band price too (clamped), and in the
/// band from a message long after maturity.
#[tokio::test]
async fn maturation_clamps_and_accepts_late_messages() {
    let env = Env::start().await;
    let params = env.vector().await;
    let hedge = env.open(&params).await;
    let messages = env.pair(&params, params.maturityTimestamp + 5 * DAY, 9, 100_000);
    let receipt = env.settle(hedge, &messages).await;
    let settled = settled_event(&receipt);
    assert_eq!(settled.kind, SettlementKind::Maturation as u8);
    assert_eq!(settled.price, 100_000);
    assert_eq!(
        (settled.shortSats, settled.longSats),
        (76_250_000, PAYOUT - 76_250_000)
    );
    assert_eq!(env.balance(env.address(SHORT)).await, 76_250_000);
    assert_eq!(
        env.balance(env.address(LONG)).await,
        PAYOUT + DUST - 76_250_000
    );
}

#[tokio::test]
async fn liquidation_at_or_below_low_pays_the_short_everything() {
    let env = Env::start().await;
    let at_low = env.vector().await;
    let below = Params {
        startTimestamp: at_low.startTimestamp + 1,
        ..at_low.clone()
    };
    for (params, price) in [(at_low, LOW), (below, 5_000)] {
        let hedge = env.open(&params).await;
        let before = (
            env.balance(env.address(SHORT)).await,
            env.balance(env.address(LONG)).await,
        );
        let messages = env.pair(&params, params.startTimestamp + 3600, 77, price);
        let receipt = env.settle(hedge, &messages).await;
        let settled = settled_event(&receipt);
        assert_eq!(settled.kind, SettlementKind::Liquidation as u8, "{price}");
        assert_eq!(settled.price, price);
        assert_eq!((settled.shortSats, settled.longSats), (PAYOUT, DUST));
        // short + long is everything held: no remainder.
        assert_eq!(env.balance(env.address(SHORT)).await - before.0, PAYOUT);
        assert_eq!(env.balance(env.address(LONG)).await - before.1, DUST);
        assert_eq!(env.balance(hedge).await, 0);
    }
}

#[tokio::test]
async fn liquidation_at_or_above_high() {
    let env = Env::start().await;
    let at_high = env.vector().await;
    let above = Params {
        startTimestamp: at_high.startTimestamp + 1,
        ..at_high.clone()
    };
    for (params, price) in [(at_high, HIGH), (above, i32::MAX as u32)] {
        let hedge = env.open(&params).await;
        let before = (
            env.balance(env.address(SHORT)).await,
            env.balance(env.address(LONG)).await,
        );
        // The settlement message exactly at the start is allowed.
        let messages = env.pair(&params, params.startTimestamp, 3, price);
        let receipt = env.settle(hedge, &messages).await;
        let settled = settled_event(&receipt);
        assert_eq!(settled.kind, SettlementKind::Liquidation as u8, "{price}");
        // 3337920000000 / 43776 = 76250000 exactly.
        assert_eq!(
            (settled.shortSats, settled.longSats),
            (76_250_000, PAYOUT - 76_250_000)
        );
        assert_eq!(env.balance(env.address(SHORT)).await - before.0, 76_250_000);
        assert_eq!(
            env.balance(env.address(LONG)).await - before.1,
            PAYOUT - 76_250_000 + DUST
        );
    }
}

/// A leveraged contract (sats at high = nominal / high): at high the short keeps only DUST,
/// and the long gets the rest plus the remainder.
#[tokio::test]
async fn leveraged_contract_settles_with_sats_at_high() {
    let env = Env::start().await;
    let high = 21_888; // twice the start: 3337920000000 / 21888 = 152500000
    let t = terms(NOMINAL, START, LOW, high, true);
    assert_eq!(t.sats_for_nominal_units_at_high, 152_500_000);
    assert_eq!(t.payout_sats, PAYOUT - 152_500_000);
    assert_eq!(t.short_input_sats, SHORT_IN - 152_500_000);
    assert_eq!(t.long_input_sats, LONG_IN);
    let params = env.params(t).await;
    let hedge = env.open(&params).await;
    let held = params.payoutSats + DUST;
    assert_eq!(env.balance(hedge).await, held);
    let h = env.hedge(hedge, KEEPER);
    let mid = h.payouts(12_000).call().await.unwrap();
    assert_eq!(
        (mid.shortSats, mid.longSats),
        (278_160_000 - 152_500_000, 202_531_244)
    );

    let messages = env.pair(&params, params.startTimestamp + 60, 1_000, 30_000);
    let receipt = env.settle(hedge, &messages).await;
    let settled = settled_event(&receipt);
    assert_eq!(settled.kind, SettlementKind::Liquidation as u8);
    assert_eq!(
        (settled.shortSats, settled.longSats),
        (DUST, params.payoutSats - DUST)
    );
    assert_eq!(env.balance(env.address(SHORT)).await, DUST);
    assert_eq!(env.balance(env.address(LONG)).await, held - DUST);
    assert_eq!(env.balance(hedge).await, 0);

    // Another leveraged one matures in the band.
    let params = Params {
        startTimestamp: params.startTimestamp + 1,
        ..params
    };
    let hedge = env.open(&params).await;
    let before = (
        env.balance(env.address(SHORT)).await,
        env.balance(env.address(LONG)).await,
    );
    let messages = env.pair(&params, params.maturityTimestamp, 2_000, 15_000);
    let settled = settled_event(&env.settle(hedge, &messages).await);
    let (short, long) = reference_payouts(&params, 15_000);
    assert_eq!(settled.kind, SettlementKind::Maturation as u8);
    assert_eq!((settled.shortSats, settled.longSats), (short, long));
    assert_eq!(env.balance(env.address(SHORT)).await - before.0, short);
    assert_eq!(
        env.balance(env.address(LONG)).await - before.1,
        held - short
    );
}

/// The contract's `payouts` against the reference at random prices, simple and leveraged;
/// the sum never exceeds what the contract holds.
#[tokio::test]
async fn payouts_match_the_reference_at_random_prices() {
    let env = Env::start().await;
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let simple = env.vector().await;
    let leveraged = env.params(terms(NOMINAL, START, LOW, 21_888, true)).await;
    let tiny = env
        .params(terms(100_000_000, 1_000, 999, 1_000_000, false))
        .await;
    for params in [simple, leveraged, tiny] {
        let hedge = env.open(&params).await;
        let h = env.hedge(hedge, KEEPER);
        let mut prices: Vec<u32> = vec![
            1,
            params.lowPrice - 1,
            params.lowPrice,
            params.lowPrice + 1,
            params.startPrice,
            params.highPrice - 1,
            params.highPrice,
            params.highPrice + 1,
            u32::MAX,
        ];
        for _ in 0..60 {
            let r = rng.next();
            // Half near the band, half anywhere.
            let price = if r & 1 == 0 {
                let span = u64::from(params.highPrice - params.lowPrice) * 2;
                (u64::from(params.lowPrice) / 2 + (r >> 1) % span) as u32
            } else {
                ((r >> 1) % u64::from(u32::MAX)) as u32 + 1
            };
            prices.push(price);
        }
        for price in prices {
            let got = h.payouts(price).call().await.unwrap();
            let want = reference_payouts(&params, price);
            assert_eq!((got.shortSats, got.longSats), want, "price {price}");
            assert!(want.0 + want.1 <= params.payoutSats + DUST, "price {price}");
        }
    }
    // The tiny contract at a random in-band price: settled amounts are the reference's.
    let params = env
        .params(terms(100_000_000, 1_000, 999, 1_000_000, false))
        .await;
    let params = Params {
        startTimestamp: params.startTimestamp + 7,
        ..params
    };
    let hedge = env.open(&params).await;
    let price = 999 + (rng.next() % 999_000) as u32;
    let settled = settled_event(
        &env.settle(
            hedge,
            &env.pair(&params, params.maturityTimestamp, 42, price),
        )
        .await,
    );
    assert_eq!(
        (settled.shortSats, settled.longSats),
        reference_payouts(&params, price)
    );
}

/// Every rule `settle` enforces, each named by its error.
#[tokio::test]
async fn settle_reverts_name_the_broken_rule() {
    let env = Env::start().await;
    let params = env.vector().await;
    let hedge = env.open(&params).await;
    let maturity = params.maturityTimestamp;
    let good = env.pair(&params, maturity, 100, 12_000);

    // A forged settlement signature, a forged previous one.
    let forger = PrivateKeySigner::random();
    let mut forged = good.clone();
    let settlement: [u8; 16] = good[2].as_ref().try_into().unwrap();
    forged[3] = chain::sign_oracle_message(&forger, &settlement).unwrap();
    assert_eq!(
        env.settle_error(hedge, &forged).await,
        HedgeContractErrors::BadOracleSignature(HedgeContract::BadOracleSignature { which: 1 })
    );
    let mut forged = good.clone();
    let prev: [u8; 16] = good[0].as_ref().try_into().unwrap();
    forged[1] = chain::sign_oracle_message(&forger, &prev).unwrap();
    assert_eq!(
        env.settle_error(hedge, &forged).await,
        HedgeContractErrors::BadOracleSignature(HedgeContract::BadOracleSignature { which: 0 })
    );
    // The oracle's signature of another message, its malleable twin, a short one.
    let mut swapped = good.clone();
    swapped[3] = good[1].clone();
    assert_eq!(
        env.settle_error(hedge, &swapped).await,
        HedgeContractErrors::BadOracleSignature(HedgeContract::BadOracleSignature { which: 1 })
    );
    let sig = alloy::primitives::Signature::from_raw(&good[3]).unwrap();
    let order = U256::from_str_radix(
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
        16,
    )
    .unwrap();
    let twin = alloy::primitives::Signature::new(sig.r(), order - sig.s(), !sig.v());
    assert_eq!(
        twin.recover_address_from_prehash(&chain::oracle_message_digest(&good[2]))
            .unwrap(),
        env.oracle.address()
    );
    let mut malleable = good.clone();
    malleable[3] = Bytes::from(twin.as_bytes().to_vec());
    assert_eq!(
        env.settle_error(hedge, &malleable).await,
        HedgeContractErrors::BadOracleSignature(HedgeContract::BadOracleSignature { which: 1 })
    );
    let mut short_sig = good.clone();
    short_sig[3] = good[3].slice(..64);
    assert_eq!(
        env.settle_error(hedge, &short_sig).await,
        HedgeContractErrors::BadOracleSignature(HedgeContract::BadOracleSignature { which: 1 })
    );
    // v as 0/1 is accepted (checked on a copy of the state by eth_call).
    let mut low_v = good.clone();
    let mut bytes = good[3].to_vec();
    bytes[64] -= 27;
    low_v[3] = bytes.into();
    env.hedge(hedge, KEEPER)
        .settle(
            low_v[0].clone(),
            low_v[1].clone(),
            low_v[2].clone(),
            low_v[3].clone(),
        )
        .call()
        .await
        .expect("v = 0/1 settles");

    // A message that is not 16 bytes.
    let mut long_message = good.clone();
    let mut seventeen = good[2].to_vec();
    seventeen.push(0);
    long_message[3] = env.oracle_sign_raw(&seventeen);
    long_message[2] = seventeen.into();
    assert_eq!(
        env.settle_error(hedge, &long_message).await,
        HedgeContractErrors::BadMessageLength(HedgeContract::BadMessageLength {
            which: 1,
            length: U256::from(17u8)
        })
    );
    let mut short_prev = good.clone();
    short_prev[0] = good[0].slice(..15);
    short_prev[1] = env.oracle_sign_raw(&short_prev[0]);
    assert_eq!(
        env.settle_error(hedge, &short_prev).await,
        HedgeContractErrors::BadMessageLength(HedgeContract::BadMessageLength {
            which: 0,
            length: U256::from(15u8)
        })
    );

    // Price 0 and negative.
    for price in [0, -5] {
        let (prev, prev_sig) = env.signed(&message(maturity as i64 - 1, 1, 99, 12_000));
        let (msg, sig) = env.signed(&message(maturity as i64, 2, 100, price));
        assert_eq!(
            env.settle_error(hedge, &[prev, prev_sig, msg, sig]).await,
            HedgeContractErrors::NonPositivePrice(HedgeContract::NonPositivePrice { price })
        );
    }

    // Price sequences must be consecutive: a gap, the same one, backwards.
    for prev_seq in [98, 100, 101] {
        let (prev, prev_sig) = env.signed(&message(maturity as i64 - 1, 1, prev_seq, 12_000));
        let (msg, sig) = env.signed(&message(maturity as i64, 2, 100, 12_000));
        assert_eq!(
            env.settle_error(hedge, &[prev, prev_sig, msg, sig]).await,
            HedgeContractErrors::NotConsecutive(HedgeContract::NotConsecutive {
                prevPriceSequence: prev_seq,
                priceSequence: 100
            })
        );
    }

    // The previous message must be before maturity (at maturity is too late).
    for prev_ts in [maturity as i64, maturity as i64 + 10] {
        let (prev, prev_sig) = env.signed(&message(prev_ts, 1, 99, 12_000));
        let (msg, sig) = env.signed(&message(maturity as i64 + 20, 2, 100, 12_000));
        assert_eq!(
            env.settle_error(hedge, &[prev, prev_sig, msg, sig]).await,
            HedgeContractErrors::PrevNotBeforeMaturity(HedgeContract::PrevNotBeforeMaturity {
                prevMessageTimestamp: prev_ts as i32,
                maturityTimestamp: maturity
            })
        );
    }

    // The settlement message must not be before the start, even out of the band.
    let start = params.startTimestamp as i64;
    let (prev, prev_sig) = env.signed(&message(start - 20, 1, 99, 5_000));
    let (msg, sig) = env.signed(&message(start - 1, 2, 100, 5_000));
    assert_eq!(
        env.settle_error(hedge, &[prev, prev_sig, msg, sig]).await,
        HedgeContractErrors::SettlementBeforeStart(HedgeContract::SettlementBeforeStart {
            messageTimestamp: (start - 1) as i32,
            startTimestamp: params.startTimestamp
        })
    );

    // Before maturity, inside the band (just inside either bound): nothing to do.
    for price in [LOW + 1, START, HIGH - 1] {
        let messages = env.pair(&params, maturity - 1, 100, price);
        assert_eq!(
            env.settle_error(hedge, &messages).await,
            HedgeContractErrors::NotMaturedNorOutOfBounds(
                HedgeContract::NotMaturedNorOutOfBounds {
                    price,
                    low: LOW,
                    high: HIGH
                }
            )
        );
    }

    // None of it moved anything; the good pair still settles, and only once.
    assert_eq!(env.state(hedge).await, (true, true, true, false));
    env.settle(hedge, &good).await;
    assert_eq!(
        env.settle_error(hedge, &good).await,
        HedgeContractErrors::AlreadySettled(HedgeContract::AlreadySettled {})
    );
}

// ---------------------------------------------------------------------------------------
// Mutual redemption

#[tokio::test]
async fn mutual_refund_returns_what_each_posted() {
    let env = Env::start().await;
    let params = env.vector().await;
    let hedge = env.open(&params).await;

    // A refund must be exactly what was posted.
    let wrong = env
        .redemption(hedge, RedemptionKind::Refund, 0, SHORT_IN, LONG_IN)
        .await;
    assert_eq!(
        env.redeem_error(&wrong, env.redemption_sigs(&wrong)).await,
        HedgeContractErrors::RefundMismatch(HedgeContract::RefundMismatch {
            shortSats: SHORT_IN,
            longSats: LONG_IN,
            shortPosted: SHORT_IN,
            longPosted: LONG_IN + DUST
        })
    );

    let r = env
        .redemption(hedge, RedemptionKind::Refund, 0, SHORT_IN, LONG_IN + DUST)
        .await;
    let (short_sig, long_sig) = env.redemption_sigs(&r);
    // The desk checks a submitted signature the way the contract will.
    let digest = chain::redemption_signing_hash(env.chain_id, &r);
    chain::check_signature(digest, &short_sig, env.address(SHORT)).unwrap();
    assert!(chain::check_signature(digest, &short_sig, env.address(LONG)).is_err());

    let data = chain::mutual_redeem_calldata(&r, &short_sig, &long_sig);
    let receipt = env.send_raw(KEEPER, hedge, data).await;
    assert_eq!(
        hedge_events(&receipt),
        vec![HedgeContract::HedgeContractEvents::MutuallyRedeemed(
            HedgeContract::MutuallyRedeemed {
                kind: 0,
                price: 0,
                shortSats: SHORT_IN,
                longSats: LONG_IN + DUST
            }
        )]
    );
    assert_eq!(env.balance(env.address(SHORT)).await, SHORT_IN);
    assert_eq!(env.balance(env.address(LONG)).await, LONG_IN + DUST);
    assert_eq!(env.balance(hedge).await, 0);
    assert_eq!(env.state(hedge).await, (true, true, true, true));
    assert_eq!(
        env.settle_error(
            hedge,
            &env.pair(&params, params.maturityTimestamp, 5, 12_000)
        )
        .await,
        HedgeContractErrors::AlreadySettled(HedgeContract::AlreadySettled {})
    );
}

#[tokio::test]
async fn mutual_early_maturation_pays_settlement_math_inside_the_band_only() {
    let env = Env::start().await;
    let params = env.vector().await;
    let hedge = env.open(&params).await;

    // Outside the band, or on a bound, it is a settlement's job, not a redemption's.
    for price in [LOW, LOW - 1, HIGH, 50_000] {
        let (s, l) = reference_payouts(&params, price);
        let r = env
            .redemption(hedge, RedemptionKind::EarlyMaturation, price, s, l)
            .await;
        assert_eq!(
            env.redeem_error(&r, env.redemption_sigs(&r)).await,
            HedgeContractErrors::PriceNotInsideBounds(HedgeContract::PriceNotInsideBounds {
                price,
                low: LOW,
                high: HIGH
            })
        );
    }
    // Payouts other than the math's.
    let r = env
        .redemption(
            hedge,
            RedemptionKind::EarlyMaturation,
            12_000,
            278_160_001,
            202_531_243,
        )
        .await;
    assert_eq!(
        env.redeem_error(&r, env.redemption_sigs(&r)).await,
        HedgeContractErrors::RedemptionMismatch(HedgeContract::RedemptionMismatch {
            shortSats: 278_160_001,
            longSats: 202_531_243,
            expectedShort: 278_160_000,
            expectedLong: 202_531_244
        })
    );

    let r = env
        .redemption(
            hedge,
            RedemptionKind::EarlyMaturation,
            12_000,
            278_160_000,
            202_531_244,
        )
        .await;
    let sigs = env.redemption_sigs(&r);
    // A rejected signature: the long's signed by the short, or the short's by a stranger,
    // or over other terms.
    assert_eq!(
        env.redeem_error(&r, (sigs.0.clone(), sigs.0.clone())).await,
        HedgeContractErrors::BadPartySignature(HedgeContract::BadPartySignature { side: 1 })
    );
    let stranger = sign_redemption(&env.node.signer(STRANGER), env.chain_id, &r).unwrap();
    assert_eq!(
        env.redeem_error(&r, (stranger, sigs.1.clone())).await,
        HedgeContractErrors::BadPartySignature(HedgeContract::BadPartySignature { side: 0 })
    );
    let later = MutualRedemption {
        deadline: r.deadline + U256::from(1u8),
        ..r.clone()
    };
    assert_eq!(
        env.redeem_error(&later, sigs.clone()).await,
        HedgeContractErrors::BadPartySignature(HedgeContract::BadPartySignature { side: 0 })
    );
    // Signed for another chain.
    let other_chain = (
        sign_redemption(&env.node.signer(SHORT), env.chain_id + 1, &r).unwrap(),
        sigs.1.clone(),
    );
    assert_eq!(
        env.redeem_error(&r, other_chain).await,
        HedgeContractErrors::BadPartySignature(HedgeContract::BadPartySignature { side: 0 })
    );
    // An expired permit.
    let expired = MutualRedemption {
        deadline: U256::from(env.now().await - 1),
        ..r.clone()
    };
    assert!(matches!(
        env.redeem_error(&expired, env.redemption_sigs(&expired))
            .await,
        HedgeContractErrors::PermitExpired(_)
    ));

    let h = env.hedge(hedge, STRANGER);
    let receipt = mined(
        h.mutualRedeem(
            r.kind,
            r.price,
            r.shortSats,
            r.longSats,
            r.deadline,
            sigs.0.clone(),
            sigs.1.clone(),
        ),
        "mutualRedeem",
    )
    .await
    .unwrap();
    assert_eq!(
        hedge_events(&receipt),
        vec![HedgeContract::HedgeContractEvents::MutuallyRedeemed(
            HedgeContract::MutuallyRedeemed {
                kind: 1,
                price: 12_000,
                shortSats: 278_160_000,
                longSats: 202_531_244
            }
        )]
    );
    assert_eq!(env.balance(env.address(SHORT)).await, 278_160_000);
    assert_eq!(env.balance(env.address(LONG)).await, 202_531_244 + DUST);
    assert_eq!(env.balance(hedge).await, 0);
    // Replaying it changes nothing.
    assert_eq!(
        env.redeem_error(&r, sigs).await,
        HedgeContractErrors::AlreadySettled(HedgeContract::AlreadySettled {})
    );
}

#[tokio::test]
async fn mutual_split_divides_everything_held() {
    let env = Env::start().await;
    let params = env.vector().await;
    let hedge = env.open(&params).await;
    let held = PAYOUT + DUST;

    for (short, long) in [(1, held - 2), (held, 1), (0, 0)] {
        let r = env
            .redemption(hedge, RedemptionKind::Split, 0, short, long)
            .await;
        assert_eq!(
            env.redeem_error(&r, env.redemption_sigs(&r)).await,
            HedgeContractErrors::SplitMismatch(HedgeContract::SplitMismatch {
                shortSats: short,
                longSats: long,
                held
            })
        );
    }
    let r = env
        .redemption(hedge, RedemptionKind::Split, 0, 3, held - 3)
        .await;
    let bad_kind = MutualRedemption {
        kind: 3,
        ..r.clone()
    };
    assert_eq!(
        env.redeem_error(&bad_kind, env.redemption_sigs(&bad_kind))
            .await,
        HedgeContractErrors::BadRedemptionKind(HedgeContract::BadRedemptionKind { kind: 3 })
    );
    let (short_sig, long_sig) = env.redemption_sigs(&r);
    env.send_raw(
        KEEPER,
        hedge,
        chain::mutual_redeem_calldata(&r, &short_sig, &long_sig),
    )
    .await;
    assert_eq!(env.balance(env.address(SHORT)).await, 3);
    assert_eq!(env.balance(env.address(LONG)).await, held - 3);
    assert_eq!(env.balance(hedge).await, 0);
    assert_eq!(env.state(hedge).await, (true, true, true, true));
}

#[tokio::test]
async fn redemption_needs_a_live_contract() {
    let env = Env::start().await;
    let params = env.vector().await;
    mined(env.factory(KEEPER).create(params.clone()), "create")
        .await
        .unwrap();
    let hedge = predict_address(env.contracts.factory, &params);
    let r = env
        .redemption(hedge, RedemptionKind::Refund, 0, SHORT_IN, LONG_IN + DUST)
        .await;
    assert_eq!(
        env.redeem_error(&r, env.redemption_sigs(&r)).await,
        HedgeContractErrors::NotLive(HedgeContract::NotLive {})
    );
}

// ---------------------------------------------------------------------------------------
// The factory's validation

#[tokio::test]
async fn factory_refuses_inconsistent_terms_naming_the_bound() {
    let env = Env::start().await;
    let good = env.vector().await;
    let lev = env.params(terms(NOMINAL, START, LOW, 21_888, true)).await;
    use HedgeFactory as F;
    use HedgeFactoryErrors as E;
    let with = |f: &dyn Fn(&mut Params)| {
        let mut p = good.clone();
        f(&mut p);
        p
    };

    let cases: Vec<(Params, E)> = vec![
        (
            with(&|p| p.shortParty = Address::ZERO),
            E::ZeroParty(F::ZeroParty {}),
        ),
        (
            with(&|p| p.longParty = Address::ZERO),
            E::ZeroParty(F::ZeroParty {}),
        ),
        (
            with(&|p| p.longParty = p.shortParty),
            E::SameParties(F::SameParties {
                party: good.shortParty,
            }),
        ),
        (
            with(&|p| p.oracle = Address::ZERO),
            E::ZeroOracle(F::ZeroOracle {}),
        ),
        (
            with(&|p| p.collateral = env.address(STRANGER)),
            E::CollateralNotAContract(F::CollateralNotAContract {
                collateral: env.address(STRANGER),
            }),
        ),
        (
            with(&|p| p.maturityTimestamp = p.startTimestamp),
            E::MaturityNotAfterStart(F::MaturityNotAfterStart {
                startTimestamp: good.startTimestamp,
                maturityTimestamp: good.startTimestamp,
            }),
        ),
        (
            with(&|p| p.lowPrice = 0),
            E::LowPriceZero(F::LowPriceZero {}),
        ),
        (
            with(&|p| p.lowPrice = START),
            E::LowNotBelowStart(F::LowNotBelowStart {
                low: START,
                start: START,
            }),
        ),
        (
            with(&|p| p.highPrice = START),
            E::StartNotBelowHigh(F::StartNotBelowHigh {
                start: START,
                high: START,
            }),
        ),
        (
            with(&|p| p.highPrice = 1 << 31),
            E::HighAboveMaxPrice(F::HighAboveMaxPrice {
                high: 1 << 31,
                maxPrice: i32::MAX as u32,
            }),
        ),
        (
            with(&|p| p.nominalUnitsXSatsPerBch = 99_999_999),
            E::NominalBelowMinimum(F::NominalBelowMinimum {
                nominalUnitsXSatsPerBch: 99_999_999,
                minimum: 100_000_000,
            }),
        ),
        (
            with(&|p| p.payoutSats += 1),
            E::PayoutMismatch(F::PayoutMismatch {
                payoutSats: PAYOUT + 1,
                expected: PAYOUT,
            }),
        ),
        (
            with(&|p| p.shortInputSats -= 1),
            E::ShortInputMismatch(F::ShortInputMismatch {
                shortInputSats: SHORT_IN - 1,
                expected: SHORT_IN,
            }),
        ),
        (
            with(&|p| p.longInputSats += 1),
            E::LongInputMismatch(F::LongInputMismatch {
                longInputSats: LONG_IN + 1,
                expected: LONG_IN,
            }),
        ),
        (
            Params {
                satsForNominalUnitsAtHigh: lev.satsForNominalUnitsAtHigh - 1,
                ..lev.clone()
            },
            E::SatsAtHighMismatch(F::SatsAtHighMismatch {
                satsForNominalUnitsAtHigh: lev.satsForNominalUnitsAtHigh - 1,
                expected: lev.satsForNominalUnitsAtHigh,
            }),
        ),
    ];
    for (params, want) in cases {
        assert_eq!(env.create_error(params.clone()).await, want, "{params:?}");
    }

    // Payout below DUST: 1e8 nominal at low 100000 pays 1000 sats.
    let dusty = env
        .params(terms(100_000_000, 100_001, 100_000, 200_000, false))
        .await;
    assert_eq!(dusty.payoutSats, 1_000);
    assert_eq!(
        env.create_error(dusty).await,
        E::PayoutBelowDust(F::PayoutBelowDust { payoutSats: 1_000 })
    );
    // Leveraged with fewer than 500 sats at high: 1e8 / 250000 = 400.
    let thin = env
        .params(terms(100_000_000, 1_000, 500, 250_000, true))
        .await;
    assert_eq!(thin.satsForNominalUnitsAtHigh, 400);
    assert_eq!(
        env.create_error(thin).await,
        E::SatsAtHighBelowMinimum(F::SatsAtHighBelowMinimum {
            satsForNominalUnitsAtHigh: 400,
            minimum: 500,
        })
    );
    // Collateral with other than 8 decimals.
    let usdc = TestToken::deploy(
        env.wallet(OWNER),
        "USD Coin".into(),
        "USDC".into(),
        6,
        U256::ZERO,
    )
    .await
    .unwrap();
    assert_eq!(
        env.create_error(Params {
            collateral: *usdc.address(),
            ..good.clone()
        })
        .await,
        E::CollateralNotEightDecimals(F::CollateralNotEightDecimals {
            collateral: *usdc.address(),
            decimals: 6,
        })
    );

    // The good terms and a leveraged one pass, and nothing else was created.
    env.factory(KEEPER)
        .validate(good.clone())
        .call()
        .await
        .unwrap();
    env.factory(KEEPER).validate(lev).call().await.unwrap();
    assert!(
        env.node
            .provider()
            .get_code_at(predict_address(env.contracts.factory, &good))
            .await
            .unwrap()
            .is_empty()
    );

    // The created contract takes its terms from the factory only, once.
    mined(env.factory(KEEPER).create(good.clone()), "create")
        .await
        .unwrap();
    let hedge = predict_address(env.contracts.factory, &good);
    assert_eq!(
        hedge_error(
            env.hedge(hedge, KEEPER)
                .initialize(good.clone().into())
                .call_raw()
                .await
        ),
        HedgeContractErrors::NotFactory(HedgeContract::NotFactory {
            caller: env.address(KEEPER)
        })
    );
}

// The desk's reader

/// The funding `read` found for `hedge` matches what `createAndFund` posted.
async fn assert_funding(
    env: &Env,
    provider: &alloy::providers::RootProvider,
    logs: &hedgedesk::anyhedge::desk::onchain::ContractLogs,
    params: &Params,
) {
    let funding = logs.funding(provider).await.unwrap().expect("funded");
    assert_eq!(
        (funding.short_sats, funding.long_sats),
        (
            chain::funding_sats(params, Side::Short).unwrap(),
            chain::funding_sats(params, Side::Long).unwrap()
        )
    );
    let tx = provider
        .get_transaction_receipt(funding.tx_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        tx.to,
        Some(env.contracts.factory),
        "made live by createAndFund"
    );
    assert_eq!(funding.block_number, tx.block_number);
    assert_eq!(
        funding.gas_fee_wei,
        Some(U256::from(tx.gas_used) * U256::from(tx.effective_gas_price))
    );
}

/// The AnyHedge desk's chain check: every contract's events in one `eth_getLogs` per range,
/// ranges no wider than the chain allows, each block read once (a later check reads only the
/// blocks since), a contract new to the desk read from its start, contracts that left the
/// view forgotten, and blocks without their confirmations left for later.
#[tokio::test]
async fn the_desks_event_log_reads_each_block_once_in_narrow_ranges() {
    use hedgedesk::anyhedge::desk::onchain::{
        ChainSettlement, EventLog, ReadLimits, first_block_at,
    };

    let env = Env::start().await;
    let provider = env.node.provider();
    let floor = provider.get_block_number().await.unwrap();
    let limits = ReadLimits {
        floor,
        chunk_blocks: 2,
        confirmations: 0,
    };
    let settled_params = env.vector().await;
    let settled = env.open(&settled_params).await;
    let stranger = env.address(STRANGER);
    let start = settled_params.startTimestamp;

    let mut log = EventLog::default();
    let calls = log
        .refresh(&provider, &[(settled, start), (stranger, start)], limits)
        .await
        .unwrap();
    let head = provider.get_block_number().await.unwrap();
    let from = first_block_at(&provider, start.saturating_sub(3_600), floor, head)
        .await
        .unwrap();
    assert_eq!(
        calls as u64,
        (head - from) / 2 + 1,
        "blocks {from}..={head} two at a time"
    );
    assert_funding(&env, &provider, log.logs(settled).unwrap(), &settled_params).await;
    let nothing = log.logs(stranger).expect("read, and it emitted nothing");
    assert_eq!(nothing.funding(&provider).await.unwrap(), None);
    assert_eq!(nothing.settlement().unwrap(), None);
    assert_eq!(
        log.refresh(&provider, &[(settled, start), (stranger, start)], limits)
            .await
            .unwrap(),
        0,
        "no new block, no read"
    );

    // A second contract, and the first settles: the next check reads the new blocks for the
    // first and the second's history; the stranger left the view.
    let live_params = env
        .params(terms(2 * NOMINAL, START, LOW, HIGH, false))
        .await;
    let live = env.open(&live_params).await;
    assert_ne!(settled, live);
    let receipt = env
        .settle(
            settled,
            &env.pair(
                &settled_params,
                settled_params.maturityTimestamp,
                500,
                12_000,
            ),
        )
        .await;
    let view = [(settled, start), (live, live_params.startTimestamp)];
    log.refresh(&provider, &view, limits).await.unwrap();
    assert_eq!(
        log.logs(settled).unwrap().settlement().unwrap(),
        Some(ChainSettlement::Settled {
            tx_hash: receipt.transaction_hash,
            event: settled_event(&receipt),
        })
    );
    assert_funding(&env, &provider, log.logs(settled).unwrap(), &settled_params).await;
    assert_funding(&env, &provider, log.logs(live).unwrap(), &live_params).await;
    assert_eq!(log.logs(live).unwrap().settlement().unwrap(), None);
    assert!(log.logs(stranger).is_none(), "forgotten once out of view");

    // Blocks without their confirmations are not read yet.
    let mut deep = EventLog::default();
    let unconfirmed = ReadLimits {
        confirmations: 1_000,
        ..limits
    };
    deep.refresh(&provider, &view, unconfirmed).await.unwrap();
    assert_eq!(
        deep.logs(live).unwrap().funding(&provider).await.unwrap(),
        None
    );

    // The search lands on the first block stamped at or after the time.
    let stamp = |n: u64| {
        let provider = provider.clone();
        async move {
            provider
                .get_block_by_number(BlockNumberOrTag::Number(n))
                .await
                .unwrap()
                .unwrap()
                .header
                .timestamp
        }
    };
    let head = provider.get_block_number().await.unwrap();
    for n in [floor, (floor + head) / 2, head] {
        let t = stamp(n).await;
        let first = first_block_at(&provider, t, floor, head).await.unwrap();
        assert!(first <= n && stamp(first).await == t, "{n}: {first}");
        assert!(first == floor || stamp(first - 1).await < t, "{n}: {first}");
    }
    assert_eq!(
        first_block_at(&provider, stamp(head).await + 1, floor, head)
            .await
            .unwrap(),
        head + 1,
        "none yet"
    );
}
