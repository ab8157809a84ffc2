"""Reference vectors from PyTorch/torchvision for parity tests of the Go SimCLR code.

This is the generator of the JSON vectors the parity tests compare with.
Provenance: the script the project's reference vectors were made with
(torch 1.13.0a0 / torchvision 0.14, Debian's python3-torch and
python3-torchvision), copied here unchanged but for this docstring. Its
output is one JSON object {"generator", "cases"}; the tests read parts of
it, each file with a "source" note:

    simclr/nn/testdata/parity.json                cases nt_xent, conv2d, batch_norm_train
    simclr/augment/testdata/parity_augment.json   case augment
    simclr/data/testdata/resized_crop_parity.json the resized_crop op of case augment
    simclr/metrics/testdata/macro_f1.json         case macro_f1

To rerun it on Debian, from the repository's root:

    apt-get install python3-torch python3-torchvision
    /usr/bin/python3 simclr/nn/testdata/gen_parity.py > /tmp/parity.json

The seed is fixed. A rerun with torch 1.13.0a0 gave every input and every
case but nt_xent bit for bit, and nt_xent's losses and gradients within
3e-7 (float32 rounding), far inside the tests' tolerances.
The tests read the committed files, never a rerun.

Every array is flattened row-major (C order); shapes are given beside it.
"""
import json
import torch
import torch.nn.functional as F
import torchvision.transforms.functional as TF

torch.manual_seed(8168)
out = {"generator": "torch %s / torchvision" % torch.__version__, "cases": {}}
C = out["cases"]

def arr(t):
    return [round(float(v), 7) for v in t.detach().contiguous().view(-1)]

# 1. NT-Xent (normalized temperature-scaled cross entropy), SimCLR eq. (1).
# z1[i] and z2[i] are the two views of image i; rows are L2-normalised inside
# the loss; the loss is averaged over all 2N anchors.
def nt_xent(z1, z2, tau):
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n = z1.shape[0]
    sim = z @ z.t() / tau
    sim.fill_diagonal_(float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(sim, target)

ntx = []
for (n, d, tau) in [(4, 8, 0.5), (8, 16, 0.1), (16, 32, 1.0), (8, 128, 0.07)]:
    z1 = torch.randn(n, d, requires_grad=True)
    z2 = torch.randn(n, d, requires_grad=True)
    loss = nt_xent(z1, z2, tau)
    loss.backward()
    ntx.append({"n": n, "d": d, "temperature": tau, "z1": arr(z1), "z2": arr(z2),
                "loss": float(loss), "grad_z1": arr(z1.grad), "grad_z2": arr(z2.grad)})
C["nt_xent"] = ntx

# 2. Deterministic augmentation primitives on one RGB image, CHW in [0,1].
img = torch.rand(3, 16, 16)
aug = {"input_shape": [3, 16, 16], "input": arr(img), "ops": []}
def add(name, params, t):
    aug["ops"].append({"op": name, "params": params, "shape": list(t.shape), "output": arr(t)})
add("adjust_brightness", {"factor": 1.3}, TF.adjust_brightness(img, 1.3))
add("adjust_contrast", {"factor": 0.7}, TF.adjust_contrast(img, 0.7))
add("adjust_saturation", {"factor": 1.5}, TF.adjust_saturation(img, 1.5))
add("adjust_hue", {"factor": 0.1}, TF.adjust_hue(img, 0.1))
add("rgb_to_grayscale", {"num_output_channels": 3}, TF.rgb_to_grayscale(img, 3))
add("gaussian_blur", {"kernel_size": 3, "sigma": 1.0}, TF.gaussian_blur(img, [3, 3], [1.0, 1.0]))
add("gaussian_blur", {"kernel_size": 5, "sigma": 0.6}, TF.gaussian_blur(img, [5, 5], [0.6, 0.6]))
add("resized_crop", {"top": 2, "left": 3, "height": 10, "width": 8, "size": 16, "interpolation": "bilinear", "antialias": False},
    TF.resized_crop(img, 2, 3, 10, 8, [16, 16], interpolation=TF.InterpolationMode.BILINEAR, antialias=False))
add("hflip", {}, TF.hflip(img))
add("rotate", {"degrees": 90}, torch.rot90(img, 1, dims=(1, 2)))
add("erase", {"top": 4, "left": 5, "height": 6, "width": 3, "value": 0.0}, TF.erase(img, 4, 5, 6, 3, torch.tensor(0.0)))
gray = TF.rgb_to_grayscale(img, 1)
kx = torch.tensor([[-1., 0., 1.], [-2., 0., 2.], [-1., 0., 1.]])
ky = kx.t()
gx = F.conv2d(gray.unsqueeze(0), kx.view(1, 1, 3, 3), padding=1)
gy = F.conv2d(gray.unsqueeze(0), ky.view(1, 1, 3, 3), padding=1)
add("sobel_magnitude_zero_pad", {"note": "grayscale (ITU-R 601-2 luma), 3x3 Sobel, zero padding, sqrt(gx^2+gy^2)"},
    torch.sqrt(gx * gx + gy * gy)[0])
C["augment"] = aug

# 3. Layers: conv2d, batch norm (training mode) forward and backward, linear.
x = torch.randn(2, 3, 6, 6, requires_grad=True)
w = torch.randn(4, 3, 3, 3, requires_grad=True)
y = F.conv2d(x, w, padding=1, stride=1)
g = torch.randn_like(y)
y.backward(g)
C["conv2d"] = {"x_shape": [2, 3, 6, 6], "w_shape": [4, 3, 3, 3], "stride": 1, "padding": 1,
               "x": arr(x), "w": arr(w), "y": arr(y), "grad_y": arr(g), "grad_x": arr(x.grad), "grad_w": arr(w.grad)}
x = torch.randn(4, 3, 5, 5, requires_grad=True)
gamma = torch.rand(3, requires_grad=True)
beta = torch.randn(3, requires_grad=True)
y = F.batch_norm(x, None, None, gamma, beta, training=True, eps=1e-5)
g = torch.randn_like(y)
y.backward(g)
C["batch_norm_train"] = {"x_shape": [4, 3, 5, 5], "eps": 1e-5, "note": "biased batch variance in the forward pass, as PyTorch",
                         "x": arr(x), "gamma": arr(gamma), "beta": arr(beta), "y": arr(y), "grad_y": arr(g),
                         "grad_x": arr(x.grad), "grad_gamma": arr(gamma.grad), "grad_beta": arr(beta.grad)}

# 4. Macro-F1 on a fixed confusion (metric parity).
yt = torch.randint(0, 5, (200,))
yp = torch.where(torch.rand(200) < 0.6, yt, torch.randint(0, 5, (200,)))
f1s = []
for c in range(5):
    tp = int(((yp == c) & (yt == c)).sum()); fp = int(((yp == c) & (yt != c)).sum()); fn = int(((yp != c) & (yt == c)).sum())
    p = tp / (tp + fp) if tp + fp else 0.0; r = tp / (tp + fn) if tp + fn else 0.0
    f1s.append(2 * p * r / (p + r) if p + r else 0.0)
C["macro_f1"] = {"classes": 5, "y_true": [int(v) for v in yt], "y_pred": [int(v) for v in yp],
                 "per_class_f1": f1s, "macro_f1": sum(f1s) / 5, "accuracy": float((yt == yp).float().mean())}
print(json.dumps(out))
