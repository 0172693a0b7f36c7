//! A hedge position as the API returns it, read back into the contract's `Params` the
//! parties sign over, checked against the address the desk gave it.

use alloy::primitives::Address;
use anyhow::Context;
use serde_json::Value;

use crate::anyhedge::chain::{Params, predict_address};

/// A position JSON's contract address and `Params`; an error unless the factory would
/// create exactly that address from them.
pub fn params_of(position: &Value) -> anyhow::Result<(Address, Params)> {
    let hedge = address(position, "address")?;
    let factory = address(position, "factory")?;
    let params = Params {
        collateral: address(position, "collateral")?,
        oracle: address(position, "oracle_address")?,
        shortParty: address(position, "short_address")?,
        longParty: address(position, "long_address")?,
        startTimestamp: number(position, "start_timestamp")?,
        maturityTimestamp: number(position, "maturity_timestamp")?,
        startPrice: price(position, "start_price")?,
        lowPrice: price(position, "low_liquidation_price")?,
        highPrice: price(position, "high_liquidation_price")?,
        nominalUnitsXSatsPerBch: number(position, "nominal_units_x_sats_per_bch")?,
        satsForNominalUnitsAtHigh: number(position, "sats_for_nominal_units_at_high")?,
        payoutSats: number(position, "payout_sats")?,
        shortInputSats: number(position, "short_input_sats")?,
        longInputSats: number(position, "long_input_sats")?,
    };
    let predicted = predict_address(factory, &params);
    anyhow::ensure!(
        predicted == hedge,
        "the position's terms create {predicted}, not its address {hedge}"
    );
    Ok((hedge, params))
}

fn address(v: &Value, field: &str) -> anyhow::Result<Address> {
    v[field]
        .as_str()
        .with_context(|| format!("the position has no {field}"))?
        .parse()
        .with_context(|| format!("the position's {field}"))
}

pub fn number(v: &Value, field: &str) -> anyhow::Result<u64> {
    v[field]
        .as_u64()
        .with_context(|| format!("the position's {field} is not a whole number: {}", v[field]))
}

fn price(v: &Value, field: &str) -> anyhow::Result<u32> {
    Ok(u32::try_from(number(v, field)?)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn position() -> (Value, Params) {
        let params = Params {
            collateral: Address::repeat_byte(1),
            oracle: Address::repeat_byte(2),
            shortParty: Address::repeat_byte(3),
            longParty: Address::repeat_byte(4),
            startTimestamp: 1_700_000_000,
            maturityTimestamp: 1_700_000_090,
            startPrice: 10_944,
            lowPrice: 6_944,
            highPrice: 43_776,
            nominalUnitsXSatsPerBch: 3_337_920_000_000,
            satsForNominalUnitsAtHigh: 0,
            payoutSats: 480_691_244,
            shortInputSats: 305_000_000,
            longInputSats: 175_691_244,
        };
        let factory = Address::repeat_byte(9);
        let json = json!({
            "address": predict_address(factory, &params).to_string(),
            "factory": factory.to_string(),
            "collateral": params.collateral.to_string(),
            "oracle_address": params.oracle.to_string(),
            "short_address": params.shortParty.to_string(),
            "long_address": params.longParty.to_string(),
            "start_timestamp": 1_700_000_000u64,
            "maturity_timestamp": 1_700_000_090u64,
            "start_price": 10_944,
            "low_liquidation_price": 6_944,
            "high_liquidation_price": 43_776,
            "nominal_units_x_sats_per_bch": 3_337_920_000_000u64,
            "sats_for_nominal_units_at_high": 0,
            "payout_sats": 480_691_244,
            "short_input_sats": 305_000_000,
            "long_input_sats": 175_691_244,
        });
        (json, params)
    }

    #[test]
    fn reads_back_the_params_the_address_was_made_from() {
        let (json, params) = position();
        let (address, read) = params_of(&json).unwrap();
        assert_eq!(read, params);
        assert_eq!(address.to_string(), json["address"].as_str().unwrap());
    }

    #[test]
    fn terms_that_do_not_make_the_address_are_refused() {
        let (mut json, _) = position();
        json["low_liquidation_price"] = json!(6_945);
        let e = params_of(&json).unwrap_err().to_string();
        assert!(e.contains("not its address"), "{e}");
        json["low_liquidation_price"] = json!("6944");
        assert!(params_of(&json).is_err());
    }
}
