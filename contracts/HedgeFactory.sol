// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// The terms of one hedge, as AnyHedge v0.12 compiles them into a contract. Prices are oracle
/// units per BCH (positive int32 range); sats are the collateral token's base units (8
/// decimals, so one token is one BCH and a sat is a sat). The amounts are computed off
/// chain and checked by `HedgeFactory.create`:
/// `payoutSats = nominalUnitsXSatsPerBch / lowPrice - satsForNominalUnitsAtHigh`,
/// `shortInputSats = nominalUnitsXSatsPerBch / startPrice - satsForNominalUnitsAtHigh`,
/// `longInputSats = payoutSats - shortInputSats` (floor divisions).
struct Params {
    address collateral;
    /// The address of the oracle's secp256k1 key, which signs the 16-byte price messages.
    address oracle;
    address shortParty;
    address longParty;
    uint64 startTimestamp;
    uint64 maturityTimestamp;
    uint32 startPrice;
    uint32 lowPrice;
    uint32 highPrice;
    uint64 nominalUnitsXSatsPerBch;
    /// 0 for a simple hedge; `nominalUnitsXSatsPerBch / highPrice` for a leveraged one.
    uint64 satsForNominalUnitsAtHigh;
    uint64 payoutSats;
    uint64 shortInputSats;
    uint64 longInputSats;
}

/// The ERC-20 calls the hedge contracts make on their collateral.
interface HedgeCollateral {
    function decimals() external view returns (uint8);
    function transfer(address to, uint256 value) external returns (bool);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
}

/// @title HedgeFactory
/// @notice Creates AnyHedge v0.12 hedge contracts at addresses known before they exist:
/// CREATE2 with `salt = keccak256(abi.encode(params))` and the constant init code of a
/// `HedgeContract` (it takes no constructor arguments; the factory initializes it right
/// after creating it). The parties approve the predicted address, and `createAndFund`
/// creates the contract and pulls both sides' collateral in one transaction, like
/// AnyHedge's single funding transaction: either both sides fund or nothing happens.
contract HedgeFactory {
    /// The smallest output AnyHedge pays (BCH's dust limit for a P2PKH output).
    uint64 public constant DUST = 1332;
    /// `nominalUnitsXSatsPerBch` of at least one nominal unit of one BCH.
    uint64 public constant MIN_NOMINAL_UNITS_X_SATS_PER_BCH = 1e8;
    /// A leveraged contract's sats at the high price must be at least this.
    uint64 public constant MIN_SATS_AT_HIGH = 500;
    /// Prices are int32 in the oracle messages.
    uint32 public constant MAX_PRICE = uint32(type(int32).max);

    /// keccak256 of `HedgeContract`'s creation code, for CREATE2 address predictions.
    bytes32 public immutable hedgeInitCodeHash;

    event HedgeCreated(
        address indexed hedge, address indexed shortParty, address indexed longParty, bytes32 paramsHash
    );

    error ZeroParty();
    error SameParties(address party);
    error ZeroOracle();
    error CollateralNotAContract(address collateral);
    error CollateralNotEightDecimals(address collateral, uint8 decimals);
    error MaturityNotAfterStart(uint64 startTimestamp, uint64 maturityTimestamp);
    error LowPriceZero();
    error LowNotBelowStart(uint32 low, uint32 start);
    error StartNotBelowHigh(uint32 start, uint32 high);
    error HighAboveMaxPrice(uint32 high, uint32 maxPrice);
    error NominalBelowMinimum(uint64 nominalUnitsXSatsPerBch, uint64 minimum);
    error SatsAtHighMismatch(uint64 satsForNominalUnitsAtHigh, uint64 expected);
    error SatsAtHighBelowMinimum(uint64 satsForNominalUnitsAtHigh, uint64 minimum);
    error PayoutMismatch(uint64 payoutSats, uint64 expected);
    error PayoutBelowDust(uint64 payoutSats);
    error ShortInputMismatch(uint64 shortInputSats, uint64 expected);
    error LongInputMismatch(uint64 longInputSats, uint64 expected);
    error AlreadyCreated(address hedge);

    constructor() {
        hedgeInitCodeHash = keccak256(type(HedgeContract).creationCode);
    }

    /// The address `create(params)` creates (or created) the contract at.
    function predict(Params calldata params) external view returns (address) {
        return _predict(keccak256(abi.encode(params)));
    }

    /// Validates `params`, creates the contract at `predict(params)` and initializes it.
    function create(Params calldata params) external returns (address) {
        return _create(params);
    }

    /// `create`, then funds both sides from the parties' `Funding` permits (EIP-712, signed
    /// over the predicted address; see `HedgeContract.fundFor`). The parties must have
    /// approved the predicted address for their funding. The contract is live when this
    /// returns, or the whole transaction reverts.
    function createAndFund(
        Params calldata params,
        uint256 shortDeadline,
        bytes calldata shortSig,
        uint256 longDeadline,
        bytes calldata longSig
    ) external returns (address hedge) {
        hedge = _predict(keccak256(abi.encode(params)));
        // Anyone may `create` the contract first; then only fund it, still in one transaction.
        // Code at the predicted address can only be this factory's contract for these params.
        if (hedge.code.length == 0) _create(params);
        HedgeContract(hedge).fundFor(0, shortDeadline, shortSig);
        HedgeContract(hedge).fundFor(1, longDeadline, longSig);
    }

    /// Reverts naming the first rule `params` breaks.
    function validate(Params calldata p) public view {
        if (p.shortParty == address(0) || p.longParty == address(0)) revert ZeroParty();
        if (p.shortParty == p.longParty) revert SameParties(p.shortParty);
        if (p.oracle == address(0)) revert ZeroOracle();
        if (p.collateral.code.length == 0) revert CollateralNotAContract(p.collateral);
        try HedgeCollateral(p.collateral).decimals() returns (uint8 decimals) {
            if (decimals != 8) revert CollateralNotEightDecimals(p.collateral, decimals);
        } catch {
            revert CollateralNotAContract(p.collateral);
        }
        if (p.maturityTimestamp <= p.startTimestamp) {
            revert MaturityNotAfterStart(p.startTimestamp, p.maturityTimestamp);
        }

        if (p.lowPrice == 0) revert LowPriceZero();
        if (p.lowPrice >= p.startPrice) revert LowNotBelowStart(p.lowPrice, p.startPrice);
        if (p.startPrice >= p.highPrice) revert StartNotBelowHigh(p.startPrice, p.highPrice);
        if (p.highPrice > MAX_PRICE) revert HighAboveMaxPrice(p.highPrice, MAX_PRICE);
        uint64 nominal = p.nominalUnitsXSatsPerBch;
        if (nominal < MIN_NOMINAL_UNITS_X_SATS_PER_BCH) {
            revert NominalBelowMinimum(nominal, MIN_NOMINAL_UNITS_X_SATS_PER_BCH);
        }

        uint64 atHigh = p.satsForNominalUnitsAtHigh;
        if (atHigh != 0) {
            uint64 expectedAtHigh = nominal / p.highPrice;
            if (atHigh != expectedAtHigh) revert SatsAtHighMismatch(atHigh, expectedAtHigh);
            if (atHigh < MIN_SATS_AT_HIGH) revert SatsAtHighBelowMinimum(atHigh, MIN_SATS_AT_HIGH);
        }
        // atHigh is 0 or nominal / high, which is at most nominal / start <= nominal / low.
        uint64 payout = nominal / p.lowPrice - atHigh;
        if (p.payoutSats != payout) revert PayoutMismatch(p.payoutSats, payout);
        if (payout < DUST) revert PayoutBelowDust(payout);
        uint64 shortInput = nominal / p.startPrice - atHigh;
        if (p.shortInputSats != shortInput) revert ShortInputMismatch(p.shortInputSats, shortInput);
        uint64 longInput = payout - shortInput;
        if (p.longInputSats != longInput) revert LongInputMismatch(p.longInputSats, longInput);
    }

    function _create(Params calldata params) private returns (address) {
        validate(params);
        bytes32 salt = keccak256(abi.encode(params));
        address predicted = _predict(salt);
        if (predicted.code.length != 0) revert AlreadyCreated(predicted);
        HedgeContract hedge = new HedgeContract{salt: salt}();
        hedge.initialize(params);
        emit HedgeCreated(address(hedge), params.shortParty, params.longParty, salt);
        return address(hedge);
    }

    function _predict(bytes32 salt) private view returns (address) {
        return address(
            uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), address(this), salt, hedgeInitCodeHash))))
        );
    }
}

/// @title HedgeContract
/// @notice One AnyHedge v0.12 hedge, ported from a Bitcoin Cash covenant. The short (hedge)
/// party posts `shortInputSats`, the long party `longInputSats + DUST`; once both have funded
/// the contract is live. It settles once, from two consecutive signed oracle price messages:
/// at maturity, or earlier when the price leaves the [low, high] band (liquidation); or the
/// parties redeem it together (refund, early maturation, or any split).
///
/// @dev Payouts at a price: `clamped = max(min(price, high), low)`,
/// `short = max(DUST, nominalUnitsXSatsPerBch / clamped - satsForNominalUnitsAtHigh)` and
/// `long = max(DUST, payoutSats - short)` (both saturating at 0 before the DUST floor).
/// Each side is at least DUST, as on BCH where a smaller output cannot exist, so
/// `short + long` can exceed `payoutSats` by up to DUST. That is why the long posts DUST on
/// top of its input: the contract holds `payoutSats + DUST`, and whatever the payouts leave of
/// it (the remainder, between 0 and DUST) goes to the long as well.
///
/// Oracle messages are 16 bytes, four little-endian int32: messageTimestamp,
/// messageSequence, priceSequence, price. The oracle signs sha256(message) with ECDSA over
/// secp256k1 (65-byte r‖s‖v, v 27/28 or 0/1); the parties sign EIP-712 permits (domain
/// "HedgeContract", version "1", this chain, this contract). High-s signatures are rejected.
///
/// Payouts are pushed to the parties' addresses. Tokens sent to the contract other than
/// through funding are not accounted for and stay in it.
contract HedgeContract {
    uint64 public constant DUST = 1332;
    uint8 private constant SHORT = 0;
    uint8 private constant LONG = 1;
    uint8 private constant MATURATION = 0;
    uint8 private constant LIQUIDATION = 1;
    uint8 private constant REFUND = 0;
    uint8 private constant EARLY_MATURATION = 1;
    uint8 private constant SPLIT = 2;
    /// Which oracle message an error is about.
    uint8 private constant PREVIOUS = 0;
    uint8 private constant SETTLEMENT = 1;

    /// secp256k1's group order / 2: a larger `s` is the malleable twin of a valid signature.
    uint256 private constant HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant NAME_HASH = keccak256("HedgeContract");
    bytes32 private constant VERSION_HASH = keccak256("1");
    bytes32 private constant FUNDING_TYPEHASH =
        keccak256("Funding(address hedge,uint8 side,uint64 sats,uint256 deadline)");
    bytes32 private constant REDEMPTION_TYPEHASH = keccak256(
        "MutualRedemption(address hedge,uint8 kind,uint32 price,uint64 shortSats,uint64 longSats,uint256 deadline)"
    );

    /// Who created the contract; it alone initializes it, once.
    address public immutable factory;

    Params private _params;
    bool private _initialized;
    bool private _shortFunded;
    bool private _longFunded;
    bool private _live;
    bool private _settled;
    bool private _locked;
    /// Funding permits already used: after a `cancelFunding` the same permit cannot pull the
    /// party's collateral again.
    mapping(bytes32 digest => bool) private _usedPermits;

    event Funded(uint8 indexed side, address indexed party, uint64 sats);
    event FundingCancelled(uint8 indexed side, address indexed party, uint64 sats);
    event Live();
    /// `kind` 0 maturation, 1 liquidation; `price` the oracle's, before clamping; the long's
    /// transfer is `longSats` plus the remainder.
    event Settled(
        uint8 kind,
        uint32 price,
        uint32 priceSequence,
        uint32 messageSequence,
        uint32 messageTimestamp,
        uint64 shortSats,
        uint64 longSats
    );
    /// `kind` 0 refund, 1 early maturation (the long also gets the remainder), 2 split.
    event MutuallyRedeemed(uint8 kind, uint32 price, uint64 shortSats, uint64 longSats);

    error NotFactory(address caller);
    error AlreadyInitialized();
    error NotInitialized();
    error Reentrant();
    error BadSide(uint8 side);
    error NotParty(uint8 side, address caller);
    error AlreadyFunded(uint8 side);
    error NotFunded(uint8 side);
    error AlreadyLive();
    error FundingAfterMaturity(uint64 maturityTimestamp, uint256 blockTimestamp);
    error PermitExpired(uint256 deadline, uint256 blockTimestamp);
    error PermitUsed(bytes32 digest);
    error BadPartySignature(uint8 side);
    error NotLive();
    error AlreadySettled();
    /// `which`: 0 the previous message, 1 the settlement message.
    error BadMessageLength(uint8 which, uint256 length);
    error BadOracleSignature(uint8 which);
    error NonPositivePrice(int32 price);
    error NotConsecutive(int32 prevPriceSequence, int32 priceSequence);
    error PrevNotBeforeMaturity(int32 prevMessageTimestamp, uint64 maturityTimestamp);
    error SettlementBeforeStart(int32 messageTimestamp, uint64 startTimestamp);
    error NotMaturedNorOutOfBounds(uint32 price, uint32 low, uint32 high);
    error BadRedemptionKind(uint8 kind);
    error RefundMismatch(uint64 shortSats, uint64 longSats, uint64 shortPosted, uint64 longPosted);
    error PriceNotInsideBounds(uint32 price, uint32 low, uint32 high);
    error RedemptionMismatch(uint64 shortSats, uint64 longSats, uint64 expectedShort, uint64 expectedLong);
    error SplitMismatch(uint64 shortSats, uint64 longSats, uint64 held);
    error TokenCallFailed(address token);

    /// A decoded oracle price message.
    struct Message {
        int32 messageTimestamp;
        int32 messageSequence;
        int32 priceSequence;
        int32 price;
    }

    modifier nonReentrant() {
        if (_locked) revert Reentrant();
        _locked = true;
        _;
        _locked = false;
    }

    constructor() {
        factory = msg.sender;
    }

    /// Sets the terms, once; only the factory (which has validated them).
    function initialize(Params calldata params_) external {
        if (msg.sender != factory) revert NotFactory(msg.sender);
        if (_initialized) revert AlreadyInitialized();
        _initialized = true;
        _params = params_;
    }

    // ------------------------------------------------------------------------------------
    // Readers

    function params() external view returns (Params memory) {
        return _params;
    }

    function state() external view returns (bool shortFunded, bool longFunded, bool live, bool settled) {
        return (_shortFunded, _longFunded, _live, _settled);
    }

    /// What side 0 (short) or 1 (long) posts: `shortInputSats`, or `longInputSats + DUST`.
    function fundingSats(uint8 side) public view returns (uint64) {
        if (side == SHORT) return _params.shortInputSats;
        if (side == LONG) return _params.longInputSats + DUST;
        revert BadSide(side);
    }

    /// The settlement payouts at oracle price `price` (the long also gets the remainder).
    function payouts(uint32 price) public view returns (uint64 shortSats, uint64 longSats) {
        if (!_initialized) revert NotInitialized();
        Params storage p = _params;
        uint256 clamped = price;
        if (clamped > p.highPrice) clamped = p.highPrice;
        if (clamped < p.lowPrice) clamped = p.lowPrice;
        uint256 shortValue = uint256(p.nominalUnitsXSatsPerBch) / clamped;
        uint256 atHigh = p.satsForNominalUnitsAtHigh;
        uint256 short_ = shortValue > atHigh ? shortValue - atHigh : 0;
        if (short_ < DUST) short_ = DUST;
        uint256 long_ = p.payoutSats > short_ ? p.payoutSats - short_ : 0;
        if (long_ < DUST) long_ = DUST;
        // Both are at most max(DUST, nominal / low), which fits.
        return (uint64(short_), uint64(long_));
    }

    function domainSeparator() public view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, block.chainid, address(this)));
    }

    /// The EIP-712 digest a party signs to let anyone fund its side until `deadline`.
    function fundingDigest(uint8 side, uint256 deadline) public view returns (bytes32) {
        bytes32 structHash = keccak256(abi.encode(FUNDING_TYPEHASH, address(this), side, fundingSats(side), deadline));
        return _typedDigest(structHash);
    }

    /// The EIP-712 digest both parties sign for `mutualRedeem`.
    function redemptionDigest(uint8 kind, uint32 price, uint64 shortSats, uint64 longSats, uint256 deadline)
        public
        view
        returns (bytes32)
    {
        bytes32 structHash =
            keccak256(abi.encode(REDEMPTION_TYPEHASH, address(this), kind, price, shortSats, longSats, deadline));
        return _typedDigest(structHash);
    }

    // ------------------------------------------------------------------------------------
    // Funding

    /// The party of `side` funds it from its own balance (it approved this contract).
    function fund(uint8 side) external nonReentrant {
        address party = _party(side);
        if (msg.sender != party) revert NotParty(side, msg.sender);
        _fund(side, party);
    }

    /// Anyone funds `side` from its party's balance with the party's `Funding` permit. Each
    /// permit works once.
    function fundFor(uint8 side, uint256 deadline, bytes calldata sig) external nonReentrant {
        address party = _party(side);
        if (block.timestamp > deadline) revert PermitExpired(deadline, block.timestamp);
        bytes32 digest = fundingDigest(side, deadline);
        if (_usedPermits[digest]) revert PermitUsed(digest);
        if (!_signedBy(digest, sig, party)) revert BadPartySignature(side);
        _usedPermits[digest] = true;
        _fund(side, party);
    }

    /// Before the contract is live, the party of a funded side takes its funding back.
    function cancelFunding(uint8 side) external nonReentrant {
        address party = _party(side);
        if (msg.sender != party) revert NotParty(side, msg.sender);
        if (_live) revert AlreadyLive();
        if (side == SHORT) {
            if (!_shortFunded) revert NotFunded(side);
            _shortFunded = false;
        } else {
            if (!_longFunded) revert NotFunded(side);
            _longFunded = false;
        }
        uint64 sats = fundingSats(side);
        emit FundingCancelled(side, party, sats);
        _send(party, sats);
    }

    // ------------------------------------------------------------------------------------
    // Settlement

    /// Settles from the oracle's settlement message and the one before it (consecutive price
    /// sequences). Maturation: the settlement message is at or after maturity and the
    /// previous one before it. Liquidation: before maturity, at a price <= low or >= high.
    /// Anyone may call it.
    function settle(
        bytes calldata prevMessage,
        bytes calldata prevSignature,
        bytes calldata settlementMessage,
        bytes calldata settlementSignature
    ) external nonReentrant {
        _requireLiveUnsettled();
        Message memory prev = _verifiedMessage(PREVIOUS, prevMessage, prevSignature);
        Message memory m = _verifiedMessage(SETTLEMENT, settlementMessage, settlementSignature);
        if (m.price <= 0) revert NonPositivePrice(m.price);
        if (int256(prev.priceSequence) + 1 != int256(m.priceSequence)) {
            revert NotConsecutive(prev.priceSequence, m.priceSequence);
        }
        uint64 maturity = _params.maturityTimestamp;
        if (int256(prev.messageTimestamp) >= int256(uint256(maturity))) {
            revert PrevNotBeforeMaturity(prev.messageTimestamp, maturity);
        }
        uint64 start = _params.startTimestamp;
        if (int256(m.messageTimestamp) < int256(uint256(start))) {
            revert SettlementBeforeStart(m.messageTimestamp, start);
        }

        uint32 price = uint32(m.price);
        uint8 kind;
        if (int256(m.messageTimestamp) >= int256(uint256(maturity))) {
            kind = MATURATION;
        } else if (price <= _params.lowPrice || price >= _params.highPrice) {
            kind = LIQUIDATION;
        } else {
            revert NotMaturedNorOutOfBounds(price, _params.lowPrice, _params.highPrice);
        }
        (uint64 shortSats, uint64 longSats) = payouts(price);
        _settled = true;
        emit Settled(
            kind,
            price,
            uint32(m.priceSequence),
            uint32(m.messageSequence),
            uint32(m.messageTimestamp),
            shortSats,
            longSats
        );
        _payOut(shortSats);
    }

    /// Both parties' `MutualRedemption` permits end the live contract now:
    /// kind 0 refunds what each posted (`shortSats`, `longSats` must be exactly that);
    /// kind 1 matures early at `price`, strictly inside (low, high), with the settlement
    /// payouts at that price (the long also gets the remainder); kind 2 splits everything the
    /// contract holds (`shortSats + longSats == payoutSats + DUST`). Anyone may submit it.
    function mutualRedeem(
        uint8 kind,
        uint32 price,
        uint64 shortSats,
        uint64 longSats,
        uint256 deadline,
        bytes calldata shortSig,
        bytes calldata longSig
    ) external nonReentrant {
        _requireLiveUnsettled();
        if (block.timestamp > deadline) revert PermitExpired(deadline, block.timestamp);
        _checkRedemption(kind, price, shortSats, longSats);
        bytes32 digest = redemptionDigest(kind, price, shortSats, longSats, deadline);
        if (!_signedBy(digest, shortSig, _params.shortParty)) revert BadPartySignature(SHORT);
        if (!_signedBy(digest, longSig, _params.longParty)) revert BadPartySignature(LONG);
        _settled = true;
        emit MutuallyRedeemed(kind, price, shortSats, longSats);
        _payOut(shortSats);
    }

    // ------------------------------------------------------------------------------------
    // Internals

    function _party(uint8 side) private view returns (address) {
        if (side == SHORT) return _params.shortParty;
        if (side == LONG) return _params.longParty;
        revert BadSide(side);
    }

    function _fund(uint8 side, address party) private {
        uint64 maturity = _params.maturityTimestamp;
        if (block.timestamp >= maturity) revert FundingAfterMaturity(maturity, block.timestamp);
        if (side == SHORT) {
            if (_shortFunded) revert AlreadyFunded(side);
            _shortFunded = true;
        } else {
            if (_longFunded) revert AlreadyFunded(side);
            _longFunded = true;
        }
        bool nowLive = _shortFunded && _longFunded;
        if (nowLive) _live = true;
        uint64 sats = fundingSats(side);
        emit Funded(side, party, sats);
        if (nowLive) emit Live();
        _call(abi.encodeCall(HedgeCollateral.transferFrom, (party, address(this), sats)));
    }

    function _requireLiveUnsettled() private view {
        if (_settled) revert AlreadySettled();
        if (!_live) revert NotLive();
    }

    /// The collateral held while live: both sides' funding.
    function _held() private view returns (uint64) {
        return _params.payoutSats + DUST;
    }

    function _checkRedemption(uint8 kind, uint32 price, uint64 shortSats, uint64 longSats) private view {
        if (kind == REFUND) {
            uint64 shortPosted = fundingSats(SHORT);
            uint64 longPosted = fundingSats(LONG);
            if (shortSats != shortPosted || longSats != longPosted) {
                revert RefundMismatch(shortSats, longSats, shortPosted, longPosted);
            }
        } else if (kind == EARLY_MATURATION) {
            uint32 low = _params.lowPrice;
            uint32 high = _params.highPrice;
            if (price <= low || price >= high) revert PriceNotInsideBounds(price, low, high);
            (uint64 expectedShort, uint64 expectedLong) = payouts(price);
            if (shortSats != expectedShort || longSats != expectedLong) {
                revert RedemptionMismatch(shortSats, longSats, expectedShort, expectedLong);
            }
        } else if (kind == SPLIT) {
            if (uint256(shortSats) + longSats != _held()) revert SplitMismatch(shortSats, longSats, _held());
        } else {
            revert BadRedemptionKind(kind);
        }
    }

    /// Pays `shortSats` to the short and the rest of the held collateral to the long.
    function _payOut(uint64 shortSats) private {
        uint64 toLong = _held() - shortSats;
        _send(_params.shortParty, shortSats);
        _send(_params.longParty, toLong);
    }

    /// Decodes a 16-byte oracle message after checking the oracle signed it.
    function _verifiedMessage(uint8 which, bytes calldata message, bytes calldata sig)
        private
        view
        returns (Message memory m)
    {
        if (message.length != 16) revert BadMessageLength(which, message.length);
        if (!_signedBy(sha256(message), sig, _params.oracle)) revert BadOracleSignature(which);
        m.messageTimestamp = _int32At(message, 0);
        m.messageSequence = _int32At(message, 4);
        m.priceSequence = _int32At(message, 8);
        m.price = _int32At(message, 12);
    }

    function _int32At(bytes calldata data, uint256 offset) private pure returns (int32) {
        uint32 value = uint32(uint8(data[offset])) | (uint32(uint8(data[offset + 1])) << 8)
            | (uint32(uint8(data[offset + 2])) << 16) | (uint32(uint8(data[offset + 3])) << 24);
        return int32(value);
    }

    function _typedDigest(bytes32 structHash) private view returns (bytes32) {
        return keccak256(abi.encodePacked(hex"1901", domainSeparator(), structHash));
    }

    /// Whether `sig` (65 bytes r‖s‖v, v 27/28 or 0/1, low s) is `signer`'s over `digest`.
    /// A malformed or unrecoverable signature recovers to address(0), which signs nothing.
    function _signedBy(bytes32 digest, bytes calldata sig, address signer) private pure returns (bool) {
        if (sig.length != 65) return false;
        bytes32 r = bytes32(sig[0:32]);
        bytes32 s = bytes32(sig[32:64]);
        uint8 v = uint8(sig[64]);
        if (v < 27) v += 27;
        if (v != 27 && v != 28) return false;
        if (uint256(s) > HALF_ORDER) return false;
        address recovered = ecrecover(digest, v, r, s);
        return recovered != address(0) && recovered == signer;
    }

    function _send(address to, uint64 sats) private {
        _call(abi.encodeCall(HedgeCollateral.transfer, (to, sats)));
    }

    /// A collateral call that must succeed and, if it returns anything, return true. A revert
    /// is passed on as is.
    function _call(bytes memory data) private {
        address token = _params.collateral;
        (bool ok, bytes memory ret) = token.call(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        if (ret.length != 0 && !abi.decode(ret, (bool))) revert TokenCallFailed(token);
    }
}
