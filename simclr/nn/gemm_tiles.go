package nn

import "github.com/simclr-ablate/simclr-ablate/simclr/nn/internal/f32"

// useTiles: the convolutions' products C = A·B (+ C) run on the tiles of
// package f32 instead of the BLAS (gemmNN, and gemmNT for ∂w), when the
// CPU has AVX2 + FMA; tiles512 picks their AVX-512 forms, when it has
// AVX-512 F + VL.
var (
	useTiles = f32.Available
	tiles512 = f32.AVX512
)

// gemmNN is row-major C[m, n] = A[m, k]·B[k, n], plus C when acc, on the
// tiles when useTiles and m is a multiple of 4; otherwise gemm. The tiles
// read A and B in place (no packing). AVX-512: 64 columns of C at a time
// over four rows, and what is left of n sixteen columns at a time over
// eight rows (four when m is not a multiple of 8). AVX2: 24 columns at a
// time over four rows, the rest 16 at a time.
func gemmNN(m, n, k int, a []float32, lda int, b []float32, ldb int, acc bool, c []float32, ldc int) {
	if !useTiles || m%4 != 0 || m == 0 || n == 0 || k == 0 {
		gemmAcc(false, m, n, k, a, lda, b, ldb, acc, c, ldc)
		return
	}
	tilesNN(m, n, k, a, lda, b, ldb, acc, c, ldc)
}

// tilesNN is gemmNN on the tiles, for m a multiple of 4.
func tilesNN(m, n, k int, a []float32, lda int, b []float32, ldb int, acc bool, c []float32, ldc int) {
	// The tiles take the bounds as given.
	if len(a) < (m-1)*lda+k || len(b) < (k-1)*ldb+n || len(c) < (m-1)*ldc+n {
		panic("nn: gemmNN: a matrix shorter than its shape")
	}
	j := 0
	for ; n-j > 48; j += 64 {
		w := min(64, n-j)
		mask := uint64(1)<<w - 1
		if w == 64 {
			mask = ^uint64(0)
		}
		for i := 0; i < m; i += 4 {
			f32.GemmNN4x64(&c[i*ldc+j], &a[i*lda], &b[j], k, lda, ldb, ldc, mask, acc)
		}
	}
	for ; j < n; j += 16 {
		w := min(16, n-j)
		mask := uint16(1)<<w - 1
		if w == 16 {
			mask = ^uint16(0)
		}
		i := 0
		for ; i+8 <= m; i += 8 {
			f32.GemmNN8x16(&c[i*ldc+j], &a[i*lda], &b[j], k, lda, ldb, ldc, mask, acc)
		}
		for ; i < m; i += 4 {
			f32.GemmNN4x64(&c[i*ldc+j], &a[i*lda], &b[j], k, lda, ldb, ldc, uint64(mask), acc)
		}
	}
}

// tilesNN2 is tilesNN's AVX2 form.
func tilesNN2(m, n, k int, a []float32, lda int, b []float32, ldb int, acc bool, c []float32, ldc int) {
	j := 0
	for ; j+24 <= n; j += 24 {
		for i := 0; i < m; i += 4 {
			f32.GemmNN4x24(&c[i*ldc+j], &a[i*lda], &b[j], k, lda, ldb, ldc, acc)
		}
	}
	for ; j < n; j += 16 {
		mask := &laneMasks[16-min(16, n-j)]
		for i := 0; i < m; i += 4 {
			f32.GemmNN4x16(&c[i*ldc+j], &a[i*lda], &b[j], k, lda, ldb, ldc, mask, acc)
		}
	}
}

// laneMasks[16−w:] is the AVX2 mask of w lanes (w ≤ 16) of GemmNN4x16.
var laneMasks = [32]int32{-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1}

// productNN is gemmNN for float32 and gemm (C = A·B, plus C when acc)
// for float64.
func productNN[T float32 | float64](m, n, k int, a []T, lda int, b []T, ldb int, acc bool, c []T, ldc int) {
	if a32, ok := any(a).([]float32); ok {
		gemmNN(m, n, k, a32, lda, any(b).([]float32), ldb, acc, any(c).([]float32), ldc)
		return
	}
	gemmAcc(false, m, n, k, a, lda, b, ldb, acc, c, ldc)
}

// gemmNT is row-major C[m, n] = A[m, k]·B[n, k]ᵀ, plus C when acc, on the
// tiles when useTiles, k ≥ minTileK and m is a multiple of 4; otherwise
// gemm. AVX-512: each 4×4 block of C is sixteen dot products over k, A's
// four rows and B's four read sixteen values at a time; AVX2: 4×2 blocks,
// eight values at a time (an odd n's last column on the BLAS).
func gemmNT(m, n, k int, a []float32, lda int, b []float32, ldb int, acc bool, c []float32, ldc int) {
	if !useTiles || m%4 != 0 || m == 0 || n == 0 || k < minTileK() {
		gemmAcc(true, m, n, k, a, lda, b, ldb, acc, c, ldc)
		return
	}
	tilesNT(m, n, k, a, lda, b, ldb, acc, c, ldc)
}

// tilesNT is gemmNT on the tiles, for m a multiple of 4.
func tilesNT(m, n, k int, a []float32, lda int, b []float32, ldb int, acc bool, c []float32, ldc int) {
	if len(a) < (m-1)*lda+k || len(b) < (n-1)*ldb+k || len(c) < (m-1)*ldc+n {
		panic("nn: gemmNT: a matrix shorter than its shape")
	}
	if !tiles512 {
		tilesNT2(m, n, k, a, lda, b, ldb, acc, c, ldc)
		return
	}
	for i := 0; i < m; i += 4 {
		for j := 0; j < n; j += 4 {
			f32.GemmNT4x4(&c[i*ldc+j], &a[i*lda], &b[j*ldb], k, lda, ldb, ldc, min(4, n-j), acc)
		}
	}
}

// tilesNT2 is tilesNT's AVX2 form.
func tilesNT2(m, n, k int, a []float32, lda int, b []float32, ldb int, acc bool, c []float32, ldc int) {
	mask := &laneMasks[16-k%8]
	for i := 0; i < m; i += 4 {
		for j := 0; j+2 <= n; j += 2 {
			f32.GemmNT4x2(&c[i*ldc+j], &a[i*lda], &b[j*ldb], k, lda, ldb, ldc, mask, acc)
		}
	}
	if n%2 == 1 { // the last column as both of a tile's (B's row given twice)
		j := n - 1
		var t [8]float32
		for i := 0; i < m; i += 4 {
			f32.GemmNT4x2(&t[0], &a[i*lda], &b[j*ldb], k, lda, 0, 2, mask, false)
			for r := 0; r < 4; r++ {
				if acc {
					c[(i+r)*ldc+j] += t[2*r]
				} else {
					c[(i+r)*ldc+j] = t[2*r]
				}
			}
		}
	}
}

// minTileK: below it the NT tiles' reduction of their accumulators costs
// more than the dot products, and gemmNT runs the BLAS. AVX-512, 64×64×16:
// 24 GFLOP/s on the tiles against 38 for OpenBLAS, 32×32×49: 52 against
// 35; AVX2, 32×32×49: 42 against 49, 32×32×64: 52 against 48
// (BenchmarkGemmNT, AMD EPYC Zen 5, one thread, the machine busy).
func minTileK() int {
	if tiles512 {
		return 32
	}
	return 64
}

// transposeBlocks writes the blocks [rows, cols] of src transposed into
// dst: dst[b][c][r] = src[b][r][c].
func transposeBlocks[T float32 | float64](src, dst []T, blocks, rows, cols int) {
	n := rows * cols
	for b := 0; b < blocks; b++ {
		s, d := src[b*n:(b+1)*n], dst[b*n:(b+1)*n]
		for r := 0; r < rows; r++ {
			for c := 0; c < cols; c++ {
				d[c*rows+r] = s[r*cols+c]
			}
		}
	}
}

// productNT is gemmNT for float32 and gemm (C = A·Bᵀ, plus C when acc)
// for float64.
func productNT[T float32 | float64](m, n, k int, a []T, lda int, b []T, ldb int, acc bool, c []T, ldc int) {
	if a32, ok := any(a).([]float32); ok {
		gemmNT(m, n, k, a32, lda, any(b).([]float32), ldb, acc, any(c).([]float32), ldc)
		return
	}
	gemmAcc(true, m, n, k, a, lda, b, ldb, acc, c, ldc)
}

// gemmAcc is gemm of C = A·op(B), plus C when acc (op(B) = Bᵀ when tB).
func gemmAcc[T float32 | float64](tB bool, m, n, k int, a []T, lda int, b []T, ldb int, acc bool, c []T, ldc int) {
	beta := T(0)
	if acc {
		beta = 1
	}
	gemm(false, tB, m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
}
