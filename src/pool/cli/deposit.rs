//! `pool deposit`: a provider's deposit prepared for them to sign (the desk never holds a
//! provider's key); their tier settled and the tier's capacity checked first.

use std::process::ExitCode;

use alloy::primitives::Address;
use anyhow::Context;
use serde_json::json;

use super::DepositArgs;
use super::format::tokens_sym;
use super::input::{parse_address, parse_token, parse_token_amount};
use crate::app::AppContext;
use crate::cli::InputError;
use crate::pool::deposit::{PreparedTx, VaultTarget, deposit_transactions};
use crate::pool::model::{Token, Units};
use crate::pool::params::PoolParams;
use crate::store::Store;
use crate::store::pool::DepositPrepared;

/// `pool deposit`'s flags, checked.
pub(super) struct DepositInput {
    provider: Address,
    token: Token,
    amount: Units,
    tier: Option<String>,
    json: bool,
}

/// The flags checked against the config's tiers (a bad one is named).
pub(super) fn deposit_input(
    args: &DepositArgs,
    ctx: &AppContext,
) -> Result<DepositInput, InputError> {
    let provider = parse_address("provider", &args.provider)?;
    if provider == Address::ZERO {
        return Err(InputError::new("provider", "the zero address cannot sign"));
    }
    let token = parse_token(&args.token)?;
    let amount = parse_token_amount(token, &args.amount)?;
    let tier = match &args.tier {
        None => None,
        Some(name) => {
            let name = name.trim();
            if !ctx.config.pool.tiers.iter().any(|t| t.name == name) {
                let known: Vec<&str> = ctx
                    .config
                    .pool
                    .tiers
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect();
                return Err(InputError::new(
                    "tier",
                    format!(
                        "no [[pool.tiers]] named '{name}' (configured: {})",
                        known.join(", ")
                    ),
                ));
            }
            Some(name.to_string())
        }
    };
    Ok(DepositInput {
        provider,
        token,
        amount,
        tier,
        json: args.json,
    })
}

/// Where the deposit goes: the Vault (and the WBTC token for a WBTC deposit) as deployed on
/// the pool's chain, or as configured addresses. Reads the store only, no node.
async fn target(ctx: &AppContext, store: &Store, token: Token) -> anyhow::Result<VaultTarget> {
    let pool = &ctx.config.pool;
    let chain_id = ctx
        .config
        .chains
        .get(&pool.chain)
        .with_context(|| format!("pool.chain: no [chains.{}]", pool.chain))?
        .chain_id;
    let resolve = |field: &'static str, what: &str| {
        let what = what.to_string();
        async move {
            store
                .resolve_address(chain_id, &what)
                .await?
                .map(|(a, _)| a)
                .with_context(|| {
                    format!(
                        "{field}: no deployment {what:?} recorded for chain {chain_id} \
                         (`hedgedesk devnet up` deploys one), and not an address"
                    )
                })
        }
    };
    let vault = resolve("pool.vault", &pool.vault).await?;
    let wbtc = match token {
        Token::Wbtc => resolve("pool.wbtc", &pool.wbtc).await?,
        Token::Eth => Address::ZERO,
    };
    Ok(VaultTarget {
        chain_id,
        vault,
        wbtc,
    })
}

/// `pool deposit`: settles the provider's tier, checks its capacity and prints the
/// transactions to sign.
pub(super) fn deposit(
    input: DepositInput,
    ctx: &AppContext,
    store: &Store,
) -> anyhow::Result<ExitCode> {
    let params = PoolParams::from_config(&ctx.config.pool).map_err(anyhow::Error::msg)?;
    let runtime = super::runtime()?;
    let now = chrono::Utc::now().timestamp_millis();
    let (target, prepared) = runtime.block_on(async {
        let target = target(ctx, store, input.token).await?;
        store.pool_sync_tiers(params.tiers.clone(), now).await?;
        let prepared = store
            .pool_prepare_deposit(
                input.provider,
                input.tier.clone(),
                params.default_tier.clone(),
                input.token,
                input.amount,
                now,
            )
            .await;
        anyhow::Ok((target, prepared))
    })?;
    let provider = match prepared {
        Ok(DepositPrepared::Ready(p)) => p,
        Ok(DepositPrepared::Refused(why)) => {
            println!("refused: {why}");
            return Ok(ExitCode::from(1));
        }
        Err(crate::store::StoreError::Invalid(why)) => {
            println!("refused: {why}");
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(anyhow::Error::new(e).context("preparing the deposit")),
    };
    let txs = deposit_transactions(target, input.provider, input.token, input.amount);
    if input.json {
        let out = json!({
            "provider": input.provider.to_checksum(None),
            "tier": provider.tier,
            "token": input.token.as_str(),
            "amount": input.amount.to_string(),
            "chainId": target.chain_id,
            "vault": target.vault.to_checksum(None),
            "transactions": txs.iter().map(PreparedTx::to_json).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "deposit of {} by {} into tier {}: sign and send, in order, from that address on chain {}:",
        tokens_sym(input.token, input.amount),
        input.provider.to_checksum(None),
        provider.tier,
        target.chain_id
    );
    for (n, tx) in txs.iter().enumerate() {
        println!("  {}. {}", n + 1, tx.step);
        println!("     to    {}", tx.to.to_checksum(None));
        println!("     value {}", tx.value);
        println!("     data  {}", tx.data);
    }
    println!("The books credit it when the Vault's FundsDeposited event is confirmed.");
    Ok(ExitCode::SUCCESS)
}
