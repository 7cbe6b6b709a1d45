"""Reads a run directory with TensorBoard's own loader and prints, as JSON,
what its plugins see beyond scalars: images (step, width, height), text
(step, string) and hparams (the session's hyperparameters, metric tags and
end status). Used by the recorder's cross-check tests."""
import json
import sys

from tensorboard.backend.event_processing import plugin_event_accumulator as pea
from tensorboard.backend.event_processing import plugin_event_multiplexer as pem
from tensorboard.plugins.hparams import plugin_data_pb2
from tensorboard.util import tensor_util


def main(logdir):
    mux = pem.EventMultiplexer(size_guidance={pea.TENSORS: 0})
    mux.AddRunsFromDirectory(logdir)
    mux.Reload()
    acc = mux.GetAccumulator(".")
    out = {"images": {}, "text": {}, "hparams": {}}
    # The loader turns image summaries into tensors of [width, height, png].
    for tag in mux.PluginRunToTagToContent("images").get(".", {}):
        out["images"][tag] = []
        for e in acc.Tensors(tag):
            width, height, png = tensor_util.make_ndarray(e.tensor_proto)[:3]
            assert png.startswith(b"\x89PNG"), tag
            out["images"][tag].append([e.step, int(width), int(height)])
    for tag in mux.PluginRunToTagToContent("text").get(".", {}):
        out["text"][tag] = [
            [e.step, tensor_util.make_ndarray(e.tensor_proto).item().decode()]
            for e in acc.Tensors(tag)
        ]
    for tag, content in mux.PluginRunToTagToContent("hparams").get(".", {}).items():
        data = plugin_data_pb2.HParamsPluginData.FromString(content)
        kind = data.WhichOneof("data")
        if kind == "session_start_info":
            values = {}
            for name, value in data.session_start_info.hparams.items():
                values[name] = getattr(value, value.WhichOneof("kind"))
            out["hparams"]["hparams"] = values
        elif kind == "experiment":
            out["hparams"]["metrics"] = [m.name.tag for m in data.experiment.metric_infos]
            out["hparams"]["hparam_names"] = [h.name for h in data.experiment.hparam_infos]
        elif kind == "session_end_info":
            out["hparams"]["status"] = data.session_end_info.status
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
