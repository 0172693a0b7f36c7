//! The typed seed for a devnet: which contracts to deploy under which names, and the
//! state to put them in. Desk issues extend it with their own contracts and seeds.

use alloy::primitives::{Address, B256, I256, U256, b256};

use crate::perp::model::Market;

/// A devnet's contracts and starting state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scenario {
    pub tokens: Vec<TokenSpec>,
    pub mints: Vec<Mint>,
    /// The oracle desk's PriceCaster, deployed as `oracle.price_caster`.
    pub price_caster: Option<PriceCasterSpec>,
    /// The liquidator desk's margin module and its oracle, deployed as `margin.module` and
    /// `margin.oracle`, with prices, an order and loans.
    pub margin: Option<MarginSpec>,
    /// The AnyHedge desk's collateral (WBCH, 8 decimals) and HedgeFactory, deployed as
    /// `anyhedge.collateral` and `anyhedge.factory`.
    pub anyhedge: bool,
    /// The perp desk's DePerp contracts, deployed as `deperp.registry` (the desk's entry
    /// point), `deperp.positions`, `deperp.vault`, `deperp.vault_utils`,
    /// `deperp.funding_rate` and `deperp.trading_market`, with markets, the vault and
    /// shield balances, funding tracers and trader positions.
    pub deperp: Option<DePerpSpec>,
    /// The pool desk's `LiquidityVault`, deployed as `pool.vault` with its WBTC token set.
    pub pool: Option<PoolSpec>,
}

/// The pool desk's vault: which scenario token is its wrapped BTC, and who signs as the
/// backend. No funds are seeded: a deposit the desk did not see would be a provider it does
/// not know, and its reconciliation would (rightly) flag the difference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSpec {
    /// A [`TokenSpec::key`] with 8 decimals: the vault's `setWbtcToken`.
    pub wbtc: String,
    /// Dev account index of the backend principal (0, the deployer and admin, by default).
    pub backend: usize,
}

impl PoolSpec {
    /// What `devnet up` deploys: the `wbtc` token, dev 0 (the deployer) as the backend.
    pub fn standard() -> Self {
        PoolSpec {
            wbtc: "wbtc".into(),
            backend: 0,
        }
    }
}

/// Pyth's BTC/USD price feed id.
pub const PYTH_BTC_USD: B256 =
    b256!("e62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43");
/// Pyth's ETH/USD price feed id.
pub const PYTH_ETH_USD: B256 =
    b256!("ff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace");

/// DePerp's state on one collateral asset: its markets, the vault's available balance and
/// the shield, and the traders' positions. Amounts are decimals in whole tokens of the
/// asset (`"2500.5"`); prices are integers in DePerp's price scale (8 decimals, as Pyth's
/// crypto feeds: 60,000 USD is `6_000_000_000_000`).
#[derive(Debug, Clone, PartialEq)]
pub struct DePerpSpec {
    /// The collateral: a [`TokenSpec::key`]; its address is every position's asset.
    pub asset: String,
    pub markets: Vec<DePerpMarketSpec>,
    /// `VaultUtils.getVaultAvailable(asset)`.
    pub vault: String,
    /// `Vault.getShieldBalance(asset)`.
    pub shield: String,
    /// Opened in order, the last at the head block's time and each earlier one a minute
    /// before the next, at their market's funding tracer.
    pub positions: Vec<DePerpPositionSpec>,
}

/// A market DePerp lists, and its funding tracer on the spec's asset.
#[derive(Debug, Clone, PartialEq)]
pub struct DePerpMarketSpec {
    pub market: Market,
    /// Where the (asset, market) funding tracer stands after seeding (it starts at 0).
    pub funding_tracer: I256,
}

/// A trader's open position.
#[derive(Debug, Clone, PartialEq)]
pub struct DePerpPositionSpec {
    /// Dev account index.
    pub trader: usize,
    /// A [`Market::name`] in [`DePerpSpec::markets`].
    pub market: String,
    pub is_long: bool,
    /// Notional, in whole tokens of the asset.
    pub size: String,
    pub collateral: String,
    /// Entry price, in DePerp's price scale.
    pub price: U256,
}

impl DePerpMarketSpec {
    /// A live crypto market priced by the Pyth feed `pyth_feed`, with DePerp-like terms
    /// (50x, 0.1% fee; the desk reads only the name, the feed and whether it is live), and
    /// its funding tracer at 0.
    pub fn crypto(name: &str, pyth_feed: B256) -> Self {
        DePerpMarketSpec {
            market: Market {
                name: name.into(),
                category: "crypto".into(),
                de_feed: Address::ZERO,
                max_leverage: U256::from(50u8),
                max_price_shift: U256::from(100u8),
                fee: U256::from(10u8),
                liq_threshold: U256::from(9_000u16),
                funding_factor: U256::from(3u8),
                min_order_age: U256::from(5u8),
                feed_max_age: U256::from(60u8),
                pyth_feed,
                market_live: true,
                is_reduce_only: false,
            },
            funding_tracer: I256::ZERO,
        }
    }

    pub fn funding_tracer(mut self, tracer: i64) -> Self {
        self.funding_tracer = I256::try_from(tracer).expect("an i64 fits an int256");
        self
    }
}

impl DePerpSpec {
    /// What `devnet up` seeds: BTC-USD and ETH-USD on USDC, 1,000,000 USDC in the vault
    /// and 100,000 in the shield, and four modest 10x positions (devs 2 to 5) near 60,000
    /// USD a BTC and 3,000 an ETH. Their PnL is zero at entry, far inside the shield, so
    /// none is at risk until the price moves a long way.
    pub fn standard() -> Self {
        let s = |v: &str| v.to_string();
        let position = |trader, market: &str, is_long, size: &str, price: u64| DePerpPositionSpec {
            trader,
            market: s(market),
            is_long,
            size: s(size),
            // 10x.
            collateral: (size.parse::<u64>().expect("a whole size") / 10).to_string(),
            price: U256::from(price),
        };
        DePerpSpec {
            asset: s("usdc"),
            markets: vec![
                DePerpMarketSpec::crypto("BTC-USD", PYTH_BTC_USD).funding_tracer(120),
                DePerpMarketSpec::crypto("ETH-USD", PYTH_ETH_USD).funding_tracer(-40),
            ],
            vault: s("1000000"),
            shield: s("100000"),
            positions: vec![
                position(2, "BTC-USD", true, "50000", 6_000_000_000_000),
                position(3, "BTC-USD", false, "30000", 6_100_000_000_000),
                position(4, "ETH-USD", true, "20000", 300_000_000_000),
                position(5, "ETH-USD", false, "15000", 305_000_000_000),
            ],
        }
    }
}

/// A Dex223 margin market: the oracle's prices, the market maker's inventory, orders and
/// loans. Amounts are decimals in whole tokens (`"0.5"`), tokens are scenario keys.
#[derive(Debug, Clone, PartialEq)]
pub struct MarginSpec {
    /// The asset every price is quoted in (and the seeded orders lend).
    pub base: String,
    /// `(token, price)`: one whole token is worth `price` whole base.
    pub prices: Vec<(String, String)>,
    /// `(token, amount)` the deployer hands the oracle's market maker, which buys what
    /// liquidations and margin trades sell.
    pub inventory: Vec<(String, String)>,
    pub orders: Vec<MarginOrderSpec>,
    pub loans: Vec<MarginLoanSpec>,
}

/// A lender's order, lending the market's base asset.
#[derive(Debug, Clone, PartialEq)]
pub struct MarginOrderSpec {
    /// Dev account index.
    pub lender: usize,
    pub collaterals: Vec<String>,
    /// Tokens positions may trade into (the base asset and collaterals always).
    pub whitelist: Vec<String>,
    pub deposit: String,
    /// Basis points per 30 days.
    pub interest_bps: u64,
    pub duration_days: u64,
    pub leverage: u8,
    pub currency_limit: u16,
    pub min_loan: String,
    /// The reward a liquidator earns: a token key (or `eth`) and an amount.
    pub reward: (String, String),
}

/// A borrower's loan, optionally traded at once into a leveraged long.
#[derive(Debug, Clone, PartialEq)]
pub struct MarginLoanSpec {
    /// Dev account index.
    pub borrower: usize,
    /// Index into [`MarginSpec::orders`].
    pub order: usize,
    pub amount: String,
    /// Index into the order's collaterals.
    pub collateral: usize,
    pub collateral_amount: String,
    /// Swap the whole loan into this token right after (`marginSwap`).
    pub buy: Option<String>,
}

impl MarginSpec {
    /// What `devnet up` seeds: USDC lent against WETH and WBTC by dev 1, at 3,000 and
    /// 60,000 USDC, and three leveraged longs (devs 2 to 4) of different health.
    pub fn standard() -> Self {
        let s = |v: &str| v.to_string();
        MarginSpec {
            base: s("usdc"),
            prices: vec![(s("weth"), s("3000")), (s("wbtc"), s("60000"))],
            inventory: vec![
                (s("usdc"), s("10000000")),
                (s("weth"), s("100000")),
                (s("wbtc"), s("1000")),
            ],
            orders: vec![MarginOrderSpec {
                lender: 1,
                collaterals: vec![s("weth"), s("wbtc")],
                whitelist: vec![s("usdc"), s("weth"), s("wbtc")],
                deposit: s("500000"),
                interest_bps: 300,
                duration_days: 30,
                leverage: 5,
                currency_limit: 4,
                min_loan: s("100"),
                reward: (s("usdc"), s("25")),
            }],
            loans: vec![
                MarginLoanSpec {
                    borrower: 2,
                    order: 0,
                    amount: s("4000"),
                    collateral: 0,
                    collateral_amount: s("1"),
                    buy: Some(s("weth")),
                },
                MarginLoanSpec {
                    borrower: 3,
                    order: 0,
                    amount: s("8000"),
                    collateral: 0,
                    collateral_amount: s("1"),
                    buy: Some(s("weth")),
                },
                MarginLoanSpec {
                    borrower: 4,
                    order: 0,
                    amount: s("50000"),
                    collateral: 1,
                    collateral_amount: s("1"),
                    buy: Some(s("wbtc")),
                },
            ],
        }
    }
}

/// A PriceCaster and the guardian set and emitter it accepts.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceCasterSpec {
    pub guardians: Vec<Address>,
    pub guardian_set_index: u32,
    pub emitter_chain: u16,
    pub emitter_address: alloy::primitives::B256,
    /// Construction-only flags (bit 7 testing mode, bit 6 no Merkle check).
    pub flags: u8,
}

/// The seed of the devnet guardian set `devnet up` deploys PriceCaster with.
pub const DEVNET_GUARDIAN_SEED: u64 = 1;
/// The devnet AnyHedge oracle's key seed (public: devnet only).
pub const DEVNET_GP_ORACLE_SEED: &[u8] = b"hedgedesk devnet BCH/USD oracle";
/// Guardians in that set (quorum 4).
pub const DEVNET_GUARDIANS: usize = 5;

impl PriceCasterSpec {
    /// Accepting the devnet price source ([`crate::devnet::pyth::DevnetPythSource`]).
    pub fn devnet() -> Self {
        let source =
            crate::devnet::pyth::DevnetPythSource::new(DEVNET_GUARDIAN_SEED, DEVNET_GUARDIANS, 0);
        Self {
            guardians: source.set.keys.clone(),
            guardian_set_index: source.set.index,
            emitter_chain: source.emitter.chain,
            emitter_address: source.emitter.address,
            flags: 0,
        }
    }
}

/// An ERC-20 test token, deployed as `token.<key>` from the `TestToken` artifact.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenSpec {
    /// Short lowercase name: the deployment is recorded as `token.<key>`.
    pub key: String,
    pub name: String,
    pub symbol: String,
    pub decimals: u8,
    /// Minted to the deployer at construction, in base units.
    pub initial_supply: U256,
}

/// Tokens minted to an account after deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct Mint {
    /// A [`TokenSpec::key`].
    pub token: String,
    pub to: Holder,
    /// Base units.
    pub amount: U256,
}

/// Who receives seeded funds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    /// One of anvil's funded dev accounts, by index.
    Dev(usize),
    Address(Address),
}

impl TokenSpec {
    /// `whole_supply` whole tokens (scaled by `decimals`).
    pub fn new(key: &str, name: &str, symbol: &str, decimals: u8, whole_supply: u64) -> Self {
        Self {
            key: key.into(),
            name: name.into(),
            symbol: symbol.into(),
            decimals,
            initial_supply: whole(whole_supply, decimals),
        }
    }

    pub fn deployment_name(&self) -> String {
        format!("token.{}", self.key)
    }
}

/// `amount` whole tokens in base units of a token with `decimals`.
pub fn whole(amount: u64, decimals: u8) -> U256 {
    U256::from(amount) * U256::from(10u8).pow(U256::from(decimals))
}

impl Scenario {
    pub fn empty() -> Self {
        Self::default()
    }

    /// What `hedgedesk devnet up` seeds: the stablecoin, wrapped BTC and wrapped ETH the
    /// desks trade in, balances for dev accounts 1 to 4 (0 is the deployer), a PriceCaster
    /// accepting the devnet price source, the margin market, AnyHedge, DePerp and the pool's
    /// vault.
    pub fn standard() -> Self {
        let tokens = vec![
            TokenSpec::new("usdc", "USD Coin (devnet)", "USDC", 6, 100_000_000),
            TokenSpec::new("wbtc", "Wrapped BTC (devnet)", "WBTC", 8, 10_000),
            TokenSpec::new("weth", "Wrapped Ether (devnet)", "WETH", 18, 1_000_000),
        ];
        let mut scenario = Scenario {
            tokens,
            mints: Vec::new(),
            price_caster: Some(PriceCasterSpec::devnet()),
            margin: Some(MarginSpec::standard()),
            anyhedge: true,
            deperp: Some(DePerpSpec::standard()),
            pool: Some(PoolSpec::standard()),
        };
        for dev in 1..=4 {
            scenario = scenario
                .mint_whole("usdc", Holder::Dev(dev), 1_000_000)
                .mint_whole("wbtc", Holder::Dev(dev), 100)
                .mint_whole("weth", Holder::Dev(dev), 1_000);
        }
        scenario
    }

    pub fn token(mut self, spec: TokenSpec) -> Self {
        self.tokens.push(spec);
        self
    }

    pub fn deperp(mut self, spec: DePerpSpec) -> Self {
        self.deperp = Some(spec);
        self
    }

    pub fn pool(mut self, spec: PoolSpec) -> Self {
        self.pool = Some(spec);
        self
    }

    /// Mints `amount` whole tokens of `token` (a key already in the scenario) to `to`.
    pub fn mint_whole(mut self, token: &str, to: Holder, amount: u64) -> Self {
        let decimals = self
            .tokens
            .iter()
            .find(|t| t.key == token)
            .map(|t| t.decimals)
            .unwrap_or_else(|| panic!("mint_whole: no token {token:?} in the scenario yet"));
        self.mints.push(Mint {
            token: token.into(),
            to,
            amount: whole(amount, decimals),
        });
        self
    }

    /// Problems that would make deployment fail halfway; checked before anything is sent.
    pub fn check(&self, dev_accounts: usize) -> Result<(), String> {
        let mut keys = std::collections::BTreeSet::new();
        for (i, t) in self.tokens.iter().enumerate() {
            let valid_key = !t.key.is_empty()
                && t.key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !valid_key {
                return Err(format!(
                    "tokens[{i}].key: expected lowercase letters, digits or `_`, got {:?}",
                    t.key
                ));
            }
            if !keys.insert(t.key.as_str()) {
                return Err(format!("tokens[{i}].key: {:?} is used twice", t.key));
            }
            if t.decimals > 36 {
                return Err(format!(
                    "tokens[{i}].decimals: expected 0 to 36, got {}",
                    t.decimals
                ));
            }
        }
        for (i, m) in self.mints.iter().enumerate() {
            if !keys.contains(m.token.as_str()) {
                return Err(format!(
                    "mints[{i}].token: no token {:?} in the scenario",
                    m.token
                ));
            }
            if let Holder::Dev(index) = m.to
                && index >= dev_accounts
            {
                return Err(format!(
                    "mints[{i}].to: dev account {index} does not exist (anvil has {dev_accounts})"
                ));
            }
        }
        if let Some(margin) = &self.margin {
            let known = |key: &str, at: String| {
                if keys.contains(key) {
                    Ok(())
                } else {
                    Err(format!("{at}: no token {key:?} in the scenario"))
                }
            };
            known(&margin.base, "margin.base".into())?;
            for (i, (token, price)) in margin.prices.iter().enumerate() {
                known(token, format!("margin.prices[{i}].token"))?;
                crate::liquidator::usd::UsdPrice::parse(price)
                    .map_err(|e| format!("margin.prices[{i}].price: {e}"))?;
            }
            for (i, (token, _)) in margin.inventory.iter().enumerate() {
                known(token, format!("margin.inventory[{i}].token"))?;
            }
            for (i, order) in margin.orders.iter().enumerate() {
                if order.lender >= dev_accounts {
                    return Err(format!(
                        "margin.orders[{i}].lender: no dev account {}",
                        order.lender
                    ));
                }
                for token in order.collaterals.iter().chain(&order.whitelist) {
                    known(token, format!("margin.orders[{i}]"))?;
                }
                if order.reward.0 != "eth" {
                    known(&order.reward.0, format!("margin.orders[{i}].reward"))?;
                }
            }
            for (i, loan) in margin.loans.iter().enumerate() {
                let Some(order) = margin.orders.get(loan.order) else {
                    return Err(format!("margin.loans[{i}].order: no order {}", loan.order));
                };
                if loan.collateral >= order.collaterals.len() {
                    return Err(format!(
                        "margin.loans[{i}].collateral: the order has no collateral {}",
                        loan.collateral
                    ));
                }
                if loan.borrower >= dev_accounts {
                    return Err(format!(
                        "margin.loans[{i}].borrower: no dev account {}",
                        loan.borrower
                    ));
                }
            }
        }
        if let Some(deperp) = &self.deperp {
            let Some(asset) = self.tokens.iter().find(|t| t.key == deperp.asset) else {
                return Err(format!(
                    "deperp.asset: no token {:?} in the scenario",
                    deperp.asset
                ));
            };
            let amount = |text: &str, at: String| {
                super::margin::units(text, asset.decimals)
                    .map(drop)
                    .map_err(|e| format!("{at}: {e}"))
            };
            amount(&deperp.vault, "deperp.vault".into())?;
            amount(&deperp.shield, "deperp.shield".into())?;
            let mut markets = std::collections::BTreeSet::new();
            for (i, m) in deperp.markets.iter().enumerate() {
                if m.market.name.is_empty() {
                    return Err(format!("deperp.markets[{i}].name: empty"));
                }
                if !markets.insert(m.market.name.as_str()) {
                    return Err(format!(
                        "deperp.markets[{i}].name: {:?} is listed twice",
                        m.market.name
                    ));
                }
            }
            for (i, p) in deperp.positions.iter().enumerate() {
                if p.trader >= dev_accounts {
                    return Err(format!(
                        "deperp.positions[{i}].trader: no dev account {}",
                        p.trader
                    ));
                }
                if !markets.contains(p.market.as_str()) {
                    return Err(format!(
                        "deperp.positions[{i}].market: no market {:?} in deperp.markets",
                        p.market
                    ));
                }
                amount(&p.size, format!("deperp.positions[{i}].size"))?;
                amount(&p.collateral, format!("deperp.positions[{i}].collateral"))?;
                if p.price.is_zero() {
                    return Err(format!("deperp.positions[{i}].price: zero"));
                }
            }
        }
        if let Some(pool) = &self.pool {
            let Some(wbtc) = self.tokens.iter().find(|t| t.key == pool.wbtc) else {
                return Err(format!(
                    "pool.wbtc: no token {:?} in the scenario",
                    pool.wbtc
                ));
            };
            if wbtc.decimals != 8 {
                return Err(format!(
                    "pool.wbtc: the vault's wrapped BTC has 8 decimals, {:?} has {}",
                    pool.wbtc, wbtc.decimals
                ));
            }
            if pool.backend >= dev_accounts {
                return Err(format!(
                    "pool.backend: dev account {} does not exist (anvil has {dev_accounts})",
                    pool.backend
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_scales_by_decimals() {
        assert_eq!(whole(1, 6), U256::from(1_000_000u64));
        assert_eq!(whole(21, 8), U256::from(2_100_000_000u64));
        assert_eq!(whole(1_000_000, 18), U256::from(10u8).pow(U256::from(24u8)));
        assert_eq!(whole(5, 0), U256::from(5u8));
    }

    #[test]
    fn the_standard_scenario_is_valid_and_names_tokens() {
        let s = Scenario::standard();
        s.check(10).unwrap();
        let names: Vec<_> = s.tokens.iter().map(TokenSpec::deployment_name).collect();
        assert_eq!(names, ["token.usdc", "token.wbtc", "token.weth"]);
        assert_eq!(s.mints.len(), 12);
        assert_eq!(s.mints[0].amount, U256::from(1_000_000_000_000u64));
    }

    #[test]
    fn the_standard_deperp_seed_is_valid_and_modest() {
        let s = Scenario::standard();
        let deperp = s.deperp.as_ref().expect("devnet up seeds DePerp");
        assert_eq!(deperp.asset, "usdc");
        let names: Vec<_> = deperp.markets.iter().map(|m| &m.market.name).collect();
        assert_eq!(names, ["BTC-USD", "ETH-USD"]);
        assert_eq!(deperp.markets[0].market.pyth_feed, PYTH_BTC_USD);
        assert_eq!(deperp.markets[1].market.pyth_feed, PYTH_ETH_USD);
        assert_eq!(deperp.positions.len(), 4);
        let traders: Vec<_> = deperp.positions.iter().map(|p| p.trader).collect();
        assert_eq!(traders, [2, 3, 4, 5]);
        for p in &deperp.positions {
            let size: u64 = p.size.parse().unwrap();
            let collateral: u64 = p.collateral.parse().unwrap();
            assert_eq!(size, collateral * 10, "{p:?}");
            // Their summed notional is a fraction of the shield's worth of moves.
            assert!(size <= 100_000, "{p:?}");
        }
        assert_eq!(deperp.positions[0].price, U256::from(6_000_000_000_000u64));
        assert!(Scenario::empty().deperp.is_none());
    }

    #[test]
    fn check_names_the_bad_deperp_field() {
        let base = || {
            Scenario::empty()
                .token(TokenSpec::new("usdc", "x", "X", 6, 1))
                .deperp(DePerpSpec::standard())
        };
        base().check(10).unwrap();
        let mut no_asset = base();
        no_asset.tokens.clear();
        assert!(no_asset.check(10).unwrap_err().starts_with("deperp.asset"));
        let mut far = base();
        far.deperp.as_mut().unwrap().positions[0].trader = 10;
        assert!(
            far.check(10)
                .unwrap_err()
                .starts_with("deperp.positions[0].trader")
        );
        let mut unlisted = base();
        unlisted.deperp.as_mut().unwrap().positions[1].market = "SOL-USD".into();
        assert!(
            unlisted
                .check(10)
                .unwrap_err()
                .starts_with("deperp.positions[1].market")
        );
        let mut fine = base();
        fine.deperp.as_mut().unwrap().shield = "1.0000001".into();
        assert!(fine.check(10).unwrap_err().starts_with("deperp.shield"));
        let mut twice = base();
        let btc = twice.deperp.as_ref().unwrap().markets[0].clone();
        twice.deperp.as_mut().unwrap().markets.push(btc);
        assert!(twice.check(10).unwrap_err().contains("listed twice"));
    }

    #[test]
    fn the_standard_pool_uses_wbtc_and_check_names_the_bad_pool_field() {
        let s = Scenario::standard();
        assert_eq!(s.pool, Some(PoolSpec::standard()));
        assert_eq!(s.pool.as_ref().unwrap().wbtc, "wbtc");
        assert!(Scenario::empty().pool.is_none());
        let base = || {
            Scenario::empty()
                .token(TokenSpec::new("wbtc", "x", "X", 8, 1))
                .pool(PoolSpec::standard())
        };
        base().check(10).unwrap();
        let mut missing = base();
        missing.pool.as_mut().unwrap().wbtc = "sbtc".into();
        assert!(
            missing
                .check(10)
                .unwrap_err()
                .starts_with("pool.wbtc: no token")
        );
        let eighteen = Scenario::empty()
            .token(TokenSpec::new("wbtc", "x", "X", 18, 1))
            .pool(PoolSpec::standard());
        assert!(eighteen.check(10).unwrap_err().contains("8 decimals"));
        let mut far = base();
        far.pool.as_mut().unwrap().backend = 10;
        assert!(far.check(10).unwrap_err().starts_with("pool.backend"));
    }

    #[test]
    fn check_names_the_bad_field() {
        let bad_key = Scenario::empty().token(TokenSpec::new("US D", "x", "X", 6, 1));
        assert!(bad_key.check(10).unwrap_err().starts_with("tokens[0].key"));
        let twice = Scenario::empty()
            .token(TokenSpec::new("usd", "x", "X", 6, 1))
            .token(TokenSpec::new("usd", "y", "Y", 6, 1));
        assert!(twice.check(10).unwrap_err().contains("used twice"));
        let far = Scenario::empty()
            .token(TokenSpec::new("usd", "x", "X", 6, 1))
            .mint_whole("usd", Holder::Dev(12), 1);
        assert!(far.check(10).unwrap_err().starts_with("mints[0].to"));
    }
}
