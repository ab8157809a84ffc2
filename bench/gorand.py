"""Go's math/rand/v2 PCG generator and the seed derivations of simclr/data and
simclr/augment, in Python, so that the PyTorch replica of a cell draws the
same dataset colours, subsets, epoch orders and view parameters as Go.

Sources (Go 1.26): math/rand/v2 pcg.go (PCG, 128-bit LCG with the DXSM
output), rand.go (Uint32, Float32, Float64, uint64n, IntN, Shuffle, Perm);
simclr/data/set.go (newRand, splitmix, the stream numbers);
simclr/augment/loader.go (streamSeed, mix64). Only the methods the cell
needs are ported. NormFloat64 (a ziggurat with Go's tables) is not: the
"noise" transform draws its noise from torch instead (see
torch_reference_cell.py).

`/usr/bin/python3 bench/gorand.py` checks the port against values Go
printed for the same seeds.
"""

M64 = (1 << 64) - 1
M128 = (1 << 128) - 1
_MUL = (2549297995355413924 << 64) | 4865540595714422341
_INC = (6364136223846793005 << 64) | 1442695040888963407
_CHEAP_MUL = 0xDA942042E4DD58B5


class PCG:
    """math/rand/v2's PCG with its Rand methods used by the project."""

    __slots__ = ("state",)

    def __init__(self, seed1, seed2):
        self.state = ((seed1 & M64) << 64) | (seed2 & M64)

    def uint64(self):
        s = (self.state * _MUL + _INC) & M128
        self.state = s
        hi, lo = s >> 64, s & M64
        hi ^= hi >> 32
        hi = (hi * _CHEAP_MUL) & M64
        hi ^= hi >> 48
        return (hi * (lo | 1)) & M64

    def uint32(self):
        return self.uint64() >> 32

    def float32(self):
        # float32(Uint32()<<8>>8) / (1<<24): exact in a Python float.
        return (self.uint32() & 0xFFFFFF) / (1 << 24)

    def float64(self):
        return (self.uint64() & ((1 << 53) - 1)) / (1 << 53)

    def uint64n(self, n):
        if n & (n - 1) == 0:
            return self.uint64() & (n - 1)
        p = self.uint64() * n
        hi, lo = p >> 64, p & M64
        if lo < n:
            thresh = ((1 << 64) - n) % n
            while lo < thresh:
                p = self.uint64() * n
                hi, lo = p >> 64, p & M64
        return hi

    def intn(self, n):
        if n <= 0:
            raise ValueError("invalid argument to IntN")
        return self.uint64n(n)

    def shuffle(self, a):
        for i in range(len(a) - 1, 0, -1):
            j = self.uint64n(i + 1)
            a[i], a[j] = a[j], a[i]

    def perm(self, n):
        p = list(range(n))
        self.shuffle(p)
        return p


def splitmix(x):
    """SplitMix64's finaliser (simclr/data splitmix, simclr/augment mix64)."""
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


# simclr/data's random streams.
STREAM_SUBSET, STREAM_STRATIFIED, STREAM_COLOR, STREAM_SPLIT, STREAM_SYNTHETIC = 1, 2, 3, 4, 5


def data_rand(seed, stream, index):
    """simclr/data newRand(seed, stream, index)."""
    a = splitmix((seed & M64) ^ splitmix(stream))
    b = splitmix(a ^ splitmix((index + 0x632BE59BD9B4E019) & M64))
    return PCG(a, b)


def stream_seed(seed, epoch, index, branch):
    """simclr/augment streamSeed: the PCG seed words of one view (index -1
    with branch 2 is an epoch's order)."""
    h = splitmix(seed & M64)
    h = splitmix(h ^ (epoch & M64))
    s1 = splitmix(h ^ (index & M64))
    s2 = splitmix(s1 ^ (branch & M64) ^ 0x5851F42D4C957F2D)
    return s1, s2


def epoch_order(seed, epoch, n):
    """simclr/augment Loader.Order: the image order of a 1-based epoch."""
    rng = PCG(*stream_seed(seed, epoch, -1, 2))
    return rng.perm(n)


def _self_test():
    """Values printed by Go 1.26's math/rand/v2 for the same seeds."""
    r = data_rand(1, STREAM_COLOR, (1 << 40) | 77)
    got = [r.uint64(), r.float32(), r.float64(), r.intn(7), r.intn(1000003), r.intn(16)]
    want = [6359376926123481161, 0.8420912623405457, 0.06257740828895852, 0, 369342, 0]
    assert got == want, f"PCG draws {got}, Go gives {want}"
    got = epoch_order(3, 2, 20)
    want = [8, 0, 19, 15, 5, 13, 16, 11, 6, 2, 9, 4, 10, 14, 1, 3, 18, 17, 12, 7]
    assert got == want, f"epoch order {got}, Go gives {want}"
    got = data_rand(2, STREAM_SUBSET, 0).perm(60000)[:5]
    want = [37330, 47980, 53853, 56555, 24646]
    assert got == want, f"subset permutation {got}, Go gives {want}"


if __name__ == "__main__":
    _self_test()
    print("gorand: PCG, Perm and the seed derivations match Go's values")
