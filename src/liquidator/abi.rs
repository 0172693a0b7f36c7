//! The Dex223 margin module's ABI as the desk speaks it: the functions, structs and events
//! of `Dex223MarginModule.sol` (EthereumCommonwealth/Dex223-contracts, main) that the
//! liquidator reads, calls or ingests, and the price oracle's `getAmountOut`.
//!
//! Declared here by hand from the real contract, not generated from our devnet artifact:
//! the desk must work against the real deployment. `tests/margin_contract.rs` checks that
//! our devnet `MarginModule` has every one of these selectors and event topics.

// The events and `createOrder`'s struct carry more than seven fields.
#![allow(clippy::too_many_arguments)]

alloy::sol! {
    /// `createOrder`'s argument.
    #[derive(Debug, PartialEq, Eq)]
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

    /// The reward and deadline part of an order (`getOrderExpirationData`).
    #[derive(Debug, PartialEq, Eq)]
    struct OrderExpiration {
        uint256 liquidationRewardAmount;
        address liquidationRewardAsset;
        uint32 deadline;
    }

    #[sol(rpc)]
    #[derive(Debug)]
    interface IMarginModule {
        function orderIndex() external view returns (uint256);
        function positionIndex() external view returns (uint256);

        /// The public getter of `mapping(uint256 => Order) orders`: every member but the
        /// `collateralAssets` array (see `getCollaterals`).
        function orders(uint256 id) external view returns (
            address owner,
            uint256 id_,
            bytes32 whitelist,
            uint256 interestRate,
            uint256 duration,
            uint256 minLoan,
            address baseAsset,
            uint16 currencyLimit,
            uint8 leverage,
            address oracle,
            uint256 balance,
            OrderExpiration expirationData
        );
        function order_status(uint256 id) external view returns (bool alive, uint8 positions);
        function getCollaterals(uint256 orderId) external view returns (address[] memory);
        function getOrderExpirationData(uint256 id) external view returns (uint256, address, uint32);

        /// The public getter of `mapping(uint256 => Position) positions`: every member but
        /// the `assets` and `balances` arrays (see `getPositionAssets` / `getPositionBalances`).
        function positions(uint256 id) external view returns (
            uint256 orderId,
            address owner,
            uint256 deadline,
            uint256 createdAt,
            uint256 initialBalance,
            uint256 interest,
            bool open,
            uint256 frozenTime,
            address liquidator
        );
        function getPositionAssets(uint256 id) external view returns (address[] memory);
        function getPositionBalances(uint256 id) external view returns (uint256[] memory);

        function getPositionStatus(uint256 positionId) external view returns (uint256 expected_balance, uint256 actual_balance);
        function subjectToLiquidation(uint256 positionId) external view returns (bool);
        function subjectToLiquidationExtended(uint256 positionId) external view returns (
            bool _subjectToLiquidation,
            address liquidator,
            uint256 frozenTimestamp,
            bool liquidated,
            uint256 insolvensy_expected_time
        );

        function addTokenlist(address[] calldata tokens, bool isContract) external returns (bytes32);
        function createOrder(OrderParams memory params) external returns (uint256 orderId);
        function orderDepositToken(uint256 _orderId, uint256 amount) external;
        function orderWithdraw(uint256 _orderId, uint256 amount) external;
        function setOrderStatus(uint256 _orderId, bool _status) external;
        function takeLoan(uint256 _orderId, uint256 _amount, uint256 _collateralIdx, uint256 _collateralAmount) external payable;
        function positionDeposit(uint256 positionId, address asset, uint256 idInWhitelist, uint256 amount) external;
        function marginSwap(
            uint256 _positionId,
            uint256 _assetId1,
            uint256 _whitelistId1,
            uint256 _whitelistId2,
            uint256 _amount,
            address _asset2,
            uint24 _feeTier,
            uint256 _minAmountOut,
            uint160 _priceLimitX96
        ) external;
        function positionClose(uint256 positionId, bool autoWithdraw) external;
        function positionWithdraw(uint256 positionId, address asset) external;
        function liquidate(uint256 positionId, address receiver) external;

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
        /// Declared by the real contract and never emitted.
        event PositionLiquidated(uint256 indexed positionId, address indexed liquidator, uint256 rewardAmount);
        event MarginSwap(uint256 indexed positionId, address assetIn, address assetOut, uint256 amountIn, uint256 amountOut);
        event Liquidation(uint256 indexed positionId, uint256 indexed orderId, address indexed liquidator, address feeReceiver);
        event PositionWithdrawal(uint256 indexed positionId, address indexed asset, uint256 quantity);
        event PositionClosed(uint256 indexed positionId, address closedBy);
        event NewAsset(uint256 positionId, address asset);
        event AssetRemoved(uint256 positionId, address asset);
    }

    /// An order's terms changed (`modifyOrder`, only while it has no open position). Our
    /// devnet module has no `modifyOrder`; the index still honours the event.
    #[derive(Debug)]
    interface IMarginOrderAdmin {
        event OrderModified(
            uint256 indexed orderId,
            address indexed owner,
            address indexed baseAsset,
            bytes32 tokenWhitelist,
            uint256 interestRate,
            uint256 duration,
            uint256 minLoan,
            uint8 leverage,
            address oracle
        );
    }

    /// The price oracle an order names. The real Dex223 oracle prices from a pool's
    /// `sqrtPriceX96`; the devnet one (`contracts/MarginOracle.sol`) keeps a settable
    /// `sqrtPriceX96` per pair and says so in `PriceSet`.
    #[sol(rpc)]
    #[derive(Debug)]
    interface IMarginOracle {
        /// Units of `buy` that `amountToSell` units of `sell` are worth.
        function getAmountOut(address buy, address sell, uint256 amountToSell) external view returns (uint256 amountBought);
        /// Digits of the amount the oracle keeps (the legacy Dex223 oracle's 5); 0 or a
        /// missing function: full precision (Dex223 main).
        function pricePrecisionDecimals() external view returns (uint256);
        /// The devnet oracle's price of a pair: token1 per token0 as a Q64.96 square root,
        /// token0 being the lower address (Uniswap's convention). 0 = not set.
        function sqrtPriceX96Of(address tokenA, address tokenB) external view returns (uint160);
        /// Emitted by the devnet oracle on every change; `token0 < token1`.
        event PriceSet(address indexed token0, address indexed token1, uint160 sqrtPriceX96);
    }
}
