//go:build amd64 && !purego

#include "textflag.h"

// AVX2 + FMA versions of the float32 row kernels in kernels.go of package nn
// (see kernels_amd64.go): eight values a step, the rest one by one with the
// scalar forms of the same instructions, so that every value of a row
// gets the same arithmetic (x·scale + shift is one fused multiply-add
// everywhere, which the ReLU masks recomputed from x rely on). Sums are
// kept in float64, four lanes in each of two accumulators.

// func Affine(dst, x *float32, n int, scale, shift float32)
TEXT ·Affine(SB), NOSPLIT, $0-32
	MOVQ         dst+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS scale+24(FP), Y0
	VBROADCASTSS shift+28(FP), Y1
	MOVQ         CX, BX
	ANDQ         $-8, BX
	XORQ         AX, AX
	CMPQ         AX, BX
	JGE          aff_tail

aff_loop:
	VMOVUPS     (SI)(AX*4), Y2
	VFMADD213PS Y1, Y0, Y2
	VMOVUPS     Y2, (DI)(AX*4)
	ADDQ        $8, AX
	CMPQ        AX, BX
	JLT         aff_loop

aff_tail:
	CMPQ        AX, CX
	JGE         aff_done
	VMOVSS      (SI)(AX*4), X2
	VFMADD213SS X1, X0, X2
	VMOVSS      X2, (DI)(AX*4)
	INCQ        AX
	JMP         aff_tail

aff_done:
	VZEROUPPER
	RET

// func AffineReLU(dst, x *float32, n int, scale, shift float32)
// dst = max(x·scale + shift, +0): +0 for negative values and ±0 (MAXPS
// returns its second source when both are zero).
TEXT ·AffineReLU(SB), NOSPLIT, $0-32
	MOVQ         dst+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS scale+24(FP), Y0
	VBROADCASTSS shift+28(FP), Y1
	VXORPS       Y3, Y3, Y3
	MOVQ         CX, BX
	ANDQ         $-8, BX
	XORQ         AX, AX
	CMPQ         AX, BX
	JGE          affr_tail

affr_loop:
	VMOVUPS     (SI)(AX*4), Y2
	VFMADD213PS Y1, Y0, Y2
	VMAXPS      Y3, Y2, Y2
	VMOVUPS     Y2, (DI)(AX*4)
	ADDQ        $8, AX
	CMPQ        AX, BX
	JLT         affr_loop

affr_tail:
	CMPQ        AX, CX
	JGE         affr_done
	VMOVSS      (SI)(AX*4), X2
	VFMADD213SS X1, X0, X2
	VMAXSS      X3, X2, X2
	VMOVSS      X2, (DI)(AX*4)
	INCQ        AX
	JMP         affr_tail

affr_done:
	VZEROUPPER
	RET

// func SumSq(x *float32, n int, s float64) (sum, sq float64)
TEXT ·SumSq(SB), NOSPLIT, $0-40
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSD s+16(FP), Y0
	VXORPD       Y1, Y1, Y1
	VXORPD       Y2, Y2, Y2
	VXORPD       Y3, Y3, Y3
	VXORPD       Y4, Y4, Y4
	MOVQ         CX, BX
	ANDQ         $-8, BX
	XORQ         AX, AX
	CMPQ         AX, BX
	JGE          ss_reduce

ss_loop:
	VCVTPS2PD   (SI)(AX*4), Y5
	VCVTPS2PD   16(SI)(AX*4), Y6
	VSUBPD      Y0, Y5, Y5
	VSUBPD      Y0, Y6, Y6
	VADDPD      Y5, Y1, Y1
	VADDPD      Y6, Y2, Y2
	VFMADD231PD Y5, Y5, Y3
	VFMADD231PD Y6, Y6, Y4
	ADDQ        $8, AX
	CMPQ        AX, BX
	JLT         ss_loop

ss_reduce:
	VADDPD       Y2, Y1, Y1
	VADDPD       Y4, Y3, Y3
	VEXTRACTF128 $1, Y1, X5
	VADDPD       X5, X1, X1
	VHADDPD      X1, X1, X1
	VEXTRACTF128 $1, Y3, X6
	VADDPD       X6, X3, X3
	VHADDPD      X3, X3, X3

ss_tail:
	CMPQ        AX, CX
	JGE         ss_done
	VMOVSS      (SI)(AX*4), X5
	VCVTSS2SD   X5, X5, X5
	VSUBSD      X0, X5, X5
	VADDSD      X5, X1, X1
	VFMADD231SD X5, X5, X3
	INCQ        AX
	JMP         ss_tail

ss_done:
	VMOVSD X1, sum+24(FP)
	VMOVSD X3, sq+32(FP)
	VZEROUPPER
	RET

// DOTDEV8 adds the eight masked dy values in Y5 to the sums Y1, Y2 and
// their products with the eight x values in Y9 minus mu (Y0) to Y3, Y4.
#define DOTDEV8 \
	VCVTPS2PD    X5, Y6       \
	VEXTRACTF128 $1, Y5, X7   \
	VCVTPS2PD    X7, Y7       \
	VCVTPS2PD    X9, Y8       \
	VEXTRACTF128 $1, Y9, X10  \
	VCVTPS2PD    X10, Y10     \
	VSUBPD       Y0, Y8, Y8   \
	VSUBPD       Y0, Y10, Y10 \
	VADDPD       Y6, Y1, Y1   \
	VADDPD       Y7, Y2, Y2   \
	VFMADD231PD  Y8, Y6, Y3   \
	VFMADD231PD  Y10, Y7, Y4

// DOTDEV1 is DOTDEV8 for the one value in X5 (dy) and X9 (x), into X1
// and X3 after the reduction.
#define DOTDEV1 \
	VCVTSS2SD   X5, X5, X5 \
	VCVTSS2SD   X9, X9, X9 \
	VSUBSD      X0, X9, X9 \
	VADDSD      X5, X1, X1 \
	VFMADD231SD X9, X5, X3

// DOTREDUCE sums the lanes of Y1 + Y2 into X1 and of Y3 + Y4 into X3.
#define DOTREDUCE \
	VADDPD       Y2, Y1, Y1 \
	VADDPD       Y4, Y3, Y3 \
	VEXTRACTF128 $1, Y1, X5 \
	VADDPD       X5, X1, X1 \
	VHADDPD      X1, X1, X1 \
	VEXTRACTF128 $1, Y3, X6 \
	VADDPD       X6, X3, X3 \
	VHADDPD      X3, X3, X3

#define DOTZERO \
	VXORPD Y1, Y1, Y1 \
	VXORPD Y2, Y2, Y2 \
	VXORPD Y3, Y3, Y3 \
	VXORPD Y4, Y4, Y4

// func DotDev(dy, x *float32, n int, mu float64) (sdy, sdyx float64)
TEXT ·DotDev(SB), NOSPLIT, $0-48
	MOVQ         dy+0(FP), DX
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSD mu+24(FP), Y0
	DOTZERO
	MOVQ         CX, BX
	ANDQ         $-8, BX
	XORQ         AX, AX
	CMPQ         AX, BX
	JGE          dd_reduce

dd_loop:
	VMOVUPS (DX)(AX*4), Y5
	VMOVUPS (SI)(AX*4), Y9
	DOTDEV8
	ADDQ    $8, AX
	CMPQ    AX, BX
	JLT     dd_loop

dd_reduce:
	DOTREDUCE

dd_tail:
	CMPQ   AX, CX
	JGE    dd_done
	VMOVSS (DX)(AX*4), X5
	VMOVSS (SI)(AX*4), X9
	DOTDEV1
	INCQ   AX
	JMP    dd_tail

dd_done:
	VMOVSD X1, sdy+32(FP)
	VMOVSD X3, sdyx+40(FP)
	VZEROUPPER
	RET

// func DotDevMask(dy, y, x *float32, n int, mu float64) (sdy, sdyx float64)
// dy is masked where y's bits are zero (y a ReLU output, +0 or positive).
TEXT ·DotDevMask(SB), NOSPLIT, $0-56
	MOVQ         dy+0(FP), DX
	MOVQ         y+8(FP), R8
	MOVQ         x+16(FP), SI
	MOVQ         n+24(FP), CX
	VBROADCASTSD mu+32(FP), Y0
	DOTZERO
	VPXOR        Y15, Y15, Y15
	MOVQ         CX, BX
	ANDQ         $-8, BX
	XORQ         AX, AX
	CMPQ         AX, BX
	JGE          dm_reduce

dm_loop:
	VPCMPEQD (R8)(AX*4), Y15, Y11
	VANDNPS  (DX)(AX*4), Y11, Y5
	VMOVUPS  (SI)(AX*4), Y9
	DOTDEV8
	ADDQ     $8, AX
	CMPQ     AX, BX
	JLT      dm_loop

dm_reduce:
	DOTREDUCE

dm_tail:
	CMPQ     AX, CX
	JGE      dm_done
	VMOVSS   (R8)(AX*4), X11
	VPCMPEQD X15, X11, X11
	VMOVSS   (DX)(AX*4), X5
	VANDNPS  X5, X11, X5
	VMOVSS   (SI)(AX*4), X9
	DOTDEV1
	INCQ     AX
	JMP      dm_tail

dm_done:
	VMOVSD X1, sdy+40(FP)
	VMOVSD X3, sdyx+48(FP)
	VZEROUPPER
	RET

// func DotDevAffMask(dy, x *float32, n int, scale, shift float32, mu float64) (sdy, sdyx float64)
// dy is masked where x·scale + shift (one FMA, as AffineReLU) is not
// above 0.
TEXT ·DotDevAffMask(SB), NOSPLIT, $0-56
	MOVQ         dy+0(FP), DX
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS scale+24(FP), Y12
	VBROADCASTSS shift+28(FP), Y13
	VBROADCASTSD mu+32(FP), Y0
	DOTZERO
	VXORPS       Y15, Y15, Y15
	MOVQ         CX, BX
	ANDQ         $-8, BX
	XORQ         AX, AX
	CMPQ         AX, BX
	JGE          da_reduce

da_loop:
	VMOVUPS     (SI)(AX*4), Y9
	VMOVAPS     Y9, Y11
	VFMADD213PS Y13, Y12, Y11
	VCMPPS      $0x1e, Y15, Y11, Y11
	VANDPS      (DX)(AX*4), Y11, Y5
	DOTDEV8
	ADDQ        $8, AX
	CMPQ        AX, BX
	JLT         da_loop

da_reduce:
	DOTREDUCE

da_tail:
	CMPQ        AX, CX
	JGE         da_done
	VMOVSS      (SI)(AX*4), X9
	VMOVAPS     X9, X11
	VFMADD213SS X13, X12, X11
	VCMPSS      $0x1e, X15, X11, X11
	VMOVSS      (DX)(AX*4), X5
	VANDPS      X5, X11, X5
	DOTDEV1
	INCQ        AX
	JMP         da_tail

da_done:
	VMOVSD X1, sdy+40(FP)
	VMOVSD X3, sdyx+48(FP)
	VZEROUPPER
	RET

// func BnDx(dst, dy, x *float32, n int, a, bx, c0 float32)
// dst = a·dy + (bx·x + c0); dy may be dst.
TEXT ·BnDx(SB), NOSPLIT, $0-44
	MOVQ         dst+0(FP), DI
	MOVQ         dy+8(FP), DX
	MOVQ         x+16(FP), SI
	MOVQ         n+24(FP), CX
	VBROADCASTSS a+32(FP), Y0
	VBROADCASTSS bx+36(FP), Y1
	VBROADCASTSS c0+40(FP), Y2
	MOVQ         CX, BX
	ANDQ         $-8, BX
	XORQ         AX, AX
	CMPQ         AX, BX
	JGE          bd_tail

bd_loop:
	VMOVUPS     (SI)(AX*4), Y4
	VFMADD213PS Y2, Y1, Y4
	VFMADD231PS (DX)(AX*4), Y0, Y4
	VMOVUPS     Y4, (DI)(AX*4)
	ADDQ        $8, AX
	CMPQ        AX, BX
	JLT         bd_loop

bd_tail:
	CMPQ        AX, CX
	JGE         bd_done
	VMOVSS      (SI)(AX*4), X4
	VFMADD213SS X2, X1, X4
	VMOVSS      (DX)(AX*4), X5
	VFMADD231SS X5, X0, X4
	VMOVSS      X4, (DI)(AX*4)
	INCQ        AX
	JMP         bd_tail

bd_done:
	VZEROUPPER
	RET

// func BnDxMask(dst, dy, y, x *float32, n int, a, bx, c0 float32)
// bnDxAVX with dy masked where y's bits are zero.
TEXT ·BnDxMask(SB), NOSPLIT, $0-52
	MOVQ         dst+0(FP), DI
	MOVQ         dy+8(FP), DX
	MOVQ         y+16(FP), R8
	MOVQ         x+24(FP), SI
	MOVQ         n+32(FP), CX
	VBROADCASTSS a+40(FP), Y0
	VBROADCASTSS bx+44(FP), Y1
	VBROADCASTSS c0+48(FP), Y2
	VPXOR        Y15, Y15, Y15
	MOVQ         CX, BX
	ANDQ         $-8, BX
	XORQ         AX, AX
	CMPQ         AX, BX
	JGE          bm_tail

bm_loop:
	VPCMPEQD    (R8)(AX*4), Y15, Y11
	VANDNPS     (DX)(AX*4), Y11, Y5
	VMOVUPS     (SI)(AX*4), Y4
	VFMADD213PS Y2, Y1, Y4
	VFMADD231PS Y5, Y0, Y4
	VMOVUPS     Y4, (DI)(AX*4)
	ADDQ        $8, AX
	CMPQ        AX, BX
	JLT         bm_loop

bm_tail:
	CMPQ        AX, CX
	JGE         bm_done
	VMOVSS      (R8)(AX*4), X11
	VPCMPEQD    X15, X11, X11
	VMOVSS      (DX)(AX*4), X5
	VANDNPS     X5, X11, X5
	VMOVSS      (SI)(AX*4), X4
	VFMADD213SS X2, X1, X4
	VFMADD231SS X5, X0, X4
	VMOVSS      X4, (DI)(AX*4)
	INCQ        AX
	JMP         bm_tail

bm_done:
	VZEROUPPER
	RET

// func BnDxAffMask(dst, dy, x *float32, n int, scale, shift, a, bx, c0 float32)
// bnDxAVX with dy masked where x·scale + shift is not above 0.
TEXT ·BnDxAffMask(SB), NOSPLIT, $0-52
	MOVQ         dst+0(FP), DI
	MOVQ         dy+8(FP), DX
	MOVQ         x+16(FP), SI
	MOVQ         n+24(FP), CX
	VBROADCASTSS scale+32(FP), Y12
	VBROADCASTSS shift+36(FP), Y13
	VBROADCASTSS a+40(FP), Y0
	VBROADCASTSS bx+44(FP), Y1
	VBROADCASTSS c0+48(FP), Y2
	VXORPS       Y15, Y15, Y15
	MOVQ         CX, BX
	ANDQ         $-8, BX
	XORQ         AX, AX
	CMPQ         AX, BX
	JGE          ba_tail

ba_loop:
	VMOVUPS     (SI)(AX*4), Y4
	VMOVAPS     Y4, Y11
	VFMADD213PS Y13, Y12, Y11
	VCMPPS      $0x1e, Y15, Y11, Y11
	VANDPS      (DX)(AX*4), Y11, Y5
	VFMADD213PS Y2, Y1, Y4
	VFMADD231PS Y5, Y0, Y4
	VMOVUPS     Y4, (DI)(AX*4)
	ADDQ        $8, AX
	CMPQ        AX, BX
	JLT         ba_loop

ba_tail:
	CMPQ        AX, CX
	JGE         ba_done
	VMOVSS      (SI)(AX*4), X4
	VMOVAPS     X4, X11
	VFMADD213SS X13, X12, X11
	VCMPSS      $0x1e, X15, X11, X11
	VMOVSS      (DX)(AX*4), X5
	VANDPS      X5, X11, X5
	VFMADD213SS X2, X1, X4
	VFMADD231SS X5, X0, X4
	VMOVSS      X4, (DI)(AX*4)
	INCQ        AX
	JMP         ba_tail

ba_done:
	VZEROUPPER
	RET

// func Mask(dst, dy, y *float32, n int)
// dst = dy where y's bits are not zero, else +0.
TEXT ·Mask(SB), NOSPLIT, $0-32
	MOVQ  dst+0(FP), DI
	MOVQ  dy+8(FP), DX
	MOVQ  y+16(FP), R8
	MOVQ  n+24(FP), CX
	VPXOR Y15, Y15, Y15
	MOVQ  CX, BX
	ANDQ  $-8, BX
	XORQ  AX, AX
	CMPQ  AX, BX
	JGE   mk_tail

mk_loop:
	VPCMPEQD (R8)(AX*4), Y15, Y11
	VANDNPS  (DX)(AX*4), Y11, Y5
	VMOVUPS  Y5, (DI)(AX*4)
	ADDQ     $8, AX
	CMPQ     AX, BX
	JLT      mk_loop

mk_tail:
	CMPQ     AX, CX
	JGE      mk_done
	VMOVSS   (R8)(AX*4), X11
	VPCMPEQD X15, X11, X11
	VMOVSS   (DX)(AX*4), X5
	VANDNPS  X5, X11, X5
	VMOVSS   X5, (DI)(AX*4)
	INCQ     AX
	JMP      mk_tail

mk_done:
	VZEROUPPER
	RET

// func AddAffReLU(y, a, b *float32, n int, sa, ta, sb, tb, fa, fb float32)
// y = max(max(a·sa + ta, fa) + max(b·sb + tb, fb), +0); a floor of +0 is
// the input's ReLU, −Inf none.
TEXT ·AddAffReLU(SB), NOSPLIT, $0-56
	MOVQ         y+0(FP), DI
	MOVQ         a+8(FP), SI
	MOVQ         b+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSS sa+32(FP), Y0
	VBROADCASTSS ta+36(FP), Y1
	VBROADCASTSS sb+40(FP), Y2
	VBROADCASTSS tb+44(FP), Y3
	VBROADCASTSS fa+48(FP), Y4
	VBROADCASTSS fb+52(FP), Y5
	VXORPS       Y15, Y15, Y15
	MOVQ         CX, BX
	ANDQ         $-8, BX
	XORQ         AX, AX
	CMPQ         AX, BX
	JGE          ar_tail

ar_loop:
	VMOVUPS     (SI)(AX*4), Y6
	VFMADD213PS Y1, Y0, Y6
	VMAXPS      Y4, Y6, Y6
	VMOVUPS     (DX)(AX*4), Y7
	VFMADD213PS Y3, Y2, Y7
	VMAXPS      Y5, Y7, Y7
	VADDPS      Y7, Y6, Y6
	VMAXPS      Y15, Y6, Y6
	VMOVUPS     Y6, (DI)(AX*4)
	ADDQ        $8, AX
	CMPQ        AX, BX
	JLT         ar_loop

ar_tail:
	CMPQ        AX, CX
	JGE         ar_done
	VMOVSS      (SI)(AX*4), X6
	VFMADD213SS X1, X0, X6
	VMAXSS      X4, X6, X6
	VMOVSS      (DX)(AX*4), X7
	VFMADD213SS X3, X2, X7
	VMAXSS      X5, X7, X7
	VADDSS      X7, X6, X6
	VMAXSS      X15, X6, X6
	VMOVSS      X6, (DI)(AX*4)
	INCQ        AX
	JMP         ar_tail

ar_done:
	VZEROUPPER
	RET

// The 2-D kernels work on rows rows of n values, row r of dst at
// dst + r·ds and of src at src + r·ss (strides in values): eight values a
// step, the last n mod 8 of a row with masked loads and stores (which do
// not touch the lanes masked off).

// tailmask<>+4·(8−k) holds a mask of k lanes.
DATA tailmask<>+0(SB)/8, $0xffffffffffffffff
DATA tailmask<>+8(SB)/8, $0xffffffffffffffff
DATA tailmask<>+16(SB)/8, $0xffffffffffffffff
DATA tailmask<>+24(SB)/8, $0xffffffffffffffff
DATA tailmask<>+32(SB)/8, $0
DATA tailmask<>+40(SB)/8, $0
DATA tailmask<>+48(SB)/8, $0
DATA tailmask<>+56(SB)/8, $0
GLOBL tailmask<>(SB), RODATA|NOPTR, $64

// MASK loads the mask of reg lanes (0 to 8) into Y; clobbers R10, R11.
#define MASK(reg, Y) \
	LEAQ    tailmask<>(SB), R10 \
	MOVQ    $8, R11             \
	SUBQ    reg, R11            \
	VMOVDQU (R10)(R11*4), Y

// ROWS2D loads the common arguments: DI dst, SI src, R8 rows, CX n, R9 and
// R12 the strides in bytes, DX = n rounded down to 8, BX = n mod 8 and Y15
// its mask.
#define ROWS2D \
	MOVQ dst+0(FP), DI   \
	MOVQ src+8(FP), SI   \
	MOVQ rows+16(FP), R8 \
	MOVQ n+24(FP), CX    \
	MOVQ ds+32(FP), R9   \
	MOVQ ss+40(FP), R12  \
	SHLQ $2, R9          \
	SHLQ $2, R12         \
	MOVQ CX, BX          \
	ANDQ $7, BX          \
	MOVQ CX, DX          \
	ANDQ $-8, DX         \
	MASK(BX, Y15)

// func Copy2D(dst, src *float32, rows, n, ds, ss int)
TEXT ·Copy2D(SB), NOSPLIT, $0-48
	ROWS2D
	TESTQ R8, R8
	JLE   c2_done

c2_row:
	XORQ AX, AX
	CMPQ AX, DX
	JGE  c2_tail

c2_loop:
	VMOVUPS (SI)(AX*4), Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ    $8, AX
	CMPQ    AX, DX
	JLT     c2_loop

c2_tail:
	TESTQ      BX, BX
	JZ         c2_next
	VMASKMOVPS (SI)(AX*4), Y15, Y0
	VMASKMOVPS Y0, Y15, (DI)(AX*4)

c2_next:
	ADDQ R9, DI
	ADDQ R12, SI
	DECQ R8
	JNZ  c2_row

c2_done:
	VZEROUPPER
	RET

// func Affine2D(dst, src *float32, rows, n, ds, ss int, scale, shift, floor float32)
// dst = max(src·scale + shift, floor): floor +0 is a ReLU (as AffineReLU),
// −Inf none; dst may be src.
TEXT ·Affine2D(SB), NOSPLIT, $0-60
	ROWS2D
	VBROADCASTSS scale+48(FP), Y12
	VBROADCASTSS shift+52(FP), Y13
	VBROADCASTSS floor+56(FP), Y14
	TESTQ        R8, R8
	JLE          a2_done

a2_row:
	XORQ AX, AX
	CMPQ AX, DX
	JGE  a2_tail

a2_loop:
	VMOVUPS     (SI)(AX*4), Y0
	VFMADD213PS Y13, Y12, Y0
	VMAXPS      Y14, Y0, Y0
	VMOVUPS     Y0, (DI)(AX*4)
	ADDQ        $8, AX
	CMPQ        AX, DX
	JLT         a2_loop

a2_tail:
	TESTQ       BX, BX
	JZ          a2_next
	VMASKMOVPS  (SI)(AX*4), Y15, Y0
	VFMADD213PS Y13, Y12, Y0
	VMAXPS      Y14, Y0, Y0
	VMASKMOVPS  Y0, Y15, (DI)(AX*4)

a2_next:
	ADDQ R9, DI
	ADDQ R12, SI
	DECQ R8
	JNZ  a2_row

a2_done:
	VZEROUPPER
	RET

// func Gather2D(dst, src *float32, rows, n, ds, ss int)
// dst[v] = src[2v] for v < n in every row, reading no further than
// src[2n−2] of a row.
TEXT ·Gather2D(SB), NOSPLIT, $0-48
	ROWS2D
	// DX = the v after the last full step (v + 9 ≤ n), BX = n − DX (0 to
	// 8) and Y15 its mask; Y13, Y14: the masks of the 2·BX − 1 source
	// values in the two loads of the last step.
	XORQ DX, DX

g2d_end:
	LEAQ 9(DX), R13
	CMPQ R13, CX
	JGT  g2d_masks
	ADDQ $8, DX
	JMP  g2d_end

g2d_masks:
	MOVQ  CX, BX
	SUBQ  DX, BX
	MASK(BX, Y15)
	LEAQ  -1(BX)(BX*1), R13
	MOVQ  $8, R14
	CMPQ  R13, R14
	CMOVQLT R13, R14
	MASK(R14, Y13)
	SUBQ  R14, R13
	MASK(R13, Y14)
	TESTQ R8, R8
	JLE   g2d_done

g2d_row:
	XORQ AX, AX
	CMPQ AX, DX
	JGE  g2d_tail

g2d_loop:
	VMOVUPS (SI)(AX*8), Y0
	VMOVUPS 32(SI)(AX*8), Y1
	VSHUFPS $0x88, Y1, Y0, Y2
	VPERMPD $0xd8, Y2, Y2
	VMOVUPS Y2, (DI)(AX*4)
	ADDQ    $8, AX
	CMPQ    AX, DX
	JLT     g2d_loop

g2d_tail:
	TESTQ      BX, BX
	JZ         g2d_next
	VMASKMOVPS (SI)(AX*8), Y13, Y0
	VMASKMOVPS 32(SI)(AX*8), Y14, Y1
	VSHUFPS    $0x88, Y1, Y0, Y2
	VPERMPD    $0xd8, Y2, Y2
	VMASKMOVPS Y2, Y15, (DI)(AX*4)

g2d_next:
	ADDQ R9, DI
	ADDQ R12, SI
	DECQ R8
	JNZ  g2d_row

g2d_done:
	VZEROUPPER
	RET

// func Add(dst, a, b *float32, n int)
TEXT ·Add(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ CX, BX
	ANDQ $-8, BX
	XORQ AX, AX
	CMPQ AX, BX
	JGE  add_tail

add_loop:
	VMOVUPS (SI)(AX*4), Y0
	VADDPS  (DX)(AX*4), Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ    $8, AX
	CMPQ    AX, BX
	JLT     add_loop

add_tail:
	CMPQ   AX, CX
	JGE    add_done
	VMOVSS (SI)(AX*4), X0
	VADDSS (DX)(AX*4), X0, X0
	VMOVSS X0, (DI)(AX*4)
	INCQ   AX
	JMP    add_tail

add_done:
	VZEROUPPER
	RET

// func Interleave2D(dst, a, b *float32, rows, n, ds, sa, sb int)
// dst[2v] = a[v], dst[2v+1] = b[v] for v < n in every row; row r of dst,
// a and b at r·ds, r·sa and r·sb values.
TEXT ·Interleave2D(SB), NOSPLIT, $0-64
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ rows+24(FP), R8
	MOVQ n+32(FP), CX
	MOVQ ds+40(FP), R9
	MOVQ sa+48(FP), R12
	MOVQ sb+56(FP), R13
	SHLQ $2, R9
	SHLQ $2, R12
	SHLQ $2, R13
	// BX = n mod 8 and Y15 its mask; Y13, Y14 the masks of the 2·BX
	// outputs in the two stores of the last step; R11 = n rounded down.
	MOVQ CX, BX
	ANDQ $7, BX
	MASK(BX, Y15)
	LEAQ (BX)(BX*1), R14
	MOVQ $8, AX
	CMPQ R14, AX
	CMOVQLT R14, AX
	MASK(AX, Y13)
	SUBQ AX, R14
	MASK(R14, Y14)
	MOVQ  CX, R11
	ANDQ  $-8, R11
	TESTQ R8, R8
	JLE   il_done

il_row:
	XORQ AX, AX
	CMPQ AX, R11
	JGE  il_tail

il_loop:
	VMOVUPS    (SI)(AX*4), Y0
	VMOVUPS    (DX)(AX*4), Y1
	VUNPCKLPS  Y1, Y0, Y2
	VUNPCKHPS  Y1, Y0, Y3
	VPERM2F128 $0x20, Y3, Y2, Y4
	VPERM2F128 $0x31, Y3, Y2, Y5
	VMOVUPS    Y4, (DI)(AX*8)
	VMOVUPS    Y5, 32(DI)(AX*8)
	ADDQ       $8, AX
	CMPQ       AX, R11
	JLT        il_loop

il_tail:
	TESTQ      BX, BX
	JZ         il_next
	VMASKMOVPS (SI)(AX*4), Y15, Y0
	VMASKMOVPS (DX)(AX*4), Y15, Y1
	VUNPCKLPS  Y1, Y0, Y2
	VUNPCKHPS  Y1, Y0, Y3
	VPERM2F128 $0x20, Y3, Y2, Y4
	VPERM2F128 $0x31, Y3, Y2, Y5
	VMASKMOVPS Y4, Y13, (DI)(AX*8)
	VMASKMOVPS Y5, Y14, 32(DI)(AX*8)

il_next:
	ADDQ R9, DI
	ADDQ R12, SI
	ADDQ R13, DX
	DECQ R8
	JNZ  il_row

il_done:
	VZEROUPPER
	RET

// func Lin2D(dst, a, b, c *float32, outer, inner, n, dso, dsi, sso, ssi int, sb, sc float32)
// dst = a + sb·b + sc·c (two fused multiply-adds, so a ± b and a ± b ± c
// are rounded as the sums are when sb, sc are ±1 or 0) in outer·inner
// rows of n values: row (o, i) of dst at o·dso + i·dsi values, of a, b
// and c at o·sso + i·ssi.
TEXT ·Lin2D(SB), NOSPLIT, $0-96
	MOVQ n+48(FP), CX
	MOVQ CX, BX
	ANDQ $7, BX
	MASK(BX, Y15)
	ANDQ $-8, CX
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ c+24(FP), R10
	MOVQ outer+32(FP), R8
	MOVQ inner+40(FP), R9
	MOVQ dsi+64(FP), R12
	MOVQ ssi+80(FP), R13
	SHLQ $2, R12
	SHLQ $2, R13
	// R14, R15: from the end of an outer row's inner rows to the next's.
	MOVQ  dso+56(FP), R14
	SHLQ  $2, R14
	MOVQ  R9, AX
	IMULQ R12, AX
	SUBQ  AX, R14
	MOVQ  sso+72(FP), R15
	SHLQ  $2, R15
	MOVQ  R9, AX
	IMULQ R13, AX
	SUBQ  AX, R15
	VBROADCASTSS sb+88(FP), Y13
	VBROADCASTSS sc+92(FP), Y14

l2_outer:
	TESTQ R8, R8
	JLE   l2_done
	MOVQ  R9, R11

l2_inner:
	TESTQ R11, R11
	JLE   l2_inner_done
	XORQ  AX, AX
	CMPQ  AX, CX
	JGE   l2_tail

l2_loop:
	VMOVUPS     (SI)(AX*4), Y0
	VFMADD231PS (DX)(AX*4), Y13, Y0
	VFMADD231PS (R10)(AX*4), Y14, Y0
	VMOVUPS     Y0, (DI)(AX*4)
	ADDQ        $8, AX
	CMPQ        AX, CX
	JLT         l2_loop

l2_tail:
	TESTQ       BX, BX
	JZ          l2_next
	VMASKMOVPS  (SI)(AX*4), Y15, Y0
	VMASKMOVPS  (DX)(AX*4), Y15, Y1
	VMASKMOVPS  (R10)(AX*4), Y15, Y2
	VFMADD231PS Y1, Y13, Y0
	VFMADD231PS Y2, Y14, Y0
	VMASKMOVPS  Y0, Y15, (DI)(AX*4)

l2_next:
	ADDQ R12, DI
	ADDQ R13, SI
	ADDQ R13, DX
	ADDQ R13, R10
	DECQ R11
	JMP  l2_inner

l2_inner_done:
	ADDQ R14, DI
	ADDQ R15, SI
	ADDQ R15, DX
	ADDQ R15, R10
	DECQ R8
	JMP  l2_outer

l2_done:
	VZEROUPPER
	RET

// func Lin2DPairs(dst, a, b, c *float32, rows, n, ds, sa, off int, sb, sc float32)
// dst[2v+j] = a[j·off+v] + sb·b[j·off+v] + sc·c[j·off+v] for v < n and
// j = 0, 1 in every row (Lin2D's arithmetic, then Interleave2D's
// placement); row r of dst at r·ds values, of a, b and c at r·sa.
TEXT ·Lin2DPairs(SB), NOSPLIT, $0-80
	MOVQ n+40(FP), CX
	// BX = n mod 8 and Y15 its mask; Y13, Y14 the masks of the 2·BX
	// outputs in the two stores of the last step (MASK uses R10, R11).
	MOVQ CX, BX
	ANDQ $7, BX
	MASK(BX, Y15)
	LEAQ (BX)(BX*1), R14
	MOVQ $8, AX
	CMPQ R14, AX
	CMOVQLT R14, AX
	MASK(AX, Y13)
	SUBQ AX, R14
	MASK(R14, Y14)
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ c+24(FP), R10
	MOVQ rows+32(FP), R8
	// R11 = the full steps of a row; R9, R12: from the end of a row of
	// dst, of a, b and c to the next's, in bytes; R13 = off in bytes.
	MOVQ CX, R11
	SHRQ $3, R11
	MOVQ ds+48(FP), R9
	SUBQ CX, R9
	SUBQ CX, R9
	SHLQ $2, R9
	MOVQ sa+56(FP), R12
	SUBQ CX, R12
	SHLQ $2, R12
	MOVQ off+64(FP), R13
	SHLQ $2, R13
	VBROADCASTSS sb+72(FP), Y11
	VBROADCASTSS sc+76(FP), Y12
	TESTQ R8, R8
	JLE   lp_done

lp_row:
	MOVQ  R11, CX
	TESTQ CX, CX
	JZ    lp_tail

lp_loop:
	VMOVUPS     (SI), Y0
	VFMADD231PS (DX), Y11, Y0
	VFMADD231PS (R10), Y12, Y0
	VMOVUPS     (SI)(R13*1), Y1
	VFMADD231PS (DX)(R13*1), Y11, Y1
	VFMADD231PS (R10)(R13*1), Y12, Y1
	VUNPCKLPS   Y1, Y0, Y2
	VUNPCKHPS   Y1, Y0, Y3
	VPERM2F128  $0x20, Y3, Y2, Y4
	VPERM2F128  $0x31, Y3, Y2, Y5
	VMOVUPS     Y4, (DI)
	VMOVUPS     Y5, 32(DI)
	ADDQ        $32, SI
	ADDQ        $32, DX
	ADDQ        $32, R10
	ADDQ        $64, DI
	DECQ        CX
	JNZ         lp_loop

lp_tail:
	TESTQ       BX, BX
	JZ          lp_next
	VMASKMOVPS  (SI), Y15, Y0
	VMASKMOVPS  (DX), Y15, Y6
	VMASKMOVPS  (R10), Y15, Y7
	VFMADD231PS Y6, Y11, Y0
	VFMADD231PS Y7, Y12, Y0
	VMASKMOVPS  (SI)(R13*1), Y15, Y1
	VMASKMOVPS  (DX)(R13*1), Y15, Y6
	VMASKMOVPS  (R10)(R13*1), Y15, Y7
	VFMADD231PS Y6, Y11, Y1
	VFMADD231PS Y7, Y12, Y1
	VUNPCKLPS   Y1, Y0, Y2
	VUNPCKHPS   Y1, Y0, Y3
	VPERM2F128  $0x20, Y3, Y2, Y4
	VPERM2F128  $0x31, Y3, Y2, Y5
	VMASKMOVPS  Y4, Y13, (DI)
	VMASKMOVPS  Y5, Y14, 32(DI)
	LEAQ        (SI)(BX*4), SI
	LEAQ        (DX)(BX*4), DX
	LEAQ        (R10)(BX*4), R10
	LEAQ        (DI)(BX*8), DI

lp_next:
	ADDQ R9, DI
	ADDQ R12, SI
	ADDQ R12, DX
	ADDQ R12, R10
	DECQ R8
	JNZ  lp_row

lp_done:
	VZEROUPPER
	RET
