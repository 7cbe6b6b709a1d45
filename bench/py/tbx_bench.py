"""tensorboardX's add_scalar, the same loop as recorder_bench.rs.
Usage: tbx_bench.py SCALARS SCALARS_PER_STEP
Prints `scalars seconds rate peak_rss_kib`."""
import resource
import sys
import tempfile
import time

from tensorboardX import SummaryWriter


def main(total, per_step):
    tags = ["train/loss", "train/acc"]
    with tempfile.TemporaryDirectory() as logdir:
        writer = SummaryWriter(logdir)
        step = 0
        started = time.perf_counter()
        for i in range(total):
            writer.add_scalar(tags[i % 2], 1.0 / (1.0 + i), step)
            if (i + 1) % per_step == 0:
                step += 1
        writer.close()
        seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{total} {seconds:.3f} {total / seconds:.0f} {peak}")


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
