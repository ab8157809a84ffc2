package augment

import (
	"fmt"
	"math"
)

// BlurKernelSize is the Gaussian kernel side for an image side: about
// frac·side, odd, at least 3:
//
//	k = floor(frac·side); if k is even, k+1; k = max(k, 3)
//
// With frac = 0.1: 224 → 23 (the SimCLR ImageNet kernel), 96 → 9,
// 28 and 32 → 3.
func BlurKernelSize(side int, frac float64) int {
	k := int(frac * float64(side))
	if k%2 == 0 {
		k++
	}
	return max(k, 3)
}

// GaussianKernel fills k (odd length n) with torchvision's normalised 1-D
// Gaussian: x_i = i - (n-1)/2, k_i = exp(-x_i²/(2σ²)) / Σ_j exp(-x_j²/(2σ²)).
func GaussianKernel(k []float32, sigma float64) {
	n := len(k)
	if n%2 == 0 || !(sigma > 0) {
		panic(fmt.Sprintf("augment: GaussianKernel: size %d sigma %g, want an odd size and sigma > 0", n, sigma))
	}
	half := float64(n-1) / 2
	var sum float64
	pdf := func(i int) float64 {
		x := (float64(i) - half) / sigma
		return math.Exp(-0.5 * x * x)
	}
	for i := range k {
		sum += pdf(i)
	}
	for i := range k {
		k[i] = float32(pdf(i) / sum)
	}
}

// reflect maps an index outside [0, n) back inside by mirror reflection
// without repeating the edge (PyTorch's "reflect" padding: -1 → 1,
// n → n-2), periodically for any offset.
func reflect(i, n int) int {
	if n == 1 {
		return 0
	}
	period := 2 * (n - 1)
	i %= period
	if i < 0 {
		i += period
	}
	if i >= n {
		i = period - i
	}
	return i
}

// GaussianBlur writes to dst the Gaussian blur of src (both [c, h, w]) with
// a size×size kernel (size odd) of standard deviation sigma on both axes,
// reflect padding, as torchvision's gaussian_blur:
//
//	dst[y][x] = Σ_ij k_i k_j src[reflect(y+i-r)][reflect(x+j-r)],  r = size/2
//
// computed separably. dst may equal src. It allocates its scratch; the
// pipeline's "blur" uses a pooled one.
func GaussianBlur(dst, src []float32, c, h, w, size int, sigma float64) {
	k := make([]float32, size)
	GaussianKernel(k, sigma)
	blur(dst, src, make([]float32, len(src)), c, h, w, k, k)
}

// blur is GaussianBlur with given kernels (ky vertical, kx horizontal) and
// a scratch tmp of len(src).
func blur(dst, src, tmp []float32, c, h, w int, ky, kx []float32) {
	checkShape("GaussianBlur", src, c, h, w)
	checkShape("GaussianBlur", dst, c, h, w)
	rx, ry := len(kx)/2, len(ky)/2
	tmp = tmp[:len(src)]
	for r := 0; r < c*h; r++ {
		in := src[r*w : (r+1)*w]
		out := tmp[r*w : (r+1)*w]
		for x := range out {
			var s float32
			if x >= rx && x+rx < w {
				for j, kv := range kx {
					s += kv * in[x+j-rx]
				}
			} else {
				for j, kv := range kx {
					s += kv * in[reflect(x+j-rx, w)]
				}
			}
			out[x] = s
		}
	}
	for ch := 0; ch < c; ch++ {
		in := tmp[ch*h*w : (ch+1)*h*w]
		out := dst[ch*h*w : (ch+1)*h*w]
		for y := 0; y < h; y++ {
			row := out[y*w : (y+1)*w]
			clear(row)
			for i, kv := range ky {
				src := in[reflect(y+i-ry, h)*w:][:w]
				for x, v := range src {
					row[x] += kv * v
				}
			}
		}
	}
}

// SobelMagnitude writes to dst ([h, w], one channel) the unscaled Sobel
// edge magnitude of src ([c, h, w], c = 1 or 3; luma for c = 3):
//
//	gx = [[-1 0 1] [-2 0 2] [-1 0 1]] ⋆ g,   gy = gxᵀ ⋆ g,   dst = √(gx² + gy²)
//
// (⋆ is cross-correlation, as conv2d) with zero padding, so flat images
// have edges at their border.
func SobelMagnitude(dst, src []float32, c, h, w int) {
	checkShape("SobelMagnitude", src, c, h, w)
	checkColor("SobelMagnitude", c)
	checkShape("SobelMagnitude", dst, 1, h, w)
	hw := h * w
	g := func(y, x int) float32 {
		if y < 0 || y >= h || x < 0 || x >= w {
			return 0
		}
		if c == 3 {
			return gray(src, hw, y*w+x)
		}
		return src[y*w+x]
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			a, b, cc := g(y-1, x-1), g(y-1, x), g(y-1, x+1)
			d, f := g(y, x-1), g(y, x+1)
			p, q, r := g(y+1, x-1), g(y+1, x), g(y+1, x+1)
			gx := (cc - a) + 2*(f-d) + (r - p)
			gy := (p - a) + 2*(q-b) + (r - cc)
			dst[y*w+x] = float32(math.Sqrt(float64(gx*gx + gy*gy)))
		}
	}
}
