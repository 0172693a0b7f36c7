//! The bulk seeding's own accounts: keys derived from public labels (devnet only, like
//! anvil's), funded by the owner with gas and tokens, so the market's dev accounts keep
//! their nonces and balances to themselves.

use alloy::primitives::{Address, U256, keccak256};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;

use super::send::Sender;
use crate::chain::contracts::TestToken;

/// Gas money for one bulk account: its sends cost far less (see `send::MAX_FEE_WEI`).
const GAS_MONEY_WEI: u128 = 50_000_000_000_000_000_000;

/// The `i`-th key of `role` (`"borrower"`, `"short"`, ...).
pub fn derived(role: &str, i: usize) -> PrivateKeySigner {
    let secret = keccak256(format!("hedgedesk demo bulk {role} {i}"));
    PrivateKeySigner::from_bytes(&secret)
        .expect("a keccak digest is a valid key but with odds of 2^-128")
}

/// `n` keys of `role`.
pub fn derived_many(role: &str, n: usize) -> Vec<PrivateKeySigner> {
    (0..n).map(|i| derived(role, i)).collect()
}

/// The owner's gas money to each of `to`.
pub async fn send_gas(owner: &mut Sender, to: &[Address]) -> anyhow::Result<()> {
    for who in to {
        owner
            .send(*who, Default::default(), U256::from(GAS_MONEY_WEI), 21_000)
            .await?;
    }
    Ok(())
}

/// The owner mints `amount` of `token` to `to`.
pub async fn mint(
    owner: &mut Sender,
    token: Address,
    to: Address,
    amount: U256,
) -> anyhow::Result<()> {
    let input = TestToken::mintCall { to, amount }.abi_encode();
    owner.send(token, input.into(), U256::ZERO, 100_000).await
}

/// `sender` approves `spender` for `amount` of `token`.
pub async fn approve(
    sender: &mut Sender,
    token: Address,
    spender: Address,
    amount: U256,
) -> anyhow::Result<()> {
    let input = TestToken::approveCall {
        spender,
        value: amount,
    }
    .abi_encode();
    sender.send(token, input.into(), U256::ZERO, 100_000).await
}
