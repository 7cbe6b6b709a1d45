"""pystematic twin of examples/all_params.rs, for cross-checks: prints every
resolved parameter as one JSON object on one line."""
import json
import pathlib

import pystematic


@pystematic.experiment
@pystematic.parameter(name="int_param", type=int, default=0)
@pystematic.parameter(name="float_param", type=float, default=0.5)
@pystematic.parameter(name="str_param", type=str, default="hello")
@pystematic.parameter(name="flag", type=bool, is_flag=True)
@pystematic.parameter(name="choice", allowed_values=["sgd", "adam"], default="sgd")
@pystematic.parameter(name="tags", multiple=True)
@pystematic.parameter(name="path_param", type=pathlib.Path)
@pystematic.parameter(name="env_param", envvar="ALL_PARAMS_ENV_PARAM")
@pystematic.parameter(name="hidden_param", default="secret", hidden=True)
def all_params(params):
    plain = {k: str(v) if isinstance(v, pathlib.Path) else v for k, v in params.items()}
    print(json.dumps(plain, sort_keys=True))


if __name__ == "__main__":
    all_params.cli()
