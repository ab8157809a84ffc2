//go:build amd64 && !purego

#include "textflag.h"

// AVX2 + FMA tiles of the row-major product C = A·B (+ C), for CPUs
// without AVX-512: as gemm_amd64.s's, without packing, each element of C
// the sum over k in increasing order of one fused multiply-add a step.

// ROW24 multiplies the broadcast A value at addr by Y12..Y14 into d0..d2.
#define ROW24(addr, d0, d1, d2) \
	VBROADCASTSS addr, Y15 \
	VFMADD231PS  Y12, Y15, d0 \
	VFMADD231PS  Y13, Y15, d1 \
	VFMADD231PS  Y14, Y15, d2

#define ACC24(r0, r1, r2) \
	TESTQ  BX, BX \
	JZ     4(PC) \
	VADDPS (DI), r0, r0 \
	VADDPS 32(DI), r1, r1 \
	VADDPS 64(DI), r2, r2 \
	VMOVUPS r0, (DI) \
	VMOVUPS r1, 32(DI) \
	VMOVUPS r2, 64(DI) \
	ADDQ   R10, DI

// func GemmNN4x24(c, a, b *float32, k, lda, ldb, ldc int, acc bool)
// C[4 × 24] (+)= A[4 × k] · B[k × 24]; C's rows at ldc, A's at lda, B's
// at ldb values.
TEXT ·GemmNN4x24(SB), NOSPLIT, $0-57
	MOVQ    c+0(FP), DI
	MOVQ    a+8(FP), SI
	MOVQ    b+16(FP), DX
	MOVQ    k+24(FP), CX
	MOVQ    lda+32(FP), R8
	MOVQ    ldb+40(FP), R9
	MOVQ    ldc+48(FP), R10
	MOVBQZX acc+56(FP), BX
	SHLQ    $2, R8
	SHLQ    $2, R9
	SHLQ    $2, R10
	LEAQ    (R8)(R8*2), R13
	VXORPS  Y0, Y0, Y0
	VXORPS  Y1, Y1, Y1
	VXORPS  Y2, Y2, Y2
	VXORPS  Y3, Y3, Y3
	VXORPS  Y4, Y4, Y4
	VXORPS  Y5, Y5, Y5
	VXORPS  Y6, Y6, Y6
	VXORPS  Y7, Y7, Y7
	VXORPS  Y8, Y8, Y8
	VXORPS  Y9, Y9, Y9
	VXORPS  Y10, Y10, Y10
	VXORPS  Y11, Y11, Y11
	TESTQ   CX, CX
	JLE     h24_store

h24_loop:
	VMOVUPS (DX), Y12
	VMOVUPS 32(DX), Y13
	VMOVUPS 64(DX), Y14
	ROW24((SI), Y0, Y1, Y2)
	ROW24((SI)(R8*1), Y3, Y4, Y5)
	ROW24((SI)(R8*2), Y6, Y7, Y8)
	ROW24((SI)(R13*1), Y9, Y10, Y11)
	ADDQ    $4, SI
	ADDQ    R9, DX
	DECQ    CX
	JNZ     h24_loop

h24_store:
	ACC24(Y0, Y1, Y2)
	ACC24(Y3, Y4, Y5)
	ACC24(Y6, Y7, Y8)
	ACC24(Y9, Y10, Y11)
	VZEROUPPER
	RET

// ROW16 multiplies the broadcast A value at addr by Y12, Y13 into d0, d1.
#define ROW16(addr, d0, d1) \
	VBROADCASTSS addr, Y15 \
	VFMADD231PS  Y12, Y15, d0 \
	VFMADD231PS  Y13, Y15, d1

#define ACC16(r0, r1) \
	TESTQ      BX, BX \
	JZ         5(PC) \
	VMASKMOVPS (DI), Y10, Y12 \
	VMASKMOVPS 32(DI), Y11, Y13 \
	VADDPS     Y12, r0, r0 \
	VADDPS     Y13, r1, r1 \
	VMASKMOVPS r0, Y10, (DI) \
	VMASKMOVPS r1, Y11, 32(DI) \
	ADDQ       R10, DI

// func GemmNN4x16(c, a, b *float32, k, lda, ldb, ldc int, mask *int32, acc bool)
// C[4 × 16] (+)= A[4 × k] · B[k × 16], the columns those whose 32-bit
// mask word (mask[0..15]) is all ones.
TEXT ·GemmNN4x16(SB), NOSPLIT, $0-65
	MOVQ    c+0(FP), DI
	MOVQ    a+8(FP), SI
	MOVQ    b+16(FP), DX
	MOVQ    k+24(FP), CX
	MOVQ    lda+32(FP), R8
	MOVQ    ldb+40(FP), R9
	MOVQ    ldc+48(FP), R10
	MOVQ    mask+56(FP), AX
	MOVBQZX acc+64(FP), BX
	VMOVDQU (AX), Y10
	VMOVDQU 32(AX), Y11
	SHLQ    $2, R8
	SHLQ    $2, R9
	SHLQ    $2, R10
	LEAQ    (R8)(R8*2), R13
	VXORPS  Y0, Y0, Y0
	VXORPS  Y1, Y1, Y1
	VXORPS  Y2, Y2, Y2
	VXORPS  Y3, Y3, Y3
	VXORPS  Y4, Y4, Y4
	VXORPS  Y5, Y5, Y5
	VXORPS  Y6, Y6, Y6
	VXORPS  Y7, Y7, Y7
	TESTQ   CX, CX
	JLE     h16_store

h16_loop:
	VMASKMOVPS (DX), Y10, Y12
	VMASKMOVPS 32(DX), Y11, Y13
	ROW16((SI), Y0, Y1)
	ROW16((SI)(R8*1), Y2, Y3)
	ROW16((SI)(R8*2), Y4, Y5)
	ROW16((SI)(R13*1), Y6, Y7)
	ADDQ       $4, SI
	ADDQ       R9, DX
	DECQ       CX
	JNZ        h16_loop

h16_store:
	ACC16(Y0, Y1)
	ACC16(Y2, Y3)
	ACC16(Y4, Y5)
	ACC16(Y6, Y7)
	VZEROUPPER
	RET

// NT8 multiplies A's four vectors Y0..Y3 by B's Y4, Y5 into Y6..Y13
// (accumulator 2i + j for A row i and B row j).
#define NT8 \
	VFMADD231PS Y4, Y0, Y6 \
	VFMADD231PS Y5, Y0, Y7 \
	VFMADD231PS Y4, Y1, Y8 \
	VFMADD231PS Y5, Y1, Y9 \
	VFMADD231PS Y4, Y2, Y10 \
	VFMADD231PS Y5, Y2, Y11 \
	VFMADD231PS Y4, Y3, Y12 \
	VFMADD231PS Y5, Y3, Y13

// SUM4 reduces the accumulators a, b, c, d to their four sums in the low
// 128 bits of a: [Σa, Σb, Σc, Σd].
#define SUM4(a, b, c, d, xa, xtmp) \
	VHADDPS       b, a, a \
	VHADDPS       d, c, c \
	VHADDPS       c, a, a \
	VEXTRACTF128  $1, a, xtmp \
	VADDPS        xtmp, xa, xa

// func GemmNT4x2(c, a, b *float32, k, lda, ldb, ldc int, mask *int32, acc bool)
// C[4 × 2] (+)= A[4 × k] · B[2 × k]ᵀ: eight dot products over k, eight
// values a step (the last k mod 8 loaded under mask[0..7]), reduced at
// the end. C's rows at ldc, A's at lda, B's at ldb values.
TEXT ·GemmNT4x2(SB), NOSPLIT, $0-65
	MOVQ    a+8(FP), SI
	MOVQ    b+16(FP), DX
	MOVQ    k+24(FP), CX
	MOVQ    lda+32(FP), R8
	MOVQ    ldb+40(FP), R10
	MOVQ    mask+56(FP), AX
	VMOVDQU (AX), Y15
	SHLQ    $2, R8
	SHLQ    $2, R10
	LEAQ    (R8)(R8*2), R9
	MOVQ    CX, BX
	ANDQ    $7, BX
	SHRQ    $3, CX
	VXORPS  Y6, Y6, Y6
	VXORPS  Y7, Y7, Y7
	VXORPS  Y8, Y8, Y8
	VXORPS  Y9, Y9, Y9
	VXORPS  Y10, Y10, Y10
	VXORPS  Y11, Y11, Y11
	VXORPS  Y12, Y12, Y12
	VXORPS  Y13, Y13, Y13
	TESTQ   CX, CX
	JZ      n2_tail

n2_loop:
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(R8*1), Y1
	VMOVUPS (SI)(R8*2), Y2
	VMOVUPS (SI)(R9*1), Y3
	VMOVUPS (DX), Y4
	VMOVUPS (DX)(R10*1), Y5
	NT8
	ADDQ    $32, SI
	ADDQ    $32, DX
	DECQ    CX
	JNZ     n2_loop

n2_tail:
	TESTQ      BX, BX
	JZ         n2_reduce
	VMASKMOVPS (SI), Y15, Y0
	VMASKMOVPS (SI)(R8*1), Y15, Y1
	VMASKMOVPS (SI)(R8*2), Y15, Y2
	VMASKMOVPS (SI)(R9*1), Y15, Y3
	VMASKMOVPS (DX), Y15, Y4
	VMASKMOVPS (DX)(R10*1), Y15, Y5
	NT8

n2_reduce:
	// X6 = [C00, C01, C10, C11], X10 = [C20, C21, C30, C31]
	SUM4(Y6, Y7, Y8, Y9, X6, X0)
	SUM4(Y10, Y11, Y12, Y13, X10, X1)
	MOVQ    c+0(FP), DI
	MOVQ    ldc+48(FP), R10
	SHLQ    $2, R10
	MOVBQZX acc+64(FP), BX
	LEAQ    (DI)(R10*2), R11
	TESTQ   BX, BX
	JZ      n2_store
	VMOVSD  (DI), X2
	VMOVHPS (DI)(R10*1), X2, X2
	VADDPS  X2, X6, X6
	VMOVSD  (R11), X3
	VMOVHPS (R11)(R10*1), X3, X3
	VADDPS  X3, X10, X10

n2_store:
	VMOVLPS X6, (DI)
	VMOVHPS X6, (DI)(R10*1)
	VMOVLPS X10, (R11)
	VMOVHPS X10, (R11)(R10*1)
	VZEROUPPER
	RET
