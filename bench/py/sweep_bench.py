"""pystematic twin of bench/src/bin/sweep_bench.rs: `sweep` runs `work` over
20 values on 2 processes with run_parameter_sweep."""
import os

import pystematic


@pystematic.group
def sweep_bench():
    pass


@sweep_bench.experiment
@pystematic.parameter(name="int_param", type=int, required=True)
def work(params):
    with pystematic.output_dir.joinpath("result.txt").open("w") as f:
        f.write(str(params["int_param"]))


@sweep_bench.experiment
def sweep(params):
    runs = int(os.environ.get("SWEEP_RUNS", "20"))
    grid = pystematic.param_matrix(int_param=list(range(runs)))
    pystematic.run_parameter_sweep(work, grid, max_num_processes=2)


if __name__ == "__main__":
    sweep_bench.cli()
