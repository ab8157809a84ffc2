package augment

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/simclr-ablate/simclr-ablate/simclr/config"
)

// alwaysParams makes every random transform fire.
func alwaysParams() Params {
	p := DefaultParams()
	p.FlipProb, p.ColorProb, p.BlurProb = 1, 1, 1
	return p
}

func mustPipeline(t testing.TB, names []string, p Params) *Pipeline {
	t.Helper()
	pl, err := NewPipeline(names, p)
	if err != nil {
		t.Fatalf("NewPipeline(%v) error: %v", names, err)
	}
	return pl
}

// TestEveryTransformImplemented: every name of config.Transforms has an
// implementation and every implementation a name.
func TestEveryTransformImplemented(t *testing.T) {
	for _, n := range config.Transforms {
		if _, ok := ops[n]; !ok {
			t.Errorf("transform %q of config.Transforms has no implementation", n)
		}
	}
	for n := range ops {
		if !slices.Contains(config.Transforms, n) {
			t.Errorf("transform %q is implemented but not in config.Transforms", n)
		}
	}
}

func TestNewPipelineErrors(t *testing.T) {
	mod := func(f func(*Params)) Params { p := DefaultParams(); f(&p); return p }
	for _, tc := range []struct {
		names []string
		p     Params
		want  string
	}{
		{[]string{"crop", "colour"}, DefaultParams(), `unknown transform "colour" (valid: crop, flip, color, grayscale, rotate, cutout, noise, blur, sobel, roi)`},
		{[]string{""}, DefaultParams(), `unknown transform ""`},
		{[]string{"crop"}, mod(func(p *Params) { p.FlipProb = 1.5 }), "flip_prob must be in [0, 1], got 1.5"},
		{[]string{"crop"}, mod(func(p *Params) { p.GrayProb = math.NaN() }), "gray_prob must be in [0, 1]"},
		{[]string{"crop"}, mod(func(p *Params) { p.CropMinScale = 0 }), "crop scale range"},
		{[]string{"crop"}, mod(func(p *Params) { p.CropMinScale, p.CropMaxScale = 0.6, 0.5 }), "crop scale range"},
		{[]string{"crop"}, mod(func(p *Params) { p.CropMinRatio = -1 }), "crop aspect range"},
		{[]string{"blur"}, mod(func(p *Params) { p.BlurSigmaMin = 0 }), "blur sigma range"},
		{[]string{"noise"}, mod(func(p *Params) { p.NoiseSigma = -0.1 }), "noise_sigma must be >= 0"},
		{[]string{"color"}, mod(func(p *Params) { p.ColorStrength = math.Inf(1) }), "color_strength must be >= 0 and finite"},
	} {
		_, err := NewPipeline(tc.names, tc.p)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewPipeline(%q, ...) error = %v, want one containing %q", tc.names, err, tc.want)
		}
	}
	for _, names := range [][]string{nil, {}, config.Transforms, {"crop", "crop"}} {
		if _, err := NewPipeline(names, DefaultParams()); err != nil {
			t.Errorf("NewPipeline(%q, DefaultParams()) error = %v, want nil", names, err)
		}
	}
}

// TestTransformsShapeRangeDeterminism applies each transform alone to 1-
// and 3-channel, square and non-square images: values stay in [0, 1], the
// source is untouched, the same seed gives the same view in place and out
// of place, and every transform changes a random image (except the
// documented 1-channel no-op of grayscale).
func TestTransformsShapeRangeDeterminism(t *testing.T) {
	p := alwaysParams()
	for _, name := range config.Transforms {
		pl := mustPipeline(t, []string{name}, p)
		for _, c := range []int{1, 3} {
			for _, sh := range [][2]int{{16, 16}, {12, 20}} {
				h, w := sh[0], sh[1]
				changed := false
				for seed := uint64(0); seed < 4; seed++ {
					src := randImage(seed, c, h, w)
					orig := slices.Clone(src)
					dst := make([]float32, len(src))
					pl.Apply(dst, src, c, h, w, newRand(seed))
					if !slices.Equal(src, orig) {
						t.Fatalf("%s.Apply(c=%d %dx%d) modified src", name, c, h, w)
					}
					for i, v := range dst {
						if !(v >= 0 && v <= 1) {
							t.Fatalf("%s.Apply(c=%d %dx%d, seed %d)[%d] = %v, want in [0, 1]", name, c, h, w, seed, i, v)
						}
					}
					inPlace := slices.Clone(src)
					pl.Apply(inPlace, inPlace, c, h, w, newRand(seed))
					if !slices.Equal(inPlace, dst) {
						t.Errorf("%s.Apply in place (c=%d %dx%d, seed %d) differs from out of place", name, c, h, w, seed)
					}
					if !slices.Equal(dst, src) {
						changed = true
					}
				}
				if wantChange := !(name == "grayscale" && c == 1); changed != wantChange {
					t.Errorf("%s.Apply(c=%d %dx%d) changed the image = %v, want %v", name, c, h, w, changed, wantChange)
				}
			}
		}
	}
}

func TestPipelineSeeds(t *testing.T) {
	pl := mustPipeline(t, config.Transforms, alwaysParams())
	src := randImage(1, 3, 16, 16)
	a, b, c := make([]float32, len(src)), make([]float32, len(src)), make([]float32, len(src))
	pl.Apply(a, src, 3, 16, 16, newRand(11))
	pl.Apply(b, src, 3, 16, 16, newRand(11))
	pl.Apply(c, src, 3, 16, 16, newRand(12))
	if !slices.Equal(a, b) {
		t.Errorf("Apply with the same seed gave different views")
	}
	if slices.Equal(a, c) {
		t.Errorf("Apply with seeds 11 and 12 gave the same view")
	}
	if got := pl.String(); got != strings.Join(config.Transforms, "+") {
		t.Errorf("String() = %q, want %q", got, strings.Join(config.Transforms, "+"))
	}
}

func TestIdentityPipelines(t *testing.T) {
	src := randImage(2, 1, 5, 7)
	for _, pl := range []*Pipeline{nil, mustPipeline(t, nil, DefaultParams())} {
		dst := make([]float32, len(src))
		pl.Apply(dst, src, 1, 5, 7, newRand(1))
		if !slices.Equal(dst, src) {
			t.Errorf("%v.Apply changed the image, want a copy", pl)
		}
		if pl.String() != "none" {
			t.Errorf("String() = %q, want none", pl.String())
		}
	}
}

func TestRotateChoices(t *testing.T) {
	pl := mustPipeline(t, []string{"rotate"}, DefaultParams())
	src := randImage(3, 1, 6, 6)
	var rots [4][]float32
	for k := 1; k < 4; k++ {
		rots[k] = make([]float32, len(src))
		Rot90(rots[k], src, 1, 6, 6, k)
	}
	seen := map[int]int{}
	dst := make([]float32, len(src))
	for seed := uint64(0); seed < 60; seed++ {
		pl.Apply(dst, src, 1, 6, 6, newRand(seed))
		k := slices.IndexFunc([]int{1, 2, 3}, func(k int) bool { return slices.Equal(dst, rots[k]) })
		if k < 0 {
			t.Fatalf("rotate(6x6, seed %d) is not a rotation by 90, 180 or 270 degrees", seed)
		}
		seen[k+1]++
	}
	if len(seen) != 3 {
		t.Errorf("rotate over 60 seeds gave turns %v, want all of 1, 2, 3", seen)
	}
	// Non-square: 180 degrees.
	src = randImage(4, 3, 4, 6)
	want := make([]float32, len(src))
	Rot90(want, src, 3, 4, 6, 2)
	dst = make([]float32, len(src))
	for seed := uint64(0); seed < 5; seed++ {
		pl.Apply(dst, src, 3, 4, 6, newRand(seed))
		if !slices.Equal(dst, want) {
			t.Errorf("rotate(3x4x6, seed %d) is not the 180-degree turn", seed)
		}
	}
}

func TestCutout(t *testing.T) {
	pl := mustPipeline(t, []string{"cutout"}, DefaultParams()) // side 0.5·20 = 10
	const c, h, w = 3, 20, 20
	ones := make([]float32, c*h*w)
	for i := range ones {
		ones[i] = 1
	}
	dst := make([]float32, len(ones))
	full := 0
	for seed := uint64(0); seed < 40; seed++ {
		pl.Apply(dst, ones, c, h, w, newRand(seed))
		y0, y1, x0, x1, zeros := h, -1, w, -1, 0
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				if dst[y*w+x] == 0 {
					zeros++
					y0, y1, x0, x1 = min(y0, y), max(y1, y), min(x0, x), max(x1, x)
				}
				for ch := 1; ch < c; ch++ {
					if dst[(ch*h+y)*w+x] != dst[y*w+x] {
						t.Fatalf("cutout(seed %d) erased channel %d differently at (%d, %d)", seed, ch, y, x)
					}
				}
			}
		}
		eh, ew := y1-y0+1, x1-x0+1
		if zeros != eh*ew || eh > 10 || ew > 10 || eh < 5 || ew < 5 {
			t.Fatalf("cutout(20x20, seed %d) erased %d pixels in a %dx%d box, want a clipped square of side 10 (5..10 each way)", seed, zeros, eh, ew)
		}
		if eh == 10 && ew == 10 {
			full++
		}
	}
	// The centre is uniform over the pixels: squares near a border are
	// clipped, the others whole.
	if full == 0 || full == 40 {
		t.Errorf("cutout(20x20) erased a whole 10x10 square in %d of 40 seeds, want some whole and some clipped", full)
	}
}

func TestNoiseStatistics(t *testing.T) {
	p := DefaultParams()
	p.NoiseSigma = 0.1
	pl := mustPipeline(t, []string{"noise"}, p)
	src := make([]float32, 64*64)
	for i := range src {
		src[i] = 0.5
	}
	dst := make([]float32, len(src))
	pl.Apply(dst, src, 1, 64, 64, newRand(5))
	var s, ss float64
	for _, v := range dst {
		d := float64(v) - 0.5
		s += d
		ss += d * d
	}
	n := float64(len(dst))
	mean, std := s/n, math.Sqrt(ss/n-(s/n)*(s/n))
	if math.Abs(mean) > 0.01 || math.Abs(std-0.1) > 0.01 {
		t.Errorf("noise(sigma 0.1) on flat 0.5: mean %.4f std %.4f, want 0 ± 0.01 and 0.1 ± 0.01", mean, std)
	}
}

func TestColorSettings(t *testing.T) {
	src := randImage(6, 3, 8, 8)
	gray := slices.Clone(src)
	Grayscale(gray, 3, 8, 8)
	mod := func(f func(*Params)) Params { p := DefaultParams(); f(&p); return p }
	for _, tc := range []struct {
		name string
		p    Params
		want []float32
	}{
		{"no jitter, always gray", mod(func(p *Params) { p.ColorProb, p.GrayProb = 0, 1 }), gray},
		{"strength 0, never gray", mod(func(p *Params) { p.ColorProb, p.GrayProb, p.ColorStrength = 1, 0, 0 }), src},
		{"never anything", mod(func(p *Params) { p.ColorProb, p.GrayProb = 0, 0 }), src},
	} {
		pl := mustPipeline(t, []string{"color"}, tc.p)
		for seed := uint64(0); seed < 5; seed++ {
			dst := make([]float32, len(src))
			pl.Apply(dst, src, 3, 8, 8, newRand(seed))
			if !slices.Equal(dst, tc.want) {
				t.Errorf("color(%s, seed %d) did not give the expected image", tc.name, seed)
			}
		}
	}
}

func TestBlurProb(t *testing.T) {
	src := randImage(7, 1, 10, 10)
	p := DefaultParams()
	p.BlurProb = 0
	dst := make([]float32, len(src))
	mustPipeline(t, []string{"blur"}, p).Apply(dst, src, 1, 10, 10, newRand(1))
	if !slices.Equal(dst, src) {
		t.Errorf("blur with blur_prob 0 changed the image")
	}
}

func TestSobelScaled(t *testing.T) {
	pl := mustPipeline(t, []string{"sobel"}, DefaultParams())
	src := randImage(8, 3, 9, 9)
	dst := make([]float32, len(src))
	pl.Apply(dst, src, 3, 9, 9, newRand(1))
	mag := make([]float32, 81)
	SobelMagnitude(mag, src, 3, 9, 9)
	m := slices.Max(mag)
	for i := range mag {
		want := mag[i] / m
		for ch := 0; ch < 3; ch++ {
			if math.Abs(float64(dst[ch*81+i]-want)) > 1e-6 {
				t.Fatalf("sobel[%d][%d] = %v, want magnitude/max = %v", ch, i, dst[ch*81+i], want)
			}
		}
	}
	zero := make([]float32, 81)
	pl.Apply(zero, zero, 1, 9, 9, newRand(1))
	if slices.Max(zero) != 0 {
		t.Errorf("sobel of a black image has max %v, want 0", slices.Max(zero))
	}
}

// TestROIFindsTheObject: a small bright square in a black image is inside
// every roi view (a random crop of the same size often misses it).
func TestROIFindsTheObject(t *testing.T) {
	const h, w = 28, 28
	src := make([]float32, h*w)
	for y := 20; y < 24; y++ {
		for x := 2; x < 6; x++ {
			src[y*w+x] = 1
		}
	}
	p := DefaultParams()
	p.CropMinScale, p.CropMaxScale = 0.2, 0.3
	roi := mustPipeline(t, []string{"roi"}, p)
	crop := mustPipeline(t, []string{"crop"}, p)
	dst := make([]float32, len(src))
	missed := 0
	for seed := uint64(0); seed < 30; seed++ {
		roi.Apply(dst, src, 1, h, w, newRand(seed))
		if slices.Max(dst) < 0.99 {
			t.Errorf("roi(seed %d) view has max %v, want the bright square (1) inside", seed, slices.Max(dst))
		}
		crop.Apply(dst, src, 1, h, w, newRand(seed))
		if slices.Max(dst) < 0.99 {
			missed++
		}
	}
	if missed == 0 {
		t.Errorf("crop never missed the square in 30 seeds: the test image does not tell roi from crop")
	}
}

func TestApplyAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items: allocation counts are checked without -race")
	}
	pl := mustPipeline(t, config.Transforms, alwaysParams())
	src := randImage(9, 3, 16, 16)
	dst := make([]float32, len(src))
	rng := newRand(1)
	pl.Apply(dst, src, 3, 16, 16, rng)
	if n := testing.AllocsPerRun(50, func() { pl.Apply(dst, src, 3, 16, 16, rng) }); n != 0 {
		t.Errorf("Apply allocates %v times per call in steady state, want 0", n)
	}
}

func TestApplyShapePanics(t *testing.T) {
	pl := mustPipeline(t, []string{"crop"}, DefaultParams())
	for _, tc := range []struct {
		name    string
		n       int
		c, h, w int
	}{
		{"short", 10, 1, 4, 4},
		{"2 channels", 32, 2, 4, 4},
	} {
		func() {
			defer func() {
				r := recover()
				if s, _ := r.(string); !strings.HasPrefix(s, "augment: Apply") {
					t.Errorf("Apply(%s) panic = %v, want an augment: Apply panic", tc.name, r)
				}
			}()
			x := make([]float32, tc.n)
			pl.Apply(x, x, tc.c, tc.h, tc.w, newRand(1))
		}()
	}
}
