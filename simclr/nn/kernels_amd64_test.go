//go:build amd64 && !purego && linux

package nn

import (
	"fmt"
	"math"
	"math/rand"
	"syscall"
	"testing"
	"unsafe"
)

// The assembly kernels against the Go loops they replace, on every length
// up to three vector steps and a 28×28 row (the loops' tails), with every
// input ending at a page the process may not read (guarded): a kernel that
// reads one value too far faults.

var kernelLens = func() []int {
	var ns []int
	for n := 0; n <= 40; n++ {
		ns = append(ns, n)
	}
	return append(ns, 63, 64, 65, 784)
}()

func needAVX(t testing.TB) {
	t.Helper()
	if !useAVX {
		t.Skip("this CPU has no AVX2 + FMA: the Go loops run (tested by every other test)")
	}
}

// with512 runs f with the AVX-512 row kernels on or off.
func with512(on bool, f func()) {
	old := use512
	use512 = on
	defer func() { use512 = old }()
	f()
}

// withAVX runs f with the assembly kernels on or off.
func withAVX(on bool, f func()) {
	old := useAVX
	useAVX = on
	defer func() { useAVX = old }()
	f()
}

// guarded returns a slice of n float32 whose end is the start of a page
// mapped without access; free unmaps it.
func guarded(t *testing.T, vals []float32) []float32 {
	t.Helper()
	page := syscall.Getpagesize()
	size := (len(vals)*4+page-1)/page*page + page
	mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Munmap(mem) })
	if err := syscall.Mprotect(mem[size-page:], syscall.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	end := size - page
	s := unsafe.Slice((*float32)(unsafe.Pointer(&mem[end-len(vals)*4])), len(vals))
	copy(s, vals)
	return s[:len(vals):len(vals)]
}

// kernelData returns n normal values; zero (every third) and negative zero
// (every seventh) when relu, as ReLU outputs and masks meet them.
func kernelData(r *rand.Rand, n int, reluOut bool) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
		if reluOut {
			v[i] = float32(math.Abs(float64(v[i])))
			if i%3 == 0 {
				v[i] = 0
			}
		}
	}
	return v
}

func closeTo(got, want, scale float64) bool {
	return math.Abs(got-want) <= 1e-6*scale+1e-7
}

func TestAVXKernelsMatchGo(t *testing.T) {
	needAVX(t)
	r := rand.New(rand.NewSource(21))
	const scale, shift, a, bx, c0, mu = 0.8, -0.3, 1.3, -0.7, 0.05, 0.2
	for _, n := range kernelLens {
		dyv, xv, yv := kernelData(r, n, false), kernelData(r, n, false), kernelData(r, n, true)
		dy, x, y := guarded(t, dyv), guarded(t, xv), guarded(t, yv)
		type out32 struct {
			name string
			f    func(dst []float32)
		}
		for _, k := range []out32{
			{"affine", func(d []float32) { affineRow(d, x, scale, shift, false) }},
			{"affineReLU", func(d []float32) { affineRow(d, x, scale, shift, true) }},
			{"bnDx", func(d []float32) { bnDxRow(d, dy, x, a, bx, c0) }},
			{"bnDxMask", func(d []float32) { bnDxMaskRow32(d, dy, y, x, a, bx, c0) }},
			{"bnDxAffMask", func(d []float32) { bnDxAffMaskRow32(d, dy, x, scale, shift, a, bx, c0) }},
			{"mask", func(d []float32) { maskRow32(d, dy, y) }},
			{"addAffReLU", func(d []float32) { addAffReLURow32(d, x, dy, scale, shift, 1.1, 0.1, true, false) }},
			{"addAffReLU2", func(d []float32) { addAffReLURow32(d, x, dy, 1, 0, -0.9, 0.2, false, true) }},
		} {
			want, got := guarded(t, make([]float32, n)), guarded(t, make([]float32, n))
			withAVX(false, func() { k.f(want) })
			k.f(got)
			for i := range want {
				if !closeTo(float64(got[i]), float64(want[i]), 3) {
					t.Errorf("%s n=%d [%d]: asm %v, Go %v", k.name, n, i, got[i], want[i])
					break
				}
			}
		}
		type sums struct {
			name string
			f    func() (float64, float64)
		}
		for _, k := range []sums{
			{"sumSq", func() (float64, float64) { return sumSqRow(x, mu) }},
			{"dotDev", func() (float64, float64) { return dotDevRow(dy, x, mu) }},
			{"dotDevMask", func() (float64, float64) { return dotDevMaskRow32(dy, y, x, mu) }},
			{"dotDevAffMask", func() (float64, float64) { return dotDevAffMaskRow32(dy, x, scale, shift, mu) }},
		} {
			var w0, w1 float64
			withAVX(false, func() { w0, w1 = k.f() })
			g0, g1 := k.f()
			if !closeTo(g0, w0, float64(n)*1e-6) || !closeTo(g1, w1, float64(n)*1e-6) {
				t.Errorf("%s n=%d: asm (%v, %v), Go (%v, %v)", k.name, n, g0, g1, w0, w1)
			}
		}
	}
}

// TestAVX2DKernelsMatchGo: the 2-D kernels against the Go loops, three
// rows with gaps between them in both dst and src, whose values between
// the rows must stay as they were.
func TestAVX2DKernelsMatchGo(t *testing.T) {
	needAVX(t)
	r := rand.New(rand.NewSource(23))
	const rows, sentinel = 3, 12345
	for _, n := range kernelLens[1:] {
		ia := guarded(t, kernelData(r, (rows-1)*(n+5)+n/2, false)) // interleaveRows' a and b
		ib := guarded(t, kernelData(r, (rows-1)*(n+5)+n/2, false))
		for _, k := range []struct {
			name string
			s    int // source step
			f    func(dst, src []float32, ds, ss int)
		}{
			{"copyRows", 1, func(d, x []float32, ds, ss int) { copyRows(d, x, rows, n, ds, ss) }},
			{"affineRows", 1, func(d, x []float32, ds, ss int) { affineRows(d, x, rows, n, ds, ss, 0.8, -0.3, false) }},
			{"affineRows+relu", 1, func(d, x []float32, ds, ss int) { affineRows(d, x, rows, n, ds, ss, 0.8, -0.3, true) }},
			{"gatherRows", 2, func(d, x []float32, ds, ss int) { gatherRows(d, x, rows, n, ds, ss, 2) }},
			{"interleaveRows", 1, func(d, _ []float32, ds, ss int) {
				interleaveRows(d, ia, ib, rows, n/2, ds, ss, ss) // dst rows of 2·(n/2) ≤ n
			}},
		} {
			ds, ss := n+3, k.s*n+5
			src := guarded(t, kernelData(r, (rows-1)*ss+(n-1)*k.s+1, false))
			init := make([]float32, (rows-1)*ds+n)
			for i := range init {
				init[i] = sentinel
			}
			want, got := guarded(t, init), guarded(t, init)
			withAVX(false, func() { k.f(want, src, ds, ss) })
			for _, wide := range asmWidths() {
				with512(wide, func() { k.f(got, src, ds, ss) })
				for i := range want {
					if !closeTo(float64(got[i]), float64(want[i]), 3) {
						t.Errorf("%s n=%d avx512=%v [%d] (row %d): asm %v, Go %v", k.name, n, wide, i, i/ds, got[i], want[i])
						break
					}
				}
			}
		}
	}
}

// TestAVXMasksAgree: the ReLU masks recomputed from x (deferred BNs) agree
// to the bit with the ReLU the forward applied, for x·scale + shift within
// rounding of 0, where one fused multiply-add and a multiply then an add
// disagree; and the residual add with a deferred input equals the add of
// the stored BN output.
func TestAVXMasksAgree(t *testing.T) {
	needAVX(t)
	r := rand.New(rand.NewSource(22))
	for trial := 0; trial < 51; trial++ {
		n := 8 + r.Intn(60)
		x := kernelData(r, n, false)
		scale := float32(r.NormFloat64())
		// shift = −x[k]·scale rounded: x[k]·scale + shift is a rounding
		// error away from 0 for every k, of either sign.
		k := r.Intn(n)
		shift := -x[k] * scale
		for i := range x {
			if i%2 == 0 {
				x[i] = x[k] * float32(1+float64(r.Intn(5)-2)*1e-7)
			}
		}
		if trial == 50 { // exactly 0 (2·0.5 − 1), in the vector loop and the tail
			scale, shift, n = 0.5, -1, 15
			x = make([]float32, n)
			for i := range x {
				x[i] = float32(i%4) * 0.5 * 2 // 0, 1, 2, 3: −1, −0.5, 0, 0.5
			}
		}
		y := make([]float32, n)
		affineRow(y, x, scale, shift, true)
		ones := make([]float32, n)
		for i := range ones {
			ones[i] = 1
		}
		masked := make([]float32, n)
		bnDxAffMaskRow32(masked, ones, x, scale, shift, 1, 0, 0)
		count := 0
		for i := range y {
			if (y[i] > 0) != (masked[i] != 0) {
				t.Fatalf("x=%v scale=%v shift=%v: ReLU output %v, recomputed mask passes %v", x[i], scale, shift, y[i], masked[i])
			}
			if y[i] > 0 {
				count++
			}
			if math.Float32bits(y[i]) == 1<<31 {
				t.Fatalf("ReLU output −0 for x=%v", x[i])
			}
		}
		if s, _ := dotDevAffMaskRow32(ones, x, scale, shift, 0); s != float64(count) {
			t.Fatalf("dotDevAffMask counts %v values above 0, the ReLU %d", s, count)
		}
		b := kernelData(r, n, false)
		deferred, stored := make([]float32, n), make([]float32, n)
		addAffReLURow32(deferred, x, b, scale, shift, 1, 0, true, false)
		for i := range stored {
			stored[i] = max(y[i]+b[i], 0)
		}
		for i := range stored {
			if math.Float32bits(deferred[i]) != math.Float32bits(stored[i]) {
				t.Fatalf("residual add: deferred %v, stored %v", deferred[i], stored[i])
			}
		}
	}
}

func BenchmarkRowKernels(b *testing.B) {
	needAVX(b)
	r := rand.New(rand.NewSource(1))
	for _, n := range []int{28, 196, 784} {
		dy, x, y := kernelData(r, n, false), kernelData(r, n, false), kernelData(r, n, true)
		dst := make([]float32, n)
		for _, impl := range []struct {
			name string
			avx  bool
		}{{"go", false}, {"avx", true}} {
			run := func(name string, f func()) {
				b.Run(fmt.Sprintf("%s/n=%d/%s", name, n, impl.name), func(b *testing.B) {
					withAVX(impl.avx, func() {
						for i := 0; i < b.N; i++ {
							f()
						}
					})
				})
			}
			run("affineReLU", func() { affineRow(dst, x, 0.8, 0.1, true) })
			run("dotDevAffMask", func() { dotDevAffMaskRow32(dy, x, 0.8, 0.1, 0.2) })
			run("bnDxAffMask", func() { bnDxAffMaskRow32(dst, dy, x, 0.8, 0.1, 1.1, 0.2, 0.3) })
			run("sumSq", func() { sumSqRow(x, 0) })
			run("mask", func() { maskRow32(dst, dy, y) })
			run("gather2", func() { gatherRows(dst, x, 1, n/2, n, n, 2) })
			run("copyRows", func() { copyRows(dst, x, n/28, 28, 28, 28) })
		}
	}
}

// TestLin2DMatchesGo: lin2D's assembly equals its Go loop bit for bit (a
// ± b ± c rounded the same way), on 2 × 3 rows with gaps, every operand
// ending at a guarded page, and leaves the gaps of dst alone.
func TestLin2DMatchesGo(t *testing.T) {
	needAVX(t)
	r := rand.New(rand.NewSource(29))
	const outer, inner, sentinel = 2, 3, 12345
	for _, n := range kernelLens[1:] {
		dsi, ssi := n+2, n+3
		dso, sso := inner*dsi+1, inner*ssi+2
		sl := (outer-1)*sso + (inner-1)*ssi + n
		dl := (outer-1)*dso + (inner-1)*dsi + n
		a, b, c := guarded(t, kernelData(r, sl, false)), guarded(t, kernelData(r, sl, false)), guarded(t, kernelData(r, sl, false))
		for _, s := range [][2]float32{{1, 0}, {-1, 0}, {1, 1}, {-1, -1}} {
			want, got := guarded(t, make([]float32, dl)), guarded(t, make([]float32, dl))
			for i := range want {
				want[i], got[i] = sentinel, sentinel
			}
			withAVX(false, func() { lin2D(want, a, b, c, outer, inner, n, dso, dsi, sso, ssi, s[0], s[1]) })
			for _, wide := range asmWidths() {
				for i := range got {
					got[i] = sentinel
				}
				with512(wide, func() { lin2D(got, a, b, c, outer, inner, n, dso, dsi, sso, ssi, s[0], s[1]) })
				for i := range want {
					if got[i] != want[i] {
						t.Errorf("lin2D n=%d signs %v avx512=%v [%d]: asm %v, Go %v", n, s, wide, i, got[i], want[i])
						break
					}
				}
			}
		}
	}
}

// TestLin2DPairsMatchesGo: lin2DPairs's assembly equals its Go loop bit
// for bit, on 3 rows with gaps, every operand ending at a guarded page,
// and leaves the gaps of dst alone; and equals lin2D of each of the two
// rows interleaved.
func TestLin2DPairsMatchesGo(t *testing.T) {
	needAVX(t)
	r := rand.New(rand.NewSource(31))
	const rows, sentinel = 3, 12345
	for _, n := range kernelLens[1:] {
		sa, ds, off := n+3, 2*n+5, rows*(n+3)+1
		sl := (rows-1)*sa + off + n
		dl := (rows-1)*ds + 2*n
		a, b, c := guarded(t, kernelData(r, sl, false)), guarded(t, kernelData(r, sl, false)), guarded(t, kernelData(r, sl, false))
		for _, s := range [][2]float32{{1, 0}, {-1, 0}, {1, 1}, {-1, -1}} {
			want, got := guarded(t, make([]float32, dl)), guarded(t, make([]float32, dl))
			for i := range want {
				want[i], got[i] = sentinel, sentinel
			}
			withAVX(false, func() { lin2DPairs(want, a, b, c, rows, n, ds, sa, off, s[0], s[1]) })
			sep := make([]float32, 2*rows*n)
			lin2D(sep, a, b, c, 2, rows, n, rows*n, n, off, sa, s[0], s[1])
			for _, wide := range asmWidths() {
				for i := range got {
					got[i] = sentinel
				}
				with512(wide, func() { lin2DPairs(got, a, b, c, rows, n, ds, sa, off, s[0], s[1]) })
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("lin2DPairs n=%d signs %v avx512=%v [%d]: asm %v, Go %v", n, s, wide, i, got[i], want[i])
					}
					row, col := i/ds, i%ds
					if col >= 2*n {
						if got[i] != sentinel {
							t.Fatalf("lin2DPairs n=%d: gap [%d] written", n, i)
						}
						continue
					}
					if v := sep[(col%2)*rows*n+row*n+col/2]; got[i] != v {
						t.Fatalf("lin2DPairs n=%d signs %v [%d] = %v, lin2D %v", n, s, i, got[i], v)
					}
				}
			}
		}
	}
}
