# The PyTorch reference step the project was specified against, unchanged below this
# header; `make bench` (bench/compare.sh, docs/performance.md) times it beside
# simclr/nn BenchmarkSimCLRStep: keep the two in step (model, batch, threads, loss, optimiser).
"""PyTorch CPU reference for one SimCLR pretraining step on the reference model.

The reference model (the same one the Go benchmark must build):
  encoder  ResNet-small for 1x28x28 (or 3x32x32) input, CIFAR-style stem:
           conv3x3(c_in->16, stride 1, pad 1, no bias) + BN + ReLU,
           stage widths 16, 32, 64, one BasicBlock each, strides 1, 2, 2
           (BasicBlock = conv3x3-BN-ReLU-conv3x3-BN + shortcut, ReLU;
            shortcut = conv1x1 stride s + BN when shape changes),
           global average pool -> h (64)
  head     nonlinear: Linear(64,64) + ReLU + Linear(64,32) -> z (32)
  loss     NT-Xent, temperature 0.5, over 2N views
  optim    SGD momentum 0.9, lr 0.1, weight decay 1e-6
Usage: /usr/bin/python3 torch_simclr_step.py [batch=128] [threads=2] [steps=20] [channels=1] [size=28]
Prints: images/s (2N views per step counted) and median ms per step.
"""
import sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

batch = int(sys.argv[1]) if len(sys.argv) > 1 else 128
threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
steps = int(sys.argv[3]) if len(sys.argv) > 3 else 20
cin = int(sys.argv[4]) if len(sys.argv) > 4 else 1
size = int(sys.argv[5]) if len(sys.argv) > 5 else 28
torch.set_num_threads(threads)
torch.manual_seed(0)

class Block(nn.Module):
    def __init__(s, i, o, stride):
        super().__init__()
        s.c1 = nn.Conv2d(i, o, 3, stride, 1, bias=False); s.b1 = nn.BatchNorm2d(o)
        s.c2 = nn.Conv2d(o, o, 3, 1, 1, bias=False); s.b2 = nn.BatchNorm2d(o)
        s.sc = nn.Sequential()
        if stride != 1 or i != o:
            s.sc = nn.Sequential(nn.Conv2d(i, o, 1, stride, bias=False), nn.BatchNorm2d(o))
    def forward(s, x):
        y = F.relu(s.b1(s.c1(x)))
        return F.relu(s.b2(s.c2(y)) + s.sc(x))

class Net(nn.Module):
    def __init__(s):
        super().__init__()
        s.stem = nn.Sequential(nn.Conv2d(cin, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        s.layers = nn.Sequential(Block(16, 16, 1), Block(16, 32, 2), Block(32, 64, 2))
        s.head = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 32))
    def forward(s, x):
        h = F.adaptive_avg_pool2d(s.layers(s.stem(x)), 1).flatten(1)
        return s.head(h)

def nt_xent(z, n, tau=0.5):
    z = F.normalize(z, dim=1)
    sim = z @ z.t() / tau
    sim.fill_diagonal_(float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(sim, target)

net = Net()
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-6)
x = torch.rand(2 * batch, cin, size, size)
ts = []
for it in range(steps + 3):
    t0 = time.perf_counter()
    opt.zero_grad()
    loss = nt_xent(net(x), batch)
    loss.backward()
    opt.step()
    ts.append(time.perf_counter() - t0)
ts = sorted(ts[3:])
med = ts[len(ts) // 2]
print("torch %s threads=%d batch=%d views=%d input=%dx%dx%d median_ms_per_step=%.1f images_per_s=%.0f loss=%.4f"
      % (torch.__version__, threads, batch, 2 * batch, cin, size, size, 1000 * med, 2 * batch / med, float(loss)))
