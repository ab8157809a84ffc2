package augment

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// randImage is a [c, h, w] image of uniform values in [0, 1).
func randImage(seed uint64, c, h, w int) []float32 {
	r := rand.New(rand.NewPCG(seed, 99))
	x := make([]float32, c*h*w)
	for i := range x {
		x[i] = r.Float32()
	}
	return x
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 7)) }

func TestBlurKernelSize(t *testing.T) {
	for _, tc := range []struct{ side, want int }{
		{8, 3}, {28, 3}, {32, 3}, {40, 5}, {50, 5}, {96, 9}, {224, 23}, {1, 3},
	} {
		if got := BlurKernelSize(tc.side, 0.1); got != tc.want {
			t.Errorf("BlurKernelSize(%d, 0.1) = %d, want %d", tc.side, got, tc.want)
		}
	}
}

func TestGaussianKernel(t *testing.T) {
	// exp(-1/2) = 0.60653066; normalised by 1 + 2·0.60653066.
	k := make([]float32, 3)
	GaussianKernel(k, 1)
	want := []float64{0.27406862, 0.45186276, 0.27406862}
	for i := range k {
		if math.Abs(float64(k[i])-want[i]) > 1e-7 {
			t.Errorf("GaussianKernel(3, 1)[%d] = %v, want %v", i, k[i], want[i])
		}
	}
	k = make([]float32, 23)
	GaussianKernel(k, 2)
	var sum float64
	for i := range k {
		sum += float64(k[i])
		if k[i] != k[len(k)-1-i] {
			t.Errorf("GaussianKernel(23, 2)[%d] = %v, [%d] = %v, want symmetric", i, k[i], len(k)-1-i, k[len(k)-1-i])
		}
	}
	if math.Abs(sum-1) > 1e-6 {
		t.Errorf("sum of GaussianKernel(23, 2) = %v, want 1", sum)
	}
}

func TestReflect(t *testing.T) {
	for _, tc := range []struct{ i, n, want int }{
		{0, 5, 0}, {4, 5, 4}, {-1, 5, 1}, {-2, 5, 2}, {5, 5, 3}, {6, 5, 2},
		{-4, 5, 4}, {-5, 5, 3}, {9, 5, 1}, {-1, 2, 1}, {2, 2, 0}, {3, 1, 0}, {-7, 1, 0},
	} {
		if got := reflect(tc.i, tc.n); got != tc.want {
			t.Errorf("reflect(%d, %d) = %d, want %d", tc.i, tc.n, got, tc.want)
		}
	}
}

func TestGaussianBlurKeepsConstants(t *testing.T) {
	// Reflect padding and a normalised kernel: a flat image stays flat, at
	// the borders too, even with a kernel wider than the image.
	for _, size := range []int{3, 5, 9} {
		x := make([]float32, 2*5*4)
		for i := range x {
			x[i] = 0.3
		}
		GaussianBlur(x, x, 2, 5, 4, size, 1.5)
		for i, v := range x {
			if math.Abs(float64(v)-0.3) > 1e-6 {
				t.Fatalf("GaussianBlur(flat 0.3, size %d)[%d] = %v, want 0.3", size, i, v)
			}
		}
	}
}

func TestSampleCrop(t *testing.T) {
	rng := newRand(1)
	for _, sh := range [][2]int{{28, 28}, {10, 40}, {40, 10}, {32, 24}} {
		h, w := sh[0], sh[1]
		for i := 0; i < 500; i++ {
			top, left, ch, cw := SampleCrop(h, w, 0.08, 1, 3.0/4, 4.0/3, rng)
			if top < 0 || left < 0 || ch <= 0 || cw <= 0 || top+ch > h || left+cw > w {
				t.Fatalf("SampleCrop(%d, %d) = (%d, %d, %d, %d), outside the image", h, w, top, left, ch, cw)
			}
			// Accepted windows have area ≈ U[0.08, 1] of the image and the
			// aspect range, up to rounding to whole pixels; the fallback
			// is centred.
			area := float64(ch*cw) / float64(h*w)
			lo := 0.08 * float64(h*w)
			if float64((ch+1)*(cw+1)) < lo || area > 1 {
				t.Fatalf("SampleCrop(%d, %d) area fraction %.3f, want within [0.08, 1] up to rounding", h, w, area)
			}
		}
	}
	for _, tc := range []struct {
		h, w                    int
		top, left, ch, cw       int
		minScale, maxScale, rLo float64
	}{
		// Full area cannot meet the aspect range: centred fallback clipped
		// to the range, as torchvision.
		{10, 40, 0, 13, 10, 13, 1, 1, 3.0 / 4},
		{40, 10, 13, 0, 13, 10, 1, 1, 3.0 / 4},
		{28, 28, 0, 0, 28, 28, 1, 1, 3.0 / 4},
	} {
		for seed := uint64(0); seed < 5; seed++ {
			top, left, ch, cw := SampleCrop(tc.h, tc.w, tc.minScale, tc.maxScale, tc.rLo, 4.0/3, newRand(seed))
			if top != tc.top || left != tc.left || ch != tc.ch || cw != tc.cw {
				t.Errorf("SampleCrop(%d, %d, scale 1) = (%d, %d, %d, %d), want (%d, %d, %d, %d)",
					tc.h, tc.w, top, left, ch, cw, tc.top, tc.left, tc.ch, tc.cw)
			}
		}
	}
}

func TestResizedCropWholeImageIsIdentity(t *testing.T) {
	src := randImage(3, 3, 7, 9)
	dst := make([]float32, len(src))
	ResizedCrop(dst, src, 3, 7, 9, 0, 0, 7, 9, 7, 9)
	if !slices.Equal(dst, src) {
		t.Errorf("ResizedCrop(whole image, same size) changed the image")
	}
	// One pixel blown up is constant.
	ResizedCrop(dst, src, 3, 7, 9, 2, 5, 1, 1, 7, 9)
	for ch := 0; ch < 3; ch++ {
		want := src[ch*63+2*9+5]
		for i, v := range dst[ch*63 : (ch+1)*63] {
			if v != want {
				t.Fatalf("ResizedCrop(1x1 window)[%d][%d] = %v, want %v", ch, i, v, want)
			}
		}
	}
}

func TestRot90(t *testing.T) {
	src := []float32{1, 2, 3, 4, 5, 6} // [1, 2, 3]
	for _, tc := range []struct {
		k    int
		want []float32
	}{
		{1, []float32{3, 6, 2, 5, 1, 4}}, // torch.rot90([[1,2,3],[4,5,6]]) = [[3,6],[2,5],[1,4]]
		{2, []float32{6, 5, 4, 3, 2, 1}},
		{3, []float32{4, 1, 5, 2, 6, 3}},
		{0, []float32{1, 2, 3, 4, 5, 6}},
		{-1, []float32{4, 1, 5, 2, 6, 3}},
	} {
		got := make([]float32, 6)
		Rot90(got, src, 1, 2, 3, tc.k)
		if !slices.Equal(got, tc.want) {
			t.Errorf("Rot90([[1 2 3] [4 5 6]], k=%d) = %v, want %v", tc.k, got, tc.want)
		}
	}
	x := randImage(4, 3, 5, 8)
	a, b := make([]float32, len(x)), make([]float32, len(x))
	Rot90(a, x, 3, 5, 8, 1)
	Rot90(b, a, 3, 8, 5, 3)
	if !slices.Equal(b, x) {
		t.Errorf("Rot90(Rot90(x, 1), 3) != x on a 3x5x8 image")
	}
}

func TestHFlip(t *testing.T) {
	x := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12} // [2, 2, 3]
	HFlip(x, 2, 2, 3)
	want := []float32{3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10}
	if !slices.Equal(x, want) {
		t.Errorf("HFlip([2,2,3] 1..12) = %v, want %v", x, want)
	}
}

func TestErase(t *testing.T) {
	for _, tc := range []struct {
		top, left, eh, ew int
		want              int // erased pixels per channel
	}{
		{1, 1, 2, 2, 4},
		{-1, -1, 3, 3, 4},  // clipped top-left
		{3, 3, 5, 5, 1},    // clipped bottom-right of a 4x4
		{-5, 0, 3, 3, 0},   // entirely outside
		{0, 0, 10, 10, 16}, // covers everything
	} {
		x := make([]float32, 2*4*4)
		for i := range x {
			x[i] = 1
		}
		Erase(x, 2, 4, 4, tc.top, tc.left, tc.eh, tc.ew, 0)
		for ch := 0; ch < 2; ch++ {
			zeros := 0
			for _, v := range x[ch*16 : (ch+1)*16] {
				if v == 0 {
					zeros++
				}
			}
			if zeros != tc.want {
				t.Errorf("Erase(4x4, top %d left %d %dx%d) erased %d pixels of channel %d, want %d",
					tc.top, tc.left, tc.eh, tc.ew, zeros, ch, tc.want)
			}
		}
	}
}

func TestOneChannelColor(t *testing.T) {
	x := []float32{0, 0.2, 0.4, 1} // [1, 2, 2], mean 0.4
	AdjustContrast(x, 1, 2, 2, 0.5)
	want := []float32{0.2, 0.3, 0.4, 0.7} // 0.5·x + 0.5·0.4
	for i := range x {
		if math.Abs(float64(x[i]-want[i])) > 1e-7 {
			t.Errorf("AdjustContrast(1 channel, 0.5)[%d] = %v, want %v", i, x[i], want[i])
		}
	}
	AdjustBrightness(x, 1, 2, 2, 2)
	want = []float32{0.4, 0.6, 0.8, 1} // clipped at 1
	for i := range x {
		if math.Abs(float64(x[i]-want[i])) > 1e-7 {
			t.Errorf("AdjustBrightness(1 channel, 2)[%d] = %v, want %v", i, x[i], want[i])
		}
	}
	before := slices.Clone(x)
	AdjustSaturation(x, 1, 2, 2, 0)
	AdjustHue(x, 1, 2, 2, 0.3)
	Grayscale(x, 1, 2, 2)
	if !slices.Equal(x, before) {
		t.Errorf("AdjustSaturation/AdjustHue/Grayscale changed a 1-channel image: %v, want %v", x, before)
	}
}

func TestAdjustHue(t *testing.T) {
	x := randImage(5, 3, 6, 6)
	y := slices.Clone(x)
	AdjustHue(y, 3, 6, 6, 0)
	for i := range x {
		if math.Abs(float64(y[i]-x[i])) > 1e-6 {
			t.Fatalf("AdjustHue(x, 0)[%d] = %v, want %v", i, y[i], x[i])
		}
	}
	// Pure red shifted by a third of a turn is pure green.
	red := []float32{1, 0, 0}
	AdjustHue(red, 3, 1, 1, 1.0/3)
	if want := []float32{0, 1, 0}; math.Abs(float64(red[0]-want[0])) > 1e-6 || math.Abs(float64(red[1]-want[1])) > 1e-6 || red[2] != 0 {
		t.Errorf("AdjustHue(red, 1/3) = %v, want %v", red, want)
	}
}

func TestSobelMagnitude(t *testing.T) {
	x := []float32{1, 1, 1, 1, 1, 1, 1, 1, 1} // flat 3x3, zero padded
	got := make([]float32, 9)
	SobelMagnitude(got, x, 1, 3, 3)
	c := float32(3 * math.Sqrt2)
	want := []float32{c, 4, c, 4, 0, 4, c, 4, c}
	for i := range got {
		if math.Abs(float64(got[i]-want[i])) > 1e-6 {
			t.Errorf("SobelMagnitude(flat 3x3)[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestSalientWindow(t *testing.T) {
	e := make([]float32, 10*10)
	integral := make([]float64, 11*11)
	if top, left := SalientWindow(e, 10, 10, 4, 3, integral); top != 3 || left != 3 {
		t.Errorf("SalientWindow(flat, 4x3) = (%d, %d), want the centre (3, 3)", top, left)
	}
	e[7*10+8] = 1
	if top, left := SalientWindow(e, 10, 10, 3, 3, integral); top != 5 || left != 6 {
		t.Errorf("SalientWindow(peak at (7, 8), 3x3) = (%d, %d), want (5, 6)", top, left)
	}
	e[1*10+1] = 2
	if top, left := SalientWindow(e, 10, 10, 3, 3, integral); top != 0 || left != 0 {
		t.Errorf("SalientWindow(peaks (7, 8)=1, (1, 1)=2, 3x3) = (%d, %d), want (0, 0)", top, left)
	}
}
