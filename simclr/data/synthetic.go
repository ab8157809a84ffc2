package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/simclr-ablate/simclr-ablate/simclr/config"
)

// SyntheticClasses are the synthetic dataset's classes, index = label: the
// shape drawn in the image.
var SyntheticClasses = []string{"circle", "square", "triangle", "cross"}

const (
	syntheticDefaultSide = 32
	syntheticDefaultSize = 512
	syntheticMinSide     = config.MinSyntheticSide
	// Shape area as a fraction of the image, the same range for every
	// class, so the area (and with it the mean intensity) says nothing
	// about the class.
	shapeMinArea, shapeMaxArea = 0.06, 0.20
	// minShapeContrast is the least RGB distance between the shape's
	// colour and each of the two background colours.
	minShapeContrast = 0.45
	// textureContrast bounds how far the background's second colour is
	// from its first, per channel. A faint texture keeps a nuisance that
	// two crops of an image share without letting it drown the shape: with
	// full-contrast textures SimCLR matches crops by their stripes and
	// checks and learns nothing about shapes in a short run.
	textureContrast = 0.15
	// syntheticNoise is the half-width of the uniform pixel noise.
	syntheticNoise = 0.05
)

// Synthetic generates the synthetic dataset: size train images (0 means
// 512) and max(1, size/4) test images of 3×side×side pixels (side 0 means
// 32, else at least 8), labelled by SyntheticClasses cyclically (image i has
// label i mod 4, so the classes are balanced).
//
// Each image is drawn from its own random stream of (seed, split, index):
//
//   - a background blending a uniform random colour c1 and a colour c2
//     within ±0.15 of it per channel (a faint texture) by a
//     texture t(x, y) in [0, 1]: stripes (random angle, period, phase), a
//     checkerboard (random cell size and offset) or smooth value noise
//     (a random 4×4 grid, bilinearly upsampled), one chosen at random;
//   - the class's shape, filled with a uniform random colour at least
//     0.45 (RGB distance) from c1 and c2, at a random rotation and position
//     (wholly inside), with area U[0.06, 0.20]·side² whatever the shape,
//     edges antialiased by coverage clamp(0.5 − signed distance, 0, 1);
//   - uniform noise in ±0.05 on every pixel, clipped to [0, 1].
//
// Colours, texture, area and position are independent of the class: only
// the shape tells classes apart.
func Synthetic(size, side int, seed int64) (train, test *Set, err error) {
	if train, test, err = syntheticLazy(size, side, seed); err != nil {
		return nil, nil, err
	}
	return train.Materialize(), test.Materialize(), nil
}

// syntheticLazy is Synthetic returning lazy sets.
func syntheticLazy(size, side int, seed int64) (train, test *Set, err error) {
	if size < 0 {
		return nil, nil, fmt.Errorf("synthetic size %d: must be >= 0", size)
	}
	if size == 0 {
		size = syntheticDefaultSize
	}
	if side == 0 {
		side = syntheticDefaultSide
	}
	if side < syntheticMinSide || side > MaxImageSize {
		return nil, nil, fmt.Errorf("synthetic image_size %d: must be 0 (32) or in [%d, %d]", side, syntheticMinSide, MaxImageSize)
	}
	return syntheticSet(size, side, seed, 0), syntheticSet(max(1, size/4), side, seed, 1), nil
}

// syntheticSet returns the lazy set of n images of one split, each drawn
// from its own random stream whenever it is rendered.
func syntheticSet(n, side int, seed int64, split uint64) *Set {
	s := &Set{
		Labels:  make([]int, n),
		N:       n,
		C:       3,
		H:       side,
		W:       side,
		Classes: append([]string(nil), SyntheticClasses...),
	}
	for i := range n {
		s.Labels[i] = i % len(SyntheticClasses)
	}
	scratch := sync.Pool{New: func() any { return newSynth(side) }}
	s.render = func(i int, dst []float32) {
		g := scratch.Get().(*synth)
		g.draw(dst, i%len(SyntheticClasses), newRand(seed, streamSynthetic, split<<40|uint64(i)))
		scratch.Put(g)
	}
	return s
}

// synth holds the scratch buffers of one side length.
type synth struct {
	side int
	tex  []float32 // side² background blend weights
	cov  []float32 // side² shape coverage
}

func newSynth(side int) *synth {
	return &synth{side: side, tex: make([]float32, side*side), cov: make([]float32, side*side)}
}

// draw renders one image of class label into dst (3×side×side).
func (g *synth) draw(dst []float32, label int, rng *rand.Rand) {
	n := g.side
	plane := n * n
	c1 := randColor(rng)
	var c2 [3]float32
	for c := range 3 {
		c2[c] = min(max(c1[c]+(2*rng.Float32()-1)*textureContrast, 0), 1)
	}
	g.texture(rng)
	var fg [3]float32
	for try := 0; ; try++ {
		fg = randColor(rng)
		if (colorDist(fg, c1) >= minShapeContrast && colorDist(fg, c2) >= minShapeContrast) || try == 100 {
			break
		}
	}
	g.shape(label, rng)
	for c := range 3 {
		ch := dst[c*plane : (c+1)*plane]
		for j := range ch {
			bg := c1[c] + (c2[c]-c1[c])*g.tex[j]
			v := bg + (fg[c]-bg)*g.cov[j]
			v += (2*rng.Float32() - 1) * syntheticNoise
			ch[j] = min(max(v, 0), 1)
		}
	}
}

func randColor(rng *rand.Rand) [3]float32 {
	return [3]float32{rng.Float32(), rng.Float32(), rng.Float32()}
}

func colorDist(a, b [3]float32) float32 {
	var s float32
	for c := range 3 {
		s += (a[c] - b[c]) * (a[c] - b[c])
	}
	return float32(math.Sqrt(float64(s)))
}

// texture fills g.tex with one of three random patterns in [0, 1].
func (g *synth) texture(rng *rand.Rand) {
	n := g.side
	switch rng.IntN(3) {
	case 0: // stripes
		phi := rng.Float64() * math.Pi
		period := 3 + rng.Float64()*(float64(n)/2-3)
		phase := rng.Float64() * 2 * math.Pi
		kx, ky := 2*math.Pi*math.Cos(phi)/period, 2*math.Pi*math.Sin(phi)/period
		for y := range n {
			for x := range n {
				g.tex[y*n+x] = float32(0.5 + 0.5*math.Sin(kx*float64(x)+ky*float64(y)+phase))
			}
		}
	case 1: // checkerboard
		cell := 2 + rng.IntN(max(1, n/4-1))
		ox, oy := rng.IntN(cell), rng.IntN(cell)
		for y := range n {
			for x := range n {
				g.tex[y*n+x] = float32(((x+ox)/cell + (y+oy)/cell) % 2)
			}
		}
	default: // value noise: a 4×4 grid upsampled bilinearly
		var grid [4][4]float32
		for i := range grid {
			for j := range grid[i] {
				grid[i][j] = rng.Float32()
			}
		}
		for y := range n {
			fy := float32(y) / float32(n-1) * 3
			y0 := min(int(fy), 2)
			ty := fy - float32(y0)
			for x := range n {
				fx := float32(x) / float32(n-1) * 3
				x0 := min(int(fx), 2)
				tx := fx - float32(x0)
				top := grid[y0][x0] + (grid[y0][x0+1]-grid[y0][x0])*tx
				bot := grid[y0+1][x0] + (grid[y0+1][x0+1]-grid[y0+1][x0])*tx
				g.tex[y*n+x] = top + (bot-top)*ty
			}
		}
	}
}

// shape fills g.cov with the antialiased coverage of class label's shape
// at a random area, rotation and position.
func (g *synth) shape(label int, rng *rand.Rand) {
	n := float64(g.side)
	area := (shapeMinArea + rng.Float64()*(shapeMaxArea-shapeMinArea)) * n * n
	theta := rng.Float64() * 2 * math.Pi
	sdf, radius := shapeSDF(label, area)
	lo, hi := radius+1, n-radius-1
	cx, cy := n/2, n/2
	if hi > lo {
		cx = lo + rng.Float64()*(hi-lo)
		cy = lo + rng.Float64()*(hi-lo)
	}
	renderCoverage(g.cov, g.side, sdf, cx, cy, theta)
}

// renderCoverage writes the coverage clamp(0.5 − sdf(p), 0, 1) of every
// pixel centre, p being the centre in the shape's frame (translated by
// −(cx, cy), rotated by −theta), into cov (side×side).
func renderCoverage(cov []float32, side int, sdf func(x, y float64) float64, cx, cy, theta float64) {
	sin, cos := math.Sincos(-theta)
	for y := range side {
		dy := float64(y) + 0.5 - cy
		for x := range side {
			dx := float64(x) + 0.5 - cx
			px, py := cos*dx-sin*dy, sin*dx+cos*dy
			cov[y*side+x] = float32(min(max(0.5-sdf(px, py), 0), 1))
		}
	}
}

// shapeSDF returns the signed distance function (negative inside) of the
// class's shape with the given area, centred on its centroid, and the
// radius of its bounding circle.
//
//	circle    radius r = √(A/π)
//	square    side a = √A
//	triangle  equilateral, side s = √(4A/√3)
//	cross     two bars 2L×2L/3 crossing at their centres, L = √(9A/20)
func shapeSDF(label int, area float64) (sdf func(x, y float64) float64, radius float64) {
	switch label {
	case 0:
		r := math.Sqrt(area / math.Pi)
		return func(x, y float64) float64 { return math.Hypot(x, y) - r }, r
	case 1:
		h := math.Sqrt(area) / 2
		return func(x, y float64) float64 { return sdBox(x, y, h, h) }, h * math.Sqrt2
	case 2:
		r := math.Sqrt(4*area/math.Sqrt(3)) / 2 // half the side
		return func(x, y float64) float64 { return sdTriangle(x, y, r) }, 2 * r / math.Sqrt(3)
	default:
		l := math.Sqrt(9 * area / 20)
		t := l / 3
		return func(x, y float64) float64 { return min(sdBox(x, y, l, t), sdBox(x, y, t, l)) }, math.Hypot(l, t)
	}
}

// sdBox is the signed distance to the box |x| <= hx, |y| <= hy.
func sdBox(x, y, hx, hy float64) float64 {
	qx, qy := math.Abs(x)-hx, math.Abs(y)-hy
	return math.Hypot(max(qx, 0), max(qy, 0)) + min(max(qx, qy), 0)
}

// sdTriangle is the signed distance to the equilateral triangle of side 2r
// centred on its centroid, vertices (±r, −r/√3) and (0, 2r/√3) (Inigo
// Quilez's exact formula).
func sdTriangle(x, y, r float64) float64 {
	k := math.Sqrt(3)
	x = math.Abs(x) - r
	y += r / k
	if x+k*y > 0 {
		x, y = (x-k*y)/2, (-k*x-y)/2
	}
	x -= min(max(x, -2*r), 0)
	d := math.Hypot(x, y)
	if y > 0 {
		return -d
	}
	return d
}
