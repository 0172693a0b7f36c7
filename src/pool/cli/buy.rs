//! `pool buy`: sells a policy in the books.

use std::process::ExitCode;

use super::BuyArgs;
use super::format::{addr_hex, btc, tokens_sym, usd, when};
use super::input::{
    parse_address, parse_btc_amount, parse_expiry, parse_kind, parse_token, parse_usd,
};
use crate::app::AppContext;
use crate::cli::InputError;
use crate::pool::model::{Prices, Token};
use crate::pool::params::PoolParams;
use crate::store::Store;
use crate::store::pool::{NewPolicy, Underwriting};

/// `pool buy`'s inputs, checked (a bad one is named).
fn buy_input(
    args: &BuyArgs,
    params: &PoolParams,
    now_ms: i64,
) -> Result<(NewPolicy, Underwriting), InputError> {
    let buyer = parse_address("buyer", &args.buyer)?;
    let buyer_tier = args.buyer_tier.trim().to_string();
    let backing = params
        .backing_tiers(&buyer_tier)
        .map_err(|why| InputError::new("buyer_tier", why))?
        .to_vec();
    let kind = parse_kind(&args.kind)?;
    let strike_usd = parse_usd("strike", &args.strike)?;
    let amount_sats = parse_btc_amount(&args.amount)?;
    let expiry_secs = parse_expiry(&args.expiry)?;
    let token = parse_token(&args.token)?;
    let btc_usd = match &args.price {
        Some(text) => parse_usd("price", text)?,
        None => {
            return Err(InputError::new(
                "price",
                "needed: BTC/USD now (this command reads no price feed)",
            ));
        }
    };
    let eth_usd = match (&args.eth_price, token) {
        (Some(text), _) => parse_usd("eth_price", text)?,
        (None, Token::Eth) => {
            return Err(InputError::new(
                "eth_price",
                "needed with --token eth: the premium and the collateral are converted at ETH/USD",
            ));
        }
        (None, Token::Wbtc) => 0,
    };
    let expires_at_ms = now_ms + i64::try_from(expiry_secs * 1000).expect("at most a century");
    let idem_key = match &args.key {
        Some(k) if k.trim().is_empty() => {
            return Err(InputError::new("key", "must not be empty"));
        }
        Some(k) => k.trim().to_string(),
        // Deterministic from the inputs (the expiry as given, not the instant it ends).
        None => format!(
            "buy:{}:{buyer_tier}:{}:{strike_usd}:{amount_sats}:{}:{}",
            addr_hex(&buyer),
            kind.as_str(),
            args.expiry.trim(),
            token.as_str()
        ),
    };
    Ok((
        NewPolicy {
            idem_key,
            kind,
            buyer,
            buyer_tier,
            token,
            strike_usd,
            amount_sats,
            expires_at_ms,
            premium: None,
        },
        Underwriting {
            backing_tiers: backing,
            prices: Prices { btc_usd, eth_usd },
            premium: params.premium,
        },
    ))
}

/// `pool buy`: sells the policy in the books.
pub(super) fn buy(args: &BuyArgs, ctx: &AppContext, store: &Store) -> anyhow::Result<ExitCode> {
    let params = PoolParams::from_config(&ctx.config.pool).map_err(anyhow::Error::msg)?;
    let now = chrono::Utc::now().timestamp_millis();
    let (new, u) = match buy_input(args, &params, now) {
        Ok(input) => input,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let runtime = super::runtime()?;
    let created = runtime.block_on(async {
        store.pool_sync_tiers(params.tiers.clone(), now).await?;
        store.pool_create_policy(new, u, now).await
    });
    let created = match created {
        Ok(c) => c,
        Err(crate::store::StoreError::Invalid(why)) => {
            println!("refused: {why}");
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(anyhow::Error::new(e).context("selling the policy")),
    };
    let existing = matches!(created, crate::store::pool::Created::Existing(_));
    let book = created.book();
    let p = &book.policy;
    println!(
        "policy #{}{}: {} {} BTC at strike {} USD for {} ({}), expires {}",
        p.id,
        if existing {
            " (already sold with this key)"
        } else {
            ""
        },
        p.kind.as_str().to_ascii_uppercase(),
        btc(p.amount_sats),
        usd(p.strike_usd),
        p.buyer.to_checksum(None),
        p.buyer_tier,
        when(Some(p.expires_at_ms))
    );
    println!(
        "premium: {} (paid off chain)",
        tokens_sym(p.token, p.premium)
    );
    println!(
        "backed by tier {}: {} locked",
        p.tier,
        tokens_sym(p.token, p.collateral_locked)
    );
    for a in &book.allocations {
        println!(
            "  lock {}: {} (premium share {})",
            a.provider.to_checksum(None),
            tokens_sym(a.token, a.amount_locked),
            tokens_sym(a.token, a.premium_share)
        );
    }
    Ok(ExitCode::SUCCESS)
}
