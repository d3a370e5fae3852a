/* config.h: the trading configuration (config/trading.json).
 *
 * Defaults are the product's: assets SOL/USD, ETH/USD, BTC/USD with capital
 * allocation 40/35/25 %; leverage ranges, default and extreme (SOL/USD 20-125x,
 * ETH/USD 15-100x, BTC/USD 12-85x extreme); Kraken fees 0.16 % maker and
 * 0.26 % taker; risk limits. A file overrides any subset; an unknown key, a
 * value of the wrong type or out of range dies 78 (EX_CONFIG) naming the file
 * and the JSON path ("config/trading.json: $.leverage.SOL/USD.extreme[1]: ..."). */
#ifndef KML_CONFIG_H
#define KML_CONFIG_H

#include <cJSON.h>

#define KML_MAX_ASSETS 16

typedef struct {
    char pair[40];          /* display form, "SOL/USD" */
    double allocation;      /* fraction of capital, 0..1 */
    double lev_default[2];  /* min, max leverage in default mode */
    double lev_extreme[2];  /* min, max leverage in extreme mode */
} kml_asset;

typedef struct {
    int n_assets;
    kml_asset assets[KML_MAX_ASSETS];
    double maker_fee, taker_fee;   /* fractions: 0.0016, 0.0026 */
    struct {
        double risk_per_trade;     /* fraction of equity at risk to the stop */
        double max_drawdown;       /* stop trading beyond this drawdown */
        double daily_loss_limit;   /* fraction of equity lost in a UTC day */
        double max_position;       /* max notional / allocated equity before leverage */
        int max_open_positions;
    } risk;
    struct {                       /* the margin model (lib/market/margin.h, docs/margin.md) */
        double margin_call;        /* margin level (equity / used margin) Kraken may liquidate below: 0.8 */
        double margin_stop;        /* margin level of the liquidation: 0.4 */
        double opening_fee;        /* margin opening fee, fraction of notional: 0.0002 */
        double rollover_rate;      /* rollover fee per 4 h, fraction of notional: 0.0002 */
    } margin;
    struct {                       /* kml-size (docs/sizing.md) */
        double stop_buffer;        /* stop at most (1 - this) of the way from entry to liquidation: 0.25 */
        double stop_vol;           /* stop distance in volatilities (the decision's per-bar one): 3 */
        double take_profit_vol;    /* take-profit distance in volatilities, at the entry threshold: 4.5 */
        double vol_target;         /* per-bar volatility --ml-position-sizing targets: 0.01 */
        double kelly_fraction;     /* fraction of the Kelly bet taken: 0.25 */
        double entry_threshold;    /* |signal| below this: flat (when -e gives none): 0.2 */
        double min_confidence;     /* confidence below this: flat (when -e gives none): 0.1 */
        int track_window;          /* past decisions of a pair in its track record: 50 */
    } sizing;
    struct {                       /* kml-execute --sandbox (docs/execution.md) */
        double slippage_bps;       /* adverse slippage of a market fill, basis points of the price: 2 */
        double range_fraction;     /* plus this fraction of the bar's high - low: 0.1 */
        double ordermin;           /* smallest volume of an order, base units, without --limits: 0.0001 */
        double costmin;            /* smallest value of an order, quote units, without --limits: 0.5 */
        int lot_decimals;          /* volume decimals, without --limits: 8 */
    } execution;
    struct {                       /* kml-ensemble fit (docs/ensemble.md) */
        char objective[16];        /* "sharpe", "sortino" or "return": sharpe */
        double penalty;            /* pull toward equal weights: 0.1 */
        int min_samples;           /* bars a regime needs for its own weights: 500 */
        double min_confidence;     /* thresholds.min_confidence written to ensemble.json: 0 (sizing gates on its own) */
        double adaptation_rate;    /* kml-predict's Hedge learning rate eta per unit of log return, written to ensemble.json: 1 */
        double adaptation_min;     /* bounds of each strategy's multiplier: 0.5 */
        double adaptation_max;     /* 2 */
    } ensemble;
    struct {                       /* kml-execute --live (docs/live.md) */
        char tier[32];             /* Kraken verification tier for the call counter: "starter",
                                    * "intermediate", "pro", or "MAX/DECAY": starter */
        char over_max_leverage[16]; /* a target above AssetPairs' maximum: "clamp" or "refuse": clamp */
        double fill_timeout;       /* seconds before an order not final is cancelled: 60 */
        double poll;               /* seconds between order queries: 1 */
    } live;
    struct {                       /* pipelines/slurm's jobs (docs/scale-out.md) */
        char partition[64];        /* sbatch --partition; "" = the cluster's default */
        char account[64];          /* sbatch --account; "" = the user's default */
        int cpus_per_task;         /* CPUs of each job and array task: 1 */
        int mem_mb;                /* memory of each job, MB; 0 = the cluster's default */
        int task_minutes;          /* time limit of a walk-forward fold or a search trial: 60 */
        int merge_minutes;         /* time limit of a merge (and the report): 30 */
        int job_minutes;           /* time limit of an asset, plan, ensemble or backtest job: 120 */
        int retries;               /* more attempts of a failed task inside its job: 2 */
        int array_parallel;        /* tasks of one array running at once (%N); 0 = no limit */
    } slurm;
    char mode[16];                 /* "sandbox" or "live" */
    char leverage_mode[16];        /* "default" or "extreme" */
    double initial_capital;        /* sandbox account, USD */
    /* Days of candles the pipeline keeps in historical_data/ (kml-fetch
     * update --days): default 125 = 90 days of training rows plus the
     * features' warm-up and label horizon (799 + 4 hourly bars, 33.5 days),
     * rounded up. */
    int history_days;
} kml_config;

void config_defaults(kml_config *c);
/* Load: path NULL -> $KML_CONFIG, else config/trading.json when it exists,
 * else defaults. A named path that is missing dies 66. */
void config_load(kml_config *c, const char *path);
/* Apply a parsed JSON object over c; name is used in messages. */
void config_apply_json(kml_config *c, const cJSON *root, const char *name);
const kml_asset *config_asset(const kml_config *c, const char *pair); /* NULL if absent */
cJSON *config_to_json(const kml_config *c);

#endif
