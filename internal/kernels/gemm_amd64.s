//go:build !openblas

#include "textflag.h"

// PREFETCHW (Go's assembler lacks it: 0F 0D /1) asks for a line in order to
// write it. A line that another core has read since this one last wrote
// it (a replica's gradient summed by the other cores, weights every
// replica reads) needs an ownership round trip to the other core when it
// is stored to, and stores wait for them one after another: about 100 µs
// per 200 KB on the project's 2-core VM, ten times the time of the
// arithmetic. Prefetched for writing, the round trips overlap.
#define PREFETCHW_R10 BYTE $0x41; BYTE $0x0F; BYTE $0x0D; BYTE $0x0A
#define PREFETCHW_R10_60 BYTE $0x41; BYTE $0x0F; BYTE $0x0D; BYTE $0x4A; BYTE $0x3C
#define PREFETCHW_SI_512 BYTE $0x0F; BYTE $0x0D; BYTE $0x8E; BYTE $0x00; BYTE $0x02; BYTE $0x00; BYTE $0x00

// PREFETCHW_TILE prefetches for writing the 6 rows of 64 bytes at DX,
// R8 bytes apart (a micro-kernel's tile of C, which may straddle lines).
#define PREFETCHW_TILE MOVQ DX, R10; PREFETCHW_R10; PREFETCHW_R10_60; ADDQ R8, R10; PREFETCHW_R10; PREFETCHW_R10_60; ADDQ R8, R10; PREFETCHW_R10; PREFETCHW_R10_60; ADDQ R8, R10; PREFETCHW_R10; PREFETCHW_R10_60; ADDQ R8, R10; PREFETCHW_R10; PREFETCHW_R10_60; ADDQ R8, R10; PREFETCHW_R10; PREFETCHW_R10_60

// func sgemmKernel(d int, ap, bp *float32, ldb int, c *float32, ldc, add int)
// A 6×16 tile of C from a packed 6-row panel of A and a packed 16-column
// panel of B: twelve 8-float accumulators, one FMA per product, in depth
// order.
TEXT ·sgemmKernel(SB), NOSPLIT, $0-56
	MOVQ d+0(FP), CX
	MOVQ ap+8(FP), SI
	MOVQ bp+16(FP), DI
	MOVQ ldb+24(FP), R11
	SHLQ $2, R11
	MOVQ c+32(FP), DX
	MOVQ ldc+40(FP), R8
	SHLQ $2, R8
	MOVQ add+48(FP), R9
	PREFETCHW_TILE
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15
	TESTQ CX, CX
	JE    store

loop:
	VMOVUPS      (DI), Y0
	VMOVUPS      32(DI), Y1
	VBROADCASTSS (SI), Y2
	VBROADCASTSS 4(SI), Y3
	VFMADD231PS  Y0, Y2, Y4
	VFMADD231PS  Y1, Y2, Y5
	VFMADD231PS  Y0, Y3, Y6
	VFMADD231PS  Y1, Y3, Y7
	VBROADCASTSS 8(SI), Y2
	VBROADCASTSS 12(SI), Y3
	VFMADD231PS  Y0, Y2, Y8
	VFMADD231PS  Y1, Y2, Y9
	VFMADD231PS  Y0, Y3, Y10
	VFMADD231PS  Y1, Y3, Y11
	VBROADCASTSS 16(SI), Y2
	VBROADCASTSS 20(SI), Y3
	VFMADD231PS  Y0, Y2, Y12
	VFMADD231PS  Y1, Y2, Y13
	VFMADD231PS  Y0, Y3, Y14
	VFMADD231PS  Y1, Y3, Y15
	ADDQ         $24, SI
	ADDQ         R11, DI
	DECQ         CX
	JNE          loop

store:
	TESTQ R9, R9
	JE    put
	VADDPS (DX), Y4, Y4
	VADDPS 32(DX), Y5, Y5
	VMOVUPS Y4, (DX)
	VMOVUPS Y5, 32(DX)
	ADDQ R8, DX
	VADDPS (DX), Y6, Y6
	VADDPS 32(DX), Y7, Y7
	VMOVUPS Y6, (DX)
	VMOVUPS Y7, 32(DX)
	ADDQ R8, DX
	VADDPS (DX), Y8, Y8
	VADDPS 32(DX), Y9, Y9
	VMOVUPS Y8, (DX)
	VMOVUPS Y9, 32(DX)
	ADDQ R8, DX
	VADDPS (DX), Y10, Y10
	VADDPS 32(DX), Y11, Y11
	VMOVUPS Y10, (DX)
	VMOVUPS Y11, 32(DX)
	ADDQ R8, DX
	VADDPS (DX), Y12, Y12
	VADDPS 32(DX), Y13, Y13
	VMOVUPS Y12, (DX)
	VMOVUPS Y13, 32(DX)
	ADDQ R8, DX
	VADDPS (DX), Y14, Y14
	VADDPS 32(DX), Y15, Y15
	VMOVUPS Y14, (DX)
	VMOVUPS Y15, 32(DX)
	VZEROUPPER
	RET

put:
	VMOVUPS Y4, (DX)
	VMOVUPS Y5, 32(DX)
	ADDQ R8, DX
	VMOVUPS Y6, (DX)
	VMOVUPS Y7, 32(DX)
	ADDQ R8, DX
	VMOVUPS Y8, (DX)
	VMOVUPS Y9, 32(DX)
	ADDQ R8, DX
	VMOVUPS Y10, (DX)
	VMOVUPS Y11, 32(DX)
	ADDQ R8, DX
	VMOVUPS Y12, (DX)
	VMOVUPS Y13, 32(DX)
	ADDQ R8, DX
	VMOVUPS Y14, (DX)
	VMOVUPS Y15, 32(DX)
	VZEROUPPER
	RET

// func cpuid(eax, ecx uint32) (a, b, c, d uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL eax+0(FP), AX
	MOVL ecx+4(FP), CX
	CPUID
	MOVL AX, a+8(FP)
	MOVL BX, b+12(FP)
	MOVL CX, c+16(FP)
	MOVL DX, d+20(FP)
	RET

// func xgetbv() (eax, edx uint32)
TEXT ·xgetbv(SB), NOSPLIT, $0-8
	MOVL $0, CX
	XGETBV
	MOVL AX, eax+0(FP)
	MOVL DX, edx+4(FP)
	RET

// func sgemmRow(d int, a *float32, inca int, b *float32, ldb int, c *float32, add int)
// One row of 16 columns of C: c[j] (+)= Σ_l a[l*inca]·b[l*ldb+j], with the
// arithmetic of sgemmKernel (one FMA per product, in depth order), so that
// an element of C has the same bits whichever path computed it.
TEXT ·sgemmRow(SB), NOSPLIT, $0-56
	MOVQ d+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ inca+16(FP), R10
	SHLQ $2, R10
	MOVQ b+24(FP), DI
	MOVQ ldb+32(FP), R8
	SHLQ $2, R8
	MOVQ c+40(FP), DX
	MOVQ add+48(FP), R9
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	TESTQ CX, CX
	JE    rowstore

rowloop:
	VBROADCASTSS (SI), Y2
	VMOVUPS      (DI), Y0
	VMOVUPS      32(DI), Y1
	VFMADD231PS  Y0, Y2, Y4
	VFMADD231PS  Y1, Y2, Y5
	ADDQ         R10, SI
	ADDQ         R8, DI
	DECQ         CX
	JNE          rowloop

rowstore:
	TESTQ R9, R9
	JE    rowput
	VADDPS (DX), Y4, Y4
	VADDPS 32(DX), Y5, Y5

rowput:
	VMOVUPS Y4, (DX)
	VMOVUPS Y5, 32(DX)
	VZEROUPPER
	RET

// func dgemmKernel(d int, ap, bp *float64, ldb int, c *float64, ldc, add int)
// A 6×8 tile of C from a packed 6-row panel of A and a packed 8-column
// panel of B: twelve 4-double accumulators, one FMA per product, in depth
// order.
TEXT ·dgemmKernel(SB), NOSPLIT, $0-56
	MOVQ d+0(FP), CX
	MOVQ ap+8(FP), SI
	MOVQ bp+16(FP), DI
	MOVQ ldb+24(FP), R11
	SHLQ $3, R11
	MOVQ c+32(FP), DX
	MOVQ ldc+40(FP), R8
	SHLQ $3, R8
	MOVQ add+48(FP), R9
	PREFETCHW_TILE
	VXORPD Y4, Y4, Y4
	VXORPD Y5, Y5, Y5
	VXORPD Y6, Y6, Y6
	VXORPD Y7, Y7, Y7
	VXORPD Y8, Y8, Y8
	VXORPD Y9, Y9, Y9
	VXORPD Y10, Y10, Y10
	VXORPD Y11, Y11, Y11
	VXORPD Y12, Y12, Y12
	VXORPD Y13, Y13, Y13
	VXORPD Y14, Y14, Y14
	VXORPD Y15, Y15, Y15
	TESTQ CX, CX
	JE    dstore

dloop:
	VMOVUPD      (DI), Y0
	VMOVUPD      32(DI), Y1
	VBROADCASTSD (SI), Y2
	VBROADCASTSD 8(SI), Y3
	VFMADD231PD  Y0, Y2, Y4
	VFMADD231PD  Y1, Y2, Y5
	VFMADD231PD  Y0, Y3, Y6
	VFMADD231PD  Y1, Y3, Y7
	VBROADCASTSD 16(SI), Y2
	VBROADCASTSD 24(SI), Y3
	VFMADD231PD  Y0, Y2, Y8
	VFMADD231PD  Y1, Y2, Y9
	VFMADD231PD  Y0, Y3, Y10
	VFMADD231PD  Y1, Y3, Y11
	VBROADCASTSD 32(SI), Y2
	VBROADCASTSD 40(SI), Y3
	VFMADD231PD  Y0, Y2, Y12
	VFMADD231PD  Y1, Y2, Y13
	VFMADD231PD  Y0, Y3, Y14
	VFMADD231PD  Y1, Y3, Y15
	ADDQ         $48, SI
	ADDQ         R11, DI
	DECQ         CX
	JNE          dloop

dstore:
	TESTQ R9, R9
	JE    dput
	VADDPD (DX), Y4, Y4
	VADDPD 32(DX), Y5, Y5
	VMOVUPD Y4, (DX)
	VMOVUPD Y5, 32(DX)
	ADDQ R8, DX
	VADDPD (DX), Y6, Y6
	VADDPD 32(DX), Y7, Y7
	VMOVUPD Y6, (DX)
	VMOVUPD Y7, 32(DX)
	ADDQ R8, DX
	VADDPD (DX), Y8, Y8
	VADDPD 32(DX), Y9, Y9
	VMOVUPD Y8, (DX)
	VMOVUPD Y9, 32(DX)
	ADDQ R8, DX
	VADDPD (DX), Y10, Y10
	VADDPD 32(DX), Y11, Y11
	VMOVUPD Y10, (DX)
	VMOVUPD Y11, 32(DX)
	ADDQ R8, DX
	VADDPD (DX), Y12, Y12
	VADDPD 32(DX), Y13, Y13
	VMOVUPD Y12, (DX)
	VMOVUPD Y13, 32(DX)
	ADDQ R8, DX
	VADDPD (DX), Y14, Y14
	VADDPD 32(DX), Y15, Y15
	VMOVUPD Y14, (DX)
	VMOVUPD Y15, 32(DX)
	VZEROUPPER
	RET

dput:
	VMOVUPD Y4, (DX)
	VMOVUPD Y5, 32(DX)
	ADDQ R8, DX
	VMOVUPD Y6, (DX)
	VMOVUPD Y7, 32(DX)
	ADDQ R8, DX
	VMOVUPD Y8, (DX)
	VMOVUPD Y9, 32(DX)
	ADDQ R8, DX
	VMOVUPD Y10, (DX)
	VMOVUPD Y11, 32(DX)
	ADDQ R8, DX
	VMOVUPD Y12, (DX)
	VMOVUPD Y13, 32(DX)
	ADDQ R8, DX
	VMOVUPD Y14, (DX)
	VMOVUPD Y15, 32(DX)
	VZEROUPPER
	RET

// func dgemmRow(d int, a *float64, inca int, b *float64, ldb int, c *float64, add int)
// One row of 8 columns of C: c[j] (+)= Σ_l a[l*inca]·b[l*ldb+j], with the
// arithmetic of dgemmKernel (one FMA per product, in depth order), so that
// an element of C has the same bits whichever path computed it.
TEXT ·dgemmRow(SB), NOSPLIT, $0-56
	MOVQ d+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ inca+16(FP), R10
	SHLQ $3, R10
	MOVQ b+24(FP), DI
	MOVQ ldb+32(FP), R8
	SHLQ $3, R8
	MOVQ c+40(FP), DX
	MOVQ add+48(FP), R9
	VXORPD Y4, Y4, Y4
	VXORPD Y5, Y5, Y5
	TESTQ CX, CX
	JE    drowstore

drowloop:
	VBROADCASTSD (SI), Y2
	VMOVUPD      (DI), Y0
	VMOVUPD      32(DI), Y1
	VFMADD231PD  Y0, Y2, Y4
	VFMADD231PD  Y1, Y2, Y5
	ADDQ         R10, SI
	ADDQ         R8, DI
	DECQ         CX
	JNE          drowloop

drowstore:
	TESTQ R9, R9
	JE    drowput
	VADDPD (DX), Y4, Y4
	VADDPD 32(DX), Y5, Y5

drowput:
	VMOVUPD Y4, (DX)
	VMOVUPD Y5, 32(DX)
	VZEROUPPER
	RET

// func sdotKernel(k8 int, a0, a1, b0, b1, b2, b3 *float32, out *[8]float32)
// out[r*4+c] = Σ_l a_r[l]·b_c[l] over l < 8·k8, for C = A·Bᵀ with A and B
// row-major along l: eight partial sums per product (lane j takes l ≡ j mod
// 8, one FMA each, in order), then summed pairwise in a fixed order.
TEXT ·sdotKernel(SB), NOSPLIT, $0-64
	MOVQ k8+0(FP), CX
	MOVQ a0+8(FP), SI
	MOVQ a1+16(FP), DI
	MOVQ b0+24(FP), R8
	MOVQ b1+32(FP), R9
	MOVQ b2+40(FP), R10
	MOVQ b3+48(FP), R11
	MOVQ out+56(FP), DX
	XORQ AX, AX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	TESTQ CX, CX
	JE    dotsum

dotloop:
	VMOVUPS     (R8)(AX*1), Y8
	VMOVUPS     (R9)(AX*1), Y9
	VMOVUPS     (R10)(AX*1), Y10
	VMOVUPS     (R11)(AX*1), Y11
	VMOVUPS     (SI)(AX*1), Y12
	VMOVUPS     (DI)(AX*1), Y13
	VFMADD231PS Y8, Y12, Y0
	VFMADD231PS Y9, Y12, Y1
	VFMADD231PS Y10, Y12, Y2
	VFMADD231PS Y11, Y12, Y3
	VFMADD231PS Y8, Y13, Y4
	VFMADD231PS Y9, Y13, Y5
	VFMADD231PS Y10, Y13, Y6
	VFMADD231PS Y11, Y13, Y7
	ADDQ        $32, AX
	DECQ        CX
	JNE         dotloop

dotsum:
	VEXTRACTF128 $1, Y0, X14
	VADDPS       X14, X0, X0
	VHADDPS      X0, X0, X0
	VHADDPS      X0, X0, X0
	VMOVSS       X0, 0(DX)
	VEXTRACTF128 $1, Y1, X14
	VADDPS       X14, X1, X1
	VHADDPS      X1, X1, X1
	VHADDPS      X1, X1, X1
	VMOVSS       X1, 4(DX)
	VEXTRACTF128 $1, Y2, X14
	VADDPS       X14, X2, X2
	VHADDPS      X2, X2, X2
	VHADDPS      X2, X2, X2
	VMOVSS       X2, 8(DX)
	VEXTRACTF128 $1, Y3, X14
	VADDPS       X14, X3, X3
	VHADDPS      X3, X3, X3
	VHADDPS      X3, X3, X3
	VMOVSS       X3, 12(DX)
	VEXTRACTF128 $1, Y4, X14
	VADDPS       X14, X4, X4
	VHADDPS      X4, X4, X4
	VHADDPS      X4, X4, X4
	VMOVSS       X4, 16(DX)
	VEXTRACTF128 $1, Y5, X14
	VADDPS       X14, X5, X5
	VHADDPS      X5, X5, X5
	VHADDPS      X5, X5, X5
	VMOVSS       X5, 20(DX)
	VEXTRACTF128 $1, Y6, X14
	VADDPS       X14, X6, X6
	VHADDPS      X6, X6, X6
	VHADDPS      X6, X6, X6
	VMOVSS       X6, 24(DX)
	VEXTRACTF128 $1, Y7, X14
	VADDPS       X14, X7, X7
	VHADDPS      X7, X7, X7
	VHADDPS      X7, X7, X7
	VMOVSS       X7, 28(DX)
	VZEROUPPER
	RET

// func reluMask32(n8 int, x, v, dst *float32)
// dst[i] = v[i]·(x[i] ≥ 0 ? 1 : 0) for i < 8·n8: one multiply per element,
// as the scalar loop does (so −0, NaN and Inf come out the same).
TEXT ·reluMask32(SB), NOSPLIT, $0-32
	MOVQ n8+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ v+16(FP), DI
	MOVQ dst+24(FP), DX
	MOVL $0x3f800000, AX
	MOVQ AX, X15
	VBROADCASTSS X15, Y15
	VXORPS Y14, Y14, Y14
	TESTQ CX, CX
	JE    relu32done

relu32loop:
	VMOVUPS (SI), Y0
	VCMPPS  $0x1d, Y14, Y0, Y1
	VANDPS  Y15, Y1, Y1
	VMULPS  (DI), Y1, Y2
	VMOVUPS Y2, (DX)
	ADDQ    $32, SI
	ADDQ    $32, DI
	ADDQ    $32, DX
	DECQ    CX
	JNE     relu32loop

relu32done:
	VZEROUPPER
	RET

// func reluMask64(n4 int, x, v, dst *float64)
// reluMask32 for float64, four at a time.
TEXT ·reluMask64(SB), NOSPLIT, $0-32
	MOVQ n4+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ v+16(FP), DI
	MOVQ dst+24(FP), DX
	MOVQ $0x3ff0000000000000, AX
	MOVQ AX, X15
	VBROADCASTSD X15, Y15
	VXORPD Y14, Y14, Y14
	TESTQ CX, CX
	JE    relu64done

relu64loop:
	VMOVUPD (SI), Y0
	VCMPPD  $0x1d, Y14, Y0, Y1
	VANDPD  Y15, Y1, Y1
	VMULPD  (DI), Y1, Y2
	VMOVUPD Y2, (DX)
	ADDQ    $32, SI
	ADDQ    $32, DI
	ADDQ    $32, DX
	DECQ    CX
	JNE     relu64loop

relu64done:
	VZEROUPPER
	RET

// tailMask: 8 lanes from tailMask+4·(8−t) are t lanes set, then clear.
DATA tailMask<>+0(SB)/4, $-1
DATA tailMask<>+4(SB)/4, $-1
DATA tailMask<>+8(SB)/4, $-1
DATA tailMask<>+12(SB)/4, $-1
DATA tailMask<>+16(SB)/4, $-1
DATA tailMask<>+20(SB)/4, $-1
DATA tailMask<>+24(SB)/4, $-1
DATA tailMask<>+28(SB)/4, $-1
DATA tailMask<>+32(SB)/4, $0
DATA tailMask<>+36(SB)/4, $0
DATA tailMask<>+40(SB)/4, $0
DATA tailMask<>+44(SB)/4, $0
DATA tailMask<>+48(SB)/4, $0
DATA tailMask<>+52(SB)/4, $0
DATA tailMask<>+56(SB)/4, $0
DATA tailMask<>+60(SB)/4, $0
GLOBL tailMask<>(SB), RODATA|NOPTR, $64

// func copyRows32(rows, w int, src *float32, lds int, dst *float32, ldd int)
// dst[r*ldd+j] = src[r*lds+j] for r < rows, j < w (im2col's runs): eight
// at a time, the last w mod 8 by masked loads and stores (which touch
// nothing past w).
TEXT ·copyRows32(SB), NOSPLIT, $0-48
	MOVQ rows+0(FP), CX
	MOVQ w+8(FP), R8
	MOVQ src+16(FP), SI
	MOVQ lds+24(FP), R9
	MOVQ dst+32(FP), DI
	MOVQ ldd+40(FP), R10
	SHLQ $2, R9
	SHLQ $2, R10
	MOVQ R8, R11
	ANDQ $7, R11     // tail
	SHRQ $3, R8      // w8
	LEAQ tailMask<>(SB), AX
	MOVQ $8, DX
	SUBQ R11, DX
	VMOVDQU (AX)(DX*4), Y2
	TESTQ CX, CX
	JE    copyrowsdone

copyrowsrow:
	MOVQ R8, DX
	XORQ AX, AX
	TESTQ DX, DX
	JE    copyrowstail

copyrowsloop:
	VMOVUPS (SI)(AX*1), Y0
	VMOVUPS Y0, (DI)(AX*1)
	ADDQ    $32, AX
	DECQ    DX
	JNE     copyrowsloop

copyrowstail:
	TESTQ      R11, R11
	JE         copyrowsnext
	VMASKMOVPS (SI)(AX*1), Y2, Y0
	VMASKMOVPS Y0, Y2, (DI)(AX*1)

copyrowsnext:
	ADDQ R9, SI
	ADDQ R10, DI
	DECQ CX
	JNE  copyrowsrow

copyrowsdone:
	VZEROUPPER
	RET

// func addRows32(rows, w int, src *float32, lds int, dst *float32, ldd int)
// dst[r*ldd+j] += src[r*lds+j] for r < rows, j < w (col2im's runs): one
// rounded addition each, as the scalar loop; tails masked as copyRows32's.
TEXT ·addRows32(SB), NOSPLIT, $0-48
	MOVQ rows+0(FP), CX
	MOVQ w+8(FP), R8
	MOVQ src+16(FP), SI
	MOVQ lds+24(FP), R9
	MOVQ dst+32(FP), DI
	MOVQ ldd+40(FP), R10
	SHLQ $2, R9
	SHLQ $2, R10
	MOVQ R8, R11
	ANDQ $7, R11
	SHRQ $3, R8
	LEAQ tailMask<>(SB), AX
	MOVQ $8, DX
	SUBQ R11, DX
	VMOVDQU (AX)(DX*4), Y2
	TESTQ CX, CX
	JE    addrowsdone

addrowsrow:
	MOVQ R8, DX
	XORQ AX, AX
	TESTQ DX, DX
	JE    addrowstail

addrowsloop:
	VMOVUPS (DI)(AX*1), Y0
	VADDPS  (SI)(AX*1), Y0, Y0
	VMOVUPS Y0, (DI)(AX*1)
	ADDQ    $32, AX
	DECQ    DX
	JNE     addrowsloop

addrowstail:
	TESTQ      R11, R11
	JE         addrowsnext
	VMASKMOVPS (DI)(AX*1), Y2, Y0
	VMASKMOVPS (SI)(AX*1), Y2, Y1
	VADDPS     Y1, Y0, Y0
	VMASKMOVPS Y0, Y2, (DI)(AX*1)

addrowsnext:
	ADDQ R9, SI
	ADDQ R10, DI
	DECQ CX
	JNE  addrowsrow

addrowsdone:
	VZEROUPPER
	RET

// func addScalar32(n8 int, x *float32, b float32, dst *float32)
// dst[i] = x[i] + b for i < 8·n8: one rounded addition each.
TEXT ·addScalar32(SB), NOSPLIT, $0-32
	MOVQ         n8+0(FP), CX
	MOVQ         x+8(FP), SI
	VBROADCASTSS b+16(FP), Y1
	MOVQ         dst+24(FP), DI
	TESTQ        CX, CX
	JE           addscalardone

addscalarloop:
	VADDPS  (SI), Y1, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNE     addscalarloop

addscalardone:
	VZEROUPPER
	RET

// func axpy32(n8 int, a float32, x, y *float32)
// y[i] += a·x[i] for i < 8·n8 where x[i] ≠ 0 (NaN included): a rounded
// product, then a rounded sum. Eight zeros of x leave their y unwritten.
TEXT ·axpy32(SB), NOSPLIT, $0-32
	MOVQ         n8+0(FP), CX
	VBROADCASTSS a+8(FP), Y15
	MOVQ         x+16(FP), SI
	MOVQ         y+24(FP), DI
	VXORPS       Y14, Y14, Y14
	TESTQ        CX, CX
	JE           axpy32done

axpy32loop:
	VMOVUPS   (SI), Y1
	VCMPPS    $0x04, Y14, Y1, Y2 // x ≠ 0 or NaN
	VPTEST    Y2, Y2
	JZ        axpy32next
	VMOVUPS   (DI), Y3
	VMULPS    Y1, Y15, Y0
	VADDPS    Y3, Y0, Y0
	VBLENDVPS Y2, Y0, Y3, Y0     // y where x = 0
	VMOVUPS   Y0, (DI)

axpy32next:
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNE  axpy32loop

axpy32done:
	VZEROUPPER
	RET

// func axpy64(n4 int, a float64, x, y *float64)
// axpy32 for float64, four at a time.
TEXT ·axpy64(SB), NOSPLIT, $0-32
	MOVQ         n4+0(FP), CX
	VBROADCASTSD a+8(FP), Y15
	MOVQ         x+16(FP), SI
	MOVQ         y+24(FP), DI
	VXORPD       Y14, Y14, Y14
	TESTQ        CX, CX
	JE           axpy64done

axpy64loop:
	VMOVUPD   (SI), Y1
	VCMPPD    $0x04, Y14, Y1, Y2
	VPTEST    Y2, Y2
	JZ        axpy64next
	VMOVUPD   (DI), Y3
	VMULPD    Y1, Y15, Y0
	VADDPD    Y3, Y0, Y0
	VBLENDVPD Y2, Y0, Y3, Y0
	VMOVUPD   Y0, (DI)

axpy64next:
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNE  axpy64loop

axpy64done:
	VZEROUPPER
	RET

// func axpby32(n8 int, a float32, x *float32, b float32, y, d *float32) int
// d[i] = a·x[i] + b·y[i] for i < 8·n8, each product and the sum rounded on
// its own; 1 when every d[i] is finite (as finite32), else 0.
TEXT ·axpby32(SB), NOSPLIT, $0-56
	MOVQ         n8+0(FP), CX
	VBROADCASTSS a+8(FP), Y15
	MOVQ         x+16(FP), SI
	VBROADCASTSS b+24(FP), Y14
	MOVQ         y+32(FP), DI
	MOVQ         d+40(FP), DX
	VXORPS       Y13, Y13, Y13
	TESTQ        CX, CX
	JE           axpby32done

axpby32loop:
	VMULPS  (SI), Y15, Y0
	VMULPS  (DI), Y14, Y1
	VADDPS  Y1, Y0, Y0
	VMOVUPS Y0, (DX)
	VSUBPS  Y0, Y0, Y1
	VORPS   Y1, Y13, Y13
	ADDQ    $32, SI
	ADDQ    $32, DI
	ADDQ    $32, DX
	DECQ    CX
	JNE     axpby32loop

axpby32done:
	XORQ   AX, AX
	VPTEST Y13, Y13
	SETEQ  AX
	MOVQ   AX, ret+48(FP)
	VZEROUPPER
	RET

// func axpby64(n4 int, a float64, x *float64, b float64, y, d *float64) int
// axpby32 for float64, four at a time.
TEXT ·axpby64(SB), NOSPLIT, $0-56
	MOVQ         n4+0(FP), CX
	VBROADCASTSD a+8(FP), Y15
	MOVQ         x+16(FP), SI
	VBROADCASTSD b+24(FP), Y14
	MOVQ         y+32(FP), DI
	MOVQ         d+40(FP), DX
	VXORPD       Y13, Y13, Y13
	TESTQ        CX, CX
	JE           axpby64done

axpby64loop:
	VMULPD  (SI), Y15, Y0
	VMULPD  (DI), Y14, Y1
	VADDPD  Y1, Y0, Y0
	VMOVUPD Y0, (DX)
	VSUBPD  Y0, Y0, Y1
	VORPD   Y1, Y13, Y13
	ADDQ    $32, SI
	ADDQ    $32, DI
	ADDQ    $32, DX
	DECQ    CX
	JNE     axpby64loop

axpby64done:
	XORQ   AX, AX
	VPTEST Y13, Y13
	SETEQ  AX
	MOVQ   AX, ret+48(FP)
	VZEROUPPER
	RET

// func momentum32(n8 int, w, grad, v *float32, lr, mu float32, nesterov int)
// For i < 8·n8: v = μ·v + g; w −= lr·v, or with nesterov w −= lr·(g + μ·v);
// every operation rounded on its own, as in Go, with subnormal inputs and
// results taken as zero (MXCSR's DAZ and FTZ, set for the loop only).
TEXT ·momentum32(SB), NOSPLIT, $8-48
	MOVQ         n8+0(FP), CX
	MOVQ         w+8(FP), SI
	MOVQ         grad+16(FP), DX
	MOVQ         v+24(FP), DI
	VBROADCASTSS lr+32(FP), Y15
	VBROADCASTSS mu+36(FP), Y14
	MOVQ         nesterov+40(FP), R8
	VSTMXCSR     saved-4(SP)
	MOVL         saved-4(SP), AX
	ORL          $0x8040, AX           // FTZ | DAZ
	MOVL         AX, ftz-8(SP)
	VLDMXCSR     ftz-8(SP)
	TESTQ        CX, CX
	JE           mom32done

mom32loop:
	PREFETCHW_SI_512              // w, 16 vectors ahead
	VMOVUPS (DX), Y0              // g
	VMULPS  (DI), Y14, Y1         // μ·v
	VADDPS  Y0, Y1, Y1            // v
	VMOVUPS Y1, (DI)
	TESTQ   R8, R8
	JE      mom32heavy
	VMULPS  Y14, Y1, Y1           // μ·v
	VADDPS  Y0, Y1, Y1            // g + μ·v

mom32heavy:
	VMULPS  Y15, Y1, Y1           // lr·(…)
	VMOVUPS (SI), Y4
	VSUBPS  Y1, Y4, Y4
	VMOVUPS Y4, (SI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	DECQ    CX
	JNE     mom32loop

mom32done:
	VLDMXCSR saved-4(SP)
	VZEROUPPER
	RET

// func momentum64(n4 int, w, grad, v *float64, lr, mu float64, nesterov int)
// momentum32 for float64, four at a time.
TEXT ·momentum64(SB), NOSPLIT, $8-56
	MOVQ         n4+0(FP), CX
	MOVQ         w+8(FP), SI
	MOVQ         grad+16(FP), DX
	MOVQ         v+24(FP), DI
	VBROADCASTSD lr+32(FP), Y15
	VBROADCASTSD mu+40(FP), Y14
	MOVQ         nesterov+48(FP), R8
	VSTMXCSR     saved-4(SP)
	MOVL         saved-4(SP), AX
	ORL          $0x8040, AX
	MOVL         AX, ftz-8(SP)
	VLDMXCSR     ftz-8(SP)
	TESTQ        CX, CX
	JE           mom64done

mom64loop:
	PREFETCHW_SI_512
	VMOVUPD (DX), Y0
	VMULPD  (DI), Y14, Y1
	VADDPD  Y0, Y1, Y1
	VMOVUPD Y1, (DI)
	TESTQ   R8, R8
	JE      mom64heavy
	VMULPD  Y14, Y1, Y1
	VADDPD  Y0, Y1, Y1

mom64heavy:
	VMULPD  Y15, Y1, Y1
	VMOVUPD (SI), Y4
	VSUBPD  Y1, Y4, Y4
	VMOVUPD Y4, (SI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	DECQ    CX
	JNE     mom64loop

mom64done:
	VLDMXCSR saved-4(SP)
	VZEROUPPER
	RET

// func finite32(n8 int, x *float32) int
// 1 when x[i] is finite for every i < 8·n8, else 0: x−x is +0 for a
// finite x and NaN otherwise, and the OR of their bits stays 0.
TEXT ·finite32(SB), NOSPLIT, $0-24
	MOVQ   n8+0(FP), CX
	MOVQ   x+8(FP), SI
	VXORPS Y0, Y0, Y0
	TESTQ  CX, CX
	JE     fin32done

fin32loop:
	VMOVUPS (SI), Y1
	VSUBPS  Y1, Y1, Y1
	VORPS   Y1, Y0, Y0
	ADDQ    $32, SI
	DECQ    CX
	JNE     fin32loop

fin32done:
	XORQ   AX, AX
	VPTEST Y0, Y0
	SETEQ  AX
	MOVQ   AX, ret+16(FP)
	VZEROUPPER
	RET

// func finite64(n4 int, x *float64) int
// finite32 for float64, four at a time.
TEXT ·finite64(SB), NOSPLIT, $0-24
	MOVQ   n4+0(FP), CX
	MOVQ   x+8(FP), SI
	VXORPD Y0, Y0, Y0
	TESTQ  CX, CX
	JE     fin64done

fin64loop:
	VMOVUPD (SI), Y1
	VSUBPD  Y1, Y1, Y1
	VORPD   Y1, Y0, Y0
	ADDQ    $32, SI
	DECQ    CX
	JNE     fin64loop

fin64done:
	XORQ   AX, AX
	VPTEST Y0, Y0
	SETEQ  AX
	MOVQ   AX, ret+16(FP)
	VZEROUPPER
	RET

// func prefetchLines(n int, p unsafe.Pointer)
// PREFETCHT0 of the n 64-byte lines from p.
TEXT ·prefetchLines(SB), NOSPLIT, $0-16
	MOVQ  n+0(FP), CX
	MOVQ  p+8(FP), SI
	TESTQ CX, CX
	JE    prefetchdone

prefetchloop:
	PREFETCHT0 (SI)
	ADDQ       $64, SI
	DECQ       CX
	JNE        prefetchloop

prefetchdone:
	RET
