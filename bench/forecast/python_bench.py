"""The Python half of bench/forecast/run.sh: Prophet (and statsmodels' STL + ETS,
the same algorithm family as sopilot-forecast) on the series and plan that the
Rust example wrote, timed in process the same way: fit + forecast per origin,
imports and process start excluded.

Usage: python_bench.py DIR  ->  one JSON object per model on stdout.
"""

import json
import logging
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

logging.getLogger("cmdstanpy").setLevel(logging.WARNING)
logging.getLogger("prophet").setLevel(logging.WARNING)
warnings.filterwarnings("ignore")


def mape(actual, predicted):
    a, p = np.asarray(actual), np.asarray(predicted)
    keep = np.isfinite(a) & (a != 0)
    return float(100 * np.mean(np.abs((a[keep] - p[keep]) / a[keep])))


def prophet_model(settings):
    from prophet import Prophet

    def fit_forecast(history, horizon):
        m = Prophet(daily_seasonality=True, weekly_seasonality=True, **settings)
        m.fit(history)
        # Only the future rows: cheaper than the document's whole-history predict.
        future = m.make_future_dataframe(periods=horizon, freq="5min", include_history=False)
        f = m.predict(future)
        return f["yhat"].to_numpy(), f["yhat_lower"].to_numpy(), f["yhat_upper"].to_numpy()

    return fit_forecast


def statsmodels_stl_ets(history, horizon):
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel
    from statsmodels.tsa.forecasting.stl import STLForecast

    y = pd.Series(history["y"].to_numpy())
    res = STLForecast(
        y, ETSModel, model_kwargs={"error": "add", "trend": "add", "damped_trend": True}, period=288
    ).fit()
    pred = res.get_prediction(start=len(y), end=len(y) + horizon - 1).summary_frame(alpha=0.05)
    # STLForecast reports the ETS interval as mean_ci_*.
    return pred["mean"].to_numpy(), pred["mean_ci_lower"].to_numpy(), pred["mean_ci_upper"].to_numpy()


def run(name, model, fit_forecast, df, plan, repeat):
    hist, horizon, leads = plan["history"], plan["horizon"], plan["leads"]
    times, predicted, actual = [], [[] for _ in leads], [[] for _ in leads]
    for origin in plan["origins"]:
        history = df.iloc[origin - hist : origin].reset_index(drop=True)
        for r in range(repeat):
            started = time.perf_counter()
            yhat, _lower, _upper = fit_forecast(history, horizon)
            times.append((time.perf_counter() - started) * 1e3)
            if r == 0:
                for i, lead in enumerate(leads):
                    predicted[i].append(yhat[lead - 1])
                    actual[i].append(df["y"].iloc[origin + lead - 1])
    return {
        "name": name,
        "model": model,
        "runs": len(times),
        "median_ms": statistics.median(times),
        "mean_ms": statistics.fmean(times),
        "mape": [mape(a, p) for a, p in zip(actual, predicted)],
    }


def main():
    out = Path(sys.argv[1])
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    plan = json.loads((out / "plan.json").read_text())
    df = pd.read_csv(out / "series.csv")
    df["ds"] = pd.to_datetime(df["ds"]).dt.tz_localize(None)

    try:
        import prophet  # noqa: F401

        # cmdstanpy installs its own INFO handler on import; silence it after.
        logging.getLogger("cmdstanpy").disabled = True
    except ImportError as e:
        print(json.dumps({"name": "prophet", "error": f"prophet not importable: {e}"}))
    else:
        document = {"changepoint_prior_scale": 0.05, "seasonality_mode": "multiplicative"}
        for name, settings, label in [
            ("prophet (document's settings)", document, "daily+weekly, multiplicative, cps 0.05"),
            ("prophet (additive)", {}, "daily+weekly, additive, defaults"),
        ]:
            print(json.dumps(run(name, label, prophet_model(settings), df, plan, repeat)), flush=True)

    try:
        import statsmodels  # noqa: F401
    except ImportError as e:
        print(json.dumps({"name": "statsmodels", "error": f"statsmodels not importable: {e}"}))
    else:
        print(json.dumps(run("statsmodels STLForecast + ETS", "STL(288) + ETS(A,Ad,N)",
                             statsmodels_stl_ets, df, plan, repeat)), flush=True)


if __name__ == "__main__":
    main()
