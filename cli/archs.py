"""`ganctl archs`: the architecture registry (no TensorFlow); `archs show` builds the networks."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ganctl.cli import _options as o
from ganctl.cli._errors import CliError, user_errors
from ganctl.cli._output import print_json
from ganctl.cli._tf import import_tensorflow_quietly

app = typer.Typer(help="Architectures: names, defaults, layer tables.", invoke_without_command=True,
                  no_args_is_help=False)

MODELS = ("generator", "discriminator")


def _info_dict(info) -> dict:
    return {"name": info.name, "description": info.description, "source": info.source,
            "noise_dim": info.noise_dim, "batch_size": info.batch_size, "lr_g": info.lr_g,
            "lr_d": info.lr_d, "beta_1": info.beta_1, "beta_2": info.beta_2, "output": info.output,
            "real_label": info.real_label, "label_noise": info.label_noise,
            "image_shape": list(info.image_shape)}


@app.callback()
@user_errors
def archs(ctx: typer.Context, json: o.Json = False) -> None:
    """List the architectures with their own settings (the `seed` recipe's; `ganctl archs show NAME` for the layers)."""
    if ctx.invoked_subcommand is not None:
        return
    from ganctl.jobs import archs as registry

    infos = [registry.get(n) for n in registry.names()]
    if json:
        print_json([_info_dict(i) for i in infos])
        return
    from rich.console import Console
    from rich.table import Table

    # Short figures in the table, the descriptions below it: a wide table folds badly in 80 columns.
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("name", "sizes", "noise", "batch", "lr_g", "lr_d", "betas", "output", "label noise"):
        table.add_column(col, no_wrap=True)
    for i in infos:
        sizes = ",".join(f"{s}x{s}" for s in getattr(i, "sizes", (i.image_shape[0],)))
        table.add_row(i.name, sizes, str(i.noise_dim), str(i.batch_size), f"{i.lr_g:g}", f"{i.lr_d:g}",
                      f"{i.beta_1:g}/{i.beta_2:g}", i.output, f"{i.label_noise:g}")
    console = Console(highlight=False)
    console.print(table)
    console.print()
    for i in infos:
        console.print(f"{i.name} ({i.source}): {i.description}")
    console.print()
    console.print(_recipe_note())


def _recipe_note() -> str:
    """The table holds the architectures' own settings; a new job gets the default recipe's on top."""
    from ganctl.jobs import recipes

    r = recipes.get(recipes.DEFAULT)
    own = ([f"loss {r.loss}"] if r.loss != recipes.get(recipes.SEED).loss else []) + recipes.switches_set(r) \
        + ([f"batch {r.batch_size}"] if r.batch_size else [])
    return (f"These are the architectures' own settings, which `--recipe {recipes.SEED}` trains with. "
            f"New jobs get the default recipe {recipes.DEFAULT} on top: " + ", ".join(own or ["no overrides"])
            + "; options such as --batch-size and --lr-g override both.")


@app.command("show")
@user_errors
def show(
    arch: Annotated[str, typer.Argument(help="Architecture name (see `ganctl archs`).")],
    model: Annotated[str, typer.Option("--model", help="generator, discriminator or both.")] = "both",
    png: Annotated[Optional[Path], typer.Option(
        "--png", help="Write a layer diagram PNG here (with --model both: FILE for the generator and "
                      "FILE-discriminator for the discriminator).", dir_okay=False)] = None,
    json: o.Json = False,
) -> None:
    """Layer table of an architecture's networks (builds them: loads TensorFlow)."""
    from ganctl.jobs import archs as registry

    info = registry.get(arch)  # ValueError -> one line, before TensorFlow loads
    if model not in (*MODELS, "both"):
        raise CliError(f"--model: use generator, discriminator or both, not {model!r}")
    if png is not None and not png.parent.exists():
        raise CliError(f"--png: folder {png.parent} does not exist")
    import_tensorflow_quietly()
    from ganctl.jobs import summary

    wanted = MODELS if model == "both" else (model,)
    built = {}
    for name in wanted:
        net = info.build_generator(info.noise_dim) if name == "generator" else info.build_discriminator(info.image_shape)
        built[name] = (net, summary.layer_table(net))
    if json:
        print_json({"arch": _info_dict(info),
                    **{name: {"input_shape": list(summary.model_input_shape(net)),
                              "layers": [r.to_dict() for r in rows], "totals": summary.totals(rows)}
                       for name, (net, rows) in built.items()}})
    else:
        for name, (_, rows) in built.items():
            typer.echo(summary.format_table(rows, title=f"{info.name} {name}"))
            typer.echo("")
    if png is not None:
        for name, (net, rows) in built.items():
            path = png if (len(built) == 1 or name == "generator") else png.with_name(f"{png.stem}-{name}{png.suffix or '.png'}")
            summary.diagram_png(rows, f"{info.name} {name}", path, input_shape=summary.model_input_shape(net))
            if not json:
                typer.echo(f"wrote {path}")
