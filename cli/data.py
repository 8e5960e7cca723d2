"""`ganctl data show`: a grid of real Fashion-MNIST images (numpy + Pillow, no TensorFlow)."""
from __future__ import annotations

import typer

from ganctl.jobs.config import get_settings as settings

from ganctl.cli import _options as o
from ganctl.cli._errors import user_errors
from ganctl.cli._output import print_json
from ganctl.cli.report import write_file

app = typer.Typer(help="The training data: look at the real images.", no_args_is_help=True)


@app.command("show")
@user_errors
def show(classes: o.RealClasses = None, split: o.Split = "train", n: o.RealN = 12, out: o.RealOut = None,
         json: o.Json = False) -> None:
    """Draw the first N real images of a Fashion-MNIST subset as a grid PNG (12 give 4x3).

    Prints the subset's shapes, then the PNG's path.
    """
    from ganctl.jobs import data, pictures

    subset = data.select(split, data.class_items(classes))  # DataError (unknown class/split, no files) -> one line
    names = "+".join(data.CLASS_NAMES[c] for c in subset.classes) if subset.classes else "all"
    path = out or settings().home / "data" / f"real_{split}_{names}_{n}.png"
    png = pictures.real_grid(subset.images, n)
    path = write_file(path, png, (".png",))
    if json:
        shown = min(n, len(subset.images))
        rows, cols = pictures.grid_shape(shown)
        h, w = subset.images.shape[1:3]
        width, height = pictures.grid_size(shown, h, w)
        print_json({"path": str(path), "split": split, "classes": [data.CLASS_NAMES[c] for c in subset.classes],
                    "images": int(len(subset.images)), "image_shape": list(subset.images.shape[1:]),
                    "labels_shape": list(subset.labels.shape), "shown": shown, "rows": rows, "cols": cols,
                    "width": width, "height": height, "describe": subset.describe()})
    else:
        typer.echo(subset.describe())
        if n > len(subset.images):
            typer.echo(f"showing all {len(subset.images)} images (--n {n} asked for more)")
        typer.echo(str(path))
