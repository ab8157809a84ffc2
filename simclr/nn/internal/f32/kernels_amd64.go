//go:build amd64 && !purego

package f32

import "golang.org/x/sys/cpu"

// Available: this CPU has AVX2 and FMA, so the kernels may be called.
var Available = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func Affine(dst, x *float32, n int, scale, shift float32)

//go:noescape
func AffineReLU(dst, x *float32, n int, scale, shift float32)

//go:noescape
func SumSq(x *float32, n int, s float64) (sum, sq float64)

//go:noescape
func DotDev(dy, x *float32, n int, mu float64) (sdy, sdyx float64)

//go:noescape
func DotDevMask(dy, y, x *float32, n int, mu float64) (sdy, sdyx float64)

//go:noescape
func DotDevAffMask(dy, x *float32, n int, scale, shift float32, mu float64) (sdy, sdyx float64)

//go:noescape
func BnDx(dst, dy, x *float32, n int, a, bx, c0 float32)

//go:noescape
func BnDxMask(dst, dy, y, x *float32, n int, a, bx, c0 float32)

//go:noescape
func BnDxAffMask(dst, dy, x *float32, n int, scale, shift, a, bx, c0 float32)

//go:noescape
func Mask(dst, dy, y *float32, n int)

//go:noescape
func AddAffReLU(y, a, b *float32, n int, sa, ta, sb, tb, fa, fb float32)

//go:noescape
func Copy2D(dst, src *float32, rows, n, ds, ss int)

//go:noescape
func Affine2D(dst, src *float32, rows, n, ds, ss int, scale, shift, floor float32)

//go:noescape
func Gather2D(dst, src *float32, rows, n, ds, ss int)

//go:noescape
func Add(dst, a, b *float32, n int)

//go:noescape
func Interleave2D(dst, a, b *float32, rows, n, ds, sa, sb int)

//go:noescape
func Lin2D(dst, a, b, c *float32, outer, inner, n, dso, dsi, sso, ssi int, sb, sc float32)

//go:noescape
func Lin2DPairs(dst, a, b, c *float32, rows, n, ds, sa, off int, sb, sc float32)

// AVX512: this CPU has AVX-512 F and VL, so the GEMM tiles may be called.
var AVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL && Available

//go:noescape
func GemmNN4x64(c, a, b *float32, k, lda, ldb, ldc int, mask uint64, acc bool)

//go:noescape
func GemmNN8x16(c, a, b *float32, k, lda, ldb, ldc int, mask uint16, acc bool)

//go:noescape
func GemmNT4x4(c, a, b *float32, k, lda, ldb, ldc, nj int, acc bool)

//go:noescape
func Lin2D512(dst, a, b, c *float32, outer, inner, n, dso, dsi, sso, ssi int, sb, sc float32)

//go:noescape
func Gather2D512(dst, src *float32, rows, n, ds, ss int)

//go:noescape
func Lin2DPairs512(dst, a, b, c *float32, rows, n, ds, sa, off int, sb, sc float32)

//go:noescape
func GemmNN4x24(c, a, b *float32, k, lda, ldb, ldc int, acc bool)

//go:noescape
func GemmNN4x16(c, a, b *float32, k, lda, ldb, ldc int, mask *int32, acc bool)

//go:noescape
func GemmNT4x2(c, a, b *float32, k, lda, ldb, ldc int, mask *int32, acc bool)
