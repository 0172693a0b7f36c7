//! A devnet: one anvil, our contracts deployed onto it from `contracts/out/`, their
//! addresses recorded in the store, and the scenario's state seeded.

use std::collections::BTreeMap;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use anyhow::Context;

use super::anvil::{AnvilNode, AnvilOptions};
use super::control::DevnetControl;
use super::margin;
use super::receipt::deployment;
use super::scenario::{DePerpSpec, Holder, MarginSpec, PoolSpec, Scenario};
use crate::chain::contracts::{PriceCaster, TestToken};
use crate::config::{ChainConfig, EndpointConfig};
use crate::store::{Deployment, Store};

/// A running devnet. Dropping it stops anvil.
pub struct Devnet {
    pub node: AnvilNode,
    pub store: Store,
    /// What has been deployed, by name (`token.usdc`).
    pub deployed: BTreeMap<String, Deployment>,
    deployer: DynProvider,
}

impl Devnet {
    /// Starts anvil (dev account 0 deploys) over `store`.
    pub async fn start(options: AnvilOptions, store: Store) -> anyhow::Result<Devnet> {
        let node = tokio::task::spawn_blocking(move || AnvilNode::start(&options))
            .await
            .context("the anvil start task failed")??;
        let deployer = wallet_provider(&node, 0)?;
        Ok(Devnet {
            node,
            store,
            deployed: BTreeMap::new(),
            deployer,
        })
    }

    /// Deploys the scenario's contracts, records them, then seeds its state. The scenario
    /// is checked first, so a bad one deploys nothing.
    pub async fn seed(&mut self, scenario: &Scenario) -> anyhow::Result<()> {
        scenario
            .check(self.node.keys.len())
            .map_err(|e| anyhow::anyhow!("scenario: {e}"))?;
        for token in &scenario.tokens {
            let builder = TestToken::deploy_builder(
                &self.deployer,
                token.name.clone(),
                token.symbol.clone(),
                token.decimals,
                token.initial_supply,
            );
            let receipt = builder
                .send()
                .await
                .with_context(|| format!("deploying {}", token.deployment_name()))?
                .get_receipt()
                .await
                .with_context(|| format!("waiting for {}'s receipt", token.deployment_name()))?;
            self.record(deployment(
                self.node.chain_id,
                &token.deployment_name(),
                "TestToken",
                &receipt,
            )?)
            .await?;
        }
        if let Some(spec) = &scenario.price_caster {
            let name = crate::oracle::desk::PRICE_CASTER;
            let receipt = PriceCaster::deploy_builder(
                &self.deployer,
                spec.guardians.clone(),
                spec.guardian_set_index,
                spec.emitter_chain,
                spec.emitter_address,
                spec.flags,
            )
            .send()
            .await
            .with_context(|| format!("deploying {name}"))?
            .get_receipt()
            .await
            .with_context(|| format!("waiting for {name}'s receipt"))?;
            self.record(deployment(
                self.node.chain_id,
                name,
                "PriceCaster",
                &receipt,
            )?)
            .await?;
        }
        for mint in &scenario.mints {
            let name = format!("token.{}", mint.token);
            let token = TestToken::new(self.address(&name)?, &self.deployer);
            let to = self.holder(mint.to);
            token
                .mint(to, mint.amount)
                .send()
                .await
                .with_context(|| format!("minting {name} to {to}"))?
                .get_receipt()
                .await
                .with_context(|| format!("waiting for the mint of {name} to {to}"))?;
        }
        // Last: borrowers pay collateral and rewards from their minted balances.
        if let Some(margin) = &scenario.margin {
            self.seed_margin(scenario, margin).await?;
        }
        if scenario.anyhedge {
            let owner = self.node.address(0);
            let (_, deployments) =
                super::anyhedge::deploy_anyhedge(&self.deployer, owner, &self.store).await?;
            for d in deployments {
                self.deployed.insert(d.name.clone(), d);
            }
        }
        if let Some(deperp) = &scenario.deperp {
            self.seed_deperp(scenario, deperp).await?;
        }
        if let Some(pool) = &scenario.pool {
            self.seed_pool(scenario, pool).await?;
        }
        Ok(())
    }

    /// Deploys the pool's `LiquidityVault` with the scenario's wrapped BTC as its WBTC
    /// token, and hands the backend role to the spec's dev account when that is not the
    /// deployer. No funds: providers deposit through the desk.
    async fn seed_pool(&mut self, scenario: &Scenario, spec: &PoolSpec) -> anyhow::Result<()> {
        let token = scenario
            .tokens
            .iter()
            .find(|t| t.key == spec.wbtc)
            .with_context(|| format!("pool.wbtc: no token {:?}", spec.wbtc))?;
        let wbtc = self.address(&token.deployment_name())?;
        let owner = self.node.address(0);
        let (vault, d) =
            super::pool::deploy_vault(&self.deployer, owner, &self.store, wbtc).await?;
        self.deployed.insert(d.name.clone(), d);
        let backend = self.node.address(spec.backend);
        if backend != owner {
            super::pool::set_backend(&self.deployer, vault, backend)
                .await
                .context("pool.backend")?;
        }
        Ok(())
    }

    /// Deploys DePerp's six contracts and wires the registry, lists the markets, sets the
    /// vault and shield balances and the funding tracers, and opens the positions. Every
    /// setter is the owner's, so all of it goes through the deployer's provider (one nonce
    /// cache).
    async fn seed_deperp(&mut self, scenario: &Scenario, spec: &DePerpSpec) -> anyhow::Result<()> {
        use super::perp;
        let owner = self.node.address(0);
        let (contracts, deployments) =
            perp::deploy_deperp(&self.deployer, owner, &self.store).await?;
        for d in deployments {
            self.deployed.insert(d.name.clone(), d);
        }
        let token = scenario
            .tokens
            .iter()
            .find(|t| t.key == spec.asset)
            .with_context(|| format!("deperp.asset: no token {:?}", spec.asset))?;
        let asset = self.address(&token.deployment_name())?;
        let amount = |text: &str| margin::units(text, token.decimals);
        for m in &spec.markets {
            perp::set_market(&self.deployer, &contracts, &m.market).await?;
            if !m.funding_tracer.is_zero() {
                perp::refresh_funding(
                    &self.deployer,
                    &contracts,
                    asset,
                    &m.market.name,
                    m.funding_tracer,
                )
                .await?;
            }
        }
        perp::set_vault_available(&self.deployer, &contracts, asset, amount(&spec.vault)?)
            .await
            .context("deperp.vault")?;
        perp::set_shield_balance(&self.deployer, &contracts, asset, amount(&spec.shield)?)
            .await
            .context("deperp.shield")?;
        let now = self
            .deployer
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await?
            .context("no latest block")?
            .header
            .timestamp;
        let count = spec.positions.len() as u64;
        let positions = spec
            .positions
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let market = spec
                    .markets
                    .iter()
                    .find(|m| m.market.name == p.market)
                    .with_context(|| format!("deperp.positions[{i}].market: no {:?}", p.market))?;
                Ok(crate::perp::model::TraderPosition {
                    user: self.node.address(p.trader),
                    asset,
                    market: p.market.clone(),
                    is_long: p.is_long,
                    size: amount(&p.size).with_context(|| format!("deperp.positions[{i}].size"))?,
                    collateral: amount(&p.collateral)
                        .with_context(|| format!("deperp.positions[{i}].collateral"))?,
                    funding_tracer: market.funding_tracer,
                    price: p.price,
                    // A minute apart, the last one now: distinct keys, oldest first.
                    timestamp: U256::from(now.saturating_sub(60 * (count - 1 - i as u64))),
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        perp::open_positions(&self.deployer, &contracts, &positions).await?;
        Ok(())
    }

    /// Deploys the margin module and its oracle, prices the pairs, stocks the market
    /// maker, opens the orders and takes the loans.
    async fn seed_margin(&mut self, scenario: &Scenario, spec: &MarginSpec) -> anyhow::Result<()> {
        let owner = self.node.address(0);
        let contracts = margin::deploy_margin(&self.deployer, owner).await?;
        let chain_id = self.node.chain_id;
        let head = self.deployer.get_block_number().await?;
        for (name, artifact, address) in [
            ("margin.oracle", "MarginOracle", contracts.oracle),
            ("margin.module", "MarginModule", contracts.module),
        ] {
            let deployment = Deployment {
                chain_id,
                name: name.into(),
                address,
                artifact: artifact.into(),
                tx_hash: Default::default(),
                block_number: head,
                deployed_at_ms: 0,
            };
            self.store.record_deployment(deployment.clone()).await?;
            self.deployed.insert(name.into(), deployment);
        }
        let token = |key: &str| -> anyhow::Result<margin::Token> {
            let spec = scenario
                .tokens
                .iter()
                .find(|t| t.key == key)
                .with_context(|| format!("margin: no token {key:?}"))?;
            Ok(margin::Token {
                address: self.address(&spec.deployment_name())?,
                decimals: spec.decimals,
            })
        };
        let amount = |key: &str, text: &str| -> anyhow::Result<U256> {
            let decimals = if key == "eth" {
                18
            } else {
                token(key)?.decimals
            };
            margin::units(text, decimals)
        };
        let base = token(&spec.base)?;
        for (key, price) in &spec.prices {
            margin::set_price(&self.deployer, contracts.oracle, base, token(key)?, price).await?;
        }
        for (key, text) in &spec.inventory {
            let t = TestToken::new(token(key)?.address, &self.deployer);
            t.transfer(contracts.oracle, amount(key, text)?)
                .send()
                .await?
                .get_receipt()
                .await
                .with_context(|| format!("stocking the market maker with {key}"))?;
        }
        let module = crate::liquidator::abi::IMarginModule::new(contracts.module, &self.deployer);
        let mut order_ids = Vec::new();
        for order in &spec.orders {
            let whitelist: Vec<Address> = order
                .whitelist
                .iter()
                .map(|k| token(k).map(|t| t.address))
                .collect::<anyhow::Result<_>>()?;
            let list_id = module.addTokenlist(whitelist.clone(), false).call().await?;
            module
                .addTokenlist(whitelist, false)
                .send()
                .await?
                .get_receipt()
                .await?;
            let now = self
                .deployer
                .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
                .await?
                .context("no latest block")?
                .header
                .timestamp;
            let reward_asset = if order.reward.0 == "eth" {
                Address::ZERO
            } else {
                token(&order.reward.0)?.address
            };
            let params = crate::liquidator::abi::OrderParams {
                whitelistId: list_id,
                interestRate: U256::from(order.interest_bps),
                duration: U256::from(order.duration_days * 86_400),
                minLoan: amount(&spec.base, &order.min_loan)?,
                liquidationRewardAmount: amount(&order.reward.0, &order.reward.1)?,
                liquidationRewardAsset: reward_asset,
                asset: base.address,
                deadline: u32::try_from(now + 365 * 86_400).unwrap_or(u32::MAX),
                currencyLimit: order.currency_limit,
                leverage: order.leverage,
                oracle: contracts.oracle,
                collateral: order
                    .collaterals
                    .iter()
                    .map(|k| token(k).map(|t| t.address))
                    .collect::<anyhow::Result<_>>()?,
            };
            let lender = self.wallet(order.lender)?;
            let deposit = amount(&spec.base, &order.deposit)?;
            order_ids.push(margin::open_order(&lender, contracts.module, params, deposit).await?);
        }
        for (i, loan) in spec.loans.iter().enumerate() {
            let order = &spec.orders[loan.order];
            let borrower = self.wallet(loan.borrower)?;
            let collateral = &order.collaterals[loan.collateral];
            let loan_amount = amount(&spec.base, &loan.amount)?;
            let position = margin::take_loan(
                &borrower,
                contracts.module,
                order_ids[loan.order],
                loan_amount,
                loan.collateral,
                amount(collateral, &loan.collateral_amount)?,
            )
            .await
            .with_context(|| format!("margin.loans[{i}]"))?;
            if let Some(buy) = &loan.buy {
                margin::margin_swap(
                    &borrower,
                    contracts.module,
                    position,
                    base.address,
                    loan_amount,
                    token(buy)?.address,
                )
                .await
                .with_context(|| format!("margin.loans[{i}].buy"))?;
            }
        }
        Ok(())
    }

    /// Records `deployment` in the store and in [`Devnet::deployed`].
    async fn record(&mut self, deployment: Deployment) -> anyhow::Result<()> {
        let (name, address) = (deployment.name.clone(), deployment.address);
        self.store
            .record_deployment(deployment.clone())
            .await
            .with_context(|| format!("recording {name} in the store"))?;
        tracing::info!(%name, %address, "deployed");
        self.deployed.insert(name, deployment);
        Ok(())
    }

    /// A deployed contract's address by name.
    pub fn address(&self, name: &str) -> anyhow::Result<Address> {
        self.deployed
            .get(name)
            .map(|d| d.address)
            .with_context(|| format!("nothing named {name:?} is deployed on this devnet"))
    }

    pub fn holder(&self, holder: Holder) -> Address {
        match holder {
            Holder::Dev(index) => self.node.address(index),
            Holder::Address(address) => address,
        }
    }

    pub fn control(&self) -> DevnetControl {
        DevnetControl::new(self.node.provider())
    }

    /// A provider that signs as dev account `index` (fills nonce, gas and fees itself).
    pub fn wallet(&self, index: usize) -> anyhow::Result<DynProvider> {
        wallet_provider(&self.node, index)
    }

    /// A chain config with this node as its only endpoint (tests tune the rest).
    pub fn chain_config(&self) -> ChainConfig {
        ChainConfig {
            chain_id: self.node.chain_id,
            endpoints: vec![EndpointConfig {
                name: "anvil".into(),
                url: self.node.http_url(),
                ws_url: self.node.ws_url(),
            }],
            ..ChainConfig::default()
        }
    }

    /// An ERC-20 balance, for checks.
    pub async fn token_balance(&self, name: &str, holder: Address) -> anyhow::Result<U256> {
        let token = TestToken::new(self.address(name)?, self.node.provider());
        Ok(token.balanceOf(holder).call().await?)
    }
}

fn wallet_provider(node: &AnvilNode, index: usize) -> anyhow::Result<DynProvider> {
    let url = node.http_url().parse().context("the anvil URL")?;
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(node.signer(index)))
        .connect_http(url);
    // A local anvil mines at once; alloy's default 250 ms receipt polling would make
    // seeding a few hundred transactions take minutes.
    provider
        .client()
        .set_poll_interval(std::time::Duration::from_millis(10));
    Ok(provider.erased())
}
