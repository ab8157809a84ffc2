package augment

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"

	"github.com/simclr-ablate/simclr-ablate/simclr/config"
)

// op applies one transform to x ([c, h, w]) in place.
type op func(p *Params, x []float32, c, h, w int, rng *rand.Rand, s *scratch)

// ops implements every name of config.Transforms, the transforms
// NewPipeline accepts (a test checks both ways).
var ops = map[string]op{
	"crop":      opCrop,
	"flip":      opFlip,
	"color":     opColor,
	"grayscale": opGrayscale,
	"rotate":    opRotate,
	"cutout":    opCutout,
	"noise":     opNoise,
	"blur":      opBlur,
	"sobel":     opSobel,
	"roi":       opROI,
}

// scratch is the per-call working memory of Apply, pooled so that steady
// state allocates nothing.
type scratch struct {
	img      []float32 // one image
	plane    []float32 // one channel
	kx, ky   []float32 // blur kernels
	integral []float64 // roi summed-area table
}

func grow[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n)
	}
	return b[:n]
}

// Pipeline is a fixed sequence of random transforms that makes one view of
// an image. It is safe for concurrent use: all randomness comes from the rng
// handed to Apply. The nil *Pipeline and a pipeline of no transforms are the
// identity.
type Pipeline struct {
	names  []string
	ops    []op
	params Params
	pool   sync.Pool
}

// NewPipeline returns the pipeline applying names in order (repeats
// allowed; none is the identity). An unknown name or a Params out of range
// is an error that lists the valid choices.
func NewPipeline(names []string, p Params) (*Pipeline, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("augment: %w", err)
	}
	pl := &Pipeline{names: append([]string(nil), names...), params: p}
	for _, n := range names {
		o, ok := ops[n]
		if !ok {
			return nil, fmt.Errorf("augment: unknown transform %q (valid: %s)", n, strings.Join(config.Transforms, ", "))
		}
		pl.ops = append(pl.ops, o)
	}
	pl.pool.New = func() any { return new(scratch) }
	return pl, nil
}

// Names returns the pipeline's transforms in order.
func (p *Pipeline) Names() []string {
	if p == nil {
		return nil
	}
	return append([]string(nil), p.names...)
}

// String is the transforms joined by "+", or "none".
func (p *Pipeline) String() string {
	if p == nil || len(p.names) == 0 {
		return "none"
	}
	return strings.Join(p.names, "+")
}

// Apply writes to dst one random view of src; both are [c, h, w] with c = 1
// or 3, values in [0, 1], and the view has the same shape and range. dst may
// be src (the view is made in place) but must not otherwise overlap it. The
// view is a function of src and the rng's state only; after warm-up Apply
// allocates nothing. Wrong lengths or channel counts panic.
func (p *Pipeline) Apply(dst, src []float32, c, h, w int, rng *rand.Rand) {
	checkShape("Apply", src, c, h, w)
	checkShape("Apply", dst, c, h, w)
	checkColor("Apply", c)
	if &dst[0] != &src[0] {
		copy(dst, src)
	}
	if p == nil || len(p.ops) == 0 {
		return
	}
	s := p.pool.Get().(*scratch)
	s.img = grow(s.img, c*h*w)
	s.plane = grow(s.plane, h*w)
	for _, o := range p.ops {
		o(&p.params, dst, c, h, w, rng, s)
	}
	p.pool.Put(s)
}

// opCrop is "crop": a SampleCrop window resized back to h×w.
func opCrop(p *Params, x []float32, c, h, w int, rng *rand.Rand, s *scratch) {
	top, left, ch, cw := SampleCrop(h, w, p.CropMinScale, p.CropMaxScale, p.CropMinRatio, p.CropMaxRatio, rng)
	ResizedCrop(s.img, x, c, h, w, top, left, ch, cw, h, w)
	copy(x, s.img)
}

// opFlip is "flip": HFlip with probability FlipProb.
func opFlip(p *Params, x []float32, c, h, w int, rng *rand.Rand, _ *scratch) {
	if rng.Float64() < p.FlipProb {
		HFlip(x, c, h, w)
	}
}

// opColor is "color": ColorJitter with probability ColorProb, then,
// independently, Grayscale with probability GrayProb.
func opColor(p *Params, x []float32, c, h, w int, rng *rand.Rand, _ *scratch) {
	if rng.Float64() < p.ColorProb {
		ColorJitter(x, c, h, w, p.ColorStrength, rng)
	}
	if rng.Float64() < p.GrayProb {
		Grayscale(x, c, h, w)
	}
}

// opGrayscale is "grayscale": always drop colour.
func opGrayscale(_ *Params, x []float32, c, h, w int, _ *rand.Rand, _ *scratch) {
	Grayscale(x, c, h, w)
}

// opRotate is "rotate": 90, 180 or 270 degrees uniformly on a square
// image; 180 degrees on a non-square one (the only shape-preserving turn).
func opRotate(_ *Params, x []float32, c, h, w int, rng *rand.Rand, s *scratch) {
	k := 1 + rng.IntN(3)
	if h != w {
		k = 2
	}
	Rot90(s.img, x, c, h, w, k)
	copy(x, s.img)
}

// opCutout is "cutout": a square of side round(CutoutSize·min(h, w)) set to
// 0 on every channel, its centre uniform over the pixels, clipped at the
// borders (so it may be partly outside the image, as DeVries & Taylor).
func opCutout(p *Params, x []float32, c, h, w int, rng *rand.Rand, _ *scratch) {
	side := int(math.Round(p.CutoutSize * float64(min(h, w))))
	cy, cx := rng.IntN(h), rng.IntN(w)
	Erase(x, c, h, w, cy-side/2, cx-side/2, side, side, 0)
}

// opNoise is "noise": AddGaussianNoise with NoiseSigma.
func opNoise(p *Params, x []float32, _, _, _ int, rng *rand.Rand, _ *scratch) {
	AddGaussianNoise(x, p.NoiseSigma, rng)
}

// opBlur is "blur": with probability BlurProb a Gaussian blur of sigma ~
// U[BlurSigmaMin, BlurSigmaMax] (the same on both axes), kernel sides
// BlurKernelSize(h) and BlurKernelSize(w), reflect padding.
func opBlur(p *Params, x []float32, c, h, w int, rng *rand.Rand, s *scratch) {
	if !(rng.Float64() < p.BlurProb) {
		return
	}
	sigma := p.BlurSigmaMin + (p.BlurSigmaMax-p.BlurSigmaMin)*rng.Float64()
	s.ky = grow(s.ky, BlurKernelSize(h, p.BlurKernelFrac))
	s.kx = grow(s.kx, BlurKernelSize(w, p.BlurKernelFrac))
	GaussianKernel(s.ky, sigma)
	GaussianKernel(s.kx, sigma)
	blur(x, x, s.img, c, h, w, s.ky, s.kx)
}

// opSobel is "sobel": SobelMagnitude divided by its maximum (an all-zero
// map stays zero), replicated on every channel.
func opSobel(_ *Params, x []float32, c, h, w int, _ *rand.Rand, s *scratch) {
	SobelMagnitude(s.plane, x, c, h, w)
	var m float32
	for _, v := range s.plane {
		m = max(m, v)
	}
	if m > 0 {
		inv := 1 / m
		for i, v := range s.plane {
			s.plane[i] = min(v*inv, 1)
		}
	}
	for ch := 0; ch < c; ch++ {
		copy(x[ch*h*w:(ch+1)*h*w], s.plane)
	}
}

// opROI is "roi": a window of the size "crop" would draw (the same
// SampleCrop call; its random position is discarded) placed where the
// Sobel edge energy is largest (SalientWindow), resized back to h×w.
func opROI(p *Params, x []float32, c, h, w int, rng *rand.Rand, s *scratch) {
	_, _, ch, cw := SampleCrop(h, w, p.CropMinScale, p.CropMaxScale, p.CropMinRatio, p.CropMaxRatio, rng)
	SobelMagnitude(s.plane, x, c, h, w)
	s.integral = grow(s.integral, (h+1)*(w+1))
	top, left := SalientWindow(s.plane, h, w, ch, cw, s.integral)
	ResizedCrop(s.img, x, c, h, w, top, left, ch, cw, h, w)
	copy(x, s.img)
}
