//! The hedge contracts on chain (`contracts/HedgeFactory.sol`), seen from Rust: the `Params`
//! a contract is created with, its address before it exists (CREATE2, computed locally the
//! way `HedgeFactory.predict` does), the EIP-712 permits the parties sign (`Funding`,
//! `MutualRedemption`) and their checks, and the calldata of the three transactions the
//! watchtower sends: `createAndFund`, `settle` and `mutualRedeem`.
//!
//! Signatures everywhere are 65 bytes `r‖s‖v` with `v` 27/28 (the contract also accepts
//! 0/1) and a low `s`, as the contract requires; [`recover_signer`] applies the contract's
//! rules, so the API can refuse a signature the contract would refuse before storing it.

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{Eip712Domain, SolCall, SolStruct, SolValue};
use sha2::{Digest, Sha256};

use crate::chain::contracts::{HedgeContract, HedgeFactory};

/// The terms a hedge contract is created with (`struct Params` in the contract).
pub type Params = HedgeFactory::Params;

/// The smallest payout of a side, and what the long posts on top of its input
/// (`HedgeContract.DUST`).
pub use super::math::DUST;

/// A side of the hedge, as the contract numbers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Side {
    /// The hedge: keeps the nominal value stable.
    Short = 0,
    /// The long: takes the leveraged exposure.
    Long = 1,
}

impl Side {
    /// `short` or `long`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Short => "short",
            Side::Long => "long",
        }
    }

    /// Parses `short` or `long`.
    pub fn parse(s: &str) -> Option<Side> {
        match s {
            "short" => Some(Side::Short),
            "long" => Some(Side::Long),
            _ => None,
        }
    }

    /// The other party.
    pub fn opposite(self) -> Side {
        match self {
            Side::Short => Side::Long,
            Side::Long => Side::Short,
        }
    }
}

/// How `settle` ended a contract (`Settled.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum SettlementKind {
    Maturation = 0,
    Liquidation = 1,
}

/// The three mutual redemptions (`mutualRedeem`'s `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RedemptionKind {
    /// Each party gets back exactly what it posted.
    Refund = 0,
    /// Settlement payouts at a price strictly inside (low, high), before maturity.
    EarlyMaturation = 1,
    /// Any split of everything the contract holds (`payoutSats + DUST`).
    Split = 2,
}

/// Who a contract is between, and on what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HedgeParties {
    /// The ERC-20 collateral (8 decimals: a token is a BCH, a base unit a sat).
    pub collateral: Address,
    /// The address of the oracle's signing key.
    pub oracle: Address,
    pub short_party: Address,
    pub long_party: Address,
}

/// A contract's terms as AnyHedge computes them (see `anyhedge::math`): timestamps in Unix
/// seconds, prices in oracle units per BCH, amounts in sats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HedgeTerms {
    pub start_timestamp: u64,
    pub maturity_timestamp: u64,
    pub start_price: u32,
    pub low_price: u32,
    pub high_price: u32,
    pub nominal_units_x_sats_per_bch: u64,
    /// 0 for a simple hedge.
    pub sats_for_nominal_units_at_high: u64,
    pub payout_sats: u64,
    pub short_input_sats: u64,
    pub long_input_sats: u64,
}

/// The contract's `Params` for these parties and terms.
pub fn build_params(parties: &HedgeParties, terms: &HedgeTerms) -> Params {
    Params {
        collateral: parties.collateral,
        oracle: parties.oracle,
        shortParty: parties.short_party,
        longParty: parties.long_party,
        startTimestamp: terms.start_timestamp,
        maturityTimestamp: terms.maturity_timestamp,
        startPrice: terms.start_price,
        lowPrice: terms.low_price,
        highPrice: terms.high_price,
        nominalUnitsXSatsPerBch: terms.nominal_units_x_sats_per_bch,
        satsForNominalUnitsAtHigh: terms.sats_for_nominal_units_at_high,
        payoutSats: terms.payout_sats,
        shortInputSats: terms.short_input_sats,
        longInputSats: terms.long_input_sats,
    }
}

/// `HedgeContract.params()` returns the same struct under the contract's own binding.
impl From<HedgeContract::Params> for Params {
    fn from(p: HedgeContract::Params) -> Params {
        Params {
            collateral: p.collateral,
            oracle: p.oracle,
            shortParty: p.shortParty,
            longParty: p.longParty,
            startTimestamp: p.startTimestamp,
            maturityTimestamp: p.maturityTimestamp,
            startPrice: p.startPrice,
            lowPrice: p.lowPrice,
            highPrice: p.highPrice,
            nominalUnitsXSatsPerBch: p.nominalUnitsXSatsPerBch,
            satsForNominalUnitsAtHigh: p.satsForNominalUnitsAtHigh,
            payoutSats: p.payoutSats,
            shortInputSats: p.shortInputSats,
            longInputSats: p.longInputSats,
        }
    }
}

/// `HedgeContract.initialize` takes the same struct under the contract's own binding.
impl From<Params> for HedgeContract::Params {
    fn from(p: Params) -> HedgeContract::Params {
        HedgeContract::Params {
            collateral: p.collateral,
            oracle: p.oracle,
            shortParty: p.shortParty,
            longParty: p.longParty,
            startTimestamp: p.startTimestamp,
            maturityTimestamp: p.maturityTimestamp,
            startPrice: p.startPrice,
            lowPrice: p.lowPrice,
            highPrice: p.highPrice,
            nominalUnitsXSatsPerBch: p.nominalUnitsXSatsPerBch,
            satsForNominalUnitsAtHigh: p.satsForNominalUnitsAtHigh,
            payoutSats: p.payoutSats,
            shortInputSats: p.shortInputSats,
            longInputSats: p.longInputSats,
        }
    }
}

/// `keccak256(abi.encode(params))`: the CREATE2 salt and `HedgeCreated.paramsHash`.
pub fn params_hash(params: &Params) -> B256 {
    keccak256(params.abi_encode())
}

/// keccak256 of `HedgeContract`'s creation code (`HedgeFactory.hedgeInitCodeHash`). The
/// contract takes no constructor arguments, so this is its whole init code.
pub fn hedge_init_code_hash() -> B256 {
    keccak256(&HedgeContract::BYTECODE)
}

/// Where `factory` creates (or created) the contract for `params`, without asking the chain.
pub fn predict_address(factory: Address, params: &Params) -> Address {
    factory.create2(params_hash(params), hedge_init_code_hash())
}

/// What `side` posts: `shortInputSats`, or `longInputSats + DUST` (`fundingSats(side)`).
/// `None` only if the long's amount overflows, which `HedgeFactory.create` never accepts.
pub fn funding_sats(params: &Params, side: Side) -> Option<u64> {
    match side {
        Side::Short => Some(params.shortInputSats),
        Side::Long => params.longInputSats.checked_add(DUST),
    }
}

// ----------------------------------------------------------------------------------------
// EIP-712 permits

alloy::sol! {
    /// A party lets anyone fund its side of `hedge` (pulling `sats` from it) until
    /// `deadline`: `HedgeContract.fundFor`.
    #[derive(Debug, PartialEq, Eq)]
    struct Funding {
        address hedge;
        uint8 side;
        uint64 sats;
        uint256 deadline;
    }

    /// A party agrees to end `hedge` now with these payouts: `HedgeContract.mutualRedeem`.
    #[derive(Debug, PartialEq, Eq)]
    struct MutualRedemption {
        address hedge;
        uint8 kind;
        uint32 price;
        uint64 shortSats;
        uint64 longSats;
        uint256 deadline;
    }
}

/// The EIP-712 domain of the hedge at `hedge` on chain `chain_id`.
pub fn eip712_domain(chain_id: u64, hedge: Address) -> Eip712Domain {
    alloy::sol_types::eip712_domain! {
        name: "HedgeContract",
        version: "1",
        chain_id: chain_id,
        verifying_contract: hedge,
    }
}

/// The digest a party signs for a `Funding` permit (`HedgeContract.fundingDigest`).
pub fn funding_signing_hash(chain_id: u64, permit: &Funding) -> B256 {
    permit.eip712_signing_hash(&eip712_domain(chain_id, permit.hedge))
}

/// The digest both parties sign for a mutual redemption (`HedgeContract.redemptionDigest`).
pub fn redemption_signing_hash(chain_id: u64, redemption: &MutualRedemption) -> B256 {
    redemption.eip712_signing_hash(&eip712_domain(chain_id, redemption.hedge))
}

/// The `Funding` permit for `side` of the contract at `hedge` with `params`; `None` when the
/// amount overflows (see [`funding_sats`]).
pub fn funding_permit(
    hedge: Address,
    params: &Params,
    side: Side,
    deadline: U256,
) -> Option<Funding> {
    Some(Funding {
        hedge,
        side: side as u8,
        sats: funding_sats(params, side)?,
        deadline,
    })
}

/// Signs a 32-byte digest: 65 bytes `r‖s‖v`, `v` 27/28, low `s` (what the contract takes).
pub fn sign_digest(signer: &PrivateKeySigner, digest: B256) -> alloy::signers::Result<Bytes> {
    let signature = signer.sign_hash_sync(&digest)?.normalized_s();
    Ok(Bytes::from(signature.as_bytes().to_vec()))
}

/// Why a signature is not accepted (the contract would refuse it too).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureCheckError {
    #[error("a signature is 65 bytes (r‖s‖v), got {0}")]
    Length(usize),
    #[error("the signature's v is {0}; expected 27 or 28 (or 0 or 1)")]
    RecoveryByte(u8),
    #[error("the signature's s is above n/2 (a malleable signature); use its low-s twin")]
    HighS,
    #[error("no public key recovers from the signature")]
    Unrecoverable,
    #[error("signed by {recovered}, not by {expected}")]
    WrongSigner {
        expected: Address,
        recovered: Address,
    },
}

/// secp256k1's group order n, halved: the largest `s` the contract accepts.
const HALF_ORDER: U256 = U256::from_be_bytes([
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
]);

/// Who signed `digest`, by the contract's rules: 65 bytes, `v` in {27, 28, 0, 1}, `s` ≤ n/2,
/// and a recoverable, non-zero address.
pub fn recover_signer(digest: B256, signature: &[u8]) -> Result<Address, SignatureCheckError> {
    let raw: &[u8; 65] = signature
        .try_into()
        .map_err(|_| SignatureCheckError::Length(signature.len()))?;
    let v = raw[64];
    let parity = match v {
        27 | 0 => false,
        28 | 1 => true,
        other => return Err(SignatureCheckError::RecoveryByte(other)),
    };
    let signature = alloy::primitives::Signature::from_bytes_and_parity(&raw[..64], parity);
    if signature.s() > HALF_ORDER {
        return Err(SignatureCheckError::HighS);
    }
    match signature.recover_address_from_prehash(&digest) {
        Ok(address) if address != Address::ZERO => Ok(address),
        _ => Err(SignatureCheckError::Unrecoverable),
    }
}

/// Checks that `expected` signed `digest` (see [`recover_signer`]).
pub fn check_signature(
    digest: B256,
    signature: &[u8],
    expected: Address,
) -> Result<(), SignatureCheckError> {
    let recovered = recover_signer(digest, signature)?;
    if recovered != expected {
        return Err(SignatureCheckError::WrongSigner {
            expected,
            recovered,
        });
    }
    Ok(())
}

// ----------------------------------------------------------------------------------------
// Oracle messages

/// What the oracle's ECDSA key signs for a price message: sha256 of its bytes.
pub fn oracle_message_digest(message: &[u8]) -> B256 {
    B256::from_slice(&Sha256::digest(message))
}

/// Signs a 16-byte oracle message as the contract verifies it (for tests and the devnet's
/// own oracle): ECDSA over sha256(message), 65 bytes `r‖s‖v`, `v` 27/28.
pub fn sign_oracle_message(
    signer: &PrivateKeySigner,
    message: &[u8; 16],
) -> alloy::signers::Result<Bytes> {
    sign_digest(signer, oracle_message_digest(message))
}

// ----------------------------------------------------------------------------------------
// Calldata

/// A party's signed `Funding` permit, as `createAndFund` takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedFunding {
    pub deadline: U256,
    pub signature: Bytes,
}

/// `HedgeFactory.createAndFund(params, shortDeadline, shortSig, longDeadline, longSig)`.
pub fn create_and_fund_calldata(
    params: &Params,
    short: &SignedFunding,
    long: &SignedFunding,
) -> Bytes {
    HedgeFactory::createAndFundCall {
        params: params.clone(),
        shortDeadline: short.deadline,
        shortSig: short.signature.clone(),
        longDeadline: long.deadline,
        longSig: long.signature.clone(),
    }
    .abi_encode()
    .into()
}

/// `HedgeContract.settle(prevMessage, prevSignature, settlementMessage, settlementSignature)`.
pub fn settle_calldata(
    prev_message: &[u8],
    prev_signature: &[u8],
    settlement_message: &[u8],
    settlement_signature: &[u8],
) -> Bytes {
    HedgeContract::settleCall {
        prevMessage: Bytes::copy_from_slice(prev_message),
        prevSignature: Bytes::copy_from_slice(prev_signature),
        settlementMessage: Bytes::copy_from_slice(settlement_message),
        settlementSignature: Bytes::copy_from_slice(settlement_signature),
    }
    .abi_encode()
    .into()
}

/// `HedgeContract.mutualRedeem(...)` for `redemption` (sent to `redemption.hedge`).
pub fn mutual_redeem_calldata(
    redemption: &MutualRedemption,
    short_signature: &[u8],
    long_signature: &[u8],
) -> Bytes {
    HedgeContract::mutualRedeemCall {
        kind: redemption.kind,
        price: redemption.price,
        shortSats: redemption.shortSats,
        longSats: redemption.longSats,
        deadline: redemption.deadline,
        shortSig: Bytes::copy_from_slice(short_signature),
        longSig: Bytes::copy_from_slice(long_signature),
    }
    .abi_encode()
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::network::EthereumWallet;
    use alloy::primitives::address;
    use alloy::providers::{Provider, ProviderBuilder};

    /// The vector: 33379.2 nominal units at 10944, bounds 6944 and 43776.
    fn vector_params() -> Params {
        build_params(
            &HedgeParties {
                collateral: address!("0x1000000000000000000000000000000000000001"),
                oracle: address!("0x2000000000000000000000000000000000000002"),
                short_party: address!("0x3000000000000000000000000000000000000003"),
                long_party: address!("0x4000000000000000000000000000000000000004"),
            },
            &HedgeTerms {
                start_timestamp: 1_700_000_000,
                maturity_timestamp: 1_700_086_400,
                start_price: 10_944,
                low_price: 6_944,
                high_price: 43_776,
                nominal_units_x_sats_per_bch: 3_337_920_000_000,
                sats_for_nominal_units_at_high: 0,
                payout_sats: 480_691_244,
                short_input_sats: 305_000_000,
                long_input_sats: 175_691_244,
            },
        )
    }

    #[test]
    fn params_hash_is_keccak_of_the_fourteen_words() {
        let params = vector_params();
        let encoded = params.abi_encode();
        assert_eq!(encoded.len(), 14 * 32);
        assert_eq!(&encoded[12..32], params.collateral.as_slice());
        assert_eq!(
            U256::from_be_slice(&encoded[13 * 32..]),
            U256::from(175_691_244u64)
        );
        assert_eq!(params_hash(&params), keccak256(&encoded));
    }

    #[test]
    fn funding_sats_adds_dust_to_the_long() {
        let params = vector_params();
        assert_eq!(funding_sats(&params, Side::Short), Some(305_000_000));
        assert_eq!(funding_sats(&params, Side::Long), Some(175_691_244 + 1332));
        let overflowing = Params {
            longInputSats: u64::MAX,
            ..params
        };
        assert_eq!(funding_sats(&overflowing, Side::Long), None);
    }

    #[test]
    fn signatures_recover_under_the_contract_rules() {
        let signer = PrivateKeySigner::random();
        let digest = keccak256(b"digest");
        let sig = sign_digest(&signer, digest).unwrap();
        assert_eq!(sig.len(), 65);
        assert!(sig[64] == 27 || sig[64] == 28);
        assert_eq!(recover_signer(digest, &sig), Ok(signer.address()));
        check_signature(digest, &sig, signer.address()).unwrap();

        // v as 0/1 is the same signature.
        let mut low_v = sig.to_vec();
        low_v[64] -= 27;
        assert_eq!(recover_signer(digest, &low_v), Ok(signer.address()));

        let other = PrivateKeySigner::random().address();
        assert_eq!(
            check_signature(digest, &sig, other),
            Err(SignatureCheckError::WrongSigner {
                expected: other,
                recovered: signer.address()
            })
        );
        assert_eq!(
            recover_signer(digest, &sig[..64]),
            Err(SignatureCheckError::Length(64))
        );
        let mut bad_v = sig.to_vec();
        bad_v[64] = 29;
        assert_eq!(
            recover_signer(digest, &bad_v),
            Err(SignatureCheckError::RecoveryByte(29))
        );

        // The malleable twin (n - s, flipped parity) recovers the same key; it is refused.
        let parsed = alloy::primitives::Signature::from_raw(&sig).unwrap();
        let order = HALF_ORDER * U256::from(2u8) + U256::from(1u8);
        let twin = alloy::primitives::Signature::new(parsed.r(), order - parsed.s(), !parsed.v());
        assert_eq!(
            twin.recover_address_from_prehash(&digest).unwrap(),
            signer.address()
        );
        assert_eq!(
            recover_signer(digest, &twin.as_bytes()),
            Err(SignatureCheckError::HighS)
        );

        // r = 0 recovers nothing.
        let mut zero_r = sig.to_vec();
        zero_r[..32].fill(0);
        assert_eq!(
            recover_signer(digest, &zero_r),
            Err(SignatureCheckError::Unrecoverable)
        );
    }

    #[test]
    fn oracle_signature_is_over_sha256_of_the_message() {
        let oracle = PrivateKeySigner::random();
        let message: [u8; 16] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0xe0, 0x2e, 0, 0];
        let sig = sign_oracle_message(&oracle, &message).unwrap();
        let digest = oracle_message_digest(&message);
        assert_eq!(digest.as_slice(), Sha256::digest(message).as_slice());
        assert_eq!(recover_signer(digest, &sig), Ok(oracle.address()));
    }

    #[test]
    fn calldata_decodes_back() {
        let params = vector_params();
        let short = SignedFunding {
            deadline: U256::from(5u8),
            signature: Bytes::from(vec![1u8; 65]),
        };
        let long = SignedFunding {
            deadline: U256::from(6u8),
            signature: Bytes::from(vec![2u8; 65]),
        };
        let data = create_and_fund_calldata(&params, &short, &long);
        assert_eq!(data[..4], HedgeFactory::createAndFundCall::SELECTOR);
        let call = HedgeFactory::createAndFundCall::abi_decode(&data).unwrap();
        assert_eq!(call.params, params);
        assert_eq!(call.longDeadline, U256::from(6u8));
        assert_eq!(call.shortSig, short.signature);

        let data = settle_calldata(&[1; 16], &[2; 65], &[3; 16], &[4; 65]);
        let call = HedgeContract::settleCall::abi_decode(&data).unwrap();
        assert_eq!(call.prevMessage.as_ref(), &[1u8; 16]);
        assert_eq!(call.settlementSignature.as_ref(), &[4u8; 65]);

        let redemption = MutualRedemption {
            hedge: Address::repeat_byte(9),
            kind: RedemptionKind::EarlyMaturation as u8,
            price: 12_000,
            shortSats: 278_160_000,
            longSats: 202_531_244,
            deadline: U256::from(7u8),
        };
        let data = mutual_redeem_calldata(&redemption, &[5; 65], &[6; 65]);
        let call = HedgeContract::mutualRedeemCall::abi_decode(&data).unwrap();
        assert_eq!(
            (call.kind, call.price, call.shortSats, call.longSats),
            (1, 12_000, 278_160_000, 202_531_244)
        );
        assert_eq!(call.longSig.as_ref(), &[6u8; 65]);
    }

    /// The local CREATE2 prediction and the EIP-712 digests agree with the contracts' own on
    /// a real anvil.
    #[tokio::test]
    async fn local_predictions_match_the_factory_and_the_hedge() {
        let node = crate::devnet::AnvilNode::start(&crate::devnet::AnvilOptions::default())
            .expect("anvil (scripts/bootstrap installs it)");
        let provider = ProviderBuilder::new()
            .wallet(EthereumWallet::from(node.signer(0)))
            .connect_http(node.http_url().parse().unwrap());
        let token = crate::chain::contracts::TestToken::deploy(
            &provider,
            "Wrapped BCH".into(),
            "WBCH".into(),
            8,
            U256::ZERO,
        )
        .await
        .unwrap();
        let factory = HedgeFactory::deploy(&provider).await.unwrap();
        assert_eq!(
            factory.hedgeInitCodeHash().call().await.unwrap(),
            hedge_init_code_hash()
        );

        let params = Params {
            collateral: *token.address(),
            ..vector_params()
        };
        let predicted = predict_address(*factory.address(), &params);
        assert_eq!(
            factory.predict(params.clone()).call().await.unwrap(),
            predicted
        );
        // A different term, a different address.
        let other = Params {
            maturityTimestamp: params.maturityTimestamp + 1,
            ..params.clone()
        };
        assert_ne!(predict_address(*factory.address(), &other), predicted);
        assert_eq!(
            factory.predict(other.clone()).call().await.unwrap(),
            predict_address(*factory.address(), &other)
        );

        let receipt = factory
            .create(params.clone())
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        assert!(receipt.status());
        assert!(!provider.get_code_at(predicted).await.unwrap().is_empty());

        let hedge = HedgeContract::new(predicted, &provider);
        assert_eq!(Params::from(hedge.params().call().await.unwrap()), params);
        let chain_id = node.chain_id;
        let deadline = U256::from(1_800_000_000u64);
        for side in [Side::Short, Side::Long] {
            let permit = funding_permit(predicted, &params, side, deadline).unwrap();
            assert_eq!(
                hedge
                    .fundingDigest(side as u8, deadline)
                    .call()
                    .await
                    .unwrap(),
                funding_signing_hash(chain_id, &permit)
            );
        }
        let redemption = MutualRedemption {
            hedge: predicted,
            kind: RedemptionKind::Split as u8,
            price: 0,
            shortSats: 1,
            longSats: 480_692_575,
            deadline,
        };
        assert_eq!(
            hedge
                .redemptionDigest(
                    redemption.kind,
                    redemption.price,
                    redemption.shortSats,
                    redemption.longSats,
                    deadline
                )
                .call()
                .await
                .unwrap(),
            redemption_signing_hash(chain_id, &redemption)
        );
    }
}
