//go:build arm64 && !purego

#include "textflag.h"

// NEON distance kernels. The Go assembler has no mnemonics for the vector
// FADD, FSUB and FADDP forms used here, so they are emitted with WORD and
// the encoding is given beside each one (Arm ARM, "Advanced SIMD three
// same" and "Advanced SIMD scalar pairwise"):
//   FADD  Vd.4S, Vn.4S, Vm.4S  0x4E20D400 | Rm<<16 | Rn<<5 | Rd
//   FSUB  Vd.4S, Vn.4S, Vm.4S  0x4EA0D400 | Rm<<16 | Rn<<5 | Rd
//   FADDP Vd.4S, Vn.4S, Vm.4S  0x6E20D400 | Rm<<16 | Rn<<5 | Rd
//   FADDP Sd, Vn.2S            0x7E30D800 | Rn<<5 | Rd

// func dotNEON(a, b *float32, n int) float32
TEXT ·dotNEON(SB), NOSPLIT, $0-28
	MOVD a+0(FP), R0
	MOVD b+8(FP), R1
	MOVD n+16(FP), R2
	VEOR V16.B16, V16.B16, V16.B16
	VEOR V17.B16, V17.B16, V17.B16
	VEOR V18.B16, V18.B16, V18.B16
	VEOR V19.B16, V19.B16, V19.B16

dot16:
	CMP  $16, R2
	BLT  dot4
	VLD1.P 64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1.P 64(R1), [V4.S4, V5.S4, V6.S4, V7.S4]
	VFMLA V4.S4, V0.S4, V16.S4
	VFMLA V5.S4, V1.S4, V17.S4
	VFMLA V6.S4, V2.S4, V18.S4
	VFMLA V7.S4, V3.S4, V19.S4
	SUB  $16, R2
	B    dot16

dot4:
	CMP  $4, R2
	BLT  dotreduce
	VLD1.P 16(R0), [V0.S4]
	VLD1.P 16(R1), [V4.S4]
	VFMLA V4.S4, V0.S4, V16.S4
	SUB  $4, R2
	B    dot4

dotreduce:
	WORD $0x4E31D610 // FADD  V16.4S, V16.4S, V17.4S
	WORD $0x4E33D652 // FADD  V18.4S, V18.4S, V19.4S
	WORD $0x4E32D610 // FADD  V16.4S, V16.4S, V18.4S
	WORD $0x6E30D610 // FADDP V16.4S, V16.4S, V16.4S
	WORD $0x7E30DA00 // FADDP S0, V16.2S

dottail:
	CBZ    R2, dotdone
	FMOVS.P 4(R0), F1
	FMOVS.P 4(R1), F2
	FMULS  F1, F2, F2
	FADDS  F2, F0, F0
	SUB    $1, R2
	B      dottail

dotdone:
	FMOVS F0, ret+24(FP)
	RET

// func l2NEON(a, b *float32, n int) float32
TEXT ·l2NEON(SB), NOSPLIT, $0-28
	MOVD a+0(FP), R0
	MOVD b+8(FP), R1
	MOVD n+16(FP), R2
	VEOR V16.B16, V16.B16, V16.B16
	VEOR V17.B16, V17.B16, V17.B16
	VEOR V18.B16, V18.B16, V18.B16
	VEOR V19.B16, V19.B16, V19.B16

l216:
	CMP  $16, R2
	BLT  l24
	VLD1.P 64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1.P 64(R1), [V4.S4, V5.S4, V6.S4, V7.S4]
	WORD $0x4EA4D400 // FSUB V0.4S, V0.4S, V4.4S
	WORD $0x4EA5D421 // FSUB V1.4S, V1.4S, V5.4S
	WORD $0x4EA6D442 // FSUB V2.4S, V2.4S, V6.4S
	WORD $0x4EA7D463 // FSUB V3.4S, V3.4S, V7.4S
	VFMLA V0.S4, V0.S4, V16.S4
	VFMLA V1.S4, V1.S4, V17.S4
	VFMLA V2.S4, V2.S4, V18.S4
	VFMLA V3.S4, V3.S4, V19.S4
	SUB  $16, R2
	B    l216

l24:
	CMP  $4, R2
	BLT  l2reduce
	VLD1.P 16(R0), [V0.S4]
	VLD1.P 16(R1), [V4.S4]
	WORD $0x4EA4D400 // FSUB V0.4S, V0.4S, V4.4S
	VFMLA V0.S4, V0.S4, V16.S4
	SUB  $4, R2
	B    l24

l2reduce:
	WORD $0x4E31D610 // FADD  V16.4S, V16.4S, V17.4S
	WORD $0x4E33D652 // FADD  V18.4S, V18.4S, V19.4S
	WORD $0x4E32D610 // FADD  V16.4S, V16.4S, V18.4S
	WORD $0x6E30D610 // FADDP V16.4S, V16.4S, V16.4S
	WORD $0x7E30DA00 // FADDP S0, V16.2S

l2tail:
	CBZ    R2, l2done
	FMOVS.P 4(R0), F1
	FMOVS.P 4(R1), F2
	FSUBS  F2, F1, F1
	FMULS  F1, F1, F1
	FADDS  F1, F0, F0
	SUB    $1, R2
	B      l2tail

l2done:
	FMOVS F0, ret+24(FP)
	RET
