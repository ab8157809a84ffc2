#!/usr/bin/python3
"""Compares the views of torch_reference_cell.py (--views go) with those of
Go's simclr/augment Loader, made by bench/viewparity, on the first 64
images of a seeded Fashion-MNIST subset, two epochs, both branches.

Usage (from the repository root; needs the Go toolchain and the dataset):
  /usr/bin/python3 bench/view_parity.py

Prints the largest absolute difference of each pipeline and exits 1 when
one exceeds 1e-4 (the tolerance of simclr/augment's torchvision parity
test). The "noise" transform is left out: its draws are not ported.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gorand  # noqa: E402
import torch_reference_cell as R  # noqa: E402

PIPELINES = ["crop", "flip", "color", "crop,color,blur", "grayscale,rotate,cutout", "sobel", "roi",
             "crop,flip,color,blur,rotate,cutout,roi"]
SEED, N = 3, 64


def main():
    torch.set_num_threads(1)
    worst_all = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for dataset in ("fashion-mnist-color", "fashion-mnist"):
            out = os.path.join(tmp, dataset + ".bin")
            subprocess.run(["go", "run", "./bench/viewparity", "-dataset", dataset, "-out", out,
                            "-seed", str(SEED), ";".join(PIPELINES)], check=True)
            cfg = {"dataset": dataset, "crop_min_scale": 0.2, "color_strength": 1.0, "flip_prob": 0.5,
                   "color_prob": 0.8, "gray_prob": 0.2, "blur_prob": 0.5, "cutout_size": 0.5, "noise_sigma": 0.1}
            train, _ = R.load_splits(cfg, None)
            imgs = torch.from_numpy(train.render(np.asarray(R.random_subset(train.n, N, SEED))))
            go = np.fromfile(out, "<f4").reshape(len(PIPELINES), 2, N, 2, *imgs.shape[1:])
            for k, names in enumerate(PIPELINES):
                views = R.GoViews(names.split(","), cfg)
                worst = 0.0
                for e in range(2):
                    for i in range(N):
                        for b in range(2):
                            rng = gorand.PCG(*gorand.stream_seed(SEED, e + 1, i, b))
                            x = views(imgs[i].clone(), rng).numpy()
                            worst = max(worst, float(np.abs(x - go[k, e, i, b]).max()))
                worst_all = max(worst_all, worst)
                print(f"{dataset:20s} {names:40s} max |torch - go| {worst:.2e}")
    if worst_all > 1e-4:
        print(f"view_parity: views differ by up to {worst_all:.2e} (> 1e-4)")
        return 1
    print(f"view_parity: every view within {worst_all:.2e} of Go's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
