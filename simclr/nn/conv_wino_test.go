package nn

import (
	"math"
	"math/rand"
	"testing"

	"gorgonia.org/tensor"
)

// TestWinogradMatchesReference: the Winograd forward (float32, with and
// without a deferred BN + ReLU applied on the way in) against the
// definition computed in float64, and against the direct products, at
// float32 tolerance, on the stride-1 3×3 geometries of the encoders and
// ragged ones (odd output rows and columns, no padding, padding 2).
func TestWinogradMatchesReference(t *testing.T) {
	cases := []convCase{
		{3, 16, 28, 28, 16, 3, 1, 1},
		{2, 32, 14, 14, 32, 3, 1, 1},
		{2, 64, 7, 7, 64, 3, 1, 1},
		{2, 3, 32, 32, 16, 3, 1, 1},
		{2, 5, 9, 6, 3, 3, 1, 0},
		{2, 4, 5, 7, 6, 3, 1, 2},
		{1, 2, 1, 2, 3, 3, 1, 1},
	}
	for _, c := range cases {
		for _, withPre := range []bool{false, true} {
			g, err := newConvGeom([]int{c.b, c.in, c.h, c.w}, []int{c.out, c.in, c.k, c.k}, tensor.Float32, c.stride, c.pad)
			if err != nil {
				t.Fatal(err)
			}
			if !winoUsed(g) {
				t.Fatalf("%v: Winograd not used", c)
			}
			r := rand.New(rand.NewSource(3))
			x, w := randf32(r, c.b*c.in*c.h*c.w), randf32(r, c.out*c.in*9)
			var pre *bnOp
			x64 := make([]float64, len(x))
			for i, v := range x {
				x64[i] = float64(v)
			}
			if withPre {
				pre = &bnOp{relu: true, scale: make([]float64, c.in), shift: make([]float64, c.in)}
				for ch := range pre.scale {
					pre.scale[ch], pre.shift[ch] = float64(float32(r.NormFloat64())), float64(float32(0.3*r.NormFloat64()))
				}
				hw := c.h * c.w
				for i, v := range x {
					ch := i / hw % c.in
					x64[i] = math.Max(0, float64(float32(v*float32(pre.scale[ch])+float32(pre.shift[ch]))))
				}
			}
			w64 := make([]float64, len(w))
			for i, v := range w {
				w64[i] = float64(v)
			}
			want := conv2dRef(x64, c.b, c.in, c.h, c.w, w64, c.out, 3, 1, c.pad)
			got := make([]float32, len(want))
			convForward(g, new(convBuffers), x, w, got, nil, pre)
			direct := make([]float32, len(want))
			useWinograd = false
			convForward(g, new(convBuffers), x, w, direct, nil, pre)
			useWinograd = true
			// float32 rounding of a sum of 9·in products of values about 1.
			tol := 4e-7 * float64(9*c.in)
			for i := range want {
				if d := math.Abs(float64(got[i]) - want[i]); d > tol*(1+math.Abs(want[i])) {
					t.Fatalf("%v pre=%v: y[%d] = %v, reference %v (direct products %v)", c, withPre, i, got[i], want[i], direct[i])
				}
				if d := math.Abs(float64(direct[i]) - want[i]); d > tol*(1+math.Abs(want[i])) {
					t.Fatalf("%v pre=%v: direct y[%d] = %v, reference %v", c, withPre, i, direct[i], want[i])
				}
			}
		}
	}
}
