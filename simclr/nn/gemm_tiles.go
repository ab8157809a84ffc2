package nn

import "github.com/simclr-ablate/simclr-ablate/simclr/nn/internal/f32"

// useTiles: the Winograd products C = A·B (+ C) run on the AVX-512 tiles
// of package f32 instead of the BLAS (gemmNN), when the CPU has AVX-512 F.
var useTiles = f32.AVX512

// gemmNN is row-major C[m, n] = A[m, k]·B[k, n], plus C when acc, on the
// AVX-512 tiles when useTiles and m is a multiple of 4; otherwise gemm.
// The tiles read A and B in place (no packing): 64 columns of C at a
// time over four rows, and what is left of n sixteen columns at a time
// over eight rows (four when m is not a multiple of 8).
func gemmNN(m, n, k int, a []float32, lda int, b []float32, ldb int, acc bool, c []float32, ldc int) {
	if !useTiles || m%4 != 0 || m == 0 || n == 0 || k == 0 {
		beta := float32(0)
		if acc {
			beta = 1
		}
		gemm(false, false, m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
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

// productNN is gemmNN for float32 and gemm (C = A·B, plus C when acc)
// for float64.
func productNN[T float32 | float64](m, n, k int, a []T, lda int, b []T, ldb int, acc bool, c []T, ldc int) {
	if a32, ok := any(a).([]float32); ok {
		gemmNN(m, n, k, a32, lda, any(b).([]float32), ldb, acc, any(c).([]float32), ldc)
		return
	}
	beta := T(0)
	if acc {
		beta = 1
	}
	gemm(false, false, m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
}

// gemmNT is row-major C[m, n] = A[m, k]·B[n, k]ᵀ, plus C when acc, on the
// AVX-512 tiles when useTiles and m is a multiple of 4; otherwise gemm.
// Each 4×4 block of C is sixteen dot products over k, A's four rows and
// B's four read sixteen values at a time.
func gemmNT(m, n, k int, a []float32, lda int, b []float32, ldb int, acc bool, c []float32, ldc int) {
	if !useTiles || m%4 != 0 || m == 0 || n == 0 || k < minTileK {
		beta := float32(0)
		if acc {
			beta = 1
		}
		gemm(false, true, m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
		return
	}
	tilesNT(m, n, k, a, lda, b, ldb, acc, c, ldc)
}

// tilesNT is gemmNT on the tiles, for m a multiple of 4.
func tilesNT(m, n, k int, a []float32, lda int, b []float32, ldb int, acc bool, c []float32, ldc int) {
	if len(a) < (m-1)*lda+k || len(b) < (n-1)*ldb+k || len(c) < (m-1)*ldc+n {
		panic("nn: gemmNT: a matrix shorter than its shape")
	}
	for i := 0; i < m; i += 4 {
		for j := 0; j < n; j += 4 {
			f32.GemmNT4x4(&c[i*ldc+j], &a[i*lda], &b[j*ldb], k, lda, ldb, ldc, min(4, n-j), acc)
		}
	}
}

// minTileK: below it the NT tiles' reduction of their sixteen
// accumulators costs more than the dot products, and gemmNT runs the BLAS
// (64×64×16: 24 GFLOP/s on the tiles against 38 for OpenBLAS, 32×32×49:
// 52 against 35; BenchmarkGemmNT).
const minTileK = 32

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
	beta := T(0)
	if acc {
		beta = 1
	}
	gemm(false, true, m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
}
