"""Reads every event file of a run directory with TensorBoard's own event
file loader, record by record, and prints as JSON each summary tag's steps
in the order written: {"<tag>": [step, ...]}. Unlike the multiplexer that
tb_scalars.py uses, which silently drops earlier data when steps go back
("purging orphaned data"), this shows every record, so a step recorded
twice shows twice. Used by the resume tests."""
import glob
import json
import os
import sys

from tensorboard.backend.event_processing import event_file_loader


def main(logdir):
    steps = {}
    # The files sort by creation time (events.out.tfevents.<seconds>...).
    for path in sorted(glob.glob(os.path.join(logdir, "*tfevents*"))):
        for event in event_file_loader.LegacyEventFileLoader(path).Load():
            if not event.HasField("summary"):
                continue
            for value in event.summary.value:
                if not value.tag.startswith("_hparams_/"):
                    steps.setdefault(value.tag, []).append(event.step)
    print(json.dumps(steps, separators=(",", ":")))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: tb_events.py LOGDIR")
    main(sys.argv[1])
