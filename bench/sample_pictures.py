"""The README's sampling pictures: one quickstart job (dcgan, trousers, 5 epochs), then
`--truncation` side by side and an `--interpolate` walk, through ganctl.jobs.sample.

    python -m bench.sample_pictures [--epochs 5] [--out docs/images]
"""
from __future__ import annotations

import argparse
import io
import os
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> None:
    from PIL import Image, ImageDraw, ImageSequence

    from ganctl.jobs import pictures, sample, train
    from ganctl.jobs.spec import TrainSpec

    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--out", type=Path, default=Path("docs/images"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    spec = TrainSpec(arch="dcgan", classes="trouser", epochs=args.epochs)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "job"
        train.run(spec, work, train.Hooks())
        panels = []
        for psi in (None, 1.0, 0.5, 0.2):
            res = sample.sample_to(spec, work, Path(tmp) / f"psi-{psi}", n=12, seed=1, truncation=psi)
            grid = Image.open(res.grid).convert("RGB")
            panel = Image.new("RGB", (grid.width, grid.height + 18), "white")
            panel.paste(grid, (0, 18))
            label = "no truncation" if psi is None else f"--truncation {psi}"
            pictures.draw_text(ImageDraw.Draw(panel), (grid.width / 2, 9), label, pictures.font(12),
                               (20, 20, 20), "center", "middle")
            panels.append(panel)
        row = Image.new("RGB", (sum(p.width for p in panels) + 8 * (len(panels) - 1), panels[0].height), "white")
        x = 0
        for p in panels:
            row.paste(p, (x, 0))
            x += p.width + 8
        buf = io.BytesIO()
        row.save(buf, format="PNG", optimize=True)
        pictures.write_atomic(args.out / "sample-truncation.png", buf.getvalue())
        res = sample.sample_to(spec, work, Path(tmp) / "walk", n=12, seed=2, interpolate=4)
        # Half size, every other frame: the README's GIF stays under half a megabyte.
        walk = Image.open(res.walk)
        frames = [f.convert("L").resize((walk.width // 2, walk.height // 2), Image.NEAREST)
                  for i, f in enumerate(ImageSequence.Iterator(walk)) if i % 2 == 0]
        buf = io.BytesIO()
        frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=160, loop=0,
                       optimize=True)
        pictures.write_atomic(args.out / "sample-walk.gif", buf.getvalue())
    print("wrote", args.out / "sample-truncation.png", args.out / "sample-walk.gif")


if __name__ == "__main__":
    main()
