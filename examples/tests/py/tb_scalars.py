"""Reads a run directory with TensorBoard's own loader and prints its
scalars as JSON: {"<run>": {"<tag>": [[step, value], ...]}} (run "." is the
directory itself). Used by the recorder's cross-check tests; needs the
`tensorboard` package that scripts/pyenv installs.

TensorBoard's loader stops reading a file at the first record whose checksum
fails, without a word, so later events would just be missing. Before loading,
this script walks every record's framing (length, masked CRC32C of the
length, payload, masked CRC32C of the payload) and exits with 2, naming the
file and offset, at the first problem.
"""
import glob
import json
import os
import struct
import sys

from tensorboard.backend.event_processing import plugin_event_accumulator as pea
from tensorboard.backend.event_processing import plugin_event_multiplexer as pem
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c
from tensorboard.util import tensor_util

HEADER = 12  # u64 length + u32 masked CRC of the length
FOOTER = 4  # u32 masked CRC of the payload


def framing_problem(path):
    """The first framing or checksum problem in one event file, or None."""
    with open(path, "rb") as f:
        data = f.read()
    offset = 0
    while offset < len(data):
        if len(data) - offset < HEADER:
            return f"truncated header at byte {offset}"
        length_bytes = data[offset : offset + 8]
        (length,) = struct.unpack("<Q", length_bytes)
        (length_crc,) = struct.unpack("<I", data[offset + 8 : offset + HEADER])
        if masked_crc32c(length_bytes) != length_crc:
            return f"bad length checksum at byte {offset}"
        end = offset + HEADER + length + FOOTER
        if end > len(data):
            return f"truncated record at byte {offset}"
        payload = data[offset + HEADER : offset + HEADER + length]
        (payload_crc,) = struct.unpack("<I", data[end - FOOTER : end])
        if masked_crc32c(payload) != payload_crc:
            return f"bad payload checksum at byte {offset}"
        offset = end
    return None


def main(logdir):
    pattern = os.path.join(logdir, "**", "*tfevents*")
    for path in sorted(glob.glob(pattern, recursive=True)):
        problem = framing_problem(path)
        if problem:
            print(f"{path}: {problem}", file=sys.stderr)
            sys.exit(2)
    # size_guidance 0 keeps every event (the default samples 500 per tag).
    mux = pem.EventMultiplexer(size_guidance={pea.TENSORS: 0})
    mux.AddRunsFromDirectory(logdir)
    mux.Reload()
    scalars = {}
    for run, tags in sorted(mux.PluginRunToTagToContent("scalars").items()):
        accumulator = mux.GetAccumulator(run)
        scalars[run] = {
            tag: [
                [event.step, tensor_util.make_ndarray(event.tensor_proto).item()]
                for event in accumulator.Tensors(tag)
            ]
            for tag in sorted(tags)
        }
    print(json.dumps(scalars, separators=(",", ":")))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: tb_scalars.py LOGDIR")
    main(sys.argv[1])
