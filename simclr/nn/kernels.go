package nn

import (
	"math"

	"github.com/simclr-ablate/simclr-ablate/simclr/nn/internal/f32"
)

// useAVX: the float32 row kernels run as AVX2 + FMA assembly (package
// f32) on CPUs that have both; the purego build tag, other architectures
// and older CPUs run the Go loops below. One build uses one or the other
// throughout: a ReLU mask recomputed from x must see the x·scale + shift
// its forward computed, to the bit, and the assembly rounds it once (FMA)
// where Go rounds twice. (A variable, so that tests compare the two.)
var useAVX = f32.Available

// use512: the Winograd transforms' row kernels (lin2D, lin2DPairs and the
// stride-2 gatherRows) run their AVX-512 forms, with the same arithmetic
// (package f32), when the CPU has AVX-512 F + VL.
var use512 = f32.AVX512

// Row kernels of the custom ops. Sums keep four float64 accumulators (the
// loops are bound by the latency of one accumulator otherwise); the ReLU
// mask is branch-free for float32 (a ReLU mask is as unpredictable as the
// data).

// sumSqRow returns Σ (x − s) and Σ (x − s)².
func sumSqRow[T float32 | float64](x []T, s float64) (sum, sq float64) {
	if x32, ok := any(x).([]float32); ok && useAVX {
		if len(x) == 0 {
			return 0, 0
		}
		return f32.SumSq(&x32[0], len(x32), s)
	}
	var a0, a1, a2, a3, b0, b1, b2, b3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v := x[i : i+4 : i+4]
		d0, d1, d2, d3 := float64(v[0])-s, float64(v[1])-s, float64(v[2])-s, float64(v[3])-s
		a0 += d0
		a1 += d1
		a2 += d2
		a3 += d3
		b0 += d0 * d0
		b1 += d1 * d1
		b2 += d2 * d2
		b3 += d3 * d3
	}
	for ; i < len(x); i++ {
		d := float64(x[i]) - s
		a0 += d
		b0 += d * d
	}
	return (a0 + a1) + (a2 + a3), (b0 + b1) + (b2 + b3)
}

// dotDevRow returns Σ dy and Σ dy·(x − mu).
func dotDevRow[T float32 | float64](dy, x []T, mu float64) (sdy, sdyx float64) {
	x = x[:len(dy)]
	if d32, ok := any(dy).([]float32); ok && useAVX {
		if len(dy) == 0 {
			return 0, 0
		}
		return f32.DotDev(&d32[0], &any(x).([]float32)[0], len(d32), mu)
	}
	var a0, a1, a2, a3, b0, b1, b2, b3 float64
	i := 0
	for ; i+4 <= len(dy); i += 4 {
		d := dy[i : i+4 : i+4]
		v := x[i : i+4 : i+4]
		d0, d1, d2, d3 := float64(d[0]), float64(d[1]), float64(d[2]), float64(d[3])
		a0 += d0
		a1 += d1
		a2 += d2
		a3 += d3
		b0 += d0 * (float64(v[0]) - mu)
		b1 += d1 * (float64(v[1]) - mu)
		b2 += d2 * (float64(v[2]) - mu)
		b3 += d3 * (float64(v[3]) - mu)
	}
	for ; i < len(dy); i++ {
		d := float64(dy[i])
		a0 += d
		b0 += d * (float64(x[i]) - mu)
	}
	return (a0 + a1) + (a2 + a3), (b0 + b1) + (b2 + b3)
}

// maskRow sets dst = dy where y > 0, else 0 (y is a ReLU output, ≥ 0).
func maskRow[T float32 | float64](dst, dy, y []T) {
	switch d := any(dst).(type) {
	case []float32:
		maskRow32(d, any(dy).([]float32), any(y).([]float32))
		return
	}
	dy, y = dy[:len(dst)], y[:len(dst)]
	for i, v := range y {
		if v > 0 {
			dst[i] = dy[i]
		} else {
			dst[i] = 0
		}
	}
}

// maskRow32 is maskRow without branches (relumask32).
func maskRow32(dst, dy, y []float32) {
	dy, y = dy[:len(dst)], y[:len(dst)]
	if useAVX {
		if len(dst) > 0 {
			f32.Mask(&dst[0], &dy[0], &y[0], len(dst))
		}
		return
	}
	for i, v := range y {
		dst[i] = relumask32(dy[i], v)
	}
}

// affineRow sets dst = x·scale + shift, or max(x·scale + shift, 0) when relu.
func affineRow[T float32 | float64](dst, x []T, scale, shift T, relu bool) {
	x = x[:len(dst)]
	if d, ok := any(dst).([]float32); ok && (relu || useAVX) {
		x32 := any(x).([]float32)
		switch {
		case !useAVX:
			affineReLURow32(d, x32, float32(scale), float32(shift))
		case len(d) == 0:
		case relu:
			f32.AffineReLU(&d[0], &x32[0], len(d), float32(scale), float32(shift))
		default:
			f32.Affine(&d[0], &x32[0], len(d), float32(scale), float32(shift))
		}
		return
	}
	if relu {
		for j, v := range x {
			dst[j] = max(v*scale+shift, 0)
		}
		return
	}
	for j, v := range x {
		dst[j] = v*scale + shift
	}
}

// affineReLURow32 is affineRow with relu for float32, the ReLU done on the
// bits (relu32): Go's max of floats handles NaN and signed zeros with
// branches, and this loop runs over every deferred BN output several
// times a step (0.55 instead of 0.8 ns a value, measured).
func affineReLURow32(dst, x []float32, scale, shift float32) {
	x = x[:len(dst)]
	for j, v := range x {
		dst[j] = relu32(v*scale + shift)
	}
}

// relu32 is max(v, 0) for every v but NaN, without a branch: +0 for
// negative v and −0.
func relu32(v float32) float32 {
	b := math.Float32bits(v)
	return math.Float32frombits(b &^ uint32(int32(b)>>31))
}

// posMask32 is all ones where v > 0, else 0 (v not NaN): the mask of
// relu32(v) > 0, the ReLU mask of a deferred BN output computed from x.
func posMask32(v float32) uint32 {
	b := math.Float32bits(v)
	return uint32(int32(b|-b)>>31) &^ uint32(int32(b)>>31)
}

// dotDevAffMaskRow is dotDevMaskRow with y = max(x·scale + shift, 0)
// recomputed from x (a deferred BN).
func dotDevAffMaskRow[T float32 | float64](dy, x []T, scale, shift T, mu float64) (sdy, sdyx float64) {
	if d, ok := any(dy).([]float32); ok {
		return dotDevAffMaskRow32(d, any(x).([]float32), float32(scale), float32(shift), mu)
	}
	x = x[:len(dy)]
	for i, d := range dy {
		if x[i]*scale+shift > 0 {
			sdy += float64(d)
			sdyx += float64(d) * (float64(x[i]) - mu)
		}
	}
	return sdy, sdyx
}

func dotDevAffMaskRow32(dy, x []float32, scale, shift float32, mu float64) (sdy, sdyx float64) {
	x = x[:len(dy)]
	if useAVX {
		if len(dy) == 0 {
			return 0, 0
		}
		return f32.DotDevAffMask(&dy[0], &x[0], len(dy), scale, shift, mu)
	}
	var a0, a1, b0, b1 float64
	i := 0
	for ; i+2 <= len(dy); i += 2 {
		d0 := float64(math.Float32frombits(math.Float32bits(dy[i]) & posMask32(x[i]*scale+shift)))
		d1 := float64(math.Float32frombits(math.Float32bits(dy[i+1]) & posMask32(x[i+1]*scale+shift)))
		a0 += d0
		a1 += d1
		b0 += d0 * (float64(x[i]) - mu)
		b1 += d1 * (float64(x[i+1]) - mu)
	}
	for ; i < len(dy); i++ {
		d := float64(math.Float32frombits(math.Float32bits(dy[i]) & posMask32(x[i]*scale+shift)))
		a0 += d
		b0 += d * (float64(x[i]) - mu)
	}
	return a0 + a1, b0 + b1
}

// bnDxAffMaskRow is bnDxMaskRow with y = max(x·scale + shift, 0)
// recomputed from x (a deferred BN).
func bnDxAffMaskRow[T float32 | float64](dst, dy, x []T, scale, shift, a, bx, c0 T) {
	if d, ok := any(dst).([]float32); ok {
		bnDxAffMaskRow32(d, any(dy).([]float32), any(x).([]float32), float32(scale), float32(shift), float32(a), float32(bx), float32(c0))
		return
	}
	dy, x = dy[:len(dst)], x[:len(dst)]
	for j, d := range dy {
		if x[j]*scale+shift <= 0 {
			d = 0
		}
		dst[j] = a*d + bx*x[j] + c0
	}
}

func bnDxAffMaskRow32(dst, dy, x []float32, scale, shift, a, bx, c0 float32) {
	dy, x = dy[:len(dst)], x[:len(dst)]
	if useAVX {
		if len(dst) > 0 {
			f32.BnDxAffMask(&dst[0], &dy[0], &x[0], len(dst), scale, shift, a, bx, c0)
		}
		return
	}
	for j, d := range dy {
		v := x[j]
		dst[j] = a*math.Float32frombits(math.Float32bits(d)&posMask32(v*scale+shift)) + bx*v + c0
	}
}

// bnDxRow sets dst = a·dy + bx·x + c0 (dy may be dst itself).
func bnDxRow[T float32 | float64](dst, dy, x []T, a, bx, c0 T) {
	dy, x = dy[:len(dst)], x[:len(dst)]
	if d32, ok := any(dst).([]float32); ok && useAVX {
		if len(d32) > 0 {
			f32.BnDx(&d32[0], &any(dy).([]float32)[0], &any(x).([]float32)[0], len(d32), float32(a), float32(bx), float32(c0))
		}
		return
	}
	for j, d := range dy {
		dst[j] = a*d + bx*x[j] + c0
	}
}

// dotDevMaskRow is dotDevRow of dy masked by y > 0 (y a ReLU output),
// without writing the masked dy.
func dotDevMaskRow[T float32 | float64](dy, y, x []T, mu float64) (sdy, sdyx float64) {
	if d, ok := any(dy).([]float32); ok {
		return dotDevMaskRow32(d, any(y).([]float32), any(x).([]float32), mu)
	}
	x, y = x[:len(dy)], y[:len(dy)]
	for i, d := range dy {
		if y[i] > 0 {
			sdy += float64(d)
			sdyx += float64(d) * (float64(x[i]) - mu)
		}
	}
	return sdy, sdyx
}

func dotDevMaskRow32(dy, y, x []float32, mu float64) (sdy, sdyx float64) {
	x, y = x[:len(dy)], y[:len(dy)]
	if useAVX {
		if len(dy) == 0 {
			return 0, 0
		}
		return f32.DotDevMask(&dy[0], &y[0], &x[0], len(dy), mu)
	}
	var a0, a1, b0, b1 float64
	i := 0
	for ; i+2 <= len(dy); i += 2 {
		d0, d1 := float64(relumask32(dy[i], y[i])), float64(relumask32(dy[i+1], y[i+1]))
		a0 += d0
		a1 += d1
		b0 += d0 * (float64(x[i]) - mu)
		b1 += d1 * (float64(x[i+1]) - mu)
	}
	for ; i < len(dy); i++ {
		d := float64(relumask32(dy[i], y[i]))
		a0 += d
		b0 += d * (float64(x[i]) - mu)
	}
	return a0 + a1, b0 + b1
}

// bnDxMaskRow is bnDxRow of dy masked by y > 0.
func bnDxMaskRow[T float32 | float64](dst, dy, y, x []T, a, bx, c0 T) {
	if d, ok := any(dst).([]float32); ok {
		bnDxMaskRow32(d, any(dy).([]float32), any(y).([]float32), any(x).([]float32), float32(a), float32(bx), float32(c0))
		return
	}
	dy, y, x = dy[:len(dst)], y[:len(dst)], x[:len(dst)]
	for j, d := range dy {
		if y[j] <= 0 {
			d = 0
		}
		dst[j] = a*d + bx*x[j] + c0
	}
}

func bnDxMaskRow32(dst, dy, y, x []float32, a, bx, c0 float32) {
	dy, y, x = dy[:len(dst)], y[:len(dst)], x[:len(dst)]
	if useAVX {
		if len(dst) > 0 {
			f32.BnDxMask(&dst[0], &dy[0], &y[0], &x[0], len(dst), a, bx, c0)
		}
		return
	}
	for j, d := range dy {
		dst[j] = a*relumask32(d, y[j]) + bx*x[j] + c0
	}
}

// relumask32 is d where y > 0, else 0, for a ReLU output y ≥ 0 (+0 or
// positive, so its bits are zero exactly where the mask is), without a
// branch.
func relumask32(d, y float32) float32 {
	b := math.Float32bits(y)
	m := uint32(int32(b|-b) >> 31)
	return math.Float32frombits(math.Float32bits(d) & m)
}

// The 2-D kernels: rows rows of n values, row r at dst[r·ds:] and
// src[r·ss:].

// rowsFit panics unless both slices hold every row (the assembly checks
// nothing) and reports whether there is anything to do.
func rowsFit[T float32 | float64](dst, src []T, rows, n, ds, ss, s int) bool {
	if rows <= 0 || n <= 0 {
		return false
	}
	_, _ = dst[(rows-1)*ds+n-1], src[(rows-1)*ss+(n-1)*s]
	return true
}

// copyRows copies the rows.
func copyRows[T float32 | float64](dst, src []T, rows, n, ds, ss int) {
	if !rowsFit(dst, src, rows, n, ds, ss, 1) {
		return
	}
	if d32, ok := any(dst).([]float32); ok && useAVX {
		f32.Copy2D(&d32[0], &any(src).([]float32)[0], rows, n, ds, ss)
		return
	}
	for r := 0; r < rows; r++ {
		copy(dst[r*ds:r*ds+n], src[r*ss:r*ss+n])
	}
}

// affineRows is affineRow of every row; dst may be src (ds = ss).
func affineRows[T float32 | float64](dst, src []T, rows, n, ds, ss int, scale, shift T, relu bool) {
	if !rowsFit(dst, src, rows, n, ds, ss, 1) {
		return
	}
	if d32, ok := any(dst).([]float32); ok && useAVX {
		floor := float32(math.Inf(-1))
		if relu {
			floor = 0
		}
		f32.Affine2D(&d32[0], &any(src).([]float32)[0], rows, n, ds, ss, float32(scale), float32(shift), floor)
		return
	}
	for r := 0; r < rows; r++ {
		affineRow(dst[r*ds:r*ds+n], src[r*ss:r*ss+n], scale, shift, relu)
	}
}

// gatherRows sets dst[r·ds + v] = src[r·ss + v·s] for v < n.
func gatherRows[T float32 | float64](dst, src []T, rows, n, ds, ss, s int) {
	if !rowsFit(dst, src, rows, n, ds, ss, s) {
		return
	}
	if d32, ok := any(dst).([]float32); ok && useAVX && s == 2 {
		if use512 {
			f32.Gather2D512(&d32[0], &any(src).([]float32)[0], rows, n, ds, ss)
			return
		}
		f32.Gather2D(&d32[0], &any(src).([]float32)[0], rows, n, ds, ss)
		return
	}
	for r := 0; r < rows; r++ {
		d, sr := dst[r*ds:r*ds+n], src[r*ss:]
		for v := range d {
			d[v] = sr[v*s]
		}
	}
}

// interleaveRows sets dst[r·ds + 2v] = a[r·sa + v] and dst[r·ds + 2v + 1]
// = b[r·sb + v] for v < n.
func interleaveRows[T float32 | float64](dst, a, b []T, rows, n, ds, sa, sb int) {
	if rows <= 0 || n <= 0 {
		return
	}
	_, _, _ = dst[(rows-1)*ds+2*n-1], a[(rows-1)*sa+n-1], b[(rows-1)*sb+n-1]
	if d32, ok := any(dst).([]float32); ok && useAVX {
		f32.Interleave2D(&d32[0], &any(a).([]float32)[0], &any(b).([]float32)[0], rows, n, ds, sa, sb)
		return
	}
	for r := 0; r < rows; r++ {
		d, ar, br := dst[r*ds:r*ds+2*n], a[r*sa:r*sa+n], b[r*sb:r*sb+n]
		for v := range ar {
			d[2*v], d[2*v+1] = ar[v], br[v]
		}
	}
}

// lin2D sets dst = a + sb·b + sc·c (sb, sc ±1 or 0) in outer·inner rows of
// n values: row (o, i) of dst at o·dso + i·dsi, of a, b and c at o·sso +
// i·ssi. c is read only when sc is not 0.
func lin2D[T float32 | float64](dst, a, b, c []T, outer, inner, n, dso, dsi, sso, ssi int, sb, sc T) {
	if outer <= 0 || inner <= 0 || n <= 0 {
		return
	}
	if sc == 0 {
		c = a
	}
	last := (outer-1)*sso + (inner-1)*ssi + n - 1
	_, _, _, _ = dst[(outer-1)*dso+(inner-1)*dsi+n-1], a[last], b[last], c[last]
	if d32, ok := any(dst).([]float32); ok && useAVX {
		if use512 {
			f32.Lin2D512(&d32[0], &any(a).([]float32)[0], &any(b).([]float32)[0], &any(c).([]float32)[0],
				outer, inner, n, dso, dsi, sso, ssi, float32(sb), float32(sc))
			return
		}
		f32.Lin2D(&d32[0], &any(a).([]float32)[0], &any(b).([]float32)[0], &any(c).([]float32)[0],
			outer, inner, n, dso, dsi, sso, ssi, float32(sb), float32(sc))
		return
	}
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			d := dst[o*dso+i*dsi : o*dso+i*dsi+n]
			s := o*sso + i*ssi
			ar, br := a[s:s+n], b[s:s+n]
			if sc == 0 {
				for j := range d {
					d[j] = ar[j] + sb*br[j]
				}
				continue
			}
			cr := c[s : s+n]
			for j := range d {
				d[j] = ar[j] + sb*br[j] + sc*cr[j]
			}
		}
	}
}

// lin2DPairs is lin2D of two rows of n values at once, interleaved: for
// v < n and j = 0, 1, dst[2v+j] = a[j·off+v] + sb·b[j·off+v] +
// sc·c[j·off+v], in rows rows, row r of dst at r·ds and of a, b and c at
// r·sa (b and c may be nil when sb, sc are 0).
func lin2DPairs[T float32 | float64](dst, a, b, c []T, rows, n, ds, sa, off int, sb, sc T) {
	if rows <= 0 || n <= 0 {
		return
	}
	if sc == 0 {
		c = a
	}
	if sb == 0 {
		b = a
	}
	last := (rows-1)*sa + off + n - 1
	_, _, _, _ = dst[(rows-1)*ds+2*n-1], a[last], b[last], c[last]
	if d32, ok := any(dst).([]float32); ok && useAVX {
		if use512 {
			f32.Lin2DPairs512(&d32[0], &any(a).([]float32)[0], &any(b).([]float32)[0], &any(c).([]float32)[0],
				rows, n, ds, sa, off, float32(sb), float32(sc))
			return
		}
		f32.Lin2DPairs(&d32[0], &any(a).([]float32)[0], &any(b).([]float32)[0], &any(c).([]float32)[0],
			rows, n, ds, sa, off, float32(sb), float32(sc))
		return
	}
	for r := 0; r < rows; r++ {
		d := dst[r*ds : r*ds+2*n]
		for j := 0; j < 2; j++ {
			s := r*sa + j*off
			ar, br, cr := a[s:s+n], b[s:s+n], c[s:s+n]
			for v := range ar {
				d[2*v+j] = ar[v] + sb*br[v] + sc*cr[v]
			}
		}
	}
}
