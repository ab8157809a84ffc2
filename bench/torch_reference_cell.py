#!/usr/bin/python3
"""PyTorch replica of one simclr-ablate grid cell: pretraining + linear probe.

Runs the cell whose resolved settings `runner plan GRID --json` prints the
way simclr.Run does in Go, and prints one JSON line with its scores and
wall times. What matches Go and what does not is in docs/crosscheck.md;
in short:

  data      fashion-mnist, fashion-mnist-color, mnist read from the same IDX
            files; the colours, the test subset, the pretraining subset, the
            stratified eval subset and every epoch's image order come from a
            port of Go's PCG streams (gorand.py): the same images, the same
            batches (--checksum proves the data by Go's dataset checksum)
  views     --views go (default): every view's random parameters drawn from
            the view's own Go stream in Go's order (crop window, flip, jitter
            order and factors, grayscale, blur sigma, ...) and applied with
            torchvision.transforms.functional (the ops simclr/augment matches
            within 1e-4); --views torch: torchvision's transform classes with
            torch's generator (the same distribution, other draws)
  model     the encoder, head and BatchNorm of simclr/nn (CIFAR-stem ResNet,
            BasicBlocks, Kaiming-normal fan_out convs, PyTorch Linear init):
            the same distribution of initial weights, not the same draws
            (Go seeds math/rand v1); --init FILE starts from Go's own initial
            weights instead: the encoder.safetensors a random-init cell of
            the same settings and seed keeps with save_encoder = true
  training  NT-Xent over the 2N views, one forward per step with both
            branches in one batch (BatchNorm statistics over 2N), the same
            optimizer semantics and weight-decay exclusions (BN scale and
            shift, biases), the lr schedule of optim.Schedule (linear warm-up,
            then cosine to lr·lr_final_fraction, constant, or ×0.1 at the
            lr_milestones) set every step, for epochs or exactly `steps` steps
  probe     multinomial logistic regression on standardised h (or z)
            features: mean cross-entropy + (λ/2)‖W‖², L-BFGS from zero in
            float64, at most linear_epochs iterations (Go: gonum's L-BFGS with
            its bisection line search; here torch's with strong Wolfe)
  scores    accuracy and macro-F1 (zero-division 0) on the test subset

Not replicated (exit 2 before anything runs): methods supervised, eval
finetune, datasets cifar10, imagefolder, synthetic, image_size != 0.

Usage:
  bin/runner plan GRID.toml --json > plan.json
  /usr/bin/python3 bench/torch_reference_cell.py --config plan.json --cell LABEL [--seed S]
      [--threads 2] [--workers 0] [--views go|torch] [--checksum] [--data-dir DIR]
      [--init ENCODER.safetensors]

--config takes the array plan --json prints (with --cell: a label, or a
0-based cell index), one of its objects, or a bare config object.

Threads: torch.set_num_threads(threads - workers) (at least 1). DataLoader
workers are processes of their own, each one busy thread while it makes
views, so they count against the budget: with the default --workers 0 the
views are made on the main thread between steps and the process never runs
more than --threads threads.
"""
import argparse
import gzip
import hashlib
import json
import math
import os
import struct
import sys
import time

T_START = time.perf_counter()

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as TF
import torchvision
import torchvision.transforms as T
import torchvision.transforms.functional as VF
from torchvision.transforms import InterpolationMode

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gorand  # noqa: E402

PROG = "torch_reference_cell"
DATA_SEED = 1  # simclr.dataSeed: colours and the test subset, whatever the cell's seed
DEFAULT_FMNIST = "/usr/share/datasets/fashion-mnist"
EVAL_BATCH = 250
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

DATASETS = ["fashion-mnist", "fashion-mnist-color", "mnist"]
METHODS = ["simclr", "random-init", "raw-pixels"]
TRANSFORMS = ["crop", "flip", "color", "grayscale", "rotate", "cutout", "noise", "blur", "sobel", "roi"]

# augment.DefaultParams values the config does not carry.
CROP_MAX_SCALE, CROP_MIN_RATIO, CROP_MAX_RATIO = 1.0, 3.0 / 4.0, 4.0 / 3.0
BLUR_SIGMA_MIN, BLUR_SIGMA_MAX, BLUR_KERNEL_FRAC = 0.1, 2.0, 0.1


class BadInput(Exception):
    """A setting this replica cannot run: exit 2 before anything runs."""


# The reader of docs/artifacts.md, word for word (docs' TestArtifactsReaderIsTheTestedOne;
# Debian ships no safetensors package).
DTYPES = {"F32": torch.float32, "I64": torch.int64}


def read_safetensors(path):
    """Returns ({name: tensor}, metadata) of a safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, t in header.items():
        begin, end = t["data_offsets"]
        dtype = DTYPES[t["dtype"]]
        raw = bytearray(data[8 + n + begin:8 + n + end])  # writable: frombuffer shares it
        x = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        tensors[name] = x.reshape(t["shape"])
    return tensors, meta


ENCODER_FORMAT = "simclr-ablate encoder 1"  # simclr.EncoderFormat


def read_init(path, cfg):
    """Go's initial state of the cell's network from an encoder file
    (simclr.MarshalEncoder) of a random-init cell with the cell's seed:
    BadInput when it is not one, or not of this seed."""
    try:
        state, meta = read_safetensors(path)
    except (OSError, ValueError, KeyError, struct.error, RuntimeError) as e:
        raise BadInput(f"--init {path}: not a readable safetensors file: {e}")
    if meta.get("format") != ENCODER_FORMAT:
        raise BadInput(f"--init {path}: format {meta.get('format')!r}, want {ENCODER_FORMAT!r} (a runner encoder export)")
    if meta.get("steps") != "0":
        raise BadInput(f"--init {path}: a network after {meta.get('steps')} training steps, want 0: "
                       f"export a random-init cell (method = \"random-init\", save_encoder = true)")
    if meta.get("seed") != str(cfg["seed"]):
        raise BadInput(f"--init {path}: initialised from seed {meta.get('seed')}, the cell's seed is {cfg['seed']}")
    if cfg["head"] == "linear":  # Go names its one layer head.0; here the head is the Linear itself
        state = {("head." + k[len("head.0."):] if k.startswith("head.0.") else k): v for k, v in state.items()}
    return state


def load_init(net, state, path):
    """Loads state into net, every tensor and nothing else (BadInput when
    the file's network is not the cell's)."""
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise BadInput(f"--init {path}: not this cell's network: " + " ".join(str(e).split()))


def log(msg):
    print(f"{PROG}: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- config


def load_config(path, cell):
    """The cell's config dict and label from plan --json output, one cell of
    it, or a bare config."""
    try:
        with (sys.stdin if path == "-" else open(path)) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        raise BadInput(f"--config {path}: {e}")
    if isinstance(doc, list):
        if cell is None:
            if len(doc) != 1:
                raise BadInput(f"--config {path}: {len(doc)} cells, choose one with --cell LABEL or INDEX "
                               f"(labels: {', '.join(json.dumps(x) for x in sorted({c['label'] for c in doc}))})")
            doc = doc[0]
        else:
            match = [c for c in doc if c.get("label") == cell]
            if not match and cell.isdigit():
                match = [c for c in doc if c.get("index") == int(cell)]
            if not match:
                raise BadInput(f"--cell {cell!r}: no such cell in {path} "
                               f"(labels: {', '.join(json.dumps(x) for x in sorted({c['label'] for c in doc}))})")
            doc = match[0]
    if "config" in doc:
        return doc["config"], doc.get("label", ""), doc.get("hash", "")
    return doc, "", ""


# REPLICATED are the config keys this script reads; IGNORED those that do not
# change the linear probe's score of a cell (the fine-tuning protocol is
# dropped, the kNN monitor only watches, synthetic_size is for a data set
# not replicated). Any other key stops the script: a setting it would
# silently ignore would make the comparison meaningless.
REPLICATED = {
    "method", "dataset", "image_size", "pretrain_subset", "eval_subset", "test_subset", "encoder",
    "width", "blocks", "head", "proj_dim", "proj_hidden", "bn_momentum", "augment", "augment_b",
    "color_strength", "crop_min_scale", "flip_prob", "color_prob", "gray_prob", "blur_prob",
    "cutout_size", "noise_sigma", "temperature", "batch_size", "epochs", "steps", "optimizer", "lr",
    "lr_scaling", "lr_schedule", "lr_final_fraction", "lr_milestones", "warmup_epochs",
    "weight_decay", "momentum", "eval", "eval_features", "linear_epochs", "linear_l2", "seed",
    "test_path",
}
IGNORED = {"synthetic_size", "label_fraction", "finetune_epochs", "finetune_lr", "knn_train", "knn_test"}


def check_config(cfg):
    def one_of(key, valid):
        if cfg[key] not in valid:
            raise BadInput(f"{key} {cfg[key]!r}: not replicated in PyTorch (valid: {', '.join(valid)})")

    unknown = sorted(set(cfg) - REPLICATED - IGNORED)
    if unknown:
        raise BadInput(f"config keys {', '.join(unknown)}: not replicated in PyTorch "
                       f"(bench/torch_reference_cell.py REPLICATED lists those that are)")
    one_of("method", METHODS)
    if cfg.get("lr_schedule"):
        one_of("lr_schedule", ["cosine", "constant", "step"])
    one_of("dataset", DATASETS)
    one_of("encoder", ["resnet-small", "resnet-18"])
    one_of("head", ["none", "linear", "nonlinear"])
    one_of("optimizer", ["sgd", "lars", "adam"])
    one_of("lr_scaling", ["none", "linear", "sqrt"])
    for key in ("augment", "augment_b"):
        for t in cfg.get(key) or []:
            if t not in TRANSFORMS:
                raise BadInput(f"{key}: unknown transform {t!r} (valid: {', '.join(TRANSFORMS)})")
    for e in cfg["eval"]:
        if e != "linear":
            raise BadInput(f"eval {e!r}: not replicated in PyTorch (valid: linear)")
    for f in cfg["eval_features"]:
        if f not in ("h", "z"):
            raise BadInput(f"eval_features {f!r}: unknown (valid: h, z)")
    if cfg.get("image_size", 0) != 0:
        raise BadInput(f"image_size {cfg['image_size']}: resizing is not replicated in PyTorch (valid: 0)")
    if cfg.get("test_path"):
        raise BadInput("test_path: only imagefolder takes one, and imagefolder is not replicated")


# ------------------------------------------------------------------ data


def find_idx(d, name):
    for p in (os.path.join(d, name), os.path.join(d, name + ".gz")):
        if os.path.exists(p):
            return p
    raise BadInput(f"missing {os.path.join(d, name)} (or .gz): set path in the grid or --data-dir")


def read_idx(path):
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        raw = f.read()
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise BadInput(f"{path}: not an unsigned-byte IDX file")
    nd = raw[3]
    dims = struct.unpack(">" + "I" * nd, raw[4:4 + 4 * nd])
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * nd).reshape(dims)


class Split:
    """One split as simclr/data keeps it before rendering: 8-bit pixels,
    labels, and for fashion-mnist-color the split number of its colours."""

    def __init__(self, pix, labels, color_split):
        self.pix, self.labels, self.color_split = pix, labels.astype(np.int64), color_split
        self.n = len(labels)
        self.c = 3 if color_split is not None else 1
        self.h, self.w = pix.shape[1], pix.shape[2]

    def render(self, idx):
        """Images idx as float32 [len(idx), c, h, w], bit for bit as Go's
        render: v = float32(p)/255, colour = bg·(1−v) + fg·v in float32."""
        v = self.pix[idx].astype(np.float32) / np.float32(255)
        if self.color_split is None:
            return v[:, None]
        out = np.empty((len(idx), 3, self.h, self.w), np.float32)
        one = np.float32(1)
        inv = one - v
        for j, i in enumerate(idx):
            fg, bg = color_pair(DATA_SEED, self.color_split, int(i))
            for c in range(3):
                out[j, c] = bg[c] * inv[j] + fg[c] * v[j]
        return out


def color_pair(seed, split, i):
    """simclr/data colorPair: foreground and background of image i, drawn
    until their RGB distance (float32 arithmetic) is at least 0.5."""
    rng = gorand.data_rand(seed, gorand.STREAM_COLOR, (split << 40) | i)
    f32 = np.float32
    while True:
        fg, bg = np.empty(3, f32), np.empty(3, f32)
        d2 = f32(0)
        for c in range(3):
            fg[c] = rng.float32()
            bg[c] = rng.float32()
            diff = f32(fg[c] - bg[c])
            d2 = f32(d2 + f32(diff * diff))
        if d2 >= f32(0.25):
            return fg, bg


def load_splits(cfg, data_dir):
    d = data_dir or cfg.get("path") or (DEFAULT_FMNIST if cfg["dataset"] != "mnist" else "")
    if not d:
        raise BadInput("mnist needs path, the folder of its IDX files")
    out = []
    for prefix, split in (("train", 0), ("t10k", 1)):
        pix = read_idx(find_idx(d, f"{prefix}-images-idx3-ubyte"))
        lab = read_idx(find_idx(d, f"{prefix}-labels-idx1-ubyte"))
        out.append(Split(pix, lab, split if cfg["dataset"] == "fashion-mnist-color" else None))
    return out


def random_subset(n_all, n, seed):
    """simclr/data RandomSubset: sorted indices, or None for all."""
    if n <= 0 or n >= n_all:
        return None
    return sorted(gorand.data_rand(seed, gorand.STREAM_SUBSET, 0).perm(n_all)[:n])


def stratified(labels, frac, seed):
    """simclr/data StratifiedFraction: max(1, round(frac·n)) of each class."""
    keep = []
    for label in sorted(set(labels.tolist())):
        idx = np.flatnonzero(labels == label).tolist()
        k = max(1, int(math.floor(frac * len(idx) + 0.5)))  # math.Round: half away from zero
        gorand.data_rand(seed, gorand.STREAM_STRATIFIED, label).shuffle(idx)
        keep += idx[:k]
    return sorted(keep)


def set_checksum(images_chunks, n, c, h, w, labels):
    """simclr/data Set.Checksum: SHA-256 of "simclr-data/v1", N, C, H, W,
    the float32 pixels and the int32 labels, little-endian."""
    s = hashlib.sha256(b"simclr-data/v1" + struct.pack("<4I", n, c, h, w))
    for chunk in images_chunks:
        s.update(np.ascontiguousarray(chunk, "<f4").tobytes())
    s.update(np.asarray(labels, "<i4").tobytes())
    return s.hexdigest()


def dataset_checksum(train, test, test_idx):
    """Go's Result.DatasetChecksum: the first 16 hex digits of the whole
    training set's checksum and of the (subset) test set's."""
    step = 4096
    tr = set_checksum((train.render(np.arange(lo, min(lo + step, train.n))) for lo in range(0, train.n, step)),
                      train.n, train.c, train.h, train.w, train.labels)
    te = set_checksum([test.render(test_idx)], len(test_idx), test.c, test.h, test.w, test.labels[test_idx])
    return tr[:16] + te[:16]


# ----------------------------------------------------------------- views


def round_away(x):
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


def sample_crop(h, w, min_scale, rng):
    """augment.SampleCrop (torchvision 0.14 RandomResizedCrop.get_params)
    with the draws of rng (Go's stream)."""
    area = float(h * w)
    log_lo, log_hi = math.log(CROP_MIN_RATIO), math.log(CROP_MAX_RATIO)
    for _ in range(10):
        target = area * (min_scale + (CROP_MAX_SCALE - min_scale) * rng.float64())
        aspect = math.exp(log_lo + (log_hi - log_lo) * rng.float64())
        cw = int(round(math.sqrt(target * aspect)))  # round: half to even, as math.RoundToEven
        ch = int(round(math.sqrt(target / aspect)))
        if 0 < cw <= w and 0 < ch <= h:
            return rng.intn(h - ch + 1), rng.intn(w - cw + 1), ch, cw
    ratio = w / h
    if ratio < CROP_MIN_RATIO:
        cw, ch = w, int(round(w / CROP_MIN_RATIO))
    elif ratio > CROP_MAX_RATIO:
        ch, cw = h, int(round(h * CROP_MAX_RATIO))
    else:
        cw, ch = w, h
    ch, cw = min(max(ch, 1), h), min(max(cw, 1), w)
    return (h - ch) // 2, (w - cw) // 2, ch, cw


def blur_kernel_size(side):
    k = int(BLUR_KERNEL_FRAC * side)
    if k % 2 == 0:
        k += 1
    return max(k, 3)


def luma(x):
    if x.shape[0] == 1:
        return x[0]
    return 0.2989 * x[0] + 0.587 * x[1] + 0.114 * x[2]


def sobel_magnitude(x):
    """augment.SobelMagnitude: 3×3 Sobel of the luma, zero padding."""
    g = TF.pad(luma(x)[None, None], (1, 1, 1, 1))[0, 0]
    a, b, cc = g[:-2, :-2], g[:-2, 1:-1], g[:-2, 2:]
    d, f = g[1:-1, :-2], g[1:-1, 2:]
    p, q, r = g[2:, :-2], g[2:, 1:-1], g[2:, 2:]
    gx = (cc - a) + 2 * (f - d) + (r - p)
    gy = (p - a) + 2 * (q - b) + (r - cc)
    return torch.sqrt(gx * gx + gy * gy)


def sobel(x):
    m = sobel_magnitude(x)
    mx = m.max()
    if mx > 0:
        m = torch.clamp(m * (1 / mx), max=1)
    return m[None].expand_as(x).clone()


def salient_window(e, ch, cw):
    """augment.SalientWindow: the ch×cw window of largest sum (summed-area
    table in float64); ties to the centred window, then row-major first."""
    h, w = e.shape
    s = np.zeros((h + 1, w + 1))
    s[1:, 1:] = np.cumsum(np.cumsum(e.numpy().astype(np.float64), axis=1), axis=0)
    sums = s[ch:, cw:] - s[:h - ch + 1, cw:] - s[ch:, :w - cw + 1] + s[:h - ch + 1, :w - cw + 1]
    top, left = (h - ch) // 2, (w - cw) // 2
    best = sums[top, left]
    if sums.max() > best:
        top, left = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return int(top), int(left)


def erase(x, top, left, eh, ew):
    h, w = x.shape[1:]
    y0, y1, x0, x1 = max(top, 0), min(top + eh, h), max(left, 0), min(left + ew, w)
    if y0 < y1 and x0 < x1:
        x[:, y0:y1, x0:x1] = 0
    return x


def resized_crop(x, top, left, ch, cw):
    return VF.resized_crop(x, top, left, ch, cw, list(x.shape[1:]), InterpolationMode.BILINEAR, antialias=False)


class GoViews:
    """A pipeline of transforms whose random parameters come from the view's
    Go stream, drawn in simclr/augment's order; pixels by torchvision."""

    def __init__(self, names, cfg):
        self.names, self.cfg = list(names), cfg

    def __call__(self, x, rng):
        cfg = self.cfg
        c, h, w = x.shape
        for name in self.names:
            if name == "crop":
                x = resized_crop(x, *sample_crop(h, w, cfg["crop_min_scale"], rng))
            elif name == "flip":
                if rng.float64() < cfg["flip_prob"]:
                    x = VF.hflip(x)
            elif name == "color":
                if rng.float64() < cfg["color_prob"]:
                    x = go_color_jitter(x, cfg["color_strength"], rng)
                if rng.float64() < cfg["gray_prob"]:
                    x = VF.rgb_to_grayscale(x, num_output_channels=c)
            elif name == "grayscale":
                x = VF.rgb_to_grayscale(x, num_output_channels=c)
            elif name == "rotate":
                k = 1 + rng.intn(3)
                x = torch.rot90(x, 2 if h != w else k, dims=(1, 2))
            elif name == "cutout":
                side = round_away(cfg["cutout_size"] * min(h, w))
                cy, cx = rng.intn(h), rng.intn(w)
                x = erase(x, cy - side // 2, cx - side // 2, side, side)
            elif name == "noise":
                # Go draws NormFloat64 (a ziggurat) from the stream; here one
                # draw seeds torch's normal generator instead (same
                # distribution; later transforms of the view then draw
                # other values than Go's).
                g = torch.Generator().manual_seed(rng.uint64() >> 1)
                x = torch.clamp(x + cfg["noise_sigma"] * torch.randn(x.shape, generator=g), 0, 1)
            elif name == "blur":
                if rng.float64() < cfg["blur_prob"]:
                    sigma = BLUR_SIGMA_MIN + (BLUR_SIGMA_MAX - BLUR_SIGMA_MIN) * rng.float64()
                    x = VF.gaussian_blur(x, [blur_kernel_size(w), blur_kernel_size(h)], [sigma, sigma])
            elif name == "sobel":
                x = sobel(x)
            elif name == "roi":
                _, _, ch, cw = sample_crop(h, w, cfg["crop_min_scale"], rng)
                x = resized_crop(x, *salient_window(sobel_magnitude(x), ch, cw), ch, cw)
        return x


def go_color_jitter(x, s, rng):
    """augment.ColorJitter: order, then the four factors, then the ops."""
    order = [0, 1, 2, 3]
    for i in range(3, 0, -1):
        j = rng.intn(i + 1)
        order[i], order[j] = order[j], order[i]
    d = 0.8 * s
    lo = max(0.0, 1 - d)
    fs = [lo + (1 + d - lo) * rng.float64() for _ in range(3)]
    hd = min(0.2 * s, 0.5)
    fs.append(-hd + 2 * hd * rng.float64())
    if s == 0:
        return x
    for k in order:
        if k == 0:
            x = VF.adjust_brightness(x, fs[0])
        elif k == 1:
            x = VF.adjust_contrast(x, fs[1])
        elif k == 2:
            x = VF.adjust_saturation(x, fs[2])
        else:
            x = VF.adjust_hue(x, fs[3])
    return x


class Lambda(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def torch_views(names, cfg, h, w):
    """The same pipeline from torchvision's transform classes, drawing from
    torch's generator."""
    s = cfg["color_strength"]
    ops = []
    for name in names:
        if name == "crop":
            ops.append(T.RandomResizedCrop((h, w), scale=(cfg["crop_min_scale"], CROP_MAX_SCALE),
                                           ratio=(CROP_MIN_RATIO, CROP_MAX_RATIO), antialias=False))
        elif name == "flip":
            ops.append(T.RandomHorizontalFlip(cfg["flip_prob"]))
        elif name == "color":
            ops.append(T.RandomApply([T.ColorJitter(0.8 * s, 0.8 * s, 0.8 * s, min(0.2 * s, 0.5))], p=cfg["color_prob"]))
            ops.append(T.RandomGrayscale(cfg["gray_prob"]))
        elif name == "grayscale":
            ops.append(Lambda(lambda x: VF.rgb_to_grayscale(x, num_output_channels=x.shape[0])))
        elif name == "rotate":
            ops.append(Lambda(lambda x: torch.rot90(x, int(torch.randint(1, 4, ())) if x.shape[1] == x.shape[2] else 2,
                                                    dims=(1, 2))))
        elif name == "cutout":
            side = round_away(cfg["cutout_size"] * min(h, w))
            ops.append(Lambda(lambda x: erase(x, int(torch.randint(h, ())) - side // 2,
                                              int(torch.randint(w, ())) - side // 2, side, side)))
        elif name == "noise":
            ops.append(Lambda(lambda x: torch.clamp(x + cfg["noise_sigma"] * torch.randn_like(x), 0, 1)))
        elif name == "blur":
            ops.append(T.RandomApply([T.GaussianBlur([blur_kernel_size(w), blur_kernel_size(h)],
                                                     (BLUR_SIGMA_MIN, BLUR_SIGMA_MAX))], p=cfg["blur_prob"]))
        elif name == "sobel":
            ops.append(Lambda(sobel))
        elif name == "roi":
            def roi(x):
                _, _, ch, cw = T.RandomResizedCrop.get_params(x, (cfg["crop_min_scale"], CROP_MAX_SCALE),
                                                              (CROP_MIN_RATIO, CROP_MAX_RATIO))
                return resized_crop(x, *salient_window(sobel_magnitude(x), ch, cw), ch, cw)
            ops.append(Lambda(roi))
    return T.Compose(ops)


class PairViews(torch.utils.data.Dataset):
    """Item (epoch, i): the two branches' views of pretraining image i."""

    def __init__(self, images, cfg, seed, mode):
        self.images, self.seed, self.mode = images, seed, mode
        a = cfg["augment"] or []
        b = cfg.get("augment_b") or a
        _, _, h, w = images.shape
        if mode == "go":
            self.a, self.b = GoViews(a, cfg), GoViews(b, cfg)
        else:
            self.a, self.b = torch_views(a, cfg, h, w), torch_views(b, cfg, h, w)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, key):
        epoch, i = key
        x = self.images[i]
        if self.mode == "go":
            va = self.a(x.clone(), gorand.PCG(*gorand.stream_seed(self.seed, epoch, i, 0)))
            vb = self.b(x.clone(), gorand.PCG(*gorand.stream_seed(self.seed, epoch, i, 1)))
        else:
            va, vb = self.a(x.clone()), self.b(x.clone())
        return va, vb


class EpochBatches(torch.utils.data.Sampler):
    """The batches of an epoch: floor(n/batch) of them (the last partial one
    dropped), in Go's epoch order (views go) or torch.randperm's."""

    def __init__(self, n, batch, seed, mode):
        self.n, self.batch, self.seed, self.mode, self.epoch = n, batch, seed, mode, 1
        self.gen = torch.Generator().manual_seed(seed)

    def __len__(self):
        return self.n // self.batch

    def __iter__(self):
        if self.mode == "go":
            order = gorand.epoch_order(self.seed, self.epoch, self.n)
        else:
            order = torch.randperm(self.n, generator=self.gen).tolist()
        for s in range(len(self)):
            yield [(self.epoch, i) for i in order[s * self.batch:(s + 1) * self.batch]]


# ----------------------------------------------------------------- model


class Block(nn.Module):
    def __init__(self, i, o, stride, momentum):
        super().__init__()
        self.c1 = nn.Conv2d(i, o, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(o, momentum=momentum)
        self.c2 = nn.Conv2d(o, o, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(o, momentum=momentum)
        self.sc = nn.Sequential()
        if stride != 1 or i != o:
            self.sc = nn.Sequential(nn.Conv2d(i, o, 1, stride, bias=False), nn.BatchNorm2d(o, momentum=momentum))

    def forward(self, x):
        y = TF.relu(self.b1(self.c1(x)))
        return TF.relu(self.b2(self.c2(y)) + self.sc(x))


class Net(nn.Module):
    """simclr/nn's network: CIFAR stem, stages of BasicBlocks (widths doubling,
    stride 2 from the second stage), global average pool -> h, head -> z."""

    def __init__(self, cfg, cin):
        super().__init__()
        width, blocks = {"resnet-small": (16, [1, 1, 1]), "resnet-18": (64, [2, 2, 2, 2])}[cfg["encoder"]]
        width = cfg.get("width") or width
        blocks = cfg.get("blocks") or blocks
        m = cfg.get("bn_momentum") or 0.1  # nn.Arch: 0 means the default
        self.stem = nn.Sequential(nn.Conv2d(cin, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width, momentum=m), nn.ReLU())
        layers, i = [], width
        for si, nb in enumerate(blocks):
            o = width << si
            for bi in range(nb):
                layers.append(Block(i, o, (1 if si == 0 else 2) if bi == 0 else 1, m))
                i = o
        self.layers = nn.Sequential(*layers)
        self.feat = i
        kind = cfg["head"]
        if kind == "none":
            self.head = nn.Identity()
        elif kind == "linear":
            self.head = nn.Linear(i, cfg["proj_dim"])
        else:
            hidden = cfg.get("proj_hidden") or i
            self.head = nn.Sequential(nn.Linear(i, hidden), nn.ReLU(), nn.Linear(hidden, cfg["proj_dim"]))
        for mod in self.modules():
            if isinstance(mod, nn.Conv2d):
                nn.init.kaiming_normal_(mod.weight, mode="fan_out", nonlinearity="relu")
        # nn.Linear's own init is Go's: U(±1/√in) for weight and bias.

    def encode(self, x):
        return TF.adaptive_avg_pool2d(self.layers(self.stem(x)), 1).flatten(1)

    def forward(self, x):
        return self.head(self.encode(x))


def param_groups(net, wd):
    """Weight decay on conv and linear weights; none on BatchNorm scales and
    shifts and on biases (nn.NoDecay)."""
    decay, no = [], []
    for mod in net.modules():
        for name, p in mod.named_parameters(recurse=False):
            (decay if isinstance(mod, (nn.Conv2d, nn.Linear)) and name == "weight" else no).append(p)
    return [{"params": decay, "weight_decay": wd, "adapt": True}, {"params": no, "weight_decay": 0.0, "adapt": False}]


class LARS(torch.optim.Optimizer):
    """optim.LARS: v ← μ·v + lr·r·(g + wd·w), w ← w − v, with trust ratio
    r = η‖w‖/‖g + wd·w‖ on adapted tensors (r = 1 and no decay otherwise)."""

    def __init__(self, groups, lr, momentum, trust=0.001):
        super().__init__(groups, dict(lr=lr, momentum=momentum, weight_decay=0.0, adapt=True))
        self.trust = trust

    @torch.no_grad()
    def step(self):
        for g in self.param_groups:
            for p in g["params"]:
                if p.grad is None:
                    continue
                d = p.grad
                ratio = 1.0
                if g["adapt"]:
                    d = d + g["weight_decay"] * p
                    wn, gn = float(p.norm()), float(d.norm())
                    if wn > 0 and gn > 0:
                        ratio = self.trust * wn / gn
                st = self.state[p]
                if "v" not in st:
                    st["v"] = torch.zeros_like(p)
                st["v"].mul_(g["momentum"]).add_(d, alpha=g["lr"] * ratio)
                p.sub_(st["v"])


def make_optimizer(cfg, net, peak):
    groups = param_groups(net, cfg["weight_decay"])
    kind = cfg["optimizer"]
    if kind == "adam":
        return torch.optim.Adam(groups, lr=peak, betas=(0.9, 0.999), eps=1e-8)
    if kind == "sgd":
        return torch.optim.SGD(groups, lr=peak, momentum=cfg["momentum"])
    return LARS(groups, lr=peak, momentum=cfg["momentum"])


def scale_lr(base, scaling, batch):
    r = batch / 256
    return {"none": base, "linear": base * r, "sqrt": base * math.sqrt(r)}[scaling]


def cosine_with_warmup(peak, warmup, total, step):
    """optim.CosineWithWarmup."""
    step = max(step, 0)
    if step >= total:
        return 0.0
    if step < warmup:
        return peak * (step + 1) / warmup
    w = max(warmup, 0)
    return peak * 0.5 * (1 + math.cos(math.pi * (step - w) / (total - w)))


def schedule_lr(kind, peak, warmup, total, final_fraction, milestones, step):
    """optim.Schedule.LR: linear warm-up, then cosine (to peak·final_fraction),
    constant, or step (×0.1 at each milestone step passed)."""
    step = max(step, 0)
    if kind in ("", "cosine") and final_fraction == 0:
        return cosine_with_warmup(peak, warmup, total, step)
    if step < warmup and step < total:
        return peak * (step + 1) / warmup
    if kind == "constant":
        return peak
    if kind == "step":
        lr = peak
        for m in milestones:
            if step >= m:
                lr *= 0.1
        return lr
    f = final_fraction
    return peak * f + (1 - f) * cosine_with_warmup(peak, warmup, total, step)


def training_length(cfg, per_epoch):
    """config.TrainingLength: epochs (the last may stop early) and steps."""
    if cfg.get("steps", 0) > 0:
        return (cfg["steps"] + per_epoch - 1) // per_epoch, cfg["steps"]
    return cfg["epochs"], cfg["epochs"] * per_epoch


def nt_xent(z, n, tau):
    """nn.NTXent: mean over the 2N rows of −log softmax of the positive
    among the 2N−1 others, cosine similarities over τ."""
    u = TF.normalize(z, dim=1)
    logits = u @ u.t() / tau
    logits = logits.masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return TF.cross_entropy(logits, target)


# ----------------------------------------------------------------- probe


def logreg(xtr, ytr, xte, classes, l2, epochs):
    """logreg.Train + Predict: standardise with the training mean and
    population std (floored at 1e-6), minimise mean cross-entropy +
    (λ/2)‖W‖² from zero with L-BFGS (history 15, |∇f|∞ ≤ 1e-6), predict
    the argmax."""
    x = torch.as_tensor(xtr, dtype=torch.float64)
    mean = x.mean(0)
    std = ((x - mean) ** 2).mean(0).sqrt().clamp_min(1e-6)
    xs = (x - mean) / std
    y = torch.as_tensor(ytr, dtype=torch.int64)
    d = xs.shape[1]
    w = torch.zeros(d, classes, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(classes, dtype=torch.float64, requires_grad=True)
    iters = epochs or 100
    opt = torch.optim.LBFGS([w, b], lr=1, max_iter=iters, max_eval=25 * iters, tolerance_grad=1e-6,
                            tolerance_change=1e-12, history_size=15, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        f = TF.cross_entropy(xs @ w + b, y) + 0.5 * l2 * (w * w).sum()
        f.backward()
        return f

    opt.step(closure)
    with torch.no_grad():
        xt = (torch.as_tensor(xte, dtype=torch.float64) - mean) / std
        return (xt @ w + b).argmax(1).numpy()


def scores(y, pred, classes):
    """metrics.Compute: accuracy and macro-F1 over all classes (0 where
    precision or recall is undefined)."""
    conf = np.zeros((classes, classes), np.int64)
    np.add.at(conf, (y, pred), 1)
    f1s = []
    for c in range(classes):
        tp = conf[c, c]
        fp, fn = conf[:, c].sum() - tp, conf[c].sum() - tp
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f1s.append(2 * p * r / (p + r) if p + r else 0.0)
    return float(np.trace(conf) / len(y)), float(np.mean(f1s)), [float(f) for f in f1s]


@torch.no_grad()
def features(net, images, feat):
    net.eval()
    out = []
    for lo in range(0, len(images), EVAL_BATCH):
        h = net.encode(images[lo:lo + EVAL_BATCH])
        out.append(net.head(h) if feat == "z" else h)
    return torch.cat(out).numpy()


# ------------------------------------------------------------------ main


def main():
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True, help="plan --json output, one of its cells, or a config (- = stdin)")
    ap.add_argument("--cell", help="label or 0-based index of the cell in a plan --json array")
    ap.add_argument("--seed", type=int, help="the cell's seed (default: the config's)")
    ap.add_argument("--threads", type=int, default=2, help="thread budget (default 2)")
    ap.add_argument("--workers", type=int, default=0, help="DataLoader worker processes, counted in --threads (default 0)")
    ap.add_argument("--views", choices=["go", "torch"], default="go",
                    help="view randomness: Go's streams (default) or torch's generator")
    ap.add_argument("--checksum", action="store_true", help="also compute Go's dataset checksum (a few seconds)")
    ap.add_argument("--data-dir", help="dataset folder (default: the config's path, else " + DEFAULT_FMNIST + ")")
    ap.add_argument("--init", metavar="ENCODER", help="start from Go's initial weights: the encoder.safetensors of a "
                    "random-init cell with the same settings and seed (default: torch's own draws)")
    args = ap.parse_args()
    try:
        cfg, label, chash = load_config(args.config, args.cell)
        if args.seed is not None:
            cfg["seed"] = args.seed
        check_config(cfg)
        if args.threads < 1 or args.workers < 0:
            raise BadInput(f"--threads {args.threads} --workers {args.workers}: want threads >= 1, workers >= 0")
        if args.workers > 0 and args.threads <= args.workers:
            log(f"warning: {args.workers} workers leave no thread of --threads {args.threads} for training; torch gets 1")
        train, test = load_splits(cfg, args.data_dir)
        args.init_state = None
        if args.init:
            args.init_state = read_init(args.init, cfg)
            load_init(Net(cfg, train.c), args.init_state, args.init)  # refuse a mismatch before anything runs
    except BadInput as e:
        log(str(e))
        sys.exit(2)
    return run(cfg, label, chash, args, train, test)


def run(cfg, label, chash, args, train, test):
    seed = int(cfg["seed"])
    torch_threads = max(1, args.threads - args.workers)
    torch.set_num_threads(torch_threads)
    torch.manual_seed(seed)
    t0 = time.perf_counter()

    test_idx = random_subset(test.n, cfg["test_subset"], DATA_SEED)
    test_idx = np.arange(test.n) if test_idx is None else np.asarray(test_idx)
    ev = cfg["eval_subset"]
    eval_idx = np.arange(train.n) if not (0 < ev < train.n) else np.asarray(stratified(train.labels, ev / train.n, seed))
    method = cfg["method"]
    pre_idx = None
    if method == "simclr":
        pre_idx = random_subset(train.n, cfg["pretrain_subset"], seed)
        pre_idx = np.arange(train.n) if pre_idx is None else np.asarray(pre_idx)
    checksum = dataset_checksum(train, test, test_idx) if args.checksum else None
    load_s = time.perf_counter() - t0

    res = {"impl": "torch", "torch": torch.__version__, "torchvision": torchvision.__version__,
           "label": label, "config_hash": chash, "seed": seed, "method": method, "dataset": cfg["dataset"],
           "views": args.views, "init": "go" if args.init else "torch", "threads": args.threads, "torch_threads": torch_threads, "workers": args.workers,
           "pretrain_images": 0 if pre_idx is None else len(pre_idx), "eval_images": len(eval_idx),
           "test_images": len(test_idx)}
    if checksum:
        res["dataset_checksum"] = checksum

    t1 = time.perf_counter()
    net = Net(cfg, train.c)
    if args.init_state is not None:
        load_init(net, args.init_state, args.init)
        log(f"initial weights: Go's, from {args.init}")
    epochs = []
    if method == "simclr":
        epochs = pretrain(cfg, net, torch.from_numpy(train.render(pre_idx)), seed, args, torch_threads)
        if epochs is None:
            res["error"] = "non-finite loss"
            print(json.dumps(res), flush=True)
            return 1
    pretrain_s = time.perf_counter() - t1

    t2 = time.perf_counter()
    xtr, ytr = train.render(eval_idx), train.labels[eval_idx]
    xte, yte = test.render(test_idx), test.labels[test_idx]
    classes = 10
    evals = []
    kinds = ["pixels"] if method == "raw-pixels" else cfg["eval_features"]
    for feat in kinds:
        te = time.perf_counter()
        if feat == "pixels":
            ftr, fte = xtr.reshape(len(xtr), -1), xte.reshape(len(xte), -1)
        else:
            ftr, fte = features(net, torch.from_numpy(xtr), feat), features(net, torch.from_numpy(xte), feat)
        pred = logreg(ftr, ytr, fte, classes, cfg["linear_l2"], cfg["linear_epochs"])
        acc, f1, per = scores(yte, pred, classes)
        evals.append({"protocol": "linear", "features": feat, "accuracy": acc, "macro_f1": f1,
                      "per_class_f1": per, "train_size": len(ftr), "test_size": len(fte),
                      "seconds": time.perf_counter() - te})
        log(f"linear ({feat}): accuracy {acc:.4f} macro-F1 {f1:.4f}")
    eval_s = time.perf_counter() - t2

    first = next((e for e in evals if e["features"] in ("h", "pixels")), evals[0])
    res.update({"linear_acc": first["accuracy"], "linear_f1": first["macro_f1"], "evaluations": evals,
                "epoch_loss": [e["loss"] for e in epochs], "final_loss": epochs[-1]["loss"] if epochs else None,
                "epoch_s": [e["seconds"] for e in epochs], "epoch_data_s": [e["data_seconds"] for e in epochs],
                "load_s": load_s, "pretrain_s": pretrain_s, "eval_s": eval_s,
                "total_s": time.perf_counter() - T_START})
    print(json.dumps(res), flush=True)
    return 0


def views(loader, workers, threads):
    """The loader's batches. Without workers the views are made on the main
    thread with one torch thread: they are single-image ops, too small to
    split, and with more threads each one enters OpenMP regions whose idle
    threads wait for a core (on a loaded machine that made them 15x
    slower); training steps then get the threads back."""
    if workers > 0:
        yield from loader
        return
    it = iter(loader)
    while True:
        torch.set_num_threads(1)
        try:
            batch = next(it)
        except StopIteration:
            return
        finally:
            torch.set_num_threads(threads)
        yield batch


def pretrain(cfg, net, images, seed, args, torch_threads):
    """SimCLR as simclr.pretrain: returns per-epoch stats, or None when the
    loss is not finite."""
    n = cfg["batch_size"]
    if len(images) < n:
        log(f"batch_size {n} exceeds the {len(images)} pretraining images")
        sys.exit(1)
    data = PairViews(images, cfg, seed, args.views)
    sampler = EpochBatches(len(images), n, seed, args.views)
    loader = torch.utils.data.DataLoader(data, batch_sampler=sampler, num_workers=args.workers,
                                         persistent_workers=args.workers > 0)
    steps = len(sampler)
    epochs, total = training_length(cfg, steps)
    peak = scale_lr(cfg["lr"], cfg["lr_scaling"], n)
    warmup = cfg["warmup_epochs"] * steps
    kind = cfg.get("lr_schedule") or "cosine"
    final_fraction = cfg.get("lr_final_fraction", 0.0)
    milestones = [m * steps for m in cfg.get("lr_milestones") or []]
    opt = make_optimizer(cfg, net, peak)
    tau = cfg["temperature"]
    stats = []
    global_step = 0
    for epoch in range(1, epochs + 1):
        net.train()
        sampler.epoch = epoch
        start, loss_sum, done, wait = time.perf_counter(), 0.0, 0, 0.0
        t_data = time.perf_counter()
        for step, (va, vb) in enumerate(views(loader, args.workers, torch_threads)):
            wait += time.perf_counter() - t_data
            if global_step >= total:
                break
            lr = schedule_lr(kind, peak, warmup, total, final_fraction, milestones, global_step)
            global_step += 1
            for g in opt.param_groups:
                g["lr"] = lr
            loss = nt_xent(net(torch.cat([va, vb])), n, tau)
            value = float(loss)
            if not math.isfinite(value):
                log(f"epoch {epoch} step {step + 1}: loss {value}")
                return None
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += value
            done += 1
            t_data = time.perf_counter()
        d = time.perf_counter() - start
        stats.append({"loss": loss_sum / done, "seconds": d, "data_seconds": wait})
        log(f"epoch {epoch}/{epochs}: loss {loss_sum / done:.4f} lr {lr:.2e} "
            f"{done * 2 * n / d:.0f} images/s ({d:.1f}s, {wait:.1f}s of it waiting for views)")
    return stats


if __name__ == "__main__":
    sys.exit(main())
