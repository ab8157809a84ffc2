package nn

import (
	"fmt"
	"github.com/simclr-ablate/simclr-ablate/simclr/nn/internal/f32"
	"math"
	"math/rand"
	"testing"
)

// TestGemmNNTiles: the NN tiles (AVX2, AVX-512) against a float64 product, on the
// shapes of the convolutions and on every column count around the tiles'
// widths, with and without accumulation, with leading dimensions wider
// than the matrices.
func TestGemmNNTiles(t *testing.T) {
	if !f32.Available {
		t.Skip("this CPU has no AVX2 + FMA: gemmNN runs the BLAS (tested by every other test)")
	}
	forEachTileForm(t, testGemmNNTiles)
}

func testGemmNNTiles(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	type shape struct{ m, n, k int }
	var shapes []shape
	for _, s := range []shape{{16, 256, 3}, {16, 196, 16}, {32, 49, 32}, {64, 16, 64}, {4, 1, 1}, {12, 17, 5}} {
		shapes = append(shapes, s)
	}
	for n := 1; n <= 130; n++ { // 64- and 16-wide tiles (AVX-512), 24- and 16-wide (AVX2)
		shapes = append(shapes, shape{8, n, 7}, shape{4, n, 2})
	}
	for _, s := range shapes {
		for _, acc := range []bool{false, true} {
			lda, ldb, ldc := s.k+1, s.n+3, s.n+2
			a := randf32(r, (s.m-1)*lda+s.k)
			b := randf32(r, (s.k-1)*ldb+s.n)
			c := randf32(r, (s.m-1)*ldc+s.n+5) // the tail past the last row must stay
			c0 := append([]float32(nil), c...)
			tilesNN(s.m, s.n, s.k, a, lda, b, ldb, acc, c, ldc)
			for i := 0; i < s.m; i++ {
				for j := 0; j < ldc && i*ldc+j < len(c); j++ {
					got := c[i*ldc+j]
					if j >= s.n {
						if got != c0[i*ldc+j] {
							t.Fatalf("%v acc=%v: C[%d,%d] outside the product changed", s, acc, i, j)
						}
						continue
					}
					var want, mag float64
					if acc {
						want, mag = float64(c0[i*ldc+j]), math.Abs(float64(c0[i*ldc+j]))
					}
					for l := 0; l < s.k; l++ {
						p := float64(a[i*lda+l]) * float64(b[l*ldb+j])
						want += p
						mag += math.Abs(p)
					}
					if math.Abs(float64(got)-want) > 1e-6*mag+1e-7 {
						t.Fatalf("%v acc=%v: C[%d,%d] = %v, want %v", s, acc, i, j, got, want)
					}
				}
			}
			for i := (s.m-1)*ldc + s.n; i < len(c); i++ {
				if c[i] != c0[i] {
					t.Fatalf("%v acc=%v: C past its last row changed at %d", s, acc, i)
				}
			}
		}
	}
}

// TestGemmNTTiles: the NT tiles against a float64 product, on the
// shapes of the convolutions' ∂w and on every k around the tiles' step
// and every column count of the last block of four.
func TestGemmNTTiles(t *testing.T) {
	if !f32.Available {
		t.Skip("this CPU has no AVX2 + FMA: gemmNT runs the BLAS (tested by every other test)")
	}
	forEachTileForm(t, testGemmNTTiles)
}

func testGemmNTTiles(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	type shape struct{ m, n, k int }
	shapes := []shape{{16, 3, 256}, {16, 16, 196}, {32, 32, 49}, {64, 64, 16}, {16, 16, 784}}
	for k := 1; k <= 70; k++ {
		for n := 1; n <= 9; n++ {
			shapes = append(shapes, shape{8, n, k})
		}
	}
	for _, s := range shapes {
		for _, acc := range []bool{false, true} {
			lda, ldb, ldc := s.k+1, s.k+3, s.n+2
			a := randf32(r, (s.m-1)*lda+s.k)
			b := randf32(r, (s.n-1)*ldb+s.k)
			c := randf32(r, (s.m-1)*ldc+s.n+5)
			c0 := append([]float32(nil), c...)
			tilesNT(s.m, s.n, s.k, a, lda, b, ldb, acc, c, ldc)
			for i := range c {
				row, j := i/ldc, i%ldc
				if row >= s.m || j >= s.n {
					if c[i] != c0[i] {
						t.Fatalf("%v acc=%v: C at %d (row %d, column %d) outside the product changed", s, acc, i, row, j)
					}
					continue
				}
				var want, mag float64
				if acc {
					want, mag = float64(c0[i]), math.Abs(float64(c0[i]))
				}
				for l := 0; l < s.k; l++ {
					p := float64(a[row*lda+l]) * float64(b[j*ldb+l])
					want += p
					mag += math.Abs(p)
				}
				if math.Abs(float64(c[i])-want) > 1e-6*mag+1e-7 {
					t.Fatalf("%v acc=%v: C[%d,%d] = %v, want %v", s, acc, row, j, c[i], want)
				}
			}
		}
	}
}

// BenchmarkGemmNN compares the tiles with the BLAS on the Winograd
// products' shapes (out, tiles, in) of the reference model.
func BenchmarkGemmNN(b *testing.B) {
	for _, s := range []struct{ m, n, k int }{{16, 256, 3}, {16, 196, 16}, {16, 256, 16}, {32, 49, 32}, {32, 64, 32}, {64, 16, 64}} {
		for _, v := range tileVariants() {
			b.Run(fmt.Sprintf("%dx%dx%d/%s", s.m, s.n, s.k, v.name), func(b *testing.B) {
				r := rand.New(rand.NewSource(1))
				a, bb, c := randf32(r, s.m*s.k), randf32(r, s.k*s.n), make([]float32, s.m*s.n)
				defer v.set()()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					gemmNN(s.m, s.n, s.k, a, s.k, bb, s.n, false, c, s.n)
				}
				b.ReportMetric(float64(2*s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkGemmNT compares the NT tiles with the BLAS on the ∂w shapes
// (out, in, tiles or pixels) of the reference model.
func BenchmarkGemmNT(b *testing.B) {
	for _, s := range []struct{ m, n, k int }{{16, 3, 256}, {16, 16, 196}, {16, 16, 256}, {32, 32, 49}, {32, 32, 64}, {64, 64, 16}, {32, 16, 784}} {
		for _, v := range tileVariants() {
			b.Run(fmt.Sprintf("%dx%dx%d/%s", s.m, s.n, s.k, v.name), func(b *testing.B) {
				r := rand.New(rand.NewSource(1))
				a, bb, c := randf32(r, s.m*s.k), randf32(r, s.n*s.k), make([]float32, s.m*s.n)
				defer v.set()()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					gemmNT(s.m, s.n, s.k, a, s.k, bb, s.k, true, c, s.n)
				}
				b.ReportMetric(float64(2*s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// asmWidths: the assembly forms to test against the Go loops, AVX2 and,
// when the CPU has it, AVX-512 (use512).
func asmWidths() []bool {
	if f32.AVX512 {
		return []bool{false, true}
	}
	return []bool{false}
}

// forEachTileForm runs f with the AVX2 tiles and, when the CPU has it, the
// AVX-512 ones.
func forEachTileForm(t *testing.T, f func(*testing.T)) {
	for _, wide := range asmWidths() {
		t.Run(fmt.Sprintf("avx512=%v", wide), func(t *testing.T) {
			old := tiles512
			tiles512 = wide
			defer func() { tiles512 = old }()
			f(t)
		})
	}
}

// tileVariant is one setting of the products: the BLAS, the AVX2 tiles or
// the AVX-512 tiles.
type tileVariant struct {
	name            string
	tiles, tiles512 bool
}

// set switches to v and returns the function that switches back.
func (v tileVariant) set() func() {
	oldT, old5 := useTiles, tiles512
	useTiles, tiles512 = v.tiles, v.tiles512
	return func() { useTiles, tiles512 = oldT, old5 }
}

// tileVariants: the settings this CPU can run.
func tileVariants() []tileVariant {
	vs := []tileVariant{{name: "blas"}}
	if f32.Available {
		vs = append(vs, tileVariant{"avx2", true, false})
	}
	if f32.AVX512 {
		vs = append(vs, tileVariant{"avx512", true, true})
	}
	return vs
}
