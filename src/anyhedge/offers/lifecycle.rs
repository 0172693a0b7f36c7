//! An offer's life: pending → accepted (a counterparty, the oracle's latest price as the
//! start, the contract computed) → settled into a hedge position before the settlement
//! deadline, or back to pending when the deadline passes ([`OfferBook::sweep_expired_deadlines`],
//! which the desk runs on a schedule). Cancelled from pending or accepted.
//!
//! Each transition is checked here for a clear refusal and again inside the store's
//! transaction, so concurrent calls cannot both succeed. Every change is published to the
//! wallets involved.

use alloy::primitives::{Address, U256};
use serde_json::json;

use crate::anyhedge::chain::{
    self, HedgeParties, HedgeTerms, Params, Side, SignatureCheckError, build_params,
    funding_permit, funding_signing_hash, predict_address,
};
use crate::anyhedge::math::{self, ContractParameters, ContractTerms, CreateError};
use crate::anyhedge::message;
use crate::anyhedge::updates::Updates;
use crate::store::anyhedge::{
    Acceptance, CounterParty, FundingProposal, NewPosition, Offer, OfferStatus, Position,
    PositionMetadata, Refused, StartingMessage, SweptOffer,
};
use crate::store::{Store, StoreError};

/// The version recorded with every contract the offers make.
pub const CONTRACT_VERSION: &str = "AnyHedge v0.12 (EVM)";
/// How long an accepted offer has to settle, by default (the watchtower's 15 minutes).
pub const DEFAULT_SETTLEMENT_DEADLINE_SECS: u64 = 900;
/// How old the latest price may be to start a contract from it, by default (the
/// watchtower's "starting price is outdated" limit).
pub const DEFAULT_MAX_START_PRICE_AGE_SECS: u64 = 120;

/// The resource name of offer updates.
pub const OFFER_RESOURCE: &str = "hedge_position_offer";

/// What the offers need to know about the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfferSettings {
    pub chain_id: u64,
    /// The `HedgeFactory` that creates the contracts; unknown until deployed or configured.
    pub factory: Option<Address>,
    /// The ERC-20 the contracts hold.
    pub collateral: Option<Address>,
    pub settlement_deadline_secs: u64,
    pub max_start_price_age_secs: u64,
}

impl OfferSettings {
    pub fn new(chain_id: u64, factory: Option<Address>, collateral: Option<Address>) -> Self {
        OfferSettings {
            chain_id,
            factory,
            collateral,
            settlement_deadline_secs: DEFAULT_SETTLEMENT_DEADLINE_SECS,
            max_start_price_age_secs: DEFAULT_MAX_START_PRICE_AGE_SECS,
        }
    }
}

/// Why a transition did not happen. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum OfferError {
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error("the counterparty cannot be the offer's own wallet {0:?}")]
    OwnOffer(String),
    #[error("the hedge factory is not known yet (not deployed or not configured)")]
    NoFactory,
    #[error("the collateral token is not known yet (not deployed or not configured)")]
    NoCollateral,
    #[error("oracle {pubkey}: {reason}")]
    BadOracleKey { pubkey: String, reason: String },
    #[error("no price message of oracle {0} is stored yet")]
    NoPrice(String),
    #[error(
        "the latest price of oracle {pubkey} is from {timestamp}, {age}s ago; a start price may be at most {max}s old"
    )]
    StalePrice {
        pubkey: String,
        timestamp: i64,
        age: i64,
        max: u64,
    },
    #[error("the contract cannot be created from these terms: {0}")]
    Terms(#[from] CreateError),
    #[error("the contract cannot be created: {0}")]
    Contract(String),
    #[error("{field}: {reason}")]
    Funding { field: &'static str, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Who accepts an offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptRequest {
    pub wallet_hash: String,
    pub address: Address,
}

/// A party's funding permit as submitted: a signature over `Funding(hedge, side, sats,
/// deadline)` for the contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedFundingProposal {
    pub signature: Vec<u8>,
    pub deadline: u64,
}

/// Checks `side`'s permit for the contract at `hedge` with `params` (the signer must be
/// that side's party, the deadline in the future) and returns it as stored: the sats the
/// contract will pull (`shortInputSats`, or `longInputSats + DUST`).
pub fn check_funding_proposal(
    chain_id: u64,
    hedge: Address,
    params: &Params,
    side: Side,
    proposal: &SignedFundingProposal,
    now: i64,
) -> Result<FundingProposal, OfferError> {
    let deadline = i64::try_from(proposal.deadline).map_err(|_| OfferError::Funding {
        field: "deadline",
        reason: format!("{} is too large", proposal.deadline),
    })?;
    if deadline <= now {
        return Err(OfferError::Funding {
            field: "deadline",
            reason: format!("{deadline} is not in the future (now {now})"),
        });
    }
    let permit =
        funding_permit(hedge, params, side, U256::from(proposal.deadline)).ok_or_else(|| {
            OfferError::Funding {
                field: "position",
                reason: "the long's funding overflows".into(),
            }
        })?;
    let sats = permit.sats;
    let expected = match side {
        Side::Short => params.shortParty,
        Side::Long => params.longParty,
    };
    chain::check_signature(
        funding_signing_hash(chain_id, &permit),
        &proposal.signature,
        expected,
    )
    .map_err(|e| OfferError::Funding {
        field: "signature",
        reason: signature_reason(&e, side),
    })?;
    Ok(FundingProposal {
        signature: format!("0x{}", hex::encode(&proposal.signature)),
        deadline: proposal.deadline,
        sats,
        submitted_at: now,
    })
}

/// A signature failure in words, naming the party it should have come from.
pub fn signature_reason(e: &SignatureCheckError, side: Side) -> String {
    match e {
        SignatureCheckError::WrongSigner {
            expected,
            recovered,
        } => format!(
            "signed by {recovered}, not by the {} party {expected}",
            side.as_str()
        ),
        other => other.to_string(),
    }
}

/// The short's input for an offer of `position` with `satoshis` at `price` (the watchtower's
/// `calculate_hedge_sats` for a long offer).
pub fn short_sats_for(
    position: Side,
    satoshis: u64,
    low_liquidation_multiplier: f64,
    price: u32,
) -> Result<u64, OfferError> {
    match position {
        Side::Short => Ok(satoshis),
        Side::Long => {
            let price = f64::from(price);
            let low_price = (price * low_liquidation_multiplier).round();
            let factor = price / low_price - 1.0;
            let short = (satoshis as f64 / factor).round();
            if !short.is_finite() || short < 1.0 || short >= u64::MAX as f64 {
                return Err(OfferError::Contract(format!(
                    "no short amount pairs with a long of {satoshis} sats at price {price} and low multiplier {low_liquidation_multiplier}"
                )));
            }
            Ok(short as u64)
        }
    }
}

/// The contract for a short input of `short_sats` starting at `start_price` at
/// `start_timestamp` and maturing `duration_seconds` later.
pub fn compute_terms(
    short_sats: u64,
    start_price: u32,
    start_timestamp: i64,
    duration_seconds: u64,
    low_liquidation_multiplier: f64,
    high_liquidation_multiplier: f64,
    leveraged: bool,
) -> Result<HedgeTerms, OfferError> {
    // The reference library takes the nominal amount as a number of units.
    let nominal_units = short_sats as f64 * f64::from(start_price) / 1e8;
    let parameters = math::create(&ContractTerms {
        nominal_units,
        start_price,
        low_mult: low_liquidation_multiplier,
        high_mult: high_liquidation_multiplier,
        leveraged,
    })?;
    let start_timestamp = u64::try_from(start_timestamp)
        .map_err(|_| OfferError::Contract(format!("start timestamp {start_timestamp}")))?;
    let maturity_timestamp = start_timestamp
        .checked_add(duration_seconds)
        .filter(|m| i64::try_from(*m).is_ok())
        .ok_or_else(|| OfferError::Contract("the maturity timestamp overflows".into()))?;
    Ok(HedgeTerms {
        start_timestamp,
        maturity_timestamp,
        start_price: parameters.start_price,
        low_price: parameters.low_price,
        high_price: parameters.high_price,
        nominal_units_x_sats_per_bch: parameters.nominal_units_x_sats_per_bch,
        sats_for_nominal_units_at_high: parameters.sats_for_nominal_units_at_high,
        payout_sats: parameters.payout_sats,
        short_input_sats: parameters.short_input_sats,
        long_input_sats: parameters.long_input_sats,
    })
}

/// The contract terms for `offer` at `start` (the start price message).
pub fn contract_terms(offer: &Offer, start: &StartingMessage) -> Result<HedgeTerms, OfferError> {
    let short_sats = short_sats_for(
        offer.position,
        offer.satoshis,
        offer.low_liquidation_multiplier,
        start.price,
    )?;
    compute_terms(
        short_sats,
        start.price,
        start.timestamp,
        offer.duration_seconds,
        offer.low_liquidation_multiplier,
        offer.high_liquidation_multiplier,
        offer.leveraged,
    )
}

/// The math's parameters of stored terms (for payouts).
pub fn parameters_of(terms: &HedgeTerms) -> ContractParameters {
    ContractParameters {
        start_price: terms.start_price,
        low_price: terms.low_price,
        high_price: terms.high_price,
        nominal_units_x_sats_per_bch: terms.nominal_units_x_sats_per_bch,
        sats_for_nominal_units_at_high: terms.sats_for_nominal_units_at_high,
        payout_sats: terms.payout_sats,
        short_input_sats: terms.short_input_sats,
        long_input_sats: terms.long_input_sats,
    }
}

/// The parties of the contract between `offer` and a counterparty at `counterparty`.
pub fn contract_parties(
    offer: &Offer,
    counterparty: Address,
    collateral: Address,
    oracle: Address,
) -> HedgeParties {
    let (short_party, long_party) = match offer.position {
        Side::Short => (offer.address, counterparty),
        Side::Long => (counterparty, offer.address),
    };
    HedgeParties {
        collateral,
        oracle,
        short_party,
        long_party,
    }
}

/// The offers, with the store and the updates hub they work through.
#[derive(Debug, Clone)]
pub struct OfferBook {
    pub store: Store,
    pub updates: Updates,
    pub settings: OfferSettings,
}

impl OfferBook {
    pub fn new(store: Store, updates: Updates, settings: OfferSettings) -> Self {
        OfferBook {
            store,
            updates,
            settings,
        }
    }

    fn publish(
        &self,
        offer: &Offer,
        counterparty_wallet: Option<&str>,
        action: &str,
        extra: serde_json::Value,
    ) {
        let mut meta = json!({"id": offer.id, "position": offer.position.as_str()});
        if let (Some(m), serde_json::Value::Object(extra)) = (meta.as_object_mut(), extra) {
            m.extend(extra);
        }
        let mut wallets = vec![offer.wallet_hash.clone()];
        if let Some(w) = counterparty_wallet {
            wallets.push(w.to_string());
        }
        self.updates
            .publish_to(wallets, OFFER_RESOURCE, action, meta);
    }

    async fn load(&self, id: i64) -> Result<Offer, OfferError> {
        self.store
            .anyhedge_offer(id)
            .await?
            .ok_or(OfferError::Refused(Refused::NoOffer(id)))
    }

    /// The oracle's latest stored message as a start, if fresh enough at `now`.
    async fn start_price(
        &self,
        oracle_pubkey: &str,
        now: i64,
    ) -> Result<StartingMessage, OfferError> {
        let latest = self
            .store
            .anyhedge_latest_price_message(oracle_pubkey)
            .await?
            .ok_or_else(|| OfferError::NoPrice(oracle_pubkey.to_string()))?;
        let timestamp = i64::from(latest.message_timestamp);
        let age = now - timestamp;
        if age > self.settings.max_start_price_age_secs as i64 {
            return Err(OfferError::StalePrice {
                pubkey: oracle_pubkey.to_string(),
                timestamp,
                age,
                max: self.settings.max_start_price_age_secs,
            });
        }
        let price = u32::try_from(latest.price)
            .map_err(|_| OfferError::Contract(format!("price {}", latest.price)))?;
        Ok(StartingMessage {
            message: latest.message,
            signature: latest.signature,
            price,
            timestamp,
            price_sequence: i64::from(latest.price_sequence),
            message_sequence: i64::from(latest.message_sequence),
        })
    }

    /// Accepts a pending, unexpired offer for `by`, at the oracle's latest price: computes
    /// the contract and its address, and gives the offer a settlement deadline.
    pub async fn accept(&self, id: i64, by: AcceptRequest, now: i64) -> Result<Offer, OfferError> {
        let offer = self.load(id).await?;
        if offer.status != OfferStatus::Pending {
            return Err(Refused::OfferStatus {
                id,
                status: offer.status,
            }
            .into());
        }
        if let Some(expires_at) = offer.expires_at.filter(|_| offer.is_expired(now)) {
            return Err(Refused::OfferExpired { id, expires_at }.into());
        }
        if by.wallet_hash == offer.wallet_hash {
            return Err(OfferError::OwnOffer(by.wallet_hash));
        }
        let factory = self.settings.factory.ok_or(OfferError::NoFactory)?;
        let collateral = self.settings.collateral.ok_or(OfferError::NoCollateral)?;
        let oracle_key =
            hex::decode(&offer.oracle_pubkey).map_err(|e| OfferError::BadOracleKey {
                pubkey: offer.oracle_pubkey.clone(),
                reason: e.to_string(),
            })?;
        let oracle =
            message::oracle_address(&oracle_key).map_err(|e| OfferError::BadOracleKey {
                pubkey: offer.oracle_pubkey.clone(),
                reason: e.reason(),
            })?;
        let start = self.start_price(&offer.oracle_pubkey, now).await?;
        let terms = contract_terms(&offer, &start)?;
        let parties = contract_parties(&offer, by.address, collateral, oracle);
        let contract_address = predict_address(factory, &build_params(&parties, &terms));
        let satoshis = match offer.position.opposite() {
            Side::Short => terms.short_input_sats,
            Side::Long => terms.long_input_sats,
        };
        let settlement_deadline = now.saturating_add(
            i64::try_from(self.settings.settlement_deadline_secs).unwrap_or(i64::MAX),
        );
        let acceptance: Acceptance = CounterParty {
            wallet_hash: by.wallet_hash.clone(),
            address: by.address,
            satoshis,
            contract_address,
            anyhedge_contract_version: CONTRACT_VERSION.to_string(),
            factory,
            parties,
            starting_message: start,
            terms,
            settlement_deadline,
            accepted_at: now,
        };
        let accepted = self
            .store
            .anyhedge_accept_offer(id, acceptance, now)
            .await??;
        self.publish(
            &accepted,
            Some(&by.wallet_hash),
            "accepted",
            json!({
                "accepting_wallet_hash": by.wallet_hash,
                "contract_address": contract_address.to_string(),
                "settlement_deadline": settlement_deadline,
            }),
        );
        Ok(accepted)
    }

    /// Settles an accepted offer before its deadline: creates the hedge position (with the
    /// counterparty's funding proposal, checked, when given) and marks the offer settled.
    pub async fn settle(
        &self,
        id: i64,
        counterparty_funding: Option<SignedFundingProposal>,
        now: i64,
    ) -> Result<(Offer, Position), OfferError> {
        let offer = self.load(id).await?;
        if offer.status != OfferStatus::Accepted {
            return Err(Refused::OfferStatus {
                id,
                status: offer.status,
            }
            .into());
        }
        let Some(cp) = offer.counter_party.clone() else {
            return Err(
                StoreError::Invalid(format!("accepted offer {id} has no counterparty")).into(),
            );
        };
        if now >= cp.settlement_deadline {
            return Err(Refused::DeadlinePassed {
                id,
                deadline: cp.settlement_deadline,
            }
            .into());
        }
        let taker = offer.position.opposite();
        let proposal = counterparty_funding
            .map(|signed| {
                let params = build_params(&cp.parties, &cp.terms);
                check_funding_proposal(
                    self.settings.chain_id,
                    cp.contract_address,
                    &params,
                    taker,
                    &signed,
                    now,
                )
                .map(|p| (taker, p))
            })
            .transpose()?;
        let (short_wallet_hash, long_wallet_hash) = match offer.position {
            Side::Short => (offer.wallet_hash.clone(), cp.wallet_hash.clone()),
            Side::Long => (cp.wallet_hash.clone(), offer.wallet_hash.clone()),
        };
        let position = NewPosition {
            address: cp.contract_address,
            anyhedge_contract_version: cp.anyhedge_contract_version.clone(),
            factory: cp.factory,
            parties: cp.parties,
            terms: cp.terms,
            short_wallet_hash,
            long_wallet_hash,
            oracle_pubkey: offer.oracle_pubkey.clone(),
            low_liquidation_multiplier: offer.low_liquidation_multiplier,
            high_liquidation_multiplier: offer.high_liquidation_multiplier,
            leveraged: offer.leveraged,
            starting_oracle_message: cp.starting_message.message.clone(),
            starting_oracle_signature: cp.starting_message.signature.clone(),
            fee: None,
            metadata: Some(PositionMetadata {
                position_taker: Some(taker),
                liquidity_fee: Some(0),
                ..PositionMetadata::default()
            }),
        };
        let (settled, created) = self
            .store
            .anyhedge_settle_offer(id, position, proposal, now)
            .await??;
        self.publish(
            &settled,
            Some(&cp.wallet_hash),
            "settled",
            json!({"address": created.address.to_string()}),
        );
        Ok((settled, created))
    }

    /// Cancels a pending or accepted offer.
    pub async fn cancel(&self, id: i64) -> Result<Offer, OfferError> {
        let (cancelled, dropped) = self.store.anyhedge_cancel_offer(id).await??;
        self.publish(
            &cancelled,
            dropped.as_ref().map(|cp| cp.wallet_hash.as_str()),
            "cancelled",
            json!({}),
        );
        Ok(cancelled)
    }

    /// Accepted offers past their settlement deadline at `now` go back to pending; see
    /// [`sweep_expired_deadlines`].
    pub async fn sweep_expired_deadlines(&self, now: i64) -> Result<Vec<SweptOffer>, StoreError> {
        sweep_expired_deadlines(&self.store, &self.updates, now).await
    }
}

/// Accepted offers whose settlement deadline is at or before `now` go back to pending, their
/// counterparty cleared; both wallets are told (`expired`). Returns the offers swept. The
/// desk runs it on a schedule (it needs no chain settings).
pub async fn sweep_expired_deadlines(
    store: &Store,
    updates: &Updates,
    now: i64,
) -> Result<Vec<SweptOffer>, StoreError> {
    let swept = store.anyhedge_sweep_expired_deadlines(now).await?;
    for s in &swept {
        let mut meta = json!({"id": s.offer.id, "position": s.offer.position.as_str()});
        meta["contract_address"] = json!(s.counter_party.contract_address.to_string());
        meta["settlement_deadline"] = json!(s.counter_party.settlement_deadline);
        updates.publish_to(
            [
                s.offer.wallet_hash.clone(),
                s.counter_party.wallet_hash.clone(),
            ],
            OFFER_RESOURCE,
            "expired",
            meta,
        );
    }
    Ok(swept)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use alloy::signers::local::PrivateKeySigner;
    use k256::ecdsa::SigningKey;

    use super::*;
    use crate::anyhedge::chain::sign_digest;
    use crate::anyhedge::message::{OracleMessage, ecdsa, verify};
    use crate::anyhedge::updates::{Received, WalletUpdate};
    use crate::store::anyhedge::NewOffer;
    use crate::store::anyhedge_oracles::OracleSpec;

    const NOW: i64 = 1_700_000_000;
    const CHAIN: u64 = 31_337;

    struct Fixture {
        _dir: tempfile::TempDir,
        book: OfferBook,
        oracle_key: SigningKey,
        pubkey: String,
        maker: PrivateKeySigner,
        taker: PrivateKeySigner,
    }

    async fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.sqlite"), Duration::from_secs(5)).unwrap();
        let oracle_key = SigningKey::from_slice(&[7u8; 32]).unwrap();
        let pubkey = hex::encode(oracle_key.verifying_key().to_encoded_point(true).as_bytes());
        store
            .anyhedge_upsert_oracle(OracleSpec {
                pubkey: pubkey.clone(),
                relay_url: "http://relay.invalid".into(),
                asset_name: "USD".into(),
                asset_currency: "USD".into(),
                asset_decimals: 2,
                active: true,
            })
            .await
            .unwrap();
        let settings = OfferSettings::new(
            CHAIN,
            Some(Address::repeat_byte(0xfa)),
            Some(Address::repeat_byte(0xc0)),
        );
        Fixture {
            _dir: dir,
            book: OfferBook::new(store, Updates::new(64), settings),
            oracle_key,
            pubkey,
            maker: PrivateKeySigner::random(),
            taker: PrivateKeySigner::random(),
        }
    }

    impl Fixture {
        async fn price(&self, timestamp: i64, sequence: i32, price: i32) {
            let m = OracleMessage {
                message_timestamp: timestamp as i32,
                message_sequence: sequence,
                price_sequence: sequence,
                price,
            };
            let sig = ecdsa::sign(&self.oracle_key, &m.to_bytes()).unwrap();
            let verified =
                verify(&hex::decode(&self.pubkey).unwrap(), &m.to_bytes(), &sig).unwrap();
            self.book
                .store
                .anyhedge_insert_price_messages(vec![verified])
                .await
                .unwrap();
        }

        async fn offer(&self, position: Side, satoshis: u64, low: f64) -> Offer {
            self.book
                .store
                .anyhedge_create_offer(NewOffer {
                    position,
                    wallet_hash: "maker".into(),
                    address: self.maker.address(),
                    satoshis,
                    duration_seconds: 3_600,
                    low_liquidation_multiplier: low,
                    high_liquidation_multiplier: 2.0,
                    oracle_pubkey: self.pubkey.clone(),
                    leveraged: false,
                    expires_at: None,
                })
                .await
                .unwrap()
        }

        fn taker(&self) -> AcceptRequest {
            AcceptRequest {
                wallet_hash: "taker".into(),
                address: self.taker.address(),
            }
        }
    }

    #[tokio::test]
    async fn accepting_computes_the_contract_at_the_latest_price() {
        let f = fixture().await;
        f.price(NOW - 90, 1, 9_000).await;
        f.price(NOW - 30, 2, 10_944).await;
        let offer = f.offer(Side::Short, 10_000_000, 0.75).await;
        let mut maker_updates = f.book.updates.subscribe("maker");
        let accepted = f.book.accept(offer.id, f.taker(), NOW).await.unwrap();
        assert_eq!(accepted.status, OfferStatus::Accepted);
        let cp = accepted.counter_party.unwrap();
        let expected = math::create(&ContractTerms {
            nominal_units: 10_000_000.0 * 10_944.0 / 1e8,
            start_price: 10_944,
            low_mult: 0.75,
            high_mult: 2.0,
            leveraged: false,
        })
        .unwrap();
        assert_eq!(parameters_of(&cp.terms), expected);
        assert_eq!(cp.terms.start_timestamp, (NOW - 30) as u64);
        assert_eq!(cp.terms.maturity_timestamp, (NOW - 30 + 3_600) as u64);
        assert_eq!(cp.starting_message.message_sequence, 2);
        assert_eq!(cp.settlement_deadline, NOW + 900);
        assert_eq!(cp.satoshis, expected.long_input_sats);
        assert_eq!(cp.parties.short_party, f.maker.address());
        assert_eq!(cp.parties.long_party, f.taker.address());
        assert_eq!(
            cp.parties.oracle,
            message::oracle_address(&hex::decode(&f.pubkey).unwrap()).unwrap()
        );
        assert_eq!(
            cp.contract_address,
            predict_address(
                Address::repeat_byte(0xfa),
                &build_params(&cp.parties, &cp.terms)
            )
        );
        let Some(Received::Update(update)) = maker_updates.recv().await else {
            panic!("the maker was not told")
        };
        assert_eq!(
            (update.resource.as_str(), update.action.as_str()),
            (OFFER_RESOURCE, "accepted")
        );
        assert_eq!(update.meta["id"], json!(offer.id));
        assert_eq!(update.meta["accepting_wallet_hash"], json!("taker"));

        let again = f.book.accept(offer.id, f.taker(), NOW).await.unwrap_err();
        assert!(matches!(
            again,
            OfferError::Refused(Refused::OfferStatus {
                status: OfferStatus::Accepted,
                ..
            })
        ));
    }

    #[tokio::test]
    async fn a_long_offer_derives_the_short_amount_from_the_price() {
        let f = fixture().await;
        f.price(NOW, 1, 10_000).await;
        // low price 8,000: a long of 5,000,000 pairs with a short of 5,000,000 / 0.25.
        assert_eq!(
            short_sats_for(Side::Long, 5_000_000, 0.8, 10_000).unwrap(),
            20_000_000
        );
        let offer = f.offer(Side::Long, 5_000_000, 0.8).await;
        let cp = f
            .book
            .accept(offer.id, f.taker(), NOW)
            .await
            .unwrap()
            .counter_party
            .unwrap();
        let expected = math::create(&ContractTerms {
            nominal_units: 20_000_000.0 * 10_000.0 / 1e8,
            start_price: 10_000,
            low_mult: 0.8,
            high_mult: 2.0,
            leveraged: false,
        })
        .unwrap();
        assert_eq!(parameters_of(&cp.terms), expected);
        assert_eq!(cp.satoshis, expected.short_input_sats);
        assert_eq!(cp.parties.short_party, f.taker.address());
        assert_eq!(cp.parties.long_party, f.maker.address());
    }

    #[tokio::test]
    async fn refusals_are_typed_and_write_nothing() {
        let mut f = fixture().await;
        let offer = f.offer(Side::Short, 10_000_000, 0.75).await;
        assert!(matches!(
            f.book.accept(offer.id, f.taker(), NOW).await,
            Err(OfferError::NoPrice(_))
        ));
        f.price(NOW - 121, 1, 10_000).await;
        assert!(matches!(
            f.book.accept(offer.id, f.taker(), NOW).await,
            Err(OfferError::StalePrice {
                age: 121,
                max: 120,
                ..
            })
        ));
        f.price(NOW - 5, 2, 10_000).await;
        let own = AcceptRequest {
            wallet_hash: "maker".into(),
            address: f.taker.address(),
        };
        assert!(matches!(
            f.book.accept(offer.id, own, NOW).await,
            Err(OfferError::OwnOffer(_))
        ));
        assert!(matches!(
            f.book.accept(999, f.taker(), NOW).await,
            Err(OfferError::Refused(Refused::NoOffer(999)))
        ));
        f.book.settings.factory = None;
        assert!(matches!(
            f.book.accept(offer.id, f.taker(), NOW).await,
            Err(OfferError::NoFactory)
        ));
        // A low multiplier whose low price rounds to the start price cannot make a contract.
        f.book.settings.factory = Some(Address::repeat_byte(0xfa));
        let tight = f.offer(Side::Short, 10_000_000, 0.99999).await;
        assert!(matches!(
            f.book.accept(tight.id, f.taker(), NOW).await,
            Err(OfferError::Terms(_))
        ));
        let unchanged = f
            .book
            .store
            .anyhedge_offer(offer.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(unchanged.status, OfferStatus::Pending);
        assert_eq!(unchanged.counter_party, None);
        assert!(matches!(
            f.book.settle(offer.id, None, NOW).await,
            Err(OfferError::Refused(Refused::OfferStatus {
                status: OfferStatus::Pending,
                ..
            }))
        ));
    }

    #[tokio::test]
    async fn settle_sweep_and_cancel_tell_both_wallets() {
        let f = fixture().await;
        f.price(NOW, 1, 10_944).await;
        let mut taker_updates = f.book.updates.subscribe("taker");
        let offer = f.offer(Side::Short, 10_000_000, 0.75).await;
        f.book.accept(offer.id, f.taker(), NOW).await.unwrap();
        // The deadline passes: the sweep frees the offer and both wallets hear of it.
        assert!(
            f.book
                .sweep_expired_deadlines(NOW + 899)
                .await
                .unwrap()
                .is_empty()
        );
        let swept = f.book.sweep_expired_deadlines(NOW + 900).await.unwrap();
        assert_eq!(swept.len(), 1);
        let actions: Vec<String> = [taker_updates.recv().await, taker_updates.recv().await]
            .into_iter()
            .map(|r| match r {
                Some(Received::Update(WalletUpdate { action, .. })) => action,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(actions, vec!["accepted", "expired"]);

        // Accepted again at a new price; the taker's funding proposal comes with the
        // settlement.
        f.price(NOW + 900, 2, 11_000).await;
        let accepted = f.book.accept(offer.id, f.taker(), NOW + 901).await.unwrap();
        let cp = accepted.counter_party.unwrap();
        let params = build_params(&cp.parties, &cp.terms);
        let deadline = (NOW + 10_000) as u64;
        let permit = funding_permit(
            cp.contract_address,
            &params,
            Side::Long,
            U256::from(deadline),
        )
        .unwrap();
        let wrong = sign_digest(&f.maker, funding_signing_hash(CHAIN, &permit)).unwrap();
        let err = f
            .book
            .settle(
                offer.id,
                Some(SignedFundingProposal {
                    signature: wrong.to_vec(),
                    deadline,
                }),
                NOW + 902,
            )
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            OfferError::Funding {
                field: "signature",
                ..
            }
        ));
        let right = sign_digest(&f.taker, funding_signing_hash(CHAIN, &permit)).unwrap();
        let (settled, position) = f
            .book
            .settle(
                offer.id,
                Some(SignedFundingProposal {
                    signature: right.to_vec(),
                    deadline,
                }),
                NOW + 902,
            )
            .await
            .unwrap();
        assert_eq!(settled.status, OfferStatus::Settled);
        assert_eq!(position.address, cp.contract_address);
        assert_eq!(position.terms, cp.terms);
        assert_eq!(position.short_wallet_hash, "maker");
        assert_eq!(position.long_wallet_hash, "taker");
        let proposal = position.long_funding_proposal.unwrap();
        assert_eq!(proposal.sats, cp.terms.long_input_sats + chain::DUST);
        assert_eq!(proposal.deadline, deadline);
        assert_eq!(position.metadata.unwrap().position_taker, Some(Side::Long));
        let mut seen = Vec::new();
        while let Ok(Some(Received::Update(u))) =
            tokio::time::timeout(Duration::from_millis(50), taker_updates.recv()).await
        {
            seen.push((u.action, u.meta));
        }
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[1].0, "settled");
        assert_eq!(seen[1].1["address"], json!(position.address.to_string()));

        let other = f.offer(Side::Short, 10_000_000, 0.75).await;
        let cancelled = f.book.cancel(other.id).await.unwrap();
        assert_eq!(cancelled.status, OfferStatus::Cancelled);
        assert!(matches!(
            f.book.cancel(other.id).await,
            Err(OfferError::Refused(Refused::OfferStatus { .. }))
        ));
    }

    #[test]
    fn funding_proposals_need_the_party_and_a_future_deadline() {
        let short = PrivateKeySigner::random();
        let long = PrivateKeySigner::random();
        let params = build_params(
            &HedgeParties {
                collateral: Address::repeat_byte(1),
                oracle: Address::repeat_byte(2),
                short_party: short.address(),
                long_party: long.address(),
            },
            &HedgeTerms {
                start_timestamp: 1,
                maturity_timestamp: 2,
                start_price: 10,
                low_price: 5,
                high_price: 20,
                nominal_units_x_sats_per_bch: 1_000,
                sats_for_nominal_units_at_high: 0,
                payout_sats: 200,
                short_input_sats: 100,
                long_input_sats: 100,
            },
        );
        let hedge = Address::repeat_byte(9);
        let sign = |signer: &PrivateKeySigner, side, deadline: u64| {
            let permit = funding_permit(hedge, &params, side, U256::from(deadline)).unwrap();
            SignedFundingProposal {
                signature: sign_digest(signer, funding_signing_hash(CHAIN, &permit))
                    .unwrap()
                    .to_vec(),
                deadline,
            }
        };
        let ok = check_funding_proposal(
            CHAIN,
            hedge,
            &params,
            Side::Long,
            &sign(&long, Side::Long, 100),
            50,
        )
        .unwrap();
        assert_eq!(ok.sats, 100 + chain::DUST);
        assert!(ok.signature.starts_with("0x"));
        let field = |r: Result<FundingProposal, OfferError>| match r {
            Err(OfferError::Funding { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(check_funding_proposal(
                CHAIN,
                hedge,
                &params,
                Side::Short,
                &sign(&long, Side::Short, 100),
                50
            )),
            "signature"
        );
        // Signed for the other side: a different digest, so a different signer recovers.
        assert_eq!(
            field(check_funding_proposal(
                CHAIN,
                hedge,
                &params,
                Side::Short,
                &sign(&short, Side::Long, 100),
                50
            )),
            "signature"
        );
        assert_eq!(
            field(check_funding_proposal(
                CHAIN,
                hedge,
                &params,
                Side::Short,
                &sign(&short, Side::Short, 50),
                50
            )),
            "deadline"
        );
        // Another chain's domain does not verify either.
        assert_eq!(
            field(check_funding_proposal(
                CHAIN + 1,
                hedge,
                &params,
                Side::Short,
                &sign(&short, Side::Short, 100),
                50
            )),
            "signature"
        );
    }
}
