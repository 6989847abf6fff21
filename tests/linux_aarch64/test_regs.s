/* Register-preservation helpers for the tests, aarch64 AAPCS64.
 *
 * C cannot promise what is in a register, so these routines load the
 * callee-saved registers themselves, switch, and look again.
 */

/* Load x19..x28 with x2 + 1 .. x2 + 10, x29 with x2 + 11, d8..d15 with the
 * bit patterns x2 + 12 .. x2 + 19, and FPCR's rounding mode with x2 & 3. */
.macro LOAD_REGS
	add	x19, x2, #1
	add	x20, x2, #2
	add	x21, x2, #3
	add	x22, x2, #4
	add	x23, x2, #5
	add	x24, x2, #6
	add	x25, x2, #7
	add	x26, x2, #8
	add	x27, x2, #9
	add	x28, x2, #10
	add	x29, x2, #11
	.irp n, 8, 9, 10, 11, 12, 13, 14, 15
	add	x10, x2, #(\n + 4)
	fmov	d\n, x10
	.endr
	mrs	x10, fpcr
	bic	x10, x10, #(3 << 22)    /* RMode: bits 22-23 */
	and	x11, x2, #3
	orr	x10, x10, x11, lsl #22
	msr	fpcr, x10
.endm

/* Set 'bit' in x0 unless \reg == x2 + \k. */
.macro EXPECT reg, k, bit
	add	x10, x2, #\k
	cmp	\reg, x10
	b.eq	1f
	orr	x0, x0, #(1 << \bit)
1:
.endm

	.text

/* uint64_t regs_across(void (*switcher)(sp_ctx), sp_ctx target, uint64_t seed)
 *                      x0                         x1             x2
 *
 * Loads the callee-saved registers from 'seed' (LOAD_REGS), calls
 * switcher(target), and returns a mask of what came back changed:
 *
 *     bits 0-9 x19-x28   10 x29   11-18 d8-d15   19 FPCR rounding mode
 *
 * The caller's registers and FPCR are put back before it returns. Frame:
 *
 *     sp+0xa8  seed
 *     sp+0xa0  caller's FPCR
 *     sp+0x60  caller's d8-d15
 *     sp+0x00  caller's x19-x30
 */
	.globl	regs_across
	.type	regs_across, %function
regs_across:
	.cfi_startproc
	hint	#34                     /* bti c */
	sub	sp, sp, #0xc0
	.cfi_adjust_cfa_offset 0xc0
	stp	x19, x20, [sp, #0x00]
	stp	x21, x22, [sp, #0x10]
	stp	x23, x24, [sp, #0x20]
	stp	x25, x26, [sp, #0x30]
	stp	x27, x28, [sp, #0x40]
	stp	x29, x30, [sp, #0x50]
	.cfi_rel_offset x29, 0x50
	.cfi_rel_offset x30, 0x58
	stp	d8, d9, [sp, #0x60]
	stp	d10, d11, [sp, #0x70]
	stp	d12, d13, [sp, #0x80]
	stp	d14, d15, [sp, #0x90]
	mrs	x9, fpcr
	stp	x9, x2, [sp, #0xa0]

	mov	x9, x0                  /* the switcher */
	mov	x0, x1                  /* its argument */
	LOAD_REGS
	blr	x9

	ldr	x2, [sp, #0xa8]         /* seed */
	mov	x0, #0
	EXPECT	x19, 1, 0
	EXPECT	x20, 2, 1
	EXPECT	x21, 3, 2
	EXPECT	x22, 4, 3
	EXPECT	x23, 5, 4
	EXPECT	x24, 6, 5
	EXPECT	x25, 7, 6
	EXPECT	x26, 8, 7
	EXPECT	x27, 9, 8
	EXPECT	x28, 10, 9
	EXPECT	x29, 11, 10
	.irp n, 8, 9, 10, 11, 12, 13, 14, 15
	fmov	x11, d\n
	EXPECT	x11, (\n + 4), (\n + 3)
	.endr
	mrs	x11, fpcr
	ubfx	x11, x11, #22, #2
	and	x10, x2, #3
	cmp	x11, x10
	b.eq	1f
	orr	x0, x0, #(1 << 19)

1:	ldr	x9, [sp, #0xa0]         /* the caller's FPCR back */
	msr	fpcr, x9
	ldp	x19, x20, [sp, #0x00]
	ldp	x21, x22, [sp, #0x10]
	ldp	x23, x24, [sp, #0x20]
	ldp	x25, x26, [sp, #0x30]
	ldp	x27, x28, [sp, #0x40]
	ldp	x29, x30, [sp, #0x50]
	ldp	d8, d9, [sp, #0x60]
	ldp	d10, d11, [sp, #0x70]
	ldp	d12, d13, [sp, #0x80]
	ldp	d14, d15, [sp, #0x90]
	add	sp, sp, #0xc0
	.cfi_adjust_cfa_offset -0xc0
	ret
	.cfi_endproc
	.size	regs_across, .-regs_across

/* void regs_clobber(void *seed)
 *                   x0: points at a uint64_t
 *
 * A coroutine body that never returns: forever, do what regs_across does
 * for the seed ~*seed (every register and the rounding mode then differ
 * from what regs_across(..., *seed) loads), and yield. Since it never
 * returns it owes its caller no registers; tests destroy it suspended.
 */
	.globl	regs_clobber
	.type	regs_clobber, %function
regs_clobber:
	.cfi_startproc
	hint	#34                     /* bti c */
	ldr	x2, [x0]
	mvn	x2, x2                  /* unlike anything regs_across loads */
	sub	sp, sp, #16
	str	x2, [sp]
1:	ldr	x2, [sp]
	LOAD_REGS
	bl	yield_ctx
	b	1b
	.cfi_endproc
	.size	regs_clobber, .-regs_clobber

/* void record_entry_rsp(void *slot)
 *                       x0: points at a uintptr_t
 *
 * A coroutine body that stores the stack pointer it was entered with; on
 * aarch64 that is the caller's too (the return address is in x30). The
 * ABI wants it 16-aligned.
 */
	.globl	record_entry_rsp
	.type	record_entry_rsp, %function
record_entry_rsp:
	.cfi_startproc
	hint	#34                     /* bti c */
	mov	x9, sp
	str	x9, [x0]
	ret
	.cfi_endproc
	.size	record_entry_rsp, .-record_entry_rsp

	.section .note.GNU-stack, "", %progbits
