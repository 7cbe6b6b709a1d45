"""pystematic twin of examples/hello_world.rs, for cross-checks."""
import pystematic


@pystematic.experiment
@pystematic.parameter(name="name", help="The name to greet.", required=True)
def hello_world(params):
    greeting = f"Hello {params['name']}!"
    print(greeting)
    with pystematic.output_dir.joinpath("hello.txt").open("w") as f:
        f.write(greeting + "\n")


if __name__ == "__main__":
    hello_world.cli()
