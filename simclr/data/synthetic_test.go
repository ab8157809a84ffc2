package data

import (
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestSynthetic(t *testing.T) {
	train, test, err := Synthetic(80, 16, 1)
	if err != nil {
		t.Fatalf("Synthetic(80, 16, 1) error: %v", err)
	}
	if train.N != 80 || test.N != 20 || train.C != 3 || train.H != 16 || train.W != 16 || len(train.Images) != 80*3*256 {
		t.Fatalf("Synthetic(80, 16, 1) = %d train, %d test of %d×%d×%d, want 80, 20 of 3×16×16", train.N, test.N, train.C, train.H, train.W)
	}
	if !slices.Equal(train.Classes, SyntheticClasses) || len(SyntheticClasses) < 4 {
		t.Errorf("Synthetic classes = %v, want %v (at least 4)", train.Classes, SyntheticClasses)
	}
	counts := make([]int, len(SyntheticClasses))
	for _, l := range train.Labels {
		counts[l]++
	}
	for k, c := range counts {
		if c != 20 {
			t.Errorf("Synthetic(80, …) class %d has %d images, want 20", k, c)
		}
	}
	if lo, hi := slices.Min(train.Images), slices.Max(train.Images); lo < 0 || hi > 1 {
		t.Errorf("Synthetic pixel range = [%v, %v], want within [0, 1]", lo, hi)
	}

	again, againTest, _ := Synthetic(80, 16, 1)
	if again.Checksum() != train.Checksum() || againTest.Checksum() != test.Checksum() {
		t.Error("Synthetic(80, 16, 1) differs between two calls")
	}
	other, _, _ := Synthetic(80, 16, 2)
	if other.Checksum() == train.Checksum() {
		t.Error("Synthetic with seeds 1 and 2 is the same")
	}
	for i := range test.N {
		if slices.Equal(test.Image(i), train.Image(i)) {
			t.Errorf("Synthetic test image %d equals train image %d", i, i)
		}
	}
	// Growing the set keeps the first images: each is drawn from its own stream.
	more, _, _ := Synthetic(100, 16, 1)
	if !slices.Equal(more.Images[:len(train.Images)], train.Images) {
		t.Error("Synthetic(100, 16, 1) does not start with Synthetic(80, 16, 1)")
	}

	viaLoad, _, err := Load(Spec{Name: "synthetic", Size: 80, ImageSize: 16, Seed: 1})
	if err != nil || viaLoad.Checksum() != train.Checksum() {
		t.Errorf("Load(synthetic) = %v, want Synthetic(80, 16, 1)", err)
	}
	def, defTest, err := Load(Spec{Name: "synthetic"})
	if err != nil || def.N != 512 || defTest.N != 128 || def.H != 32 || def.W != 32 {
		t.Errorf("Load(synthetic defaults) = %v, want 512 + 128 images of 32×32", err)
	}
	tiny, tinyTest, err := Synthetic(2, 8, 1)
	if err != nil || tiny.N != 2 || tinyTest.N != 1 {
		t.Errorf("Synthetic(2, 8, 1) = %v, want 2 train and 1 test image", err)
	}
}

// TestSyntheticLazy checks that the lazy synthetic set draws the same
// images as Synthetic, from several goroutines at once too.
func TestSyntheticLazy(t *testing.T) {
	train, test, err := Synthetic(60, 12, 4)
	if err != nil {
		t.Fatal(err)
	}
	lazy, lazyTest, err := Load(Spec{Name: "synthetic", Size: 60, ImageSize: 12, Seed: 4, Lazy: true})
	if err != nil {
		t.Fatal(err)
	}
	if !lazy.Lazy() || !lazyTest.Lazy() {
		t.Fatalf("Load(synthetic, Lazy) returned lazy train %v, test %v; want both lazy", lazy.Lazy(), lazyTest.Lazy())
	}
	if lazy.Checksum() != train.Checksum() || lazyTest.Checksum() != test.Checksum() || !slices.Equal(lazy.Labels, train.Labels) {
		t.Error("the lazy synthetic set differs from Synthetic's")
	}
	d := 3 * 12 * 12
	got := make([]float32, train.N*d)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < train.N; i += 4 {
				lazy.CopyImages(got[i*d:(i+1)*d], i)
			}
		})
	}
	wg.Wait()
	if !slices.Equal(got, train.Images) {
		t.Error("the lazy synthetic set rendered from four goroutines differs from Synthetic's")
	}
	if _, _, err := Load(Spec{Name: "synthetic", ImageSize: 4, Lazy: true}); err == nil {
		t.Error("Load(synthetic, image_size 4, Lazy) error = nil, want the size error")
	}
}

func TestSyntheticErrors(t *testing.T) {
	for _, c := range []struct{ size, side int }{{-1, 32}, {10, 7}, {10, 4}, {10, MaxImageSize + 1}} {
		if _, _, err := Synthetic(c.size, c.side, 1); err == nil || !strings.Contains(err.Error(), "synthetic") {
			t.Errorf("Synthetic(%d, %d, 1) error = %v, want one naming synthetic", c.size, c.side, err)
		}
	}
}

func TestShapeSDF(t *testing.T) {
	r3 := math.Sqrt(3)
	tests := []struct {
		name string
		f    func(x, y float64) float64
		x, y float64
		want float64
	}{
		{"box centre", func(x, y float64) float64 { return sdBox(x, y, 2, 1) }, 0, 0, -1},
		{"box right", func(x, y float64) float64 { return sdBox(x, y, 2, 1) }, 5, 0, 3},
		{"box corner", func(x, y float64) float64 { return sdBox(x, y, 2, 1) }, 5, 5, 5},
		{"box edge", func(x, y float64) float64 { return sdBox(x, y, 2, 1) }, 2, 0.5, 0},
		{"triangle centroid", func(x, y float64) float64 { return sdTriangle(x, y, 1) }, 0, 0, -1 / r3},
		{"triangle apex", func(x, y float64) float64 { return sdTriangle(x, y, 1) }, 0, 2 / r3, 0},
		{"triangle corner", func(x, y float64) float64 { return sdTriangle(x, y, 1) }, -1, -1 / r3, 0},
		{"triangle below", func(x, y float64) float64 { return sdTriangle(x, y, 1) }, 0, -1/r3 - 2, 2},
		{"triangle above apex", func(x, y float64) float64 { return sdTriangle(x, y, 1) }, 0, 2/r3 + 3, 3},
	}
	for _, tt := range tests {
		if got := tt.f(tt.x, tt.y); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("%s: sdf(%g, %g) = %g, want %g", tt.name, tt.x, tt.y, got, tt.want)
		}
	}
}

// TestShapeAreaMatched checks every class covers the requested area (so
// the area says nothing about the class) by summing rendered coverage.
func TestShapeAreaMatched(t *testing.T) {
	const side = 96
	cov := make([]float32, side*side)
	for label := range SyntheticClasses {
		for _, frac := range []float64{shapeMinArea, shapeMaxArea} {
			area := frac * side * side
			sdf, radius := shapeSDF(label, area)
			renderCoverage(cov, side, sdf, side/2, side/2, 0.3)
			var sum float64
			for _, c := range cov {
				sum += float64(c)
			}
			if math.Abs(sum-area)/area > 0.01 {
				t.Errorf("%s of area %.0f covers %.1f pixels, want within 1%%", SyntheticClasses[label], area, sum)
			}
			// The bounding radius holds the whole shape.
			for y := range side {
				for x := range side {
					dx, dy := float64(x)+0.5-side/2, float64(y)+0.5-side/2
					if cov[y*side+x] > 0 && math.Hypot(dx, dy) > radius+1 {
						t.Fatalf("%s: pixel (%d, %d) covered outside the bounding radius %g", SyntheticClasses[label], x, y, radius)
					}
				}
			}
		}
	}
}

// TestSyntheticLearnable checks that the shape, and only the shape, tells
// the classes apart. The shape is recoverable from the rendered coverage:
// a nearest-class-mean classifier on two radii about the mask's centroid,
// (outer radius, inner radius)/√area — analytically circle .56/.56,
// square .71/.50, triangle .88/.44, cross .71/.32 — fitted on one seed's
// masks, classifies another seed's almost perfectly. Colour and mean
// intensity do not: the same classifier on the mean R, G, B of whole
// images stays near chance.
func TestSyntheticLearnable(t *testing.T) {
	const side = 32
	g := newSynth(side)
	radii := func(seed int64, i int) [2]float64 {
		g.shape(i%4, newRand(seed, streamSynthetic, uint64(i)))
		var n, mx, my float64
		for y := range side {
			for x := range side {
				if g.cov[y*side+x] >= 0.5 {
					n++
					mx += float64(x)
					my += float64(y)
				}
			}
		}
		mx, my = mx/n, my/n
		rout, rin := 0.0, math.Inf(1)
		for y := range side {
			for x := range side {
				d := math.Hypot(float64(x)-mx, float64(y)-my)
				if g.cov[y*side+x] >= 0.5 {
					rout = max(rout, d)
				} else {
					rin = min(rin, d)
				}
			}
		}
		return [2]float64{rout / math.Sqrt(n), rin / math.Sqrt(n)}
	}
	const draws = 400
	var protos [4][2]float64
	for i := range draws {
		f := radii(11, i)
		protos[i%4][0] += f[0] / (draws / 4)
		protos[i%4][1] += f[1] / (draws / 4)
	}
	correct := 0
	for i := range draws {
		f := radii(12, i)
		best, bestD := -1, math.Inf(1)
		for k, p := range protos {
			if d := math.Hypot(f[0]-p[0], f[1]-p[1]); d < bestD {
				best, bestD = k, d
			}
		}
		if best == i%4 {
			correct++
		}
	}
	if acc := float64(correct) / draws; acc < 0.9 {
		t.Errorf("shape-radii classifier accuracy on rendered masks = %.2f (class means %v), want >= 0.9 (shapes must be recognisable)", acc, protos)
	}

	train, test, err := Synthetic(1200, 16, 5)
	if err != nil {
		t.Fatal(err)
	}
	meanRGB := func(im []float32) [3]float64 {
		var m [3]float64
		d := len(im) / 3
		for c := range 3 {
			for _, v := range im[c*d : (c+1)*d] {
				m[c] += float64(v)
			}
			m[c] /= float64(d)
		}
		return m
	}
	var centroid [4][3]float64
	for i := range train.N {
		m := meanRGB(train.Image(i))
		for c := range 3 {
			centroid[train.Labels[i]][c] += m[c] / float64(train.N/4)
		}
	}
	hits := 0
	for i := range test.N {
		m := meanRGB(test.Image(i))
		best, bestD := 0, math.Inf(1)
		for k := range centroid {
			d := math.Hypot(math.Hypot(m[0]-centroid[k][0], m[1]-centroid[k][1]), m[2]-centroid[k][2])
			if d < bestD {
				best, bestD = k, d
			}
		}
		if best == test.Labels[i] {
			hits++
		}
	}
	if acc := float64(hits) / float64(test.N); acc > 0.4 {
		t.Errorf("mean-colour classifier accuracy = %.2f, want <= 0.4 (chance 0.25): colour must not give the class away", acc)
	}
}

func BenchmarkSynthetic(b *testing.B) {
	b.ReportAllocs()
	g := newSynth(32)
	dst := make([]float32, 3*32*32)
	for i := 0; b.Loop(); i++ {
		g.draw(dst, i%4, newRand(1, streamSynthetic, uint64(i)))
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
}

func BenchmarkColorize(b *testing.B) {
	b.ReportAllocs()
	g := gray8{s: &Set{N: 1000, C: 1, H: 28, W: 28, Labels: make([]int, 1000)}, pix: make([]byte, 1000*784)}
	for i := range g.pix {
		g.pix[i] = byte(i % 256)
	}
	for b.Loop() {
		colorize(g, 1, 0).Materialize()
	}
	b.ReportMetric(float64(b.N*g.s.N)/b.Elapsed().Seconds(), "images/s")
}
