"""Every MLflow run of every experiment, with its parameters and last metrics,
printed: MLflow's own listing of what `rystematic ls` lists.

    python bench/py/peers_mlflow_ls.py csv|json   (MLFLOW_TRACKING_URI set)

`mlflow runs list` cannot be the peer: it lists one experiment, without
parameters or metrics, and stops at 1,000 runs (the store's default page).
`mlflow.search_runs` pages through all runs of all experiments into a
DataFrame with the parameters and each metric's last value; it is printed
the cheapest way pandas offers (CSV, or JSON records for `json`), not as an
aligned table, so MLflow gets the benefit of the doubt on formatting.
"""

import sys

import mlflow


def main():
    runs = mlflow.search_runs(search_all_experiments=True)
    if sys.argv[1] == "json":
        runs.to_json(sys.stdout, orient="records", date_format="iso")
    else:
        runs.to_csv(sys.stdout, index=False)


if __name__ == "__main__":
    main()
