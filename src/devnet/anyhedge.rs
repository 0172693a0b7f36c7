//! The AnyHedge desk's devnet contracts: the collateral (a `TestToken` "Wrapped BCH",
//! 8 decimals, so a sat is a base unit) and the `HedgeFactory`, recorded in the store as
//! `anyhedge.collateral` and `anyhedge.factory`; and what the demo and the tests do as the
//! parties: mint collateral and approve a hedge's predicted address, sign the funding and
//! redemption permits, create and fund a contract in one transaction.

use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionReceipt;
use alloy::signers::local::PrivateKeySigner;
use anyhow::Context;

use super::receipt::{deployment, mined};
use crate::anyhedge::chain::{
    self, MutualRedemption, Params, Side, SignedFunding, funding_permit, funding_signing_hash,
    predict_address, redemption_signing_hash, sign_digest,
};
use crate::chain::contracts::{HedgeContract, HedgeFactory, TestToken};
use crate::store::{Deployment, Store};

/// The deployment names the desk looks the contracts up by.
pub use crate::anyhedge::desk::{COLLATERAL, FACTORY};

/// Where [`deploy_anyhedge`] put the contracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnyHedgeContracts {
    pub factory: Address,
    /// WBCH, owned (and minted) by the deployer.
    pub collateral: Address,
}

/// Deploys WBCH (no initial supply) and a `HedgeFactory` from `owner`, whose key
/// `provider`'s wallet signs with, and records both in `store` under the chain's id.
/// Returns the addresses and the recorded deployments.
pub async fn deploy_anyhedge<P: Provider>(
    provider: &P,
    owner: Address,
    store: &Store,
) -> anyhow::Result<(AnyHedgeContracts, Vec<Deployment>)> {
    let chain_id = provider.get_chain_id().await.context("eth_chainId")?;
    let receipt =
        TestToken::deploy_builder(provider, "Wrapped BCH".into(), "WBCH".into(), 8, U256::ZERO)
            .from(owner)
            .send()
            .await
            .context("deploying the AnyHedge collateral")?
            .get_receipt()
            .await
            .context("the AnyHedge collateral's receipt")?;
    let collateral = deployment(chain_id, COLLATERAL, "TestToken", &receipt)?;
    let receipt = HedgeFactory::deploy_builder(provider)
        .from(owner)
        .send()
        .await
        .context("deploying HedgeFactory")?
        .get_receipt()
        .await
        .context("HedgeFactory's receipt")?;
    let factory = deployment(chain_id, FACTORY, "HedgeFactory", &receipt)?;
    let contracts = AnyHedgeContracts {
        factory: factory.address,
        collateral: collateral.address,
    };
    let deployments = vec![collateral, factory];
    for d in &deployments {
        store
            .record_deployment(d.clone())
            .await
            .with_context(|| format!("recording {} in the store", d.name))?;
        tracing::info!(name = %d.name, address = %d.address, "deployed");
    }
    Ok((contracts, deployments))
}

/// The AnyHedge contracts recorded on `chain_id`, if both are.
pub async fn recorded(store: &Store, chain_id: u64) -> anyhow::Result<Option<AnyHedgeContracts>> {
    let factory = store.deployment(chain_id, FACTORY).await?;
    let collateral = store.deployment(chain_id, COLLATERAL).await?;
    Ok(factory.zip(collateral).map(|(f, c)| AnyHedgeContracts {
        factory: f.address,
        collateral: c.address,
    }))
}

/// The collateral's owner (`minter`'s wallet) mints `sats` to `party`, and the party
/// (`party_wallet`) approves `hedge` (usually the predicted address of a contract not
/// created yet) for exactly `sats`.
pub async fn mint_and_approve<P: Provider, Q: Provider>(
    minter: &P,
    party_wallet: &Q,
    party: Address,
    collateral: Address,
    hedge: Address,
    sats: u64,
) -> anyhow::Result<()> {
    let amount = U256::from(sats);
    mined(
        TestToken::new(collateral, minter).mint(party, amount),
        "minting collateral",
    )
    .await?;
    approve_hedge(party_wallet, collateral, hedge, sats).await
}

/// The party (`party_wallet`) approves `hedge` for exactly `sats` of the collateral.
pub async fn approve_hedge<Q: Provider>(
    party_wallet: &Q,
    collateral: Address,
    hedge: Address,
    sats: u64,
) -> anyhow::Result<()> {
    mined(
        TestToken::new(collateral, party_wallet).approve(hedge, U256::from(sats)),
        "approving the hedge",
    )
    .await?;
    Ok(())
}

/// `signer`'s `Funding` permit for `side` of the hedge at `hedge` with `params`, valid
/// until `deadline` (Unix seconds).
pub fn sign_funding(
    signer: &PrivateKeySigner,
    chain_id: u64,
    hedge: Address,
    params: &Params,
    side: Side,
    deadline: u64,
) -> anyhow::Result<SignedFunding> {
    let deadline = U256::from(deadline);
    let permit = funding_permit(hedge, params, side, deadline)
        .context("the long's funding overflows 64 bits")?;
    let signature = sign_digest(signer, funding_signing_hash(chain_id, &permit))
        .context("signing a funding permit")?;
    Ok(SignedFunding {
        deadline,
        signature,
    })
}

/// `signer`'s signature of `redemption`.
pub fn sign_redemption(
    signer: &PrivateKeySigner,
    chain_id: u64,
    redemption: &MutualRedemption,
) -> anyhow::Result<Bytes> {
    sign_digest(signer, redemption_signing_hash(chain_id, redemption))
        .context("signing a mutual redemption")
}

/// The two parties of a hedge as the devnet plays them: their keys and wallets.
pub struct Party<'a, Q> {
    pub signer: &'a PrivateKeySigner,
    pub wallet: &'a Q,
}

/// The whole funding of one hedge as the demo does it: mints each party its funding and
/// approves the predicted address, both sign `Funding` permits valid for `permit_seconds`
/// from the head block, and `sender` sends `createAndFund`. Returns the live contract's
/// address and the receipt. `minter` owns the collateral.
pub async fn open_hedge<P: Provider, M: Provider, Q: Provider>(
    sender: &P,
    minter: &M,
    factory: Address,
    params: &Params,
    short: Party<'_, Q>,
    long: Party<'_, Q>,
    permit_seconds: u64,
) -> anyhow::Result<(Address, TransactionReceipt)> {
    let chain_id = sender.get_chain_id().await.context("eth_chainId")?;
    let hedge = predict_address(factory, params);
    let now = sender
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await?
        .context("no latest block")?
        .header
        .timestamp;
    let deadline = now.saturating_add(permit_seconds);
    let mut permits = Vec::new();
    for (side, party) in [(Side::Short, &short), (Side::Long, &long)] {
        let sats = chain::funding_sats(params, side).context("the long's funding overflows")?;
        let address = party.signer.address();
        mint_and_approve(
            minter,
            party.wallet,
            address,
            params.collateral,
            hedge,
            sats,
        )
        .await?;
        permits.push(sign_funding(
            party.signer,
            chain_id,
            hedge,
            params,
            side,
            deadline,
        )?);
    }
    let receipt = create_and_fund(sender, factory, params, &permits[0], &permits[1]).await?;
    Ok((hedge, receipt))
}

/// Sends `createAndFund` (simulated first) and checks the contract is live at the predicted
/// address.
pub async fn create_and_fund<P: Provider>(
    sender: &P,
    factory: Address,
    params: &Params,
    short: &SignedFunding,
    long: &SignedFunding,
) -> anyhow::Result<TransactionReceipt> {
    let instance = HedgeFactory::new(factory, sender);
    let call = instance.createAndFund(
        params.clone(),
        short.deadline,
        short.signature.clone(),
        long.deadline,
        long.signature.clone(),
    );
    let receipt = mined(call, "createAndFund").await?;
    let hedge = predict_address(factory, params);
    let state = HedgeContract::new(hedge, sender)
        .state()
        .call()
        .await
        .context("the new hedge's state")?;
    anyhow::ensure!(state.live, "createAndFund: {hedge} is not live");
    Ok(receipt)
}
