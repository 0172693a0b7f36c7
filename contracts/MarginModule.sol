// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

// The oracle is ours (the real module prices through Dex223Oracle, whose getAmountOut has
// the same signature) and so is its market maker; the token interface is shared with it.
import {IMarginToken, MarginOracle} from "./MarginOracle.sol";

/// @title MarginModule
/// @notice The devnet copy of the Dex223 margin module (`Dex223MarginModule.sol`,
/// EthereumCommonwealth/Dex223-contracts): lenders post orders (a base asset to lend, the
/// collateral they accept, interest, leverage, a liquidation reward), borrowers take loans
/// against collateral and hold a basket of assets in a position, and anyone may liquidate a
/// position whose value falls below its debt, freezing it first and confirming in a later
/// block.
///
/// Same functions, events and struct layouts as the real contract, so the public getters
/// decode the same and the desk's liquidator runs unchanged against either. What differs:
/// ERC-20 base assets and collateral only (no ERC-223, no ETH deposits; the liquidation
/// reward may be ETH), no trading inside a position (`marginSwap`), and liquidations and
/// closes sell to the order's oracle (`MarginOracle.swap`) instead of a Dex223 pool.
///
/// @dev Debt is simple interest: `initialBalance + initialBalance * interest * elapsed /
/// 30 days / 10000` (interest in basis points per 30 days, accruing past the deadline too).
/// A position's value is its base balance plus the oracle's quote of every other holding in
/// the base asset. It is liquidatable when value < debt.
contract MarginModule {
    /// A freeze gives its liquidator this long to confirm; after it anyone may re-freeze.
    uint256 private constant FREEZE_DURATION = 1 hours;
    /// Interest is quoted in basis points per this period.
    uint256 private constant INTEREST_PERIOD = 2592000; // 30 days
    uint256 private constant INTEREST_PRECISION = 10000;
    /// Forced sales must fetch at least this share of the oracle's quote (basis points).
    uint256 private constant MIN_SALE_BPS = 9500;

    struct OrderParams {
        bytes32 whitelistId;
        uint256 interestRate;
        uint256 duration;
        uint256 minLoan;
        uint256 liquidationRewardAmount;
        address liquidationRewardAsset;
        address asset;
        uint32 deadline;
        uint16 currencyLimit;
        uint8 leverage;
        address oracle;
        address[] collateral;
    }

    struct OrderExpiration {
        uint256 liquidationRewardAmount;
        address liquidationRewardAsset;
        uint32 deadline;
    }

    struct Order {
        address owner;
        uint256 id;
        bytes32 whitelist;
        uint256 interestRate;
        uint256 duration;
        uint256 minLoan;
        address baseAsset;
        uint16 currencyLimit;
        uint8 leverage;
        address oracle;
        uint256 balance;
        OrderExpiration expirationData;
        address[] collateralAssets;
    }

    struct OrderStatus {
        bool alive;
        uint8 positions;
    }

    struct Position {
        uint256 orderId;
        address owner;
        address[] assets;
        uint256[] balances;
        uint256 deadline;
        uint256 createdAt;
        uint256 initialBalance;
        uint256 interest;
        bool open;
        uint256 frozenTime;
        address liquidator;
    }

    struct Tokenlist {
        bool exists;
        bool isContract;
        address[] tokens;
    }

    mapping(uint256 => Order) public orders;
    mapping(uint256 => OrderStatus) public order_status;
    mapping(uint256 => Position) public positions;
    mapping(bytes32 => Tokenlist) public tokenlists;
    mapping(uint256 => address) public positionInitialCollateral;
    uint256 public orderIndex;
    uint256 public positionIndex;

    bool private entered;

    event OrderCreated(
        uint256 indexed orderId,
        address indexed owner,
        address indexed baseAsset,
        bytes32 whitelistId,
        uint256 interestRate,
        uint256 duration,
        uint256 minLoan,
        uint8 leverage,
        address oracle
    );
    event OrderCollateralsSet(uint256 indexed orderId, address[] collaterals);
    event OrderAliveStatus(uint256 indexed orderId, bool alive);
    event OrderDeposit(uint256 indexed orderId, address indexed asset, uint256 amount);
    event OrderWithdraw(uint256 indexed orderId, address indexed asset, uint256 amount);
    event TokenlistAdded(bytes32 indexed hash, bool is_contract, address[] tokens);
    event PositionOpened(
        uint256 indexed positionId,
        address indexed owner,
        uint256 loanAmount,
        address baseAsset,
        address collateral,
        uint256 collateral_amount
    );
    event InitialLeverage(uint256 positionId, uint256 leverage);
    event PositionDeposit(uint256 indexed positionId, address indexed asset, uint256 amount);
    event PositionFrozen(uint256 indexed positionId, address indexed liquidator, uint256 timestamp);
    /// Declared as in the real contract, which never emits it either (see `Liquidation`).
    event PositionLiquidated(uint256 indexed positionId, address indexed liquidator, uint256 rewardAmount);
    event MarginSwap(uint256 indexed positionId, address assetIn, address assetOut, uint256 amountIn, uint256 amountOut);
    event Liquidation(uint256 indexed positionId, uint256 indexed orderId, address indexed liquidator, address feeReceiver);
    event PositionWithdrawal(uint256 indexed positionId, address indexed asset, uint256 quantity);
    event PositionClosed(uint256 indexed positionId, address closedBy);
    event NewAsset(uint256 positionId, address asset);
    event AssetRemoved(uint256 positionId, address asset);

    /// Every fund-moving entry point calls tokens (and a reward receiver) it does not trust.
    modifier nonReentrant() {
        require(!entered, "Reentrant call");
        entered = true;
        _;
        entered = false;
    }

    modifier onlyOrderOwner(uint256 orderId) {
        require(orders[orderId].owner == msg.sender, "Not order owner");
        _;
    }

    modifier onlyPositionOwner(uint256 positionId) {
        require(positions[positionId].owner == msg.sender, "Not position owner");
        _;
    }

    // ------------------------------------------------------------------------------------
    // Token lists

    /// Registers a list of tokens once under `keccak256(abi.encode(isContract, tokens))`
    /// and returns that id. Only plain lists (`isContract == false`) are supported here.
    function addTokenlist(address[] calldata tokens, bool isContract) external returns (bytes32 id) {
        require(!isContract, "unsupported");
        id = keccak256(abi.encode(isContract, tokens));
        if (tokenlists[id].exists) return id;
        tokenlists[id] = Tokenlist(true, isContract, tokens);
        emit TokenlistAdded(id, isContract, tokens);
    }

    function getTokenlist(bytes32 id) external view returns (address[] memory) {
        return tokenlists[id].tokens;
    }

    // ------------------------------------------------------------------------------------
    // Orders

    function createOrder(OrderParams memory params) external returns (uint256 orderId) {
        require(params.leverage > 1, "Leverage must exceed 1");
        require(params.deadline > block.timestamp, "Deadline in the past");
        require(params.collateral.length > 0, "Order needs a collateral");

        orderId = orderIndex++;
        Order storage order = orders[orderId];
        order.owner = msg.sender;
        order.id = orderId;
        order.whitelist = params.whitelistId;
        order.interestRate = params.interestRate;
        order.duration = params.duration;
        order.minLoan = params.minLoan;
        order.baseAsset = params.asset;
        order.currencyLimit = params.currencyLimit;
        order.leverage = params.leverage;
        order.oracle = params.oracle;
        order.expirationData =
            OrderExpiration(params.liquidationRewardAmount, params.liquidationRewardAsset, params.deadline);
        order.collateralAssets = params.collateral;
        order_status[orderId] = OrderStatus(true, 0);

        emit OrderCreated(
            orderId,
            msg.sender,
            params.asset,
            params.whitelistId,
            params.interestRate,
            params.duration,
            params.minLoan,
            params.leverage,
            params.oracle
        );
        emit OrderCollateralsSet(orderId, params.collateral);
    }

    function getCollaterals(uint256 orderId) external view returns (address[] memory) {
        return orders[orderId].collateralAssets;
    }

    function getOrderExpirationData(uint256 id) public view returns (uint256, address, uint32) {
        OrderExpiration storage data = orders[id].expirationData;
        return (data.liquidationRewardAmount, data.liquidationRewardAsset, data.deadline);
    }

    /// Lends only while the collateral list is set, the deadline is ahead and it is alive.
    function isOrderOpen(uint256 id) public view returns (bool) {
        Order storage order = orders[id];
        return order.collateralAssets.length > 0 && order.expirationData.deadline > block.timestamp
            && order_status[id].alive;
    }

    function setOrderStatus(uint256 orderId, bool status) external onlyOrderOwner(orderId) {
        order_status[orderId].alive = status;
        emit OrderAliveStatus(orderId, status);
    }

    function orderDepositToken(uint256 orderId, uint256 amount) external nonReentrant onlyOrderOwner(orderId) {
        require(isOrderOpen(orderId), "Order is expired");
        Order storage order = orders[orderId];
        require(order.baseAsset != address(0), "ETH orders unsupported");
        _pull(order.baseAsset, msg.sender, amount);
        order.balance += amount;
        emit OrderDeposit(orderId, order.baseAsset, amount);
    }

    /// Takes back unlent funds (what is lent was already taken out of `balance`).
    function orderWithdraw(uint256 orderId, uint256 amount) external nonReentrant onlyOrderOwner(orderId) {
        Order storage order = orders[orderId];
        require(order.balance >= amount, "Insufficient order balance");
        order.balance -= amount;
        _send(order.baseAsset, msg.sender, amount);
        emit OrderWithdraw(orderId, order.baseAsset, amount);
    }

    // ------------------------------------------------------------------------------------
    // Positions

    /// Borrows `amount` of the order's base asset against `collateralAmount` of its
    /// `collateralIdx`-th collateral. The caller must have approved the collateral and, if
    /// the order's reward is a token, the reward; an ETH reward comes as `msg.value`.
    function takeLoan(uint256 orderId, uint256 amount, uint256 collateralIdx, uint256 collateralAmount)
        external
        payable
        nonReentrant
    {
        require(isOrderOpen(orderId), "Order is expired");
        Order storage order = orders[orderId];
        require(tokenlists[order.whitelist].tokens.length != 0, "Orders whitelist is empty");
        require(collateralIdx < order.collateralAssets.length, "Collaterals error");
        require(order.minLoan <= amount, "Minloan error");
        require(order.balance >= amount, "Balance error");

        address base = order.baseAsset;
        address collateral = order.collateralAssets[collateralIdx];
        uint256 collateralValue = collateral == base
            ? collateralAmount
            : MarginOracle(order.oracle).getAmountOut(base, collateral, collateralAmount);
        require(collateralValue > 0, "Collateral error");
        // (collateral + loan) / collateral <= leverage, multiplied out so nothing truncates.
        require(collateralValue + amount <= uint256(order.leverage) * collateralValue, "Leverage error");

        // The id is taken before any token is pulled, so a token calling back in cannot
        // reuse it.
        uint256 positionId = positionIndex++;
        Position storage position = positions[positionId];
        position.orderId = orderId;
        position.owner = msg.sender;
        position.deadline = block.timestamp + order.duration;
        position.createdAt = block.timestamp;
        position.initialBalance = amount;
        position.interest = order.interestRate;
        position.open = true;
        positionInitialCollateral[positionId] = collateral;

        order.balance -= amount;
        _addAsset(positionId, base, amount, false);
        _addAsset(positionId, collateral, collateralAmount, false);

        _pull(collateral, msg.sender, collateralAmount);
        (uint256 rewardAmount, address rewardAsset,) = getOrderExpirationData(orderId);
        if (rewardAsset == address(0)) {
            require(msg.value >= rewardAmount, "ETH reward reception error");
        } else {
            _pull(rewardAsset, msg.sender, rewardAmount);
        }

        require(!subjectToLiquidation(positionId), "Position opens liquidatable");
        order_status[orderId].positions++;

        emit PositionOpened(positionId, msg.sender, amount, base, collateral, collateralAmount);
        emit InitialLeverage(positionId, (collateralValue + amount) / collateralValue);
        emit NewAsset(positionId, base);
        if (collateral != base) emit NewAsset(positionId, collateral);
    }

    /// Adds funds to an open position: the base asset, the initial collateral, or the
    /// `idInWhitelist`-th token of the order's whitelist.
    function positionDeposit(uint256 positionId, address asset, uint256 idInWhitelist, uint256 amount)
        external
        nonReentrant
        onlyPositionOwner(positionId)
    {
        require(amount > 0, "Deposit must exceed zero");
        Position storage position = positions[positionId];
        require(position.open, "Position is closed");
        require(_allowed(positionId, asset, idInWhitelist), "Asset not allowed");
        _pull(asset, msg.sender, amount);
        _addAsset(positionId, asset, amount, true);
        emit PositionDeposit(positionId, asset, amount);
    }

    /// Trades inside a position: `_amount` of its `_assetId1`-th asset for `_asset2`. The
    /// real module swaps through a Dex223 pool; this one through the order oracle's market
    /// maker at the oracle's price. The whitelist index of the sold asset, the fee tier and
    /// the price limit are taken for the ABI's sake. The owner may trade, and so may the
    /// liquidator of a frozen position.
    function marginSwap(
        uint256 _positionId,
        uint256 _assetId1,
        uint256, /* _whitelistId1 */
        uint256 _whitelistId2,
        uint256 _amount,
        address _asset2,
        uint24, /* _feeTier */
        uint256 _minAmountOut,
        uint160 /* _priceLimitX96 */
    ) external nonReentrant {
        Position storage position = positions[_positionId];
        require(position.open, "Position is closed");
        if (msg.sender != position.owner) {
            require(msg.sender == position.liquidator && position.frozenTime > 0, "Only owner or liquidator");
        }
        require(_assetId1 < position.assets.length, "No such asset");
        address asset1 = position.assets[_assetId1];
        require(asset1 != _asset2, "Same asset");
        require(_allowed(_positionId, _asset2, _whitelistId2), "Asset not allowed");
        require(_amount > 0 && position.balances[_assetId1] >= _amount, "Insufficient balance");
        address oracle = orders[position.orderId].oracle;
        _call(asset1, abi.encodeCall(IMarginToken.approve, (oracle, _amount)));
        uint256 amountOut = MarginOracle(oracle).swap(_asset2, asset1, _amount, _minAmountOut, address(this));
        require(amountOut > 0, "Nothing received");
        // As the real module: credit the proceeds first (a new asset is appended), then debit.
        _addAsset(_positionId, _asset2, amountOut, true);
        _reduceAsset(_positionId, _assetId1, _amount);
        emit MarginSwap(_positionId, asset1, _asset2, _amount, amountOut);
    }

    function getPositionAssets(uint256 id) external view returns (address[] memory) {
        return positions[id].assets;
    }

    function getPositionBalances(uint256 id) external view returns (uint256[] memory) {
        return positions[id].balances;
    }

    /// The index of `asset` in the position's assets, or their count if it holds none.
    function getAssetId(uint256 positionId, address asset) public view returns (uint256) {
        address[] storage assets = positions[positionId].assets;
        for (uint256 i = 0; i < assets.length; i++) {
            if (assets[i] == asset) return i;
        }
        return assets.length;
    }

    // ------------------------------------------------------------------------------------
    // Valuation

    /// What the position owes now: the loan plus simple interest since it opened.
    function _debt(Position storage position) private view returns (uint256) {
        uint256 elapsed = block.timestamp - position.createdAt;
        return position.initialBalance
            + position.initialBalance * position.interest * elapsed / INTEREST_PERIOD / INTEREST_PRECISION;
    }

    /// What the position holds, in the base asset at the order oracle's prices.
    function _value(Position storage position) private view returns (uint256 value) {
        address[] storage assets = position.assets;
        uint256[] storage balances = position.balances;
        if (assets.length == 0) return 0;
        MarginOracle oracle = MarginOracle(orders[position.orderId].oracle);
        value = balances[0];
        for (uint256 i = 1; i < assets.length; i++) {
            value += oracle.getAmountOut(assets[0], assets[i], balances[i]);
        }
    }

    /// (debt, value) of the position.
    function getPositionStatus(uint256 positionId)
        public
        view
        returns (uint256 expected_balance, uint256 actual_balance)
    {
        Position storage position = positions[positionId];
        return (_debt(position), _value(position));
    }

    function subjectToLiquidation(uint256 positionId) public view returns (bool) {
        (uint256 debt, uint256 value) = getPositionStatus(positionId);
        return value < debt;
    }

    /// Everything a liquidator needs at once; `insolvensy_expected_time` is when interest
    /// alone would bring the debt up to today's value (0 when already insolvent or never).
    function subjectToLiquidationExtended(uint256 positionId)
        external
        view
        returns (
            bool _subjectToLiquidation,
            address liquidator,
            uint256 frozenTimestamp,
            bool liquidated,
            uint256 insolvensy_expected_time
        )
    {
        Position storage position = positions[positionId];
        (uint256 debt, uint256 value) = getPositionStatus(positionId);
        if (value > debt && position.interest > 0 && position.initialBalance > 0) {
            insolvensy_expected_time = ((value - debt) * INTEREST_PRECISION * INTEREST_PERIOD)
                / (position.interest * position.initialBalance) + block.timestamp;
        }
        return (debt > value, position.liquidator, position.frozenTime, !position.open, insolvensy_expected_time);
    }

    // ------------------------------------------------------------------------------------
    // Liquidation and closing

    /// Two phases. The first call on a liquidatable position freezes it for the caller
    /// (`PositionFrozen`); the same caller's call in a later block within the hour sells the
    /// holdings, repays the order, closes the position and pays the order's reward to
    /// `receiver` (`Liquidation`). A freeze older than an hour is stale and anyone may freeze
    /// again. Every call reverts if the position is not (or no longer) liquidatable.
    function liquidate(uint256 positionId, address receiver) external nonReentrant {
        Position storage position = positions[positionId];
        require(position.open, "Position is closed");
        require(subjectToLiquidation(positionId), "Not liquidatable");

        if (position.frozenTime == 0 || block.timestamp - position.frozenTime > FREEZE_DURATION) {
            position.frozenTime = block.timestamp;
            position.liquidator = msg.sender;
            emit PositionFrozen(positionId, msg.sender, block.timestamp);
            return;
        }
        // A later block, so the owner had a chance to react to the freeze.
        require(block.timestamp > position.frozenTime, "Freeze and liquidate: same block");
        require(msg.sender == position.liquidator, "Frozen by another liquidator");

        uint256 orderId = position.orderId;
        Order storage order = orders[orderId];
        _sellAll(positionId, type(uint256).max);

        uint256 debt = _debt(position);
        uint256 repaid = position.balances[0] < debt ? position.balances[0] : debt;
        position.balances[0] -= repaid;
        order.balance += repaid;
        position.open = false;
        order_status[orderId].positions--;

        _payReward(orderId, receiver);
        emit Liquidation(positionId, orderId, msg.sender, receiver);
    }

    /// Repays the debt and closes the position: its owner any time, the order's owner from
    /// the position's deadline on. Holdings other than the base asset are sold (last first)
    /// until the base balance covers the debt. The liquidation reward goes back to the
    /// caller; with `autoWithdraw` what is left goes to the position's owner. A position that
    /// was ever frozen cannot be closed, as in the real module (the freeze is never cleared).
    function positionClose(uint256 positionId, bool autoWithdraw) external nonReentrant {
        Position storage position = positions[positionId];
        uint256 orderId = position.orderId;
        Order storage order = orders[orderId];
        require(position.open, "Position is not open");
        require(
            msg.sender == position.owner || (msg.sender == order.owner && position.deadline <= block.timestamp),
            "Not authorized to close"
        );
        require(position.frozenTime == 0, "Position frozen");
        require(!subjectToLiquidation(positionId), "Subject to liquidation");

        uint256 debt = _debt(position);
        _sellAll(positionId, debt);
        require(position.balances[0] >= debt, "Insufficient funds to close");
        position.balances[0] -= debt;
        order.balance += debt;
        position.open = false;
        order_status[orderId].positions--;

        _payReward(orderId, msg.sender);
        emit PositionClosed(positionId, msg.sender);

        if (autoWithdraw) {
            // In listed order. A withdrawn holding is replaced by the last one, so go by a copy
            // of the list and look each asset up again.
            address[] memory assets = position.assets;
            for (uint256 i = 0; i < assets.length; i++) {
                uint256 index = getAssetId(positionId, assets[i]);
                if (position.balances[index] > 0) _withdraw(positionId, index);
            }
        }
    }

    /// Takes one asset's remaining balance out of a closed position (its owner).
    function positionWithdraw(uint256 positionId, address asset) external nonReentrant onlyPositionOwner(positionId) {
        require(!positions[positionId].open, "Position still open");
        uint256 index = getAssetId(positionId, asset);
        require(index < positions[positionId].assets.length, "Asset not found in position");
        require(positions[positionId].balances[index] > 0, "No balance to withdraw");
        _withdraw(positionId, index);
    }

    // ------------------------------------------------------------------------------------
    // Internals

    /// Credits `amount` of `asset` to an open position; an asset it does not hold yet must
    /// fit the order's currency limit and be a positive amount. `announce` emits `NewAsset`
    /// for it (`takeLoan` emits its own after `PositionOpened`).
    function _addAsset(uint256 positionId, address asset, uint256 amount, bool announce) private {
        Position storage position = positions[positionId];
        require(position.open, "Position is closed");
        uint256 index = getAssetId(positionId, asset);
        if (index < position.assets.length) {
            position.balances[index] += amount;
            return;
        }
        require(position.assets.length + 1 <= orders[position.orderId].currencyLimit, "Currency limit");
        require(amount > 0, "Zero amount");
        position.assets.push(asset);
        position.balances.push(amount);
        if (announce) emit NewAsset(positionId, asset);
    }

    /// Debits the holding at `index`; a non-base holding that reaches 0 is removed by
    /// moving the last one into its place (the base asset always stays at index 0).
    function _reduceAsset(uint256 positionId, uint256 index, uint256 amount) private {
        Position storage position = positions[positionId];
        position.balances[index] -= amount;
        if (position.balances[index] > 0 || index == 0) return;
        emit AssetRemoved(positionId, position.assets[index]);
        uint256 last = position.assets.length - 1;
        position.assets[index] = position.assets[last];
        position.balances[index] = position.balances[last];
        position.assets.pop();
        position.balances.pop();
    }

    /// Sells non-base holdings, last first, to the order oracle's market maker until the
    /// base balance reaches `target` (everything for `type(uint256).max`). Each sale must
    /// fetch 95% of the oracle's quote.
    function _sellAll(uint256 positionId, uint256 target) private {
        Position storage position = positions[positionId];
        address oracle = orders[position.orderId].oracle;
        address base = position.assets[0];
        while (position.assets.length > 1 && position.balances[0] < target) {
            uint256 index = position.assets.length - 1;
            address asset = position.assets[index];
            uint256 amountIn = position.balances[index];
            uint256 quote = MarginOracle(oracle).getAmountOut(base, asset, amountIn);
            _call(asset, abi.encodeCall(IMarginToken.approve, (oracle, amountIn)));
            uint256 amountOut = MarginOracle(oracle).swap(
                base, asset, amountIn, quote * MIN_SALE_BPS / INTEREST_PRECISION, address(this)
            );
            _reduceAsset(positionId, index, amountIn);
            position.balances[0] += amountOut;
            emit MarginSwap(positionId, asset, base, amountIn, amountOut);
        }
    }

    /// A position may hold the order's base asset, its own initial collateral, or the
    /// `idInWhitelist`-th token of the order's whitelist.
    function _allowed(uint256 positionId, address asset, uint256 idInWhitelist) private view returns (bool) {
        uint256 orderId = positions[positionId].orderId;
        address[] storage whitelist = tokenlists[orders[orderId].whitelist].tokens;
        return asset == orders[orderId].baseAsset || asset == positionInitialCollateral[positionId]
            || (idInWhitelist < whitelist.length && whitelist[idInWhitelist] == asset);
    }

    function _withdraw(uint256 positionId, uint256 index) private {
        Position storage position = positions[positionId];
        address asset = position.assets[index];
        uint256 amount = position.balances[index];
        _reduceAsset(positionId, index, amount);
        _send(asset, position.owner, amount);
        emit PositionWithdrawal(positionId, asset, amount);
    }

    /// Pays the order's liquidation reward (held since `takeLoan`) to `to`.
    function _payReward(uint256 orderId, address to) private {
        (uint256 amount, address asset,) = getOrderExpirationData(orderId);
        if (amount == 0) return;
        if (asset == address(0)) {
            (bool ok,) = to.call{value: amount}("");
            require(ok, "Reward transfer failed");
        } else {
            _send(asset, to, amount);
        }
    }

    function _pull(address token, address from, uint256 amount) private {
        _call(token, abi.encodeCall(IMarginToken.transferFrom, (from, address(this), amount)));
    }

    function _send(address token, address to, uint256 amount) private {
        _call(token, abi.encodeCall(IMarginToken.transfer, (to, amount)));
    }

    /// A token call that must succeed and, if it returns anything, return true (tolerates
    /// ERC-20s that return nothing). A revert is passed on as is.
    function _call(address token, bytes memory data) private {
        require(token.code.length > 0, "Not a token");
        (bool ok, bytes memory ret) = token.call(data);
        if (!ok) {
            // Pass the token's own reason on (e.g. an allowance too small).
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        require(ret.length == 0 || abi.decode(ret, (bool)), "Token transfer failed");
    }
}
