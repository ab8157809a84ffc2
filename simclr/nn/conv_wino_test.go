package nn

import (
	"math"
	"math/rand"
	"testing"

	"gorgonia.org/tensor"
)

// winoCases are the stride-1 3×3 geometries of the encoders and ragged
// ones (odd output rows and columns, no padding, padding 2).
var winoCases = []convCase{
	{3, 16, 28, 28, 16, 3, 1, 1},
	{2, 32, 14, 14, 32, 3, 1, 1},
	{2, 64, 7, 7, 64, 3, 1, 1},
	{2, 3, 32, 32, 16, 3, 1, 1},
	{2, 5, 9, 6, 3, 3, 1, 0},
	{2, 4, 5, 7, 6, 3, 1, 2},
	{1, 2, 1, 2, 3, 3, 1, 1},
	{1, 3, 5, 5, 2, 3, 1, 0},
}

// TestWinogradMatchesReference: the Winograd forward (float32, with and
// without a deferred BN + ReLU applied on the way in) against the
// definition computed in float64, and against the direct products, at
// float32 tolerance, on the stride-1 3×3 geometries of the encoders and
// ragged ones (odd output rows and columns, no padding, padding 2).
func TestWinogradMatchesReference(t *testing.T) {
	for _, c := range winoCases {
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

// TestWinogradGradWMatchesReference: the Winograd ∂w (float32, with and
// without a deferred BN + ReLU applied to x) against conv2dRef's ∂w
// computed in float64 and against the direct per-tap products, at float32
// tolerance, on the geometries of TestWinogradMatchesReference.
func TestWinogradGradWMatchesReference(t *testing.T) {
	for _, c := range winoCases {
		for _, withPre := range []bool{false, true} {
			g, err := newConvGeom([]int{c.b, c.in, c.h, c.w}, []int{c.out, c.in, c.k, c.k}, tensor.Float32, c.stride, c.pad)
			if err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewSource(4))
			x, dy := randf32(r, c.b*c.in*c.h*c.w), randf32(r, c.b*c.out*g.oh*g.ow)
			x64 := make([]float64, len(x))
			for i, v := range x {
				x64[i] = float64(v)
			}
			var pre *bnOp
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
			want := conv2dRefGradW(x64, c.b, c.in, c.h, c.w, dy, c.out, 3, 1, c.pad)
			got := make([]float32, len(want))
			convBackW(g, new(convBuffers), new(workspace), x, dy, got, pre)
			direct := make([]float32, len(want))
			useWinograd = false
			convBackW(g, new(convBuffers), new(workspace), x, dy, direct, pre)
			useWinograd = true
			// float32 rounding of a sum of b·oh·ow products of values about 1.
			n := float64(c.b * g.oh * g.ow)
			tol := 4e-7 * n
			for i := range want {
				if d := math.Abs(float64(got[i]) - want[i]); d > tol*(1+math.Abs(want[i])) {
					t.Fatalf("%v pre=%v: dw[%d] = %v, reference %v (direct products %v)", c, withPre, i, got[i], want[i], direct[i])
				}
				if d := math.Abs(float64(direct[i]) - want[i]); d > tol*(1+math.Abs(want[i])) {
					t.Fatalf("%v pre=%v: direct dw[%d] = %v, reference %v", c, withPre, i, direct[i], want[i])
				}
			}
		}
	}
}

// conv2dRefGradW is conv2dRef's ∂wt for ∂y dy, a direct loop over its
// formula.
func conv2dRefGradW(x []float64, b, c, h, w int, dy []float32, out, k, stride, pad int) []float64 {
	oh, ow := (h+2*pad-k)/stride+1, (w+2*pad-k)/stride+1
	dw := make([]float64, out*c*k*k)
	for n := 0; n < b; n++ {
		for o := 0; o < out; o++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					d := float64(dy[((n*out+o)*oh+oy)*ow+ox])
					for ci := 0; ci < c; ci++ {
						for i := 0; i < k; i++ {
							for j := 0; j < k; j++ {
								iy, ix := oy*stride-pad+i, ox*stride-pad+j
								if iy >= 0 && iy < h && ix >= 0 && ix < w {
									dw[((o*c+ci)*k+i)*k+j] += d * x[((n*c+ci)*h+iy)*w+ix]
								}
							}
						}
					}
				}
			}
		}
	}
	return dw
}
