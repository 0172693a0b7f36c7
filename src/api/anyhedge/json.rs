//! What the API returns, field for field as the watchtower's serializers (with `short_` for
//! the watchtower's `hedge_`, EVM addresses and signatures, and the contract's parameters).
//! Times are Unix seconds; amounts are integers.

use serde_json::{Value, json};

use crate::anyhedge::chain::{self, Side, build_params};
use crate::anyhedge::message;
use crate::store::anyhedge::{CounterParty, FundingProposal, Offer, Position};
use crate::store::anyhedge_oracles::{OracleRecord, PriceMessageRow};

fn proposal_json(p: Option<&FundingProposal>) -> Value {
    p.map_or(Value::Null, |p| {
        json!({
            "signature": p.signature,
            "deadline": p.deadline,
            "sats": p.sats,
            "submitted_at": p.submitted_at,
        })
    })
}

pub fn position_json(p: &Position) -> Value {
    let t = &p.terms;
    let params = build_params(&p.parties, &p.terms);
    let funding = p.funding.as_ref().map_or(Value::Null, |f| {
        json!({
            "tx_hash": f.tx_hash.to_string(),
            "block_number": f.block_number,
            "funding_satoshis": f.funding_satoshis(),
            "short_funding_satoshis": f.short_funding_satoshis,
            "long_funding_satoshis": f.long_funding_satoshis,
            "gas_fee_wei": f.gas_fee_wei.map(|w| w.to_string()),
            "validated": f.validated,
        })
    });
    let settlement = p.settlement.as_ref().map_or(Value::Null, |s| {
        json!({
            "spending_transaction": s.spending_transaction.to_string(),
            "settlement_type": s.settlement_type.as_str(),
            "short_satoshis": s.short_satoshis,
            "long_satoshis": s.long_satoshis,
            "oracle_pubkey": s.oracle_pubkey,
            "settlement_price": s.settlement_price,
            "settlement_price_sequence": s.settlement_price_sequence,
            "settlement_message_sequence": s.settlement_message_sequence,
            "settlement_message_timestamp": s.settlement_message_timestamp,
            "settlement_message": s.settlement_message,
            "settlement_signature": s.settlement_signature,
        })
    });
    let redemption = p.mutual_redemption.as_ref().map_or(Value::Null, |r| {
        json!({
            "redemption_type": r.terms.redemption_type.as_str(),
            "initiator": r.terms.initiator.as_str(),
            "short_satoshis": r.terms.short_satoshis,
            "long_satoshis": r.terms.long_satoshis,
            "settlement_price": r.terms.settlement_price,
            "deadline": r.terms.deadline,
            "short_signature": r.short_signature,
            "long_signature": r.long_signature,
            "tx_hash": r.tx_hash.map(|h| h.to_string()),
        })
    });
    let fee = p.fee.as_ref().map_or(
        Value::Null,
        |f| json!({"address": f.address.to_string(), "satoshis": f.satoshis}),
    );
    let metadata = p.metadata.as_ref().map_or(Value::Null, |m| {
        json!({
            "position_taker": m.position_taker.map(Side::as_str),
            "liquidity_fee": m.liquidity_fee,
            "network_fee": m.network_fee,
            "total_short_funding_sats": m.total_short_funding_sats,
            "total_long_funding_sats": m.total_long_funding_sats,
        })
    });
    json!({
        "id": p.id,
        "address": p.address.to_string(),
        "anyhedge_contract_version": p.anyhedge_contract_version,
        "satoshis": p.satoshis(),
        "start_timestamp": t.start_timestamp,
        "maturity_timestamp": t.maturity_timestamp,
        "duration_seconds": t.maturity_timestamp.saturating_sub(t.start_timestamp),
        "short_wallet_hash": p.short_wallet_hash,
        "short_address": p.parties.short_party.to_string(),
        "long_wallet_hash": p.long_wallet_hash,
        "long_address": p.parties.long_party.to_string(),
        "oracle_pubkey": p.oracle_pubkey,
        "oracle_address": p.parties.oracle.to_string(),
        "start_price": t.start_price,
        "low_liquidation_multiplier": p.low_liquidation_multiplier,
        "high_liquidation_multiplier": p.high_liquidation_multiplier,
        "leveraged": p.leveraged,
        "low_liquidation_price": t.low_price,
        "high_liquidation_price": t.high_price,
        "nominal_units_x_sats_per_bch": t.nominal_units_x_sats_per_bch,
        "sats_for_nominal_units_at_high": t.sats_for_nominal_units_at_high,
        "payout_sats": t.payout_sats,
        "short_input_sats": t.short_input_sats,
        "long_input_sats": t.long_input_sats,
        "short_funding_sats": chain::funding_sats(&params, Side::Short),
        "long_funding_sats": chain::funding_sats(&params, Side::Long),
        "starting_oracle_message": p.starting_oracle_message,
        "starting_oracle_signature": p.starting_oracle_signature,
        "factory": p.factory.to_string(),
        "collateral": p.parties.collateral.to_string(),
        "funding_tx_hash": p.funding_tx_hash.map(|h| h.to_string()),
        "funding_tx_hash_validated": p.funding_tx_hash_validated,
        "short_funding_proposal": proposal_json(p.short_funding_proposal.as_ref()),
        "long_funding_proposal": proposal_json(p.long_funding_proposal.as_ref()),
        "funding": funding,
        "settlement": settlement,
        "mutual_redemption": redemption,
        "fee": fee,
        "metadata": metadata,
        "created_at": p.created_at,
    })
}

fn counter_party_json(cp: &CounterParty) -> Value {
    let t = &cp.terms;
    let m = &cp.starting_message;
    json!({
        "settlement_deadline": cp.settlement_deadline,
        "contract_address": cp.contract_address.to_string(),
        "anyhedge_contract_version": cp.anyhedge_contract_version,
        "wallet_hash": cp.wallet_hash,
        "address": cp.address.to_string(),
        "satoshis": cp.satoshis,
        "price_message_timestamp": m.timestamp,
        "price_value": m.price,
        "price_sequence": m.price_sequence,
        "oracle_message_sequence": m.message_sequence,
        "starting_oracle_message": m.message,
        "starting_oracle_signature": m.signature,
        "accepted_at": cp.accepted_at,
        "contract": {
            "factory": cp.factory.to_string(),
            "collateral": cp.parties.collateral.to_string(),
            "oracle": cp.parties.oracle.to_string(),
            "short_address": cp.parties.short_party.to_string(),
            "long_address": cp.parties.long_party.to_string(),
            "start_timestamp": t.start_timestamp,
            "maturity_timestamp": t.maturity_timestamp,
            "start_price": t.start_price,
            "low_price": t.low_price,
            "high_price": t.high_price,
            "nominal_units_x_sats_per_bch": t.nominal_units_x_sats_per_bch,
            "sats_for_nominal_units_at_high": t.sats_for_nominal_units_at_high,
            "payout_sats": t.payout_sats,
            "short_input_sats": t.short_input_sats,
            "long_input_sats": t.long_input_sats,
        },
    })
}

/// An offer, with its hedge position when it settled into one.
pub fn offer_json(o: &Offer, position: Option<&Position>) -> Value {
    json!({
        "id": o.id,
        "status": o.status.as_str(),
        "position": o.position.as_str(),
        "wallet_hash": o.wallet_hash,
        "address": o.address.to_string(),
        "satoshis": o.satoshis,
        "duration_seconds": o.duration_seconds,
        "high_liquidation_multiplier": o.high_liquidation_multiplier,
        "low_liquidation_multiplier": o.low_liquidation_multiplier,
        "oracle_pubkey": o.oracle_pubkey,
        "leveraged": o.leveraged,
        "expires_at": o.expires_at,
        "created_at": o.created_at,
        "hedge_position": position.map_or(Value::Null, position_json),
        "counter_party_info": o.counter_party.as_ref().map_or(Value::Null, counter_party_json),
    })
}

pub fn oracle_json(o: &OracleRecord) -> Value {
    let address = hex::decode(&o.pubkey)
        .ok()
        .and_then(|k| message::oracle_address(&k).ok())
        .map(|a| a.to_string());
    json!({
        "pubkey": o.pubkey,
        "address": address,
        "asset_name": o.asset_name,
        "asset_currency": o.asset_currency,
        "asset_decimals": o.asset_decimals,
        "active": o.active,
    })
}

pub fn price_message_json(m: &PriceMessageRow) -> Value {
    json!({
        "pubkey": m.pubkey,
        "message_timestamp": m.message_timestamp,
        "price_value": m.price,
        "price_sequence": m.price_sequence,
        "message_sequence": m.message_sequence,
        "message": m.message,
        "signature": m.signature,
    })
}
