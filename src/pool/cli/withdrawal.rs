//! `pool request-withdrawal`: the flags checked, then the request recorded in the store.

use std::process::ExitCode;

use alloy::primitives::Address;

use super::RequestWithdrawalArgs;
use super::format::tokens_sym;
use super::input::{parse_address, parse_token, parse_token_amount, parse_usd};
use crate::app::AppContext;
use crate::cli::InputError;
use crate::pool::model::{Prices, Token, Units};
use crate::pool::params::PoolParams;
use crate::store::Store;

/// `pool request-withdrawal`'s flags, checked.
pub(super) struct WithdrawalInput {
    provider: Address,
    token: Token,
    amount: Units,
    /// Where the maximum is checked; None: no prices (a provider backing policies is refused).
    prices: Option<Prices>,
}

/// The flags checked (a bad one is named).
pub(super) fn withdrawal_input(
    args: &RequestWithdrawalArgs,
) -> Result<WithdrawalInput, InputError> {
    let provider = parse_address("provider", &args.provider)?;
    let token = parse_token(&args.token)?;
    let amount = parse_token_amount(token, &args.amount)?;
    let prices = match (&args.btc_price, &args.eth_price) {
        (None, None) => None,
        (Some(btc), Some(eth)) => Some(Prices {
            btc_usd: parse_usd("btc_price", btc)?,
            eth_usd: parse_usd("eth_price", eth)?,
        }),
        (Some(_), None) => return Err(InputError::new("eth_price", "needed with --btc-price")),
        (None, Some(_)) => return Err(InputError::new("btc_price", "needed with --eth-price")),
    };
    Ok(WithdrawalInput {
        provider,
        token,
        amount,
        prices,
    })
}

/// `pool request-withdrawal`: records the request (requested or refused) in the store.
pub(super) fn request_withdrawal(
    WithdrawalInput {
        provider,
        token,
        amount,
        prices,
    }: WithdrawalInput,
    ctx: &AppContext,
    store: &Store,
) -> anyhow::Result<ExitCode> {
    let params = PoolParams::from_config(&ctx.config.pool).map_err(anyhow::Error::msg)?;
    let runtime = super::runtime()?;
    let result = runtime.block_on(async {
        if store.pool_provider(provider).await?.is_none() {
            return Ok(None);
        }
        let now = chrono::Utc::now().timestamp_millis();
        store
            .pool_request_withdrawal(
                provider,
                token,
                amount,
                prices,
                params.withdrawal_buffer_bps,
                now,
            )
            .await
            .map(Some)
    });
    let w = match result {
        Ok(Some(w)) => w,
        Ok(None) => {
            eprintln!("error: provider: {provider} has no account in the pool");
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(anyhow::Error::new(e).context("recording the withdrawal request")),
    };
    println!(
        "max withdrawable: {}",
        tokens_sym(token, w.max_withdrawable)
    );
    match &w.refused {
        None => {
            println!(
                "requested #{}: {} for {}",
                w.id,
                tokens_sym(token, w.amount),
                provider.to_checksum(None)
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(why) => {
            println!("refused #{}: {why}", w.id);
            Ok(ExitCode::from(1))
        }
    }
}
