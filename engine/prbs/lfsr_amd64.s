//go:build amd64

#include "textflag.h"

// Shift counts of the 32 words of a width-32 chunk: word i (1..32) is
// (A << i) | (B >> (32-i)), A the word before the chunk, B its last word.
DATA shl32<>+0(SB)/4, $1
DATA shl32<>+4(SB)/4, $2
DATA shl32<>+8(SB)/4, $3
DATA shl32<>+12(SB)/4, $4
DATA shl32<>+16(SB)/4, $5
DATA shl32<>+20(SB)/4, $6
DATA shl32<>+24(SB)/4, $7
DATA shl32<>+28(SB)/4, $8
DATA shl32<>+32(SB)/4, $9
DATA shl32<>+36(SB)/4, $10
DATA shl32<>+40(SB)/4, $11
DATA shl32<>+44(SB)/4, $12
DATA shl32<>+48(SB)/4, $13
DATA shl32<>+52(SB)/4, $14
DATA shl32<>+56(SB)/4, $15
DATA shl32<>+60(SB)/4, $16
DATA shl32<>+64(SB)/4, $17
DATA shl32<>+68(SB)/4, $18
DATA shl32<>+72(SB)/4, $19
DATA shl32<>+76(SB)/4, $20
DATA shl32<>+80(SB)/4, $21
DATA shl32<>+84(SB)/4, $22
DATA shl32<>+88(SB)/4, $23
DATA shl32<>+92(SB)/4, $24
DATA shl32<>+96(SB)/4, $25
DATA shl32<>+100(SB)/4, $26
DATA shl32<>+104(SB)/4, $27
DATA shl32<>+108(SB)/4, $28
DATA shl32<>+112(SB)/4, $29
DATA shl32<>+116(SB)/4, $30
DATA shl32<>+120(SB)/4, $31
DATA shl32<>+124(SB)/4, $32
GLOBL shl32<>(SB), RODATA|NOPTR, $128
DATA shr32<>+0(SB)/4, $31
DATA shr32<>+4(SB)/4, $30
DATA shr32<>+8(SB)/4, $29
DATA shr32<>+12(SB)/4, $28
DATA shr32<>+16(SB)/4, $27
DATA shr32<>+20(SB)/4, $26
DATA shr32<>+24(SB)/4, $25
DATA shr32<>+28(SB)/4, $24
DATA shr32<>+32(SB)/4, $23
DATA shr32<>+36(SB)/4, $22
DATA shr32<>+40(SB)/4, $21
DATA shr32<>+44(SB)/4, $20
DATA shr32<>+48(SB)/4, $19
DATA shr32<>+52(SB)/4, $18
DATA shr32<>+56(SB)/4, $17
DATA shr32<>+60(SB)/4, $16
DATA shr32<>+64(SB)/4, $15
DATA shr32<>+68(SB)/4, $14
DATA shr32<>+72(SB)/4, $13
DATA shr32<>+76(SB)/4, $12
DATA shr32<>+80(SB)/4, $11
DATA shr32<>+84(SB)/4, $10
DATA shr32<>+88(SB)/4, $9
DATA shr32<>+92(SB)/4, $8
DATA shr32<>+96(SB)/4, $7
DATA shr32<>+100(SB)/4, $6
DATA shr32<>+104(SB)/4, $5
DATA shr32<>+108(SB)/4, $4
DATA shr32<>+112(SB)/4, $3
DATA shr32<>+116(SB)/4, $2
DATA shr32<>+120(SB)/4, $1
DATA shr32<>+124(SB)/4, $0
GLOBL shr32<>(SB), RODATA|NOPTR, $128

// Per limb count L = 2, 4, 8, 16 (rows of 128 bytes): the left shift count
// (word number in the chunk) of the lanes of the first vector of a pair,
// 32 minus it, the second vector's count minus the first's, and the
// increase per pair.
DATA wide<>+0(SB)/4, $1
DATA wide<>+4(SB)/4, $1
DATA wide<>+8(SB)/4, $2
DATA wide<>+12(SB)/4, $2
DATA wide<>+16(SB)/4, $3
DATA wide<>+20(SB)/4, $3
DATA wide<>+24(SB)/4, $4
DATA wide<>+28(SB)/4, $4
DATA wide<>+32(SB)/4, $31
DATA wide<>+36(SB)/4, $31
DATA wide<>+40(SB)/4, $30
DATA wide<>+44(SB)/4, $30
DATA wide<>+48(SB)/4, $29
DATA wide<>+52(SB)/4, $29
DATA wide<>+56(SB)/4, $28
DATA wide<>+60(SB)/4, $28
DATA wide<>+64(SB)/4, $4
DATA wide<>+68(SB)/4, $4
DATA wide<>+72(SB)/4, $4
DATA wide<>+76(SB)/4, $4
DATA wide<>+80(SB)/4, $4
DATA wide<>+84(SB)/4, $4
DATA wide<>+88(SB)/4, $4
DATA wide<>+92(SB)/4, $4
DATA wide<>+96(SB)/4, $8
DATA wide<>+100(SB)/4, $8
DATA wide<>+104(SB)/4, $8
DATA wide<>+108(SB)/4, $8
DATA wide<>+112(SB)/4, $8
DATA wide<>+116(SB)/4, $8
DATA wide<>+120(SB)/4, $8
DATA wide<>+124(SB)/4, $8
DATA wide<>+128(SB)/4, $1
DATA wide<>+132(SB)/4, $1
DATA wide<>+136(SB)/4, $1
DATA wide<>+140(SB)/4, $1
DATA wide<>+144(SB)/4, $2
DATA wide<>+148(SB)/4, $2
DATA wide<>+152(SB)/4, $2
DATA wide<>+156(SB)/4, $2
DATA wide<>+160(SB)/4, $31
DATA wide<>+164(SB)/4, $31
DATA wide<>+168(SB)/4, $31
DATA wide<>+172(SB)/4, $31
DATA wide<>+176(SB)/4, $30
DATA wide<>+180(SB)/4, $30
DATA wide<>+184(SB)/4, $30
DATA wide<>+188(SB)/4, $30
DATA wide<>+192(SB)/4, $2
DATA wide<>+196(SB)/4, $2
DATA wide<>+200(SB)/4, $2
DATA wide<>+204(SB)/4, $2
DATA wide<>+208(SB)/4, $2
DATA wide<>+212(SB)/4, $2
DATA wide<>+216(SB)/4, $2
DATA wide<>+220(SB)/4, $2
DATA wide<>+224(SB)/4, $4
DATA wide<>+228(SB)/4, $4
DATA wide<>+232(SB)/4, $4
DATA wide<>+236(SB)/4, $4
DATA wide<>+240(SB)/4, $4
DATA wide<>+244(SB)/4, $4
DATA wide<>+248(SB)/4, $4
DATA wide<>+252(SB)/4, $4
DATA wide<>+256(SB)/4, $1
DATA wide<>+260(SB)/4, $1
DATA wide<>+264(SB)/4, $1
DATA wide<>+268(SB)/4, $1
DATA wide<>+272(SB)/4, $1
DATA wide<>+276(SB)/4, $1
DATA wide<>+280(SB)/4, $1
DATA wide<>+284(SB)/4, $1
DATA wide<>+288(SB)/4, $31
DATA wide<>+292(SB)/4, $31
DATA wide<>+296(SB)/4, $31
DATA wide<>+300(SB)/4, $31
DATA wide<>+304(SB)/4, $31
DATA wide<>+308(SB)/4, $31
DATA wide<>+312(SB)/4, $31
DATA wide<>+316(SB)/4, $31
DATA wide<>+320(SB)/4, $1
DATA wide<>+324(SB)/4, $1
DATA wide<>+328(SB)/4, $1
DATA wide<>+332(SB)/4, $1
DATA wide<>+336(SB)/4, $1
DATA wide<>+340(SB)/4, $1
DATA wide<>+344(SB)/4, $1
DATA wide<>+348(SB)/4, $1
DATA wide<>+352(SB)/4, $2
DATA wide<>+356(SB)/4, $2
DATA wide<>+360(SB)/4, $2
DATA wide<>+364(SB)/4, $2
DATA wide<>+368(SB)/4, $2
DATA wide<>+372(SB)/4, $2
DATA wide<>+376(SB)/4, $2
DATA wide<>+380(SB)/4, $2
DATA wide<>+384(SB)/4, $1
DATA wide<>+388(SB)/4, $1
DATA wide<>+392(SB)/4, $1
DATA wide<>+396(SB)/4, $1
DATA wide<>+400(SB)/4, $1
DATA wide<>+404(SB)/4, $1
DATA wide<>+408(SB)/4, $1
DATA wide<>+412(SB)/4, $1
DATA wide<>+416(SB)/4, $31
DATA wide<>+420(SB)/4, $31
DATA wide<>+424(SB)/4, $31
DATA wide<>+428(SB)/4, $31
DATA wide<>+432(SB)/4, $31
DATA wide<>+436(SB)/4, $31
DATA wide<>+440(SB)/4, $31
DATA wide<>+444(SB)/4, $31
DATA wide<>+448(SB)/4, $0
DATA wide<>+452(SB)/4, $0
DATA wide<>+456(SB)/4, $0
DATA wide<>+460(SB)/4, $0
DATA wide<>+464(SB)/4, $0
DATA wide<>+468(SB)/4, $0
DATA wide<>+472(SB)/4, $0
DATA wide<>+476(SB)/4, $0
DATA wide<>+480(SB)/4, $1
DATA wide<>+484(SB)/4, $1
DATA wide<>+488(SB)/4, $1
DATA wide<>+492(SB)/4, $1
DATA wide<>+496(SB)/4, $1
DATA wide<>+500(SB)/4, $1
DATA wide<>+504(SB)/4, $1
DATA wide<>+508(SB)/4, $1
GLOBL wide<>(SB), RODATA|NOPTR, $512

// JUMP sets DX to the LFSR word 32 steps after AX (the jump table at DI,
// four 1 KiB rows of 256 words, one per byte of AX). It clobbers AX and
// BX; the high-byte registers take bytes 1 and 3 without a shift each.
#define JUMP \
	MOVBLZX AL, BX; \
	MOVL    (DI)(BX*4), DX; \
	MOVBLZX AH, BX; \
	XORL    1024(DI)(BX*4), DX; \
	SHRL    $16, AX; \
	MOVBLZX AL, BX; \
	XORL    2048(DI)(BX*4), DX; \
	MOVBLZX AH, BX; \
	XORL    3072(DI)(BX*4), DX

// EXPECT32 sets dst to eight expected words of a width-32 chunk from A
// (Y0) and B (Y1) broadcast, with left counts l and right counts r.
#define EXPECT32(l, r, dst) \
	VPSLLVD l, Y0, dst; \
	VPSRLVD r, Y1, Y3; \
	VPOR    Y3, dst, dst

// LOAD32 loads the shift counts of width 32 into Y8-Y15.
#define LOAD32 \
	VMOVDQU shl32<>+0(SB), Y8; \
	VMOVDQU shl32<>+32(SB), Y9; \
	VMOVDQU shl32<>+64(SB), Y10; \
	VMOVDQU shl32<>+96(SB), Y11; \
	VMOVDQU shr32<>+0(SB), Y12; \
	VMOVDQU shr32<>+32(SB), Y13; \
	VMOVDQU shr32<>+64(SB), Y14; \
	VMOVDQU shr32<>+96(SB), Y15

// AB32 broadcasts A (AX) into Y0 and B = jump(A) (DX) into Y1.
#define AB32 \
	VMOVD        AX, X0; \
	VPBROADCASTD X0, Y0; \
	JUMP; \
	VMOVD        DX, X1; \
	VPBROADCASTD X1, Y1

// TAILMASK sets Y5 to n+1 (n = CX, the words left, 1..31) in every lane;
// lane k of a vector is then valid when Y5 > its left count.
#define TAILMASK \
	MOVQ         CX, BX; \
	INCQ         BX; \
	VMOVQ        BX, X5; \
	VPBROADCASTD X5, Y5

// BACK32 moves SI, R8 and CX back so that one more whole chunk ends at
// the end of the body (CX words, 1..31, are left and at least 32 lie
// behind): those words are produced or checked again rather than with
// masked loads and stores, and AX becomes the word before that chunk.
#define BACK32 \
	MOVQ $32, BX; \
	SUBQ CX, BX; \
	SUBQ BX, R8; \
	SHLQ $2, BX; \
	SUBQ BX, SI; \
	MOVL -4(SI), AX; \
	MOVQ $32, CX

// Wide words of L = 2, 4, 8 or 16 32-bit limbs, all taps below bit 32:
// limb q of word i of a chunk is (A_q << i) | (B_q >> (32-i)), where A
// is the word before the chunk and B the chunk's last word: B_0 = jump(A_0)
// and B_q = A_(q-1). Vectors go in pairs of 64 bytes; A and B are tiled
// over each vector (Y0/Y1 for the first of a pair, Y10/Y11 for the
// second) and the shift counts vary by lane.
//
// Registers: SI chunk cursor, CX words left, R9 the word before the chunk
// (4 bytes before it must be readable), DI jump table, R8 words done, R10
// L, R11 words in this chunk, R12 word bytes, R13 count row, BX pairs
// left; Y3 words in chunk + 1, Y4/Y5 left/right counts of the first
// vector, Y12/Y13 of the second, Y14 their difference, Y2 the increase
// per pair, Y15 difference found.

// WIDEINIT loads the arguments and points R13 at the count row of L.
#define WIDEINIT \
	MOVQ  body+0(FP), SI; \
	MOVQ  words+8(FP), CX; \
	MOVQ  prev0+16(FP), R9; \
	MOVQ  jt+24(FP), DI; \
	MOVQ  limbs+32(FP), R10; \
	XORQ  R8, R8; \
	MOVQ  R10, R12; \
	SHLQ  $2, R12; \
	BSFQ  R10, R13; \
	DECQ  R13; \
	SHLQ  $7, R13; \
	LEAQ  wide<>+0(SB), AX; \
	ADDQ  AX, R13; \
	VMOVDQU 64(R13), Y14; \
	VMOVDQU 96(R13), Y2

// TILE sets Y7 to jump(limb 0 of the word at R9) in every lane.
#define TILEJUMP \
	MOVL         (R9), AX; \
	JUMP; \
	VMOVD        DX, X7; \
	VPBROADCASTD X7, Y7

#define TILE2 \
	VPBROADCASTQ (R9), Y0; \
	VPBROADCASTQ -4(R9), Y1; \
	VPBLENDD     $0x55, Y7, Y1, Y1; \
	VMOVDQA      Y0, Y10; \
	VMOVDQA      Y1, Y11

#define TILE4 \
	VBROADCASTI128 (R9), Y0; \
	VBROADCASTI128 -4(R9), Y1; \
	VPBLENDD       $0x11, Y7, Y1, Y1; \
	VMOVDQA        Y0, Y10; \
	VMOVDQA        Y1, Y11

#define TILE8 \
	VMOVDQU  (R9), Y0; \
	VMOVDQU  -4(R9), Y1; \
	VPBLENDD $0x01, Y7, Y1, Y1; \
	VMOVDQA  Y0, Y10; \
	VMOVDQA  Y1, Y11

#define TILE16 \
	VMOVDQU  (R9), Y0; \
	VMOVDQU  -4(R9), Y1; \
	VPBLENDD $0x01, Y7, Y1, Y1; \
	VMOVDQU  32(R9), Y10; \
	VMOVDQU  28(R9), Y11

// CHUNKSIZE sets R11 to the words of this chunk, BX to its pairs of
// vectors, Y3 to R11+1 and the counts to their first values.
#define CHUNKSIZE \
	MOVQ         $32, R11; \
	CMPQ         CX, R11; \
	CMOVQLT      CX, R11; \
	MOVQ         R11, BX; \
	IMULQ        R10, BX; \
	ADDQ         $15, BX; \
	SHRQ         $4, BX; \
	MOVQ         R11, AX; \
	INCQ         AX; \
	VMOVQ        AX, X3; \
	VPBROADCASTD X3, Y3; \
	VMOVDQU      (R13), Y4; \
	VMOVDQU      32(R13), Y5

// VEC0 sets Y8 to the expected lanes of the first vector of a pair and
// Y6 to its valid lanes; VEC1 does the same for the second and moves the
// counts on to the next pair.
#define VEC0 \
	VPCMPGTD Y4, Y3, Y6; \
	VPSLLVD  Y4, Y0, Y8; \
	VPSRLVD  Y5, Y1, Y9; \
	VPOR     Y9, Y8, Y8

#define VEC1 \
	VPADDD   Y14, Y4, Y12; \
	VPSUBD   Y14, Y5, Y13; \
	VPCMPGTD Y12, Y3, Y6; \
	VPSLLVD  Y12, Y10, Y8; \
	VPSRLVD  Y13, Y11, Y9; \
	VPOR     Y9, Y8, Y8; \
	VPADDD   Y2, Y4, Y4; \
	VPSUBD   Y2, Y5, Y5

// WIDEBACK, at the start of a chunk with fewer than 32 words (CX) left
// and at least 32 behind (R8), moves SI, R9, R8 and CX back so that one
// whole chunk ends at the end of the body: those words are produced or
// checked again rather than with masked loads and stores. It needs 34
// words in all, so that the 4 bytes before the new R9 are in the body.
#define WIDEBACK(skip) \
	CMPQ  CX, $32; \
	JGE   skip; \
	CMPQ  R8, $32; \
	JLT   skip; \
	LEAQ  (R8)(CX*1), BX; \
	CMPQ  BX, $34; \
	JLT   skip; \
	MOVQ  $32, BX; \
	SUBQ  CX, BX; \
	SUBQ  BX, R8; \
	IMULQ R12, BX; \
	SUBQ  BX, SI; \
	MOVQ  SI, R9; \
	SUBQ  R12, R9; \
	MOVQ  $32, CX

// STOREVEC stores Y8 at off(SI): whole when every lane is valid, not at
// all when none is, and masked (slower) otherwise.
#define STOREVEC(off, next) \
	VMOVMSKPS  Y6, AX; \
	TESTL      AX, AX; \
	JZ         next; \
	CMPL       AX, $0xff; \
	JNE        3(PC); \
	VMOVDQU    Y8, off(SI); \
	JMP        next; \
	VPMASKMOVD Y8, Y6, off(SI)

// CMPVEC ORs into Y15 the difference of Y8 from the valid lanes at
// off(SI): a plain load when every lane is valid, none when no lane is,
// and a masked (slower) load otherwise.
#define CMPVEC(off, next) \
	VMOVMSKPS  Y6, AX; \
	TESTL      AX, AX; \
	JZ         next; \
	CMPL       AX, $0xff; \
	JNE        4(PC); \
	VPXOR      off(SI), Y8, Y8; \
	VPOR       Y8, Y15, Y15; \
	JMP        next; \
	VPMASKMOVD off(SI), Y6, Y7; \
	VPAND      Y6, Y8, Y8; \
	VPXOR      Y7, Y8, Y8; \
	VPOR       Y8, Y15, Y15

// LINK32 ORs into Y4 the difference, in every bit but bit 0, of the
// eight words at off(SI) from the eight words before them shifted left
// by one: zero (in those bits) when each word is the one before it
// moved on by one LFSR step, whatever bit came in.
#define LINK32(off) \
	VMOVDQU off-4(SI), Y2; \
	VPSLLD  $1, Y2, Y2; \
	VPXOR   off(SI), Y2, Y2; \
	VPOR    Y2, Y4, Y4

// func verify32AVX2(body *byte, words int, seed uint32, jt *jumpTable) int
//
// The first chunk is compared with the words expected from the seed. Every
// later chunk, whose word before it lies in the body, is checked without
// building it: each of its words must be the word before it shifted left
// by one with any bit 0 (LINK32), and its last word B must be jump(A) for
// the word A before it. Those words are then windows of one bit stream
// whose 32 new bits, held whole in B, are the LFSR's, so the chunk equals
// (A << i) | (B >> (32-i)) exactly when both checks pass: the index
// returned is the one the expected chunk would give.
TEXT ·verify32AVX2(SB), NOSPLIT, $0-40
	MOVQ body+0(FP), SI
	MOVQ words+8(FP), CX
	MOVL seed+16(FP), AX
	MOVQ jt+24(FP), DI
	XORQ R8, R8
	LOAD32
	CMPQ CX, $32
	JLT  v32short
	AB32
	EXPECT32(Y8, Y12, Y2)
	VPXOR    (SI), Y2, Y4
	EXPECT32(Y9, Y13, Y2)
	VPXOR    32(SI), Y2, Y2
	VPOR     Y2, Y4, Y4
	EXPECT32(Y10, Y14, Y2)
	VPXOR    64(SI), Y2, Y2
	VPOR     Y2, Y4, Y4
	EXPECT32(Y11, Y15, Y2)
	VPXOR    96(SI), Y2, Y2
	VPOR     Y2, Y4, Y4
	VPTEST   Y4, Y4
	JNZ      v32done
	VPCMPEQD Y7, Y7, Y7
	VPSLLD   $1, Y7, Y7 // every bit but bit 0
	JMP      v32next

	PCALIGN $32

v32link:
	MOVL   -4(SI), AX
	JUMP
	CMPL   DX, 124(SI)
	JNE    v32done
	VMOVDQU -4(SI), Y4
	VPSLLD  $1, Y4, Y4
	VPXOR   (SI), Y4, Y4
	LINK32(32)
	LINK32(64)
	LINK32(96)
	VPTEST  Y7, Y4
	JNZ     v32done

v32next:
	ADDQ $128, SI
	ADDQ $32, R8
	SUBQ $32, CX
	CMPQ CX, $32
	JGE  v32link
	TESTQ CX, CX
	JZ    v32done
	BACK32
	JMP   v32link

v32short:
	AB32
	TAILMASK
	VPXOR      Y4, Y4, Y4
	VPCMPGTD   Y8, Y5, Y6
	VPMASKMOVD (SI), Y6, Y7
	EXPECT32(Y8, Y12, Y2)
	VPAND      Y6, Y2, Y2
	VPXOR      Y7, Y2, Y2
	VPOR       Y2, Y4, Y4
	VPCMPGTD   Y9, Y5, Y6
	VPMASKMOVD 32(SI), Y6, Y7
	EXPECT32(Y9, Y13, Y2)
	VPAND      Y6, Y2, Y2
	VPXOR      Y7, Y2, Y2
	VPOR       Y2, Y4, Y4
	VPCMPGTD   Y10, Y5, Y6
	VPMASKMOVD 64(SI), Y6, Y7
	EXPECT32(Y10, Y14, Y2)
	VPAND      Y6, Y2, Y2
	VPXOR      Y7, Y2, Y2
	VPOR       Y2, Y4, Y4
	VPCMPGTD   Y11, Y5, Y6
	VPMASKMOVD 96(SI), Y6, Y7
	EXPECT32(Y11, Y15, Y2)
	VPAND      Y6, Y2, Y2
	VPXOR      Y7, Y2, Y2
	VPOR       Y2, Y4, Y4
	VPTEST     Y4, Y4
	JNZ        v32done
	ADDQ       CX, R8

v32done:
	VZEROUPPER
	MOVQ R8, ret+32(FP)
	RET

// JUMP64 sets out to the LFSR word 64 steps after in (rows 4-7 of the
// jump table at DI), clobbering AX and BX.
#define JUMP64(in, out) \
	MOVL    in, AX; \
	MOVBLZX AL, BX; \
	MOVL    4096(DI)(BX*4), out; \
	MOVBLZX AH, BX; \
	XORL    5120(DI)(BX*4), out; \
	SHRL    $16, AX; \
	MOVBLZX AL, BX; \
	XORL    6144(DI)(BX*4), out; \
	MOVBLZX AH, BX; \
	XORL    7168(DI)(BX*4), out

// STORE32(off) writes the chunk of A (Y0) and B (Y1) at off(SI).
#define STORE32(off) \
	EXPECT32(Y8, Y12, Y2); \
	VMOVDQU Y2, off(SI); \
	EXPECT32(Y9, Y13, Y2); \
	VMOVDQU Y2, off+32(SI); \
	EXPECT32(Y10, Y14, Y2); \
	VMOVDQU Y2, off+64(SI); \
	EXPECT32(Y11, Y15, Y2); \
	VMOVDQU Y2, off+96(SI)

// func fill32AVX2(body *byte, words int, seed uint32, jt *jumpTable)
//
// Chunk k runs from A_k, the word before it, to A_(k+1). Two chunks are
// written per step from R9 = A_k and R10 = A_(k+1), and both move on by
// 64 steps at once, so the jumps form two independent chains (even and
// odd chunks) whose latencies overlap instead of one chain of them.
TEXT ·fill32AVX2(SB), NOSPLIT, $0-32
	MOVQ body+0(FP), SI
	MOVQ words+8(FP), CX
	MOVL seed+16(FP), AX
	MOVQ jt+24(FP), DI
	LOAD32
	CMPQ CX, $32
	JLT  f32tail
	MOVL AX, R9
	JUMP
	MOVL DX, R10
	CMPQ CX, $64
	JLT  f32one

	PCALIGN $32

f32pair:
	JUMP64(R9, R11)
	JUMP64(R10, R12)
	VMOVD        R9, X0
	VPBROADCASTD X0, Y0
	VMOVD        R10, X1
	VPBROADCASTD X1, Y1
	STORE32(0)
	VMOVDQA      Y1, Y0
	VMOVD        R11, X1
	VPBROADCASTD X1, Y1
	STORE32(128)
	MOVL         R11, R9
	MOVL         R12, R10
	ADDQ         $256, SI
	SUBQ         $64, CX
	CMPQ         CX, $64
	JGE          f32pair
	CMPQ         CX, $32
	JLT          f32tail

f32one:
	VMOVD        R9, X0
	VPBROADCASTD X0, Y0
	VMOVD        R10, X1
	VPBROADCASTD X1, Y1
	STORE32(0)
	ADDQ         $128, SI
	SUBQ         $32, CX

f32tail:
	TESTQ      CX, CX
	JZ         f32done
	MOVQ       words+8(FP), BX
	CMPQ       BX, $32
	JLT        f32short
	BACK32
	AB32
	STORE32(0)
	JMP        f32done

f32short:
	AB32
	TAILMASK
	VPCMPGTD   Y8, Y5, Y6
	EXPECT32(Y8, Y12, Y2)
	VPMASKMOVD Y2, Y6, (SI)
	VPCMPGTD   Y9, Y5, Y6
	EXPECT32(Y9, Y13, Y2)
	VPMASKMOVD Y2, Y6, 32(SI)
	VPCMPGTD   Y10, Y5, Y6
	EXPECT32(Y10, Y14, Y2)
	VPMASKMOVD Y2, Y6, 64(SI)
	VPCMPGTD   Y11, Y5, Y6
	EXPECT32(Y11, Y15, Y2)
	VPMASKMOVD Y2, Y6, 96(SI)

f32done:
	VZEROUPPER
	RET

// func verifyWideAVX2(body *byte, words int, prev0 *byte, jt *jumpTable, limbs int) int
TEXT ·verifyWideAVX2(SB), NOSPLIT, $0-48
	WIDEINIT
	TESTQ CX, CX
	JZ    vwdone

vwchunk:
	WIDEBACK(vwtile)

vwtile:
	TILEJUMP
	CMPQ R10, $2
	JEQ  vwt2
	CMPQ R10, $4
	JEQ  vwt4
	CMPQ R10, $8
	JEQ  vwt8
	TILE16
	JMP  vwtiled

vwt2:
	TILE2
	JMP vwtiled

vwt4:
	TILE4
	JMP vwtiled

vwt8:
	TILE8

vwtiled:
	CHUNKSIZE
	VPXOR Y15, Y15, Y15
	CMPQ  R11, $32
	JNE   vwpartial

	PCALIGN $32

vwpair:
	VEC0
	VPXOR (SI), Y8, Y8
	VPOR  Y8, Y15, Y15
	VEC1
	VPXOR 32(SI), Y8, Y8
	VPOR  Y8, Y15, Y15
	ADDQ  $64, SI
	DECQ  BX
	JNZ   vwpair
	JMP   vwnext

	PCALIGN $32

vwpartial:
	VEC0
	CMPVEC(0, vwa)

vwa:
	VEC1
	CMPVEC(32, vwb)

vwb:
	ADDQ $64, SI
	DECQ BX
	JNZ  vwpartial

vwnext:
	VPTEST Y15, Y15
	JNZ    vwdone
	MOVQ   SI, R9
	SUBQ   R12, R9 // the last word of this (correct) chunk
	ADDQ   R11, R8
	SUBQ   R11, CX
	JNZ    vwchunk

vwdone:
	VZEROUPPER
	MOVQ R8, ret+40(FP)
	RET

// func fillWideAVX2(body *byte, words int, prev0 *byte, jt *jumpTable, limbs int)
TEXT ·fillWideAVX2(SB), NOSPLIT, $0-40
	WIDEINIT
	TESTQ CX, CX
	JZ    fwdone

fwchunk:
	WIDEBACK(fwtile)

fwtile:
	TILEJUMP
	CMPQ R10, $2
	JEQ  fwt2
	CMPQ R10, $4
	JEQ  fwt4
	CMPQ R10, $8
	JEQ  fwt8
	TILE16
	JMP  fwtiled

fwt2:
	TILE2
	JMP fwtiled

fwt4:
	TILE4
	JMP fwtiled

fwt8:
	TILE8

fwtiled:
	CHUNKSIZE
	CMPQ R11, $32
	JNE  fwpartial

	PCALIGN $32

fwpair:
	VEC0
	VMOVDQU Y8, (SI)
	VEC1
	VMOVDQU Y8, 32(SI)
	ADDQ    $64, SI
	DECQ    BX
	JNZ     fwpair
	MOVQ    SI, R9
	SUBQ    R12, R9 // the word just written last
	ADDQ    R11, R8
	SUBQ    R11, CX
	JNZ     fwchunk
	JMP     fwdone

	PCALIGN $32

fwpartial:
	VEC0
	STOREVEC(0, fwa)

fwa:
	VEC1
	STOREVEC(32, fwb)

fwb:
	ADDQ $64, SI
	DECQ BX
	JNZ  fwpartial

fwdone:
	VZEROUPPER
	RET
