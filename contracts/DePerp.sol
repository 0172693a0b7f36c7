// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

// The perp desk's devnet copies of DePerp's contracts (Base, public `DePerp/dehedge`): the
// readers have exactly DePerp's ABI, which the desk speaks; the state behind them is set by
// the owner (the devnet deployer) through setters of our own, for the tests and the demo.
// Nothing here trades: positions, vault balances and funding are stored as given.
//
// Amounts are in the asset's base units (USDC 6 decimals, others 18); prices in the
// contract's integer scale; funding tracers signed.
//
// Every setter is owner only and reverts with `NotOwner(caller)` for anyone else. Each
// contract repeats the few lines of ownership rather than inheriting them, so the only
// artifacts are the six contracts.

/// @title DataRegistry
/// @notice Where DePerp's contracts are found: `getAddress(key)` by name. Keys the desk
/// uses: "Positions", "Vault", "VaultUtils", "FundingRate", "TradingMarket". An unknown
/// key gives the zero address, as a plain mapping does.
contract DataRegistry {
    address public immutable owner;
    mapping(string key => address) private addresses;

    event AddressSet(string key, address addr);

    error NotOwner(address caller);

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    constructor() {
        owner = msg.sender;
    }

    function getAddress(string calldata key) external view returns (address) {
        return addresses[key];
    }

    /// Points `key` at `addr` (the zero address unsets it).
    function setAddress(string calldata key, address addr) external onlyOwner {
        addresses[key] = addr;
        emit AddressSet(key, addr);
    }
}

/// @title Positions
/// @notice The open trader positions, as one array read in pages with
/// `getPositions(length, offset)`. Positions have no id: removal swaps the last position
/// into the freed index and pops, as DePerp does, so indexes move.
contract Positions {
    struct Position {
        address user;
        address asset;
        string market;
        bool isLong;
        uint256 size;
        uint256 collateral;
        int256 fundingTracer;
        uint256 price;
        uint256 timestamp;
    }

    address public immutable owner;
    Position[] private positions;

    event PositionAdded(uint256 indexed index, address indexed user, Position position);
    /// `position` was at `index`; the last position (at `movedFrom`) now is, unless the
    /// removed one was the last (`movedFrom == index`).
    event PositionRemoved(uint256 indexed index, address indexed user, Position position, uint256 movedFrom);
    event PositionResized(uint256 indexed index, address indexed user, uint256 size, uint256 collateral);

    error NotOwner(address caller);
    error IndexOutOfRange(uint256 index, uint256 count);

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    constructor() {
        owner = msg.sender;
    }

    function getPositionCount() external view returns (uint256) {
        return positions.length;
    }

    /// The positions at `[offset, min(offset + length, count))`; empty past the end.
    function getPositions(uint256 length, uint256 offset) external view returns (Position[] memory page) {
        uint256 count = positions.length;
        uint256 end = offset >= count ? offset : (length > count - offset ? count : offset + length);
        page = new Position[](end - offset);
        for (uint256 i = offset; i < end; i++) {
            page[i - offset] = positions[i];
        }
    }

    /// Opens a position at index `getPositionCount()`.
    function addPosition(Position calldata position) external onlyOwner {
        _add(position);
    }

    /// Opens several positions in order (seeding many at once).
    function addPositions(Position[] calldata batch) external onlyOwner {
        for (uint256 i = 0; i < batch.length; i++) {
            _add(batch[i]);
        }
    }

    /// Closes the position at `index`: the last position moves into it.
    function removePosition(uint256 index) external onlyOwner {
        uint256 count = positions.length;
        if (index >= count) revert IndexOutOfRange(index, count);
        Position memory removed = positions[index];
        uint256 last = count - 1;
        if (index != last) {
            positions[index] = positions[last];
        }
        positions.pop();
        emit PositionRemoved(index, removed.user, removed, last);
    }

    /// Changes the size and collateral of the position at `index` (an increase or a partial
    /// close; the entry price and funding tracer stay).
    function setPositionSize(uint256 index, uint256 size, uint256 collateral) external onlyOwner {
        uint256 count = positions.length;
        if (index >= count) revert IndexOutOfRange(index, count);
        Position storage position = positions[index];
        position.size = size;
        position.collateral = collateral;
        emit PositionResized(index, position.user, size, collateral);
    }

    function _add(Position calldata position) private {
        positions.push(position);
        emit PositionAdded(positions.length - 1, position.user, position);
    }
}

/// @title Vault
/// @notice The shield: the insurers' balance per asset that covers trader profits beyond
/// the vault.
contract Vault {
    address public immutable owner;
    mapping(address asset => uint256) private shieldBalances;

    event ShieldBalanceSet(address indexed asset, uint256 amount);

    error NotOwner(address caller);

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    constructor() {
        owner = msg.sender;
    }

    function getShieldBalance(address asset) external view returns (uint256) {
        return shieldBalances[asset];
    }

    function setShieldBalance(address asset, uint256 amount) external onlyOwner {
        shieldBalances[asset] = amount;
        emit ShieldBalanceSet(asset, amount);
    }
}

/// @title VaultUtils
/// @notice The vault's available balance per asset: what trader profits are paid from.
contract VaultUtils {
    address public immutable owner;
    mapping(address asset => uint256) private available;

    event VaultAvailableSet(address indexed asset, uint256 amount);

    error NotOwner(address caller);

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    constructor() {
        owner = msg.sender;
    }

    function getVaultAvailable(address asset) external view returns (uint256) {
        return available[asset];
    }

    function setVaultAvailable(address asset, uint256 amount) external onlyOwner {
        available[asset] = amount;
        emit VaultAvailableSet(asset, amount);
    }
}

/// @title FundingRate
/// @notice The funding tracer of each (asset, market): a running sum of funding
/// increments; a position's funding fee is `size * (tracerNow - tracerAtOpen) / 10000`.
contract FundingRate {
    address public immutable owner;
    mapping(address asset => mapping(string market => int256)) private tracers;

    event FundingRefreshed(address indexed asset, string market, int256 fundingTracer, int256 fundingIncrement);

    error NotOwner(address caller);
    error LengthMismatch(uint256 assets, uint256 markets);

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    constructor() {
        owner = msg.sender;
    }

    /// The tracers of the pairs `(assets[i], markets[i])`; 0 for a pair never refreshed.
    function getFundingTracers(address[] calldata assets, string[] calldata markets)
        external
        view
        returns (int256[] memory result)
    {
        if (assets.length != markets.length) revert LengthMismatch(assets.length, markets.length);
        result = new int256[](assets.length);
        for (uint256 i = 0; i < assets.length; i++) {
            result[i] = tracers[assets[i]][markets[i]];
        }
    }

    /// Adds `increment` to the pair's tracer.
    function refreshFunding(address asset, string calldata market, int256 increment) external onlyOwner {
        int256 tracer = tracers[asset][market] + increment;
        tracers[asset][market] = tracer;
        emit FundingRefreshed(asset, market, tracer, increment);
    }
}

/// @title TradingMarket
/// @notice The markets by name, in the order they were first set.
contract TradingMarket {
    struct Market {
        string name;
        string category;
        address deFeed;
        uint256 maxLeverage;
        uint256 maxPriceShift;
        uint256 fee;
        uint256 liqThreshold;
        uint256 fundingFactor;
        uint256 minOrderAge;
        uint256 feedMaxAge;
        bytes32 pythFeed;
        bool marketLive;
        bool isReduceOnly;
    }

    address public immutable owner;
    string[] private names;
    mapping(string name => Market) private markets;
    mapping(string name => bool) private listed;

    event MarketSet(string name, Market market);

    error NotOwner(address caller);
    error EmptyMarketName();
    error UnknownMarket(string name);

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    constructor() {
        owner = msg.sender;
    }

    function getMarketList() external view returns (string[] memory) {
        return names;
    }

    /// The markets called `marketNames`, in that order. Reverts on a name never set.
    function getMultipleMarkets(string[] calldata marketNames) external view returns (Market[] memory result) {
        result = new Market[](marketNames.length);
        for (uint256 i = 0; i < marketNames.length; i++) {
            if (!listed[marketNames[i]]) revert UnknownMarket(marketNames[i]);
            result[i] = markets[marketNames[i]];
        }
    }

    /// Adds `market`, or replaces the one of the same name (keeping its place in the list).
    function setMarket(Market calldata market) external onlyOwner {
        if (bytes(market.name).length == 0) revert EmptyMarketName();
        if (!listed[market.name]) {
            listed[market.name] = true;
            names.push(market.name);
        }
        markets[market.name] = market;
        emit MarketSet(market.name, market);
    }
}
