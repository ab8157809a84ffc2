package nn

// conv2dRef is the definition of the convolution the package computes,
// the specification the fast path of conv_op.go must equal. For x [b, c,
// h, w], weights wt [out, c, k, k], stride s and zero padding p it returns
// y [b, out, oh, ow] with
//
//	oh = ⌊(h + 2p − k)/s⌋ + 1,  ow = ⌊(w + 2p − k)/s⌋ + 1
//	y[n, o, u, v] = Σ_{ci < c} Σ_{i, j < k} x[n, ci, s·u − p + i, s·v − p + j] · wt[o, ci, i, j]
//
// where x is 0 outside [0, h) × [0, w): PyTorch's conv2d without bias, a
// cross-correlation (the kernel is not flipped). The gradients the ops
// compute are its adjoints,
//
//	∂wt[o, ci, i, j] = Σ_{n, u, v} ∂y[n, o, u, v] · x[n, ci, s·u − p + i, s·v − p + j]
//	∂x[n, ci, r, q]  = Σ_{o, u, v, i, j : s·u − p + i = r, s·v − p + j = q} ∂y[n, o, u, v] · wt[o, ci, i, j]
//
// The fast path sums in another order, so it equals conv2dRef up to
// rounding: TestConvGeometries checks y against it in float64 (to 1e-12)
// for every geometry of convCases, and the gradients by finite
// differences; parity_test.go checks one case against PyTorch.
//
// It is a direct loop over the formula, for the tests: the ops never call
// it.
func conv2dRef(x []float64, b, c, h, w int, wt []float64, out, k, stride, pad int) []float64 {
	oh, ow := (h+2*pad-k)/stride+1, (w+2*pad-k)/stride+1
	y := make([]float64, b*out*oh*ow)
	for n := 0; n < b; n++ {
		for o := 0; o < out; o++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					var s float64
					for ci := 0; ci < c; ci++ {
						for i := 0; i < k; i++ {
							for j := 0; j < k; j++ {
								iy, ix := oy*stride-pad+i, ox*stride-pad+j
								if iy >= 0 && iy < h && ix >= 0 && ix < w {
									s += x[((n*c+ci)*h+iy)*w+ix] * wt[((o*c+ci)*k+i)*k+j]
								}
							}
						}
					}
					y[((n*out+o)*oh+oy)*ow+ox] = s
				}
			}
		}
	}
	return y
}
