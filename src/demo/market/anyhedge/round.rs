//! One round as the two wallets play it over the API, the way the integration tests do:
//! the maker posts an offer, the taker finds it with `find_match`, accepts it and settles it
//! into a hedge position, and both approve the contract's address and submit signed funding
//! permits; the desk then funds the contract and later settles it. And, now and then, both
//! sign an early maturation of a live contract, which waits for the operator.

use alloy::primitives::{Address, U256};
use anyhow::Context;
use serde_json::{Value, json};

use super::api::Api;
use super::plan::{self, Round, multiplier};
use super::wire::{number, params_of};
use crate::anyhedge::chain::{self, MutualRedemption, Params, RedemptionKind, Side};
use crate::chain::contracts::TestToken;
use crate::demo::market::MarketContext;
use crate::devnet::anyhedge::{COLLATERAL, approve_hedge, sign_funding, sign_redemption};

/// The actor's two wallets (dev accounts).
pub const WALLETS: [usize; 2] = [16, 17];
/// Collateral minted to a wallet whenever it runs short: 50 BCH.
const TOP_UP_SATS: u64 = 5_000_000_000;
/// An early maturation is only proposed with this long left before maturity, so the
/// operator has time to approve it.
const REDEEM_MIN_LEFT_SECS: i64 = 45;
/// A contract past maturity by this long no longer counts as live (one whose funding never
/// happened stays unsettled for good).
const LIVE_GRACE_SECS: i64 = 60;

const OFFERS: &str = "/anyhedge/hedge-position-offers";
const POSITIONS: &str = "/anyhedge/hedge-position";

pub fn wallet_hash(dev: usize) -> String {
    format!("demo-anyhedge-{dev}")
}

/// What a round works with.
pub struct Desk<'a> {
    pub ctx: &'a MarketContext,
    pub api: Api,
    pub oracle_pubkey: String,
    pub collateral: Address,
}

impl Desk<'_> {
    fn party(&self, address: Address) -> anyhow::Result<usize> {
        WALLETS
            .into_iter()
            .find(|&i| self.ctx.address_of(i) == address)
            .with_context(|| format!("{address} is not one of the actor's wallets"))
    }

    /// Mints the wallet another top-up when it holds less than `sats`.
    pub async fn ensure_collateral(&self, dev: usize, sats: u64) -> anyhow::Result<()> {
        let holder = self.ctx.address_of(dev);
        let balance = TestToken::new(self.collateral, self.ctx.wallet(dev))
            .balanceOf(holder)
            .call()
            .await
            .context("the collateral balance")?;
        if balance < U256::from(sats) {
            self.ctx
                .mint(COLLATERAL, holder, U256::from(TOP_UP_SATS.max(sats)))
                .await?;
        }
        Ok(())
    }

    /// The actor's unsettled positions not long past maturity.
    pub async fn live(&self, now: i64) -> anyhow::Result<Vec<Value>> {
        let page = self
            .api
            .get(&format!(
                "{POSITIONS}/?wallet_hash={}&settled=false&limit=100",
                wallet_hash(WALLETS[0])
            ))
            .await?;
        Ok(page["results"]
            .as_array()
            .context("no results in the positions page")?
            .iter()
            .filter(|p| {
                number(p, "maturity_timestamp").is_ok_and(|m| m as i64 + LIVE_GRACE_SECS > now)
            })
            .cloned()
            .collect())
    }

    /// Cancels the wallets' offers a failed round left pending or accepted, so the next
    /// `find_match` finds the new one.
    async fn cancel_leftovers(&self) -> anyhow::Result<()> {
        for dev in WALLETS {
            let page = self
                .api
                .get(&format!(
                    "{OFFERS}/?wallet_hash={}&statuses=pending,accepted&limit=100",
                    wallet_hash(dev)
                ))
                .await?;
            for offer in page["results"].as_array().into_iter().flatten() {
                if let Some(id) = offer["id"].as_u64() {
                    self.cancel(id).await?;
                }
            }
        }
        Ok(())
    }

    async fn cancel(&self, id: u64) -> anyhow::Result<()> {
        self.api
            .post(&format!("{OFFERS}/{id}/cancel_hedge_request/"), &json!({}))
            .await?;
        Ok(())
    }

    /// Plays `round` to a contract the desk is asked to fund; returns its address.
    pub async fn open(&self, round: &Round) -> anyhow::Result<(Address, Params)> {
        self.cancel_leftovers().await?;
        let maker = WALLETS[round.maker];
        let offer = self
            .api
            .post(
                &format!("{OFFERS}/"),
                &json!({
                    "position": round.side.as_str(),
                    "wallet_hash": wallet_hash(maker),
                    "address": self.ctx.address_of(maker).to_string(),
                    "satoshis": round.satoshis,
                    "duration_seconds": round.duration_secs,
                    "low_liquidation_multiplier": multiplier(round.low_permille),
                    "high_liquidation_multiplier": multiplier(round.high_permille),
                    "oracle_pubkey": self.oracle_pubkey,
                }),
            )
            .await?;
        let id = offer["id"].as_u64().context("the new offer has no id")?;
        match self.take(round, id).await {
            Ok(opened) => Ok(opened),
            Err(e) => {
                if let Err(c) = self.cancel(id).await {
                    tracing::debug!(actor = "anyhedge", offer = id, error = %format!("{c:#}"), "offer not cancelled");
                }
                Err(e.context(format!("offer {id}")))
            }
        }
    }

    async fn take(&self, round: &Round, id: u64) -> anyhow::Result<(Address, Params)> {
        let taker = WALLETS[round.taker()];
        let found = self
            .api
            .post(
                &format!("{OFFERS}/find_match/"),
                &json!({
                    "wallet_hash": wallet_hash(taker),
                    "position": round.side.opposite().as_str(),
                    "satoshis": round.taker_satoshis(),
                    "duration_seconds": round.duration_secs,
                    "low_liquidation_multiplier": multiplier(round.low_permille),
                    "high_liquidation_multiplier": multiplier(round.high_permille),
                    "oracle_pubkey": self.oracle_pubkey,
                }),
            )
            .await?;
        anyhow::ensure!(
            found["matching_position_offer"]["id"].as_u64() == Some(id),
            "find_match did not find it: {}",
            found["matching_position_offer"]
        );
        let accepted = self
            .api
            .post(
                &format!("{OFFERS}/{id}/accept_offer/"),
                &json!({
                    "wallet_hash": wallet_hash(taker),
                    "address": self.ctx.address_of(taker).to_string(),
                }),
            )
            .await?;
        anyhow::ensure!(
            accepted["status"] == "accepted",
            "not accepted: {}",
            accepted["status"]
        );
        let position = self
            .api
            .post(&format!("{OFFERS}/{id}/settle_offer/"), &json!({}))
            .await?;
        let (hedge, params) = params_of(&position)?;
        anyhow::ensure!(
            params.collateral == self.collateral,
            "the contract holds {}, not the demo's collateral",
            params.collateral
        );
        for side in [Side::Short, Side::Long] {
            self.fund(hedge, &params, side).await?;
        }
        Ok((hedge, params))
    }

    /// `side`'s party holds and approves its funding and submits its signed permit, valid
    /// until maturity (after which the contract refuses funding anyway).
    async fn fund(&self, hedge: Address, params: &Params, side: Side) -> anyhow::Result<()> {
        let party = self.party(match side {
            Side::Short => params.shortParty,
            Side::Long => params.longParty,
        })?;
        let sats = chain::funding_sats(params, side).context("the long's funding overflows")?;
        self.ensure_collateral(party, sats).await?;
        approve_hedge(&self.ctx.wallet(party), self.collateral, hedge, sats).await?;
        let deadline = params.maturityTimestamp;
        let signed = sign_funding(
            &self.ctx.keys[party],
            self.ctx.chain_id,
            hedge,
            params,
            side,
            deadline,
        )?;
        self.api
            .post(
                &format!("{POSITIONS}/submit_funding_proposal/"),
                &json!({
                    "address": hedge.to_string(),
                    "position": side.as_str(),
                    "signature": signed.signature.to_string(),
                    "deadline": deadline,
                }),
            )
            .await?;
        Ok(())
    }

    /// Both parties of the funded contract with the most time left sign an early
    /// maturation at `price`; the desk proposes it for the operator. `None` when no
    /// contract qualifies.
    pub async fn propose_redemption(
        &self,
        live: &[Value],
        now: i64,
        price: u32,
    ) -> anyhow::Result<Option<(Address, u32)>> {
        let candidate = live
            .iter()
            .filter(|p| p["funding_tx_hash"].is_string() && p["mutual_redemption"].is_null())
            .filter_map(|p| Some((number(p, "maturity_timestamp").ok()? as i64, p)))
            .filter(|(maturity, _)| maturity - now >= REDEEM_MIN_LEFT_SECS)
            .max_by_key(|(maturity, _)| *maturity);
        let Some((_, position)) = candidate else {
            return Ok(None);
        };
        let (hedge, params) = params_of(position)?;
        let Some((short_sats, long_sats)) = plan::early_maturation(&params, price) else {
            return Ok(None);
        };
        let deadline = params.maturityTimestamp;
        let permit = MutualRedemption {
            hedge,
            kind: RedemptionKind::EarlyMaturation as u8,
            price,
            shortSats: short_sats,
            longSats: long_sats,
            deadline: U256::from(deadline),
        };
        for (party, field) in [
            (params.shortParty, "short_signature"),
            (params.longParty, "long_signature"),
        ] {
            let signer = &self.ctx.keys[self.party(party)?];
            let signature = sign_redemption(signer, self.ctx.chain_id, &permit)?;
            let mut body = json!({
                "redemption_type": "early_maturation",
                "settlement_price": price,
                "short_satoshis": short_sats,
                "long_satoshis": long_sats,
                "deadline": deadline,
            });
            body[field] = json!(signature.to_string());
            self.api
                .post(&format!("{POSITIONS}/{hedge}/mutual_redemption/"), &body)
                .await?;
        }
        Ok(Some((hedge, price)))
    }
}
