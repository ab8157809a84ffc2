//go:build amd64 && !purego

#include "textflag.h"

// AVX-512 tiles of the row-major product C = A·B (+ C), without packing:
// the convolutions' products are small (K = 3 to 64 channels, N = a
// plane's tiles), and read in place A's rows are broadcast one value at a
// time and B's rows loaded sixteen values a vector. Every element of C is
// the sum over k in increasing order of one fused multiply-add a step,
// so a tile's result does not depend on the tile it falls in.

// GEMMROW4 multiplies the four broadcast A values of rows 0..3 (at SI,
// SI+R8, SI+2·R8, SI+R13) by the vectors Z0..Z3 into Z16..Z31.
#define GEMMROW4 \
	VBROADCASTSS (SI), Z4 \
	VFMADD231PS  Z0, Z4, Z16 \
	VFMADD231PS  Z1, Z4, Z17 \
	VFMADD231PS  Z2, Z4, Z18 \
	VFMADD231PS  Z3, Z4, Z19 \
	VBROADCASTSS (SI)(R8*1), Z5 \
	VFMADD231PS  Z0, Z5, Z20 \
	VFMADD231PS  Z1, Z5, Z21 \
	VFMADD231PS  Z2, Z5, Z22 \
	VFMADD231PS  Z3, Z5, Z23 \
	VBROADCASTSS (SI)(R8*2), Z6 \
	VFMADD231PS  Z0, Z6, Z24 \
	VFMADD231PS  Z1, Z6, Z25 \
	VFMADD231PS  Z2, Z6, Z26 \
	VFMADD231PS  Z3, Z6, Z27 \
	VBROADCASTSS (SI)(R13*1), Z7 \
	VFMADD231PS  Z0, Z7, Z28 \
	VFMADD231PS  Z1, Z7, Z29 \
	VFMADD231PS  Z2, Z7, Z30 \
	VFMADD231PS  Z3, Z7, Z31

// STORE4 writes the four vectors of one row of C at DI, masked by K1..K4,
// adding C's values first when BX is not 0.
#define STORE4(r0, r1, r2, r3) \
	TESTQ     BX, BX \
	JZ        5(PC) \
	VADDPS.Z  (DI), r0, K1, r0 \
	VADDPS.Z  64(DI), r1, K2, r1 \
	VADDPS.Z  128(DI), r2, K3, r2 \
	VADDPS.Z  192(DI), r3, K4, r3 \
	VMOVUPS   r0, K1, (DI) \
	VMOVUPS   r1, K2, 64(DI) \
	VMOVUPS   r2, K3, 128(DI) \
	VMOVUPS   r3, K4, 192(DI)

// func GemmNN4x64(c, a, b *float32, k, lda, ldb, ldc int, mask uint64, acc bool)
// C[4 × 64] (+)= A[4 × k] · B[k × 64], the columns of C and B those whose
// bit is set in mask; C's rows at ldc, A's at lda, B's at ldb values.
TEXT ·GemmNN4x64(SB), NOSPLIT, $0-65
	MOVQ   c+0(FP), DI
	MOVQ   a+8(FP), SI
	MOVQ   b+16(FP), DX
	MOVQ   k+24(FP), CX
	MOVQ   lda+32(FP), R8
	MOVQ   ldb+40(FP), R9
	MOVQ   ldc+48(FP), R10
	MOVQ   mask+56(FP), AX
	MOVBQZX acc+64(FP), BX
	KMOVW  AX, K1
	SHRQ   $16, AX
	KMOVW  AX, K2
	SHRQ   $16, AX
	KMOVW  AX, K3
	SHRQ   $16, AX
	KMOVW  AX, K4
	SHLQ   $2, R8
	SHLQ   $2, R9
	SHLQ   $2, R10
	LEAQ   (R8)(R8*2), R13
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	VPXORD Z24, Z24, Z24
	VPXORD Z25, Z25, Z25
	VPXORD Z26, Z26, Z26
	VPXORD Z27, Z27, Z27
	VPXORD Z28, Z28, Z28
	VPXORD Z29, Z29, Z29
	VPXORD Z30, Z30, Z30
	VPXORD Z31, Z31, Z31
	TESTQ  CX, CX
	JLE    g4_store

g4_loop:
	VMOVUPS.Z (DX), K1, Z0
	VMOVUPS.Z 64(DX), K2, Z1
	VMOVUPS.Z 128(DX), K3, Z2
	VMOVUPS.Z 192(DX), K4, Z3
	GEMMROW4
	ADDQ      $4, SI
	ADDQ      R9, DX
	DECQ      CX
	JNZ       g4_loop

g4_store:
	STORE4(Z16, Z17, Z18, Z19)
	ADDQ R10, DI
	STORE4(Z20, Z21, Z22, Z23)
	ADDQ R10, DI
	STORE4(Z24, Z25, Z26, Z27)
	ADDQ R10, DI
	STORE4(Z28, Z29, Z30, Z31)
	VZEROUPPER
	RET

// GEMMROW8 multiplies the eight broadcast A values of rows 0..7 (at SI,
// SI+R8, SI+2·R8, SI+R13, then the same from R11) by Z0 into Z16..Z23.
#define GEMMROW8 \
	VBROADCASTSS (SI), Z4 \
	VFMADD231PS  Z0, Z4, Z16 \
	VBROADCASTSS (SI)(R8*1), Z5 \
	VFMADD231PS  Z0, Z5, Z17 \
	VBROADCASTSS (SI)(R8*2), Z6 \
	VFMADD231PS  Z0, Z6, Z18 \
	VBROADCASTSS (SI)(R13*1), Z7 \
	VFMADD231PS  Z0, Z7, Z19 \
	VBROADCASTSS (R11), Z8 \
	VFMADD231PS  Z0, Z8, Z20 \
	VBROADCASTSS (R11)(R8*1), Z9 \
	VFMADD231PS  Z0, Z9, Z21 \
	VBROADCASTSS (R11)(R8*2), Z10 \
	VFMADD231PS  Z0, Z10, Z22 \
	VBROADCASTSS (R11)(R13*1), Z11 \
	VFMADD231PS  Z0, Z11, Z23

#define STORE1(r0) \
	TESTQ    BX, BX \
	JZ       2(PC) \
	VADDPS.Z (DI), r0, K1, r0 \
	VMOVUPS  r0, K1, (DI) \
	ADDQ     R10, DI

// func GemmNN8x16(c, a, b *float32, k, lda, ldb, ldc int, mask uint16, acc bool)
// C[8 × 16] (+)= A[8 × k] · B[k × 16], the columns those whose bit is
// set in mask.
TEXT ·GemmNN8x16(SB), NOSPLIT, $0-59
	MOVQ    c+0(FP), DI
	MOVQ    a+8(FP), SI
	MOVQ    b+16(FP), DX
	MOVQ    k+24(FP), CX
	MOVQ    lda+32(FP), R8
	MOVQ    ldb+40(FP), R9
	MOVQ    ldc+48(FP), R10
	MOVWQZX mask+56(FP), AX
	MOVBQZX acc+58(FP), BX
	KMOVW   AX, K1
	SHLQ    $2, R8
	SHLQ    $2, R9
	SHLQ    $2, R10
	LEAQ    (R8)(R8*2), R13
	LEAQ    (SI)(R8*4), R11
	VPXORD  Z16, Z16, Z16
	VPXORD  Z17, Z17, Z17
	VPXORD  Z18, Z18, Z18
	VPXORD  Z19, Z19, Z19
	VPXORD  Z20, Z20, Z20
	VPXORD  Z21, Z21, Z21
	VPXORD  Z22, Z22, Z22
	VPXORD  Z23, Z23, Z23
	TESTQ   CX, CX
	JLE     g8_store

g8_loop:
	VMOVUPS.Z (DX), K1, Z0
	GEMMROW8
	ADDQ      $4, SI
	ADDQ      $4, R11
	ADDQ      R9, DX
	DECQ      CX
	JNZ       g8_loop

g8_store:
	STORE1(Z16)
	STORE1(Z17)
	STORE1(Z18)
	STORE1(Z19)
	STORE1(Z20)
	STORE1(Z21)
	STORE1(Z22)
	STORE1(Z23)
	VZEROUPPER
	RET

// The order of the 4×4 sums after NT's reduction: the reduced vector
// holds C[i][j] at 4j + i; VPERMPS with these indices puts it at 4i + j.
DATA permNT<>+0(SB)/4, $0
DATA permNT<>+4(SB)/4, $4
DATA permNT<>+8(SB)/4, $8
DATA permNT<>+12(SB)/4, $12
DATA permNT<>+16(SB)/4, $1
DATA permNT<>+20(SB)/4, $5
DATA permNT<>+24(SB)/4, $9
DATA permNT<>+28(SB)/4, $13
DATA permNT<>+32(SB)/4, $2
DATA permNT<>+36(SB)/4, $6
DATA permNT<>+40(SB)/4, $10
DATA permNT<>+44(SB)/4, $14
DATA permNT<>+48(SB)/4, $3
DATA permNT<>+52(SB)/4, $7
DATA permNT<>+56(SB)/4, $11
DATA permNT<>+60(SB)/4, $15
GLOBL permNT<>(SB), RODATA|NOPTR, $64

// NTSTEP multiplies A's four vectors Z0..Z3 by B's Z4..Z7 into Z16..Z31
// (accumulator 4i + j for A row i and B row j).
#define NTSTEP \
	VFMADD231PS Z4, Z0, Z16 \
	VFMADD231PS Z5, Z0, Z17 \
	VFMADD231PS Z6, Z0, Z18 \
	VFMADD231PS Z7, Z0, Z19 \
	VFMADD231PS Z4, Z1, Z20 \
	VFMADD231PS Z5, Z1, Z21 \
	VFMADD231PS Z6, Z1, Z22 \
	VFMADD231PS Z7, Z1, Z23 \
	VFMADD231PS Z4, Z2, Z24 \
	VFMADD231PS Z5, Z2, Z25 \
	VFMADD231PS Z6, Z2, Z26 \
	VFMADD231PS Z7, Z2, Z27 \
	VFMADD231PS Z4, Z3, Z28 \
	VFMADD231PS Z5, Z3, Z29 \
	VFMADD231PS Z6, Z3, Z30 \
	VFMADD231PS Z7, Z3, Z31

// HALVES adds the 256-bit halves of x and y into d: d's lower half holds
// x's eight partial sums, its upper half y's.
#define HALVES(x, y, d) \
	VSHUFF64X2 $0x44, y, x, Z8 \
	VSHUFF64X2 $0xEE, y, x, d \
	VADDPS     Z8, d, d

// LANES adds lanes 0 + 1 and 2 + 3 of x and of y (two sums each, as HALVES
// leaves them) into d = [x01, x23, y01, y23].
#define LANES(x, y, d) \
	VSHUFF32X4 $0x88, y, x, Z8 \
	VSHUFF32X4 $0xDD, y, x, d \
	VADDPS     Z8, d, d

// func GemmNT4x4(c, a, b *float32, k, lda, ldb, ldc, nj int, acc bool)
// C[4 × nj] (+)= A[4 × k] · B[nj × k]ᵀ for nj = 1..4: sixteen dot
// products over k, sixteen values a step in sixteen accumulators (the
// last step masked), reduced at the end. C's rows at ldc, A's at lda,
// B's at ldb values.
TEXT ·GemmNT4x4(SB), NOSPLIT, $0-65
	MOVQ    a+8(FP), SI
	MOVQ    b+16(FP), R11
	MOVQ    k+24(FP), CX
	MOVQ    lda+32(FP), R8
	MOVQ    ldb+40(FP), R10
	MOVQ    nj+56(FP), BX
	SHLQ    $2, R8
	SHLQ    $2, R10
	LEAQ    (R8)(R8*2), R9
	// B's rows: R11..R14, the rows past nj pointing at row 0.
	LEAQ    (R11)(R10*1), R12
	LEAQ    (R11)(R10*2), R13
	LEAQ    (R12)(R10*2), R14
	CMPQ    BX, $2
	CMOVQLT R11, R12
	CMPQ    BX, $3
	CMOVQLT R11, R13
	CMPQ    BX, $4
	CMOVQLT R11, R14
	// K6: the last step's k mod 16 values.
	MOVQ    CX, AX
	ANDQ    $15, AX
	MOVQ    $1, DX
	SHLXQ   AX, DX, DX
	DECQ    DX
	KMOVW   DX, K6
	SHRQ    $4, CX
	VPXORD  Z16, Z16, Z16
	VPXORD  Z17, Z17, Z17
	VPXORD  Z18, Z18, Z18
	VPXORD  Z19, Z19, Z19
	VPXORD  Z20, Z20, Z20
	VPXORD  Z21, Z21, Z21
	VPXORD  Z22, Z22, Z22
	VPXORD  Z23, Z23, Z23
	VPXORD  Z24, Z24, Z24
	VPXORD  Z25, Z25, Z25
	VPXORD  Z26, Z26, Z26
	VPXORD  Z27, Z27, Z27
	VPXORD  Z28, Z28, Z28
	VPXORD  Z29, Z29, Z29
	VPXORD  Z30, Z30, Z30
	VPXORD  Z31, Z31, Z31
	XORQ    DX, DX
	TESTQ   CX, CX
	JZ      nt_tail

nt_loop:
	VMOVUPS (SI), Z0
	VMOVUPS (SI)(R8*1), Z1
	VMOVUPS (SI)(R8*2), Z2
	VMOVUPS (SI)(R9*1), Z3
	VMOVUPS (R11)(DX*1), Z4
	VMOVUPS (R12)(DX*1), Z5
	VMOVUPS (R13)(DX*1), Z6
	VMOVUPS (R14)(DX*1), Z7
	NTSTEP
	ADDQ    $64, SI
	ADDQ    $64, DX
	DECQ    CX
	JNZ     nt_loop

nt_tail:
	TESTQ     AX, AX
	JZ        nt_reduce
	VMOVUPS.Z (SI), K6, Z0
	VMOVUPS.Z (SI)(R8*1), K6, Z1
	VMOVUPS.Z (SI)(R8*2), K6, Z2
	VMOVUPS.Z (SI)(R9*1), K6, Z3
	VMOVUPS.Z (R11)(DX*1), K6, Z4
	VMOVUPS.Z (R12)(DX*1), K6, Z5
	VMOVUPS.Z (R13)(DX*1), K6, Z6
	VMOVUPS.Z (R14)(DX*1), K6, Z7
	NTSTEP

nt_reduce:
	HALVES(Z16, Z17, Z0)
	HALVES(Z18, Z19, Z1)
	HALVES(Z20, Z21, Z2)
	HALVES(Z22, Z23, Z3)
	HALVES(Z24, Z25, Z4)
	HALVES(Z26, Z27, Z5)
	HALVES(Z28, Z29, Z6)
	HALVES(Z30, Z31, Z7)
	LANES(Z0, Z1, Z16)
	LANES(Z2, Z3, Z17)
	LANES(Z4, Z5, Z18)
	LANES(Z6, Z7, Z19)
	// Z16..Z19: lane l of Z(16+q) holds accumulator 4q + l's four sums.
	VSHUFPS $0x44, Z17, Z16, Z8
	VSHUFPS $0xEE, Z17, Z16, Z20
	VADDPS  Z8, Z20, Z20
	VSHUFPS $0x44, Z19, Z18, Z8
	VSHUFPS $0xEE, Z19, Z18, Z21
	VADDPS  Z8, Z21, Z21
	VSHUFPS $0x88, Z21, Z20, Z8
	VSHUFPS $0xDD, Z21, Z20, Z22
	VADDPS  Z8, Z22, Z22
	// Z22 holds C[i][j] at 4j + i.
	VMOVUPS permNT<>(SB), Z9
	VPERMPS Z22, Z9, Z23
	MOVQ    c+0(FP), DI
	MOVQ    ldc+48(FP), R10
	SHLQ    $2, R10
	MOVQ    $1, DX
	SHLXQ   BX, DX, DX
	DECQ    DX
	KMOVW   DX, K5
	MOVBQZX acc+64(FP), BX
	VEXTRACTF32X4 $0, Z23, X0
	VEXTRACTF32X4 $1, Z23, X1
	VEXTRACTF32X4 $2, Z23, X2
	VEXTRACTF32X4 $3, Z23, X3
	TESTQ   BX, BX
	JZ      nt_store
	VADDPS.Z (DI), X0, K5, X0
	VADDPS.Z (DI)(R10*1), X1, K5, X1
	VADDPS.Z (DI)(R10*2), X2, K5, X2
	LEAQ    (R10)(R10*2), R11
	VADDPS.Z (DI)(R11*1), X3, K5, X3

nt_store:
	LEAQ    (R10)(R10*2), R11
	VMOVUPS X0, K5, (DI)
	VMOVUPS X1, K5, (DI)(R10*1)
	VMOVUPS X2, K5, (DI)(R10*2)
	VMOVUPS X3, K5, (DI)(R11*1)
	VZEROUPPER
	RET

// AVX-512 forms of three row kernels of kernels_amd64.s, sixteen values a
// step and the rest of a row in one masked step: the rows of the Winograd
// transforms are short (14 to 17 values for 28×28 and 32×32 images), so
// their tails are a large part of the work, and AVX2's masked stores
// (VMASKMOVPS) are slow on AMD's cores. The arithmetic of each value is
// that of the AVX2 kernel, so the results are the same to the bit.

// KTAIL sets k to the mask of the low n bits of reg (n ≤ 16), using AX
// and DX.
#define KTAIL(reg, k) \
	MOVQ  $1, DX \
	SHLXQ reg, DX, DX \
	DECQ  DX \
	KMOVW DX, k

// func Lin2D512(dst, a, b, c *float32, outer, inner, n, dso, dsi, sso, ssi int, sb, sc float32)
// Lin2D sixteen values a step.
TEXT ·Lin2D512(SB), NOSPLIT, $0-96
	MOVQ n+48(FP), CX
	MOVQ CX, BX
	ANDQ $15, BX
	KTAIL(BX, K1)
	ANDQ $-16, CX
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
	VBROADCASTSS sb+88(FP), Z13
	VBROADCASTSS sc+92(FP), Z14

w2_outer:
	TESTQ R8, R8
	JLE   w2_done
	MOVQ  R9, R11

w2_inner:
	TESTQ R11, R11
	JLE   w2_inner_done
	XORQ  AX, AX
	CMPQ  AX, CX
	JGE   w2_tail

w2_loop:
	VMOVUPS     (SI)(AX*4), Z0
	VFMADD231PS (DX)(AX*4), Z13, Z0
	VFMADD231PS (R10)(AX*4), Z14, Z0
	VMOVUPS     Z0, (DI)(AX*4)
	ADDQ        $16, AX
	CMPQ        AX, CX
	JLT         w2_loop

w2_tail:
	TESTQ       BX, BX
	JZ          w2_next
	VMOVUPS.Z   (SI)(AX*4), K1, Z0
	VMOVUPS.Z   (DX)(AX*4), K1, Z1
	VMOVUPS.Z   (R10)(AX*4), K1, Z2
	VFMADD231PS Z1, Z13, Z0
	VFMADD231PS Z2, Z14, Z0
	VMOVUPS     Z0, K1, (DI)(AX*4)

w2_next:
	ADDQ R12, DI
	ADDQ R13, SI
	ADDQ R13, DX
	ADDQ R13, R10
	DECQ R11
	JMP  w2_inner

w2_inner_done:
	ADDQ R14, DI
	ADDQ R15, SI
	ADDQ R15, DX
	ADDQ R15, R10
	DECQ R8
	JMP  w2_outer

w2_done:
	VZEROUPPER
	RET

// Even indices 0..30: VPERMT2PS picks every other value of two vectors.
DATA evens<>+0(SB)/4, $0
DATA evens<>+4(SB)/4, $2
DATA evens<>+8(SB)/4, $4
DATA evens<>+12(SB)/4, $6
DATA evens<>+16(SB)/4, $8
DATA evens<>+20(SB)/4, $10
DATA evens<>+24(SB)/4, $12
DATA evens<>+28(SB)/4, $14
DATA evens<>+32(SB)/4, $16
DATA evens<>+36(SB)/4, $18
DATA evens<>+40(SB)/4, $20
DATA evens<>+44(SB)/4, $22
DATA evens<>+48(SB)/4, $24
DATA evens<>+52(SB)/4, $26
DATA evens<>+56(SB)/4, $28
DATA evens<>+60(SB)/4, $30
GLOBL evens<>(SB), RODATA|NOPTR, $64

// func Gather2D512(dst, src *float32, rows, n, ds, ss int)
// Gather2D sixteen values a step: dst[v] = src[2v] for v < n in every
// row, reading no further than src[2n−2] of a row.
TEXT ·Gather2D512(SB), NOSPLIT, $0-48
	MOVQ    dst+0(FP), DI
	MOVQ    src+8(FP), SI
	MOVQ    rows+16(FP), R8
	MOVQ    n+24(FP), CX
	MOVQ    ds+32(FP), R9
	MOVQ    ss+40(FP), R12
	SHLQ    $2, R9
	SHLQ    $2, R12
	VMOVUPS evens<>(SB), Z15
	// R13 = the v after the last full step (v + 17 ≤ n: its second load
	// reads src[2v + 31] ≤ src[2n − 3]), BX = n − R13 (1 to 16), K1 its
	// mask and K2, K3 those of the 2·BX − 1 source values of the last step.
	XORQ R13, R13

g5_end:
	LEAQ 17(R13), AX
	CMPQ AX, CX
	JGT  g5_masks
	ADDQ $16, R13
	JMP  g5_end

g5_masks:
	MOVQ  CX, BX
	SUBQ  R13, BX
	KTAIL(BX, K1)
	LEAQ  -1(BX)(BX*1), AX
	MOVQ  $1, DX
	SHLXQ AX, DX, DX
	DECQ  DX
	KMOVW DX, K2
	SHRQ  $16, DX
	KMOVW DX, K3
	TESTQ R8, R8
	JLE   g5_done
	TESTQ CX, CX
	JLE   g5_done

g5_row:
	XORQ AX, AX
	CMPQ AX, R13
	JGE  g5_tail

g5_loop:
	VMOVUPS   (SI)(AX*8), Z0
	VMOVUPS   64(SI)(AX*8), Z1
	VPERMT2PS Z1, Z15, Z0
	VMOVUPS   Z0, (DI)(AX*4)
	ADDQ      $16, AX
	CMPQ      AX, R13
	JLT       g5_loop

g5_tail:
	VMOVUPS.Z (SI)(AX*8), K2, Z0
	VMOVUPS.Z 64(SI)(AX*8), K3, Z1
	VPERMT2PS Z1, Z15, Z0
	VMOVUPS   Z0, K1, (DI)(AX*4)
	ADDQ      R9, DI
	ADDQ      R12, SI
	DECQ      R8
	JNZ       g5_row

g5_done:
	VZEROUPPER
	RET

// Interleaving indices: the low half of two vectors' interleave, then the
// high half.
DATA zips<>+0(SB)/4, $0
DATA zips<>+4(SB)/4, $16
DATA zips<>+8(SB)/4, $1
DATA zips<>+12(SB)/4, $17
DATA zips<>+16(SB)/4, $2
DATA zips<>+20(SB)/4, $18
DATA zips<>+24(SB)/4, $3
DATA zips<>+28(SB)/4, $19
DATA zips<>+32(SB)/4, $4
DATA zips<>+36(SB)/4, $20
DATA zips<>+40(SB)/4, $5
DATA zips<>+44(SB)/4, $21
DATA zips<>+48(SB)/4, $6
DATA zips<>+52(SB)/4, $22
DATA zips<>+56(SB)/4, $7
DATA zips<>+60(SB)/4, $23
DATA zips<>+64(SB)/4, $8
DATA zips<>+68(SB)/4, $24
DATA zips<>+72(SB)/4, $9
DATA zips<>+76(SB)/4, $25
DATA zips<>+80(SB)/4, $10
DATA zips<>+84(SB)/4, $26
DATA zips<>+88(SB)/4, $11
DATA zips<>+92(SB)/4, $27
DATA zips<>+96(SB)/4, $12
DATA zips<>+100(SB)/4, $28
DATA zips<>+104(SB)/4, $13
DATA zips<>+108(SB)/4, $29
DATA zips<>+112(SB)/4, $14
DATA zips<>+116(SB)/4, $30
DATA zips<>+120(SB)/4, $15
DATA zips<>+124(SB)/4, $31
GLOBL zips<>(SB), RODATA|NOPTR, $128

// PAIRSTEP computes the sixteen values of both rows at AX (loads masked by
// k, zeroing), Z0 row 0 and Z3 row 1, and interleaves them into Z4 (low)
// and Z5 (high).
#define PAIRSTEP(k) \
	VMOVUPS.Z   (SI)(AX*4), k, Z0 \
	VMOVUPS.Z   (DX)(AX*4), k, Z1 \
	VMOVUPS.Z   (R10)(AX*4), k, Z2 \
	VFMADD231PS Z1, Z13, Z0 \
	VFMADD231PS Z2, Z14, Z0 \
	VMOVUPS.Z   (SI)(R11*1), k, Z3 \
	VMOVUPS.Z   (DX)(R11*1), k, Z1 \
	VMOVUPS.Z   (R10)(R11*1), k, Z2 \
	VFMADD231PS Z1, Z13, Z3 \
	VFMADD231PS Z2, Z14, Z3 \
	VMOVAPS     Z0, Z4 \
	VPERMT2PS   Z3, Z11, Z4 \
	VMOVAPS     Z0, Z5 \
	VPERMT2PS   Z3, Z12, Z5

// func Lin2DPairs512(dst, a, b, c *float32, rows, n, ds, sa, off int, sb, sc float32)
// Lin2DPairs sixteen values of each row a step.
TEXT ·Lin2DPairs512(SB), NOSPLIT, $0-80
	MOVQ n+40(FP), CX
	MOVQ CX, BX
	ANDQ $15, BX
	// K1: the tail's BX values; K2, K3: its 2·BX outputs in the two stores.
	KTAIL(BX, K1)
	LEAQ  (BX)(BX*1), AX
	MOVQ  $1, DX
	SHLXQ AX, DX, DX
	DECQ  DX
	KMOVW DX, K2
	SHRQ  $16, DX
	KMOVW DX, K3
	ANDQ $-16, CX
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ c+24(FP), R10
	MOVQ rows+32(FP), R8
	MOVQ ds+48(FP), R9
	MOVQ sa+56(FP), R12
	MOVQ off+64(FP), R11
	SHLQ $2, R9
	SHLQ $2, R12
	SHLQ $2, R11
	VBROADCASTSS sb+72(FP), Z13
	VBROADCASTSS sc+76(FP), Z14
	VMOVUPS zips<>(SB), Z11
	VMOVUPS zips<>+64(SB), Z12
	KXNORW K4, K4, K4

p5_row:
	TESTQ R8, R8
	JLE   p5_done
	XORQ  AX, AX
	// R11 is off in bytes plus AX·4: the second row's values.
	MOVQ  off+64(FP), R11
	SHLQ  $2, R11
	CMPQ  AX, CX
	JGE   p5_tail

p5_loop:
	PAIRSTEP(K4)
	VMOVUPS Z4, (DI)(AX*8)
	VMOVUPS Z5, 64(DI)(AX*8)
	ADDQ    $16, AX
	ADDQ    $64, R11
	CMPQ    AX, CX
	JLT     p5_loop

p5_tail:
	TESTQ   BX, BX
	JZ      p5_next
	PAIRSTEP(K1)
	VMOVUPS Z4, K2, (DI)(AX*8)
	VMOVUPS Z5, K3, 64(DI)(AX*8)

p5_next:
	ADDQ R9, DI
	ADDQ R12, SI
	ADDQ R12, DX
	ADDQ R12, R10
	DECQ R8
	JMP  p5_row

p5_done:
	VZEROUPPER
	RET
