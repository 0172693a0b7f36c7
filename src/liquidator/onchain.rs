//! The desk's node calls, each counted: pair prices and oracle maths, token metadata,
//! `subjectToLiquidationExtended` for candidates, the fee market, and the simulation of a
//! `liquidate` call before it is proposed.

use std::sync::atomic::{AtomicU64, Ordering};

use alloy::eips::BlockId;
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::{Provider, RootProvider};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;

use super::abi::{IMarginModule, IMarginOracle};
use super::pane::TokenInfo;
use super::strategy::ChainCheck;
use super::valuation::OracleMath;

alloy::sol! {
    #[sol(rpc)]
    interface IErc20Metadata {
        function symbol() external view returns (string);
        function decimals() external view returns (uint8);
    }
}

/// Node calls made, for the pane's metrics.
#[derive(Debug, Default)]
pub struct CallCounter(AtomicU64);

impl CallCounter {
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn take(&self) -> u64 {
        self.0.swap(0, Ordering::Relaxed)
    }
}

pub struct OnChain {
    pub provider: RootProvider,
    pub module: Address,
    pub calls: CallCounter,
}

impl OnChain {
    pub fn new(provider: RootProvider, module: Address) -> Self {
        Self {
            provider,
            module,
            calls: CallCounter::default(),
        }
    }

    pub fn module(&self) -> IMarginModule::IMarginModuleInstance<RootProvider> {
        IMarginModule::new(self.module, self.provider.clone())
    }

    /// The head block: number and timestamp.
    pub async fn head(&self) -> anyhow::Result<(u64, u64)> {
        self.calls.add(1);
        let block = self
            .provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the node has no latest block"))?;
        Ok((block.header.number, block.header.timestamp))
    }

    /// The oracle's price of a pair at `block` (`None`: not set, or the oracle has no such
    /// reader, as the real Dex223 oracle prices from pools).
    pub async fn pair_price(
        &self,
        oracle: Address,
        token_a: Address,
        token_b: Address,
        block: u64,
    ) -> Option<U256> {
        self.calls.add(1);
        let price = IMarginOracle::new(oracle, self.provider.clone())
            .sqrtPriceX96Of(token_a, token_b)
            .block(BlockId::number(block))
            .call()
            .await
            .ok()?;
        let price = U256::from(price);
        (!price.is_zero()).then_some(price)
    }

    /// How the oracle computes amounts: `pricePrecisionDecimals()` (legacy oracles keep 5
    /// digits of the amount); an oracle without it is exact.
    pub async fn oracle_math(&self, oracle: Address) -> OracleMath {
        self.calls.add(1);
        match IMarginOracle::new(oracle, self.provider.clone())
            .pricePrecisionDecimals()
            .call()
            .await
        {
            Ok(digits) => OracleMath::from_precision_decimals(u64::try_from(digits).unwrap_or(0)),
            Err(_) => OracleMath::Exact,
        }
    }

    /// Symbol and decimals of a token (`Address::ZERO`: ETH).
    pub async fn token(&self, address: Address) -> TokenInfo {
        if address == Address::ZERO {
            return TokenInfo {
                address,
                symbol: "ETH".into(),
                decimals: 18,
            };
        }
        self.calls.add(2);
        let token = IErc20Metadata::new(address, self.provider.clone());
        match (token.symbol().call().await, token.decimals().call().await) {
            (Ok(symbol), Ok(decimals)) => TokenInfo {
                address,
                symbol,
                decimals,
            },
            _ => TokenInfo::unknown(address),
        }
    }

    /// `subjectToLiquidationExtended(id)` at the head.
    pub async fn check(&self, position_id: u64) -> anyhow::Result<ChainCheck> {
        self.calls.add(1);
        let r = self
            .module()
            .subjectToLiquidationExtended(U256::from(position_id))
            .call()
            .await?;
        Ok(ChainCheck {
            liquidatable: r._subjectToLiquidation,
            liquidator: r.liquidator,
            frozen_time: u64::try_from(r.frozenTimestamp).unwrap_or(u64::MAX),
            closed: r.liquidated,
            insolvency_time: u64::try_from(r.insolvensy_expected_time).unwrap_or(u64::MAX),
        })
    }

    /// What one gas costs now: base fee plus the suggested tip, in wei.
    pub async fn fee_per_gas(&self) -> anyhow::Result<u128> {
        self.calls.add(1);
        let quote = crate::chain::send::fees::quote(&self.provider).await?;
        Ok(quote.base_fee.saturating_add(quote.suggested_tip))
    }

    /// Simulates `liquidate(position, receiver)` from `from`: the gas it would use, or why
    /// it would revert.
    pub async fn simulate_liquidate(
        &self,
        from: Address,
        position_id: u64,
        receiver: Address,
    ) -> Result<u64, String> {
        self.calls.add(1);
        let request = TransactionRequest::default()
            .from(from)
            .to(self.module)
            .input(liquidate_calldata(position_id, receiver).into());
        self.provider
            .estimate_gas(request)
            .await
            .map_err(|e| revert_reason(&e))
    }
}

/// The call data of `liquidate(positionId, receiver)`: the freeze and the confirm alike.
pub fn liquidate_calldata(position_id: u64, receiver: Address) -> Bytes {
    IMarginModule::liquidateCall {
        positionId: U256::from(position_id),
        receiver,
    }
    .abi_encode()
    .into()
}

/// A node's refusal as a reason: the decoded revert string when there is one.
fn revert_reason(error: &alloy::transports::TransportError) -> String {
    let data = error.as_error_resp().and_then(|resp| resp.as_revert_data());
    match data {
        Some(data) => crate::chain::send::RevertDecoder::new().decode(&data),
        None => error.to_string(),
    }
}
