//! A provider's deposit as the transactions they sign themselves: the desk never holds a
//! provider's key. ETH is one call, `depositFunds(amount, 0x0)` with the amount as value;
//! WBTC is two, the ERC-20 `approve(vault, amount)` then `depositFunds(amount, wbtc)`.
//! The books are credited only when the Vault's `FundsDeposited` event is confirmed.

use alloy::primitives::{Address, Bytes, U256};
use alloy::sol_types::SolCall;
use serde_json::{Value, json};

use super::model::{Token, Units};
use crate::chain::contracts::LiquidityVault;

alloy::sol! {
    /// ERC-20 `approve`, the WBTC deposit's first step.
    function approve(address spender, uint256 value) external returns (bool);
}

/// One transaction for the provider to sign and send from their own address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedTx {
    /// What it does, for the person signing it.
    pub step: String,
    pub from: Address,
    pub to: Address,
    /// Wei sent with it.
    pub value: U256,
    pub data: Bytes,
    pub chain_id: u64,
}

impl PreparedTx {
    pub fn to_json(&self) -> Value {
        json!({
            "step": self.step,
            "from": self.from.to_checksum(None),
            "to": self.to.to_checksum(None),
            "value": self.value.to_string(),
            "data": self.data.to_string(),
            "chainId": self.chain_id,
        })
    }
}

/// Where the deposit goes.
#[derive(Debug, Clone, Copy)]
pub struct VaultTarget {
    pub chain_id: u64,
    pub vault: Address,
    pub wbtc: Address,
}

/// The transactions `provider` signs, in order, to deposit `amount` of `token`.
pub fn deposit_transactions(
    target: VaultTarget,
    provider: Address,
    token: Token,
    amount: Units,
) -> Vec<PreparedTx> {
    let amount_u = U256::from(amount);
    let text = format!("{} {token}", token.format_units(amount));
    let deposit = |token_arg: Address, value: U256| PreparedTx {
        step: format!("deposit {text} into the vault"),
        from: provider,
        to: target.vault,
        value,
        data: LiquidityVault::depositFundsCall {
            amount: amount_u,
            token: token_arg,
        }
        .abi_encode()
        .into(),
        chain_id: target.chain_id,
    };
    match token {
        Token::Eth => vec![deposit(Address::ZERO, amount_u)],
        Token::Wbtc => vec![
            PreparedTx {
                step: format!("allow the vault to take {text}"),
                from: provider,
                to: target.wbtc,
                value: U256::ZERO,
                data: approveCall {
                    spender: target.vault,
                    value: amount_u,
                }
                .abi_encode()
                .into(),
                chain_id: target.chain_id,
            },
            deposit(target.wbtc, U256::ZERO),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TARGET: VaultTarget = VaultTarget {
        chain_id: 31337,
        vault: Address::repeat_byte(0xaa),
        wbtc: Address::repeat_byte(0xbb),
    };

    #[test]
    fn eth_is_one_call_with_the_amount_as_value() {
        let txs = deposit_transactions(
            TARGET,
            Address::repeat_byte(1),
            Token::Eth,
            1_500_000_000_000_000_000,
        );
        assert_eq!(txs.len(), 1);
        assert_eq!(txs[0].step, "deposit 1.5 ETH into the vault");
        assert_eq!(txs[0].to, TARGET.vault);
        assert_eq!(txs[0].value, U256::from(1_500_000_000_000_000_000u128));
        // depositFunds(uint256,address): selector, then the amount and a zero address.
        assert_eq!(
            txs[0].data.to_string(),
            format!(
                "0x{}{:064x}{}",
                hex_selector("depositFunds(uint256,address)"),
                1_500_000_000_000_000_000u128,
                "0".repeat(64)
            )
        );
    }

    #[test]
    fn wbtc_is_the_approval_then_the_deposit_with_no_value() {
        let txs = deposit_transactions(TARGET, Address::repeat_byte(1), Token::Wbtc, 25_000_000);
        assert_eq!(txs.len(), 2);
        assert_eq!(txs[0].step, "allow the vault to take 0.25 WBTC");
        assert_eq!(txs[0].to, TARGET.wbtc);
        assert_eq!(
            txs[0].data.to_string(),
            format!("0x095ea7b3{:0>64}{:064x}", "aa".repeat(20), 25_000_000u128)
        );
        assert_eq!(txs[1].to, TARGET.vault);
        assert_eq!(txs[1].value, U256::ZERO);
        assert!(txs[1].data.ends_with(&[0xbb; 20]));
        assert_eq!(txs[1].to_json()["chainId"], 31337);
    }

    fn hex_selector(signature: &str) -> String {
        alloy::hex::encode(&alloy::primitives::keccak256(signature)[..4])
    }
}
