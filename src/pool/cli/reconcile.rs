//! `pool reconcile`: reads the Vault's totals and compares them with the books.

use std::process::ExitCode;

use alloy::primitives::{Address, U256};
use alloy::providers::Provider as _;
use anyhow::Context;
use serde_json::{Value, json};

use super::ReconcileArgs;
use super::format::{signed_tokens, tokens, tokens_sym};
use super::table::Table;
use crate::app::AppContext;
use crate::chain::contracts::LiquidityVault;
use crate::cli::print_json;
use crate::pool::model::{PolicyStatus, Token, Units};
use crate::store::Store;
use crate::store::pool::PolicyFilter;

/// One token: the Vault against the books.
#[derive(Debug, Clone)]
struct TokenCheck {
    token: Token,
    onchain_total: Units,
    onchain_locked: Units,
    books_total: Units,
    /// Every provider's locked collateral.
    books_locked: Units,
    /// The collateral of active policies whose aggregate lock the Vault confirmed: what its
    /// locked total should be.
    books_locked_onchain: Units,
}

impl TokenCheck {
    fn total_diff(&self) -> i128 {
        diff(self.onchain_total, self.books_total)
    }

    fn locked_diff(&self) -> i128 {
        diff(self.onchain_locked, self.books_locked_onchain)
    }

    fn agrees(&self) -> bool {
        self.total_diff() == 0 && self.locked_diff() == 0
    }

    fn json(&self) -> Value {
        json!({
            "token": self.token.as_str(),
            "decimals": self.token.decimals(),
            "onchain_total": self.onchain_total.to_string(),
            "books_total": self.books_total.to_string(),
            "total_difference": self.total_diff().to_string(),
            "onchain_locked": self.onchain_locked.to_string(),
            "books_locked_onchain": self.books_locked_onchain.to_string(),
            "locked_difference": self.locked_diff().to_string(),
            "books_locked": self.books_locked.to_string(),
            "agrees": self.agrees(),
        })
    }

    /// Why it disagrees, for people.
    fn problems(&self) -> Vec<String> {
        let tok = self.token;
        let mut out = Vec::new();
        let d = self.total_diff();
        if d != 0 {
            out.push(format!(
                "{tok}: the Vault holds {}, the providers' books add up to {} (difference {} {})",
                tokens_sym(tok, self.onchain_total),
                tokens_sym(tok, self.books_total),
                signed_tokens(tok, d),
                tok.symbol(),
            ));
        }
        let d = self.locked_diff();
        if d != 0 {
            out.push(format!(
                "{tok}: the Vault has {} locked, the books' policies locked on chain hold {} (difference {} {})",
                tokens_sym(tok, self.onchain_locked),
                tokens_sym(tok, self.books_locked_onchain),
                signed_tokens(tok, d),
                tok.symbol(),
            ));
        }
        out
    }
}

/// `a − b`, saturating at i128's ends (token totals fit far inside).
fn diff(a: Units, b: Units) -> i128 {
    if a >= b {
        i128::try_from(a - b).unwrap_or(i128::MAX)
    } else {
        i128::try_from(b - a).map(|d| -d).unwrap_or(i128::MIN)
    }
}

/// The Vault's four totals at one block.
struct VaultRead {
    vault: Address,
    block: u64,
    totals: Vec<(Token, Units, Units)>,
}

async fn read_vault(ctx: &AppContext, store: &Store) -> anyhow::Result<(String, u64, VaultRead)> {
    let pool = &ctx.config.pool;
    let chain_config = ctx
        .config
        .chains
        .get(&pool.chain)
        .with_context(|| format!("pool.chain: no [chains.{}]", pool.chain))?;
    let chain_id = chain_config.chain_id;
    let (vault, _) = store
        .resolve_address(chain_id, &pool.vault)
        .await?
        .with_context(|| {
            format!(
                "pool.vault: no deployment {:?} recorded for chain {chain_id} (`hedgedesk \
                 devnet up` deploys one), and not an address",
                pool.vault
            )
        })?;
    let chain = crate::chain::Chain::connect(&pool.chain, chain_config)?;
    let provider = chain.provider();
    let block = provider
        .get_block_number()
        .await
        .with_context(|| format!("eth_blockNumber on {}", pool.chain))?;
    let code = provider
        .get_code_at(vault)
        .block_id(block.into())
        .await
        .with_context(|| format!("eth_getCode({vault}) on {}", pool.chain))?;
    anyhow::ensure!(
        !code.is_empty(),
        "pool.vault: no contract at {vault} on {} (chain {chain_id}) at block {block}",
        pool.chain
    );
    let v = LiquidityVault::new(vault, &provider);
    let at = |what: &str| format!("LiquidityVault {vault}: {what} at block {block}");
    let (eth_total, eth_locked, wbtc_total, wbtc_locked) = futures::try_join!(
        async {
            v.getTotalEthBalance()
                .block(block.into())
                .call()
                .await
                .with_context(|| at("getTotalEthBalance"))
        },
        async {
            v.getTotalEthLocked()
                .block(block.into())
                .call()
                .await
                .with_context(|| at("getTotalEthLocked"))
        },
        async {
            v.getTotalWbtcBalance()
                .block(block.into())
                .call()
                .await
                .with_context(|| at("getTotalWbtcBalance"))
        },
        async {
            v.getTotalWbtcLocked()
                .block(block.into())
                .call()
                .await
                .with_context(|| at("getTotalWbtcLocked"))
        },
    )?;
    let units = |value: U256, what: &str| {
        u128::try_from(value).map_err(|_| anyhow::anyhow!("{}: {value} exceeds 2^128", at(what)))
    };
    let totals = vec![
        (
            Token::Eth,
            units(eth_total, "getTotalEthBalance")?,
            units(eth_locked, "getTotalEthLocked")?,
        ),
        (
            Token::Wbtc,
            units(wbtc_total, "getTotalWbtcBalance")?,
            units(wbtc_locked, "getTotalWbtcLocked")?,
        ),
    ];
    Ok((
        pool.chain.clone(),
        chain_id,
        VaultRead {
            vault,
            block,
            totals,
        },
    ))
}

pub(super) fn reconcile(
    args: &ReconcileArgs,
    ctx: &AppContext,
    store: &Store,
) -> anyhow::Result<ExitCode> {
    let runtime = super::runtime()?;
    let (chain, chain_id, read, checks) = runtime.block_on(async {
        let (chain, chain_id, read) = read_vault(ctx, store).await?;
        let now = chrono::Utc::now().timestamp_millis();
        // The store's mirror of the Vault is what was read; the books are left alone.
        for &(tok, total, locked) in &read.totals {
            store
                .pool_set_onchain_totals(tok, total, locked, read.block, now)
                .await?;
        }
        let metrics = store.pool_metrics().await?;
        let active = store
            .pool_policies(PolicyFilter {
                status: Some(PolicyStatus::Active),
                ..PolicyFilter::default()
            })
            .await?;
        let checks: Vec<TokenCheck> = read
            .totals
            .iter()
            .map(|&(token, onchain_total, onchain_locked)| {
                let books = metrics.iter().find(|m| m.token == token);
                TokenCheck {
                    token,
                    onchain_total,
                    onchain_locked,
                    books_total: books.map_or(0, |m| m.books_total),
                    books_locked: books.map_or(0, |m| m.books_locked),
                    books_locked_onchain: active
                        .iter()
                        .filter(|p| p.token == token && p.onchain_locked)
                        .fold(0u128, |sum, p| sum.saturating_add(p.collateral_locked)),
                }
            })
            .collect();
        anyhow::Ok((chain, chain_id, read, checks))
    })?;
    let disagree: Vec<&TokenCheck> = checks.iter().filter(|c| !c.agrees()).collect();
    if args.json {
        print_json(&json!({
            "chain": chain,
            "chain_id": chain_id,
            "vault": read.vault.to_checksum(None),
            "block": read.block,
            "agrees": disagree.is_empty(),
            "disagreeing": disagree.iter().map(|c| c.token.as_str()).collect::<Vec<_>>(),
            "tokens": checks.iter().map(TokenCheck::json).collect::<Vec<_>>(),
        }))?;
    } else {
        println!(
            "Vault {} on {chain} (chain {chain_id}) at block {}",
            read.vault.to_checksum(None),
            read.block
        );
        let mut t = Table::new(&[
            ("TOKEN", false),
            ("ON-CHAIN TOTAL", true),
            ("BOOKS TOTAL", true),
            ("DIFFERENCE", true),
            ("ON-CHAIN LOCKED", true),
            ("BOOKS LOCKED ON CHAIN", true),
            ("DIFFERENCE", true),
            ("BOOKS LOCKED", true),
            ("STATUS", false),
        ]);
        for c in &checks {
            let tok = c.token;
            t.row(vec![
                tok.symbol().into(),
                tokens(tok, c.onchain_total),
                tokens(tok, c.books_total),
                signed_tokens(tok, c.total_diff()),
                tokens(tok, c.onchain_locked),
                tokens(tok, c.books_locked_onchain),
                signed_tokens(tok, c.locked_diff()),
                tokens(tok, c.books_locked),
                if c.agrees() { "ok" } else { "MISMATCH" }.into(),
            ]);
        }
        print!("{}", t.render());
        for c in &disagree {
            for problem in c.problems() {
                println!("{problem}");
            }
        }
        if disagree.is_empty() {
            println!("every token agrees with the books");
        } else {
            println!(
                "{} disagree{} with the books; nothing was corrected",
                disagree
                    .iter()
                    .map(|c| c.token.symbol())
                    .collect::<Vec<_>>()
                    .join(" and "),
                if disagree.len() == 1 { "s" } else { "" }
            );
        }
    }
    Ok(if disagree.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
