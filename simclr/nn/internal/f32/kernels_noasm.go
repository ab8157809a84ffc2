//go:build !amd64 || purego

package f32

// Without the assembly (other architectures, or the purego build tag)
// package nn runs its Go loops; these are never called.
const Available = false

func Affine(dst, x *float32, n int, scale, shift float32)     { panic(noAsm) }
func AffineReLU(dst, x *float32, n int, scale, shift float32) { panic(noAsm) }
func SumSq(x *float32, n int, s float64) (sum, sq float64)    { panic(noAsm) }
func DotDev(dy, x *float32, n int, mu float64) (sdy, sdyx float64) {
	panic(noAsm)
}
func DotDevMask(dy, y, x *float32, n int, mu float64) (sdy, sdyx float64) {
	panic(noAsm)
}
func DotDevAffMask(dy, x *float32, n int, scale, shift float32, mu float64) (sdy, sdyx float64) {
	panic(noAsm)
}
func BnDx(dst, dy, x *float32, n int, a, bx, c0 float32)              { panic(noAsm) }
func BnDxMask(dst, dy, y, x *float32, n int, a, bx, c0 float32)       { panic(noAsm) }
func BnDxAffMask(dst, dy, x *float32, n int, s, t, a, bx, c0 float32) { panic(noAsm) }
func Mask(dst, dy, y *float32, n int)                                 { panic(noAsm) }
func AddAffReLU(y, a, b *float32, n int, sa, ta, sb, tb, fa, fb float32) {
	panic(noAsm)
}

const noAsm = "f32: assembly kernel called in a build without it"

func Copy2D(dst, src *float32, rows, n, ds, ss int) { panic(noAsm) }
func Affine2D(dst, src *float32, rows, n, ds, ss int, scale, shift, floor float32) {
	panic(noAsm)
}
func Gather2D(dst, src *float32, rows, n, ds, ss int)          { panic(noAsm) }
func Add(dst, a, b *float32, n int)                            { panic(noAsm) }
func Interleave2D(dst, a, b *float32, rows, n, ds, sa, sb int) { panic(noAsm) }
func Lin2D(dst, a, b, c *float32, outer, inner, n, dso, dsi, sso, ssi int, sb, sc float32) {
	panic(noAsm)
}

func Lin2DPairs(dst, a, b, c *float32, rows, n, ds, sa, off int, sb, sc float32) {
	panic(noAsm)
}

const AVX512 = false

func GemmNN4x64(c, a, b *float32, k, lda, ldb, ldc int, mask uint64, acc bool) { panic(noAsm) }
func GemmNN8x16(c, a, b *float32, k, lda, ldb, ldc int, mask uint16, acc bool) { panic(noAsm) }
func GemmNT4x4(c, a, b *float32, k, lda, ldb, ldc, nj int, acc bool)           { panic(noAsm) }

func Lin2D512(dst, a, b, c *float32, outer, inner, n, dso, dsi, sso, ssi int, sb, sc float32) {
	panic(noAsm)
}
func Gather2D512(dst, src *float32, rows, n, ds, ss int) { panic(noAsm) }
func Lin2DPairs512(dst, a, b, c *float32, rows, n, ds, sa, off int, sb, sc float32) {
	panic(noAsm)
}
func GemmNN4x24(c, a, b *float32, k, lda, ldb, ldc int, acc bool)              { panic(noAsm) }
func GemmNN4x16(c, a, b *float32, k, lda, ldb, ldc int, mask *int32, acc bool) { panic(noAsm) }
func GemmNT4x2(c, a, b *float32, k, lda, ldb, ldc int, mask *int32, acc bool)  { panic(noAsm) }
