/* Register-preservation helpers for the tests, riscv64 LP64D.
 *
 * C cannot promise what is in a register, so these routines load the
 * callee-saved registers themselves, switch, and look again.
 */

/* Load s0..s11 with a2 + 1 .. a2 + 12, fs0..fs11 with the bit patterns
 * a2 + 13 .. a2 + 24, and the rounding mode with a2 & 3. */
.macro LOAD_REGS
	.irp n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
	addi	s\n, a2, (\n + 1)
	.endr
	.irp n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
	addi	t0, a2, (\n + 13)
	fmv.d.x	fs\n, t0
	.endr
	andi	t0, a2, 3
	fsrm	t0
.endm

/* Set 'bit' in a0 unless \reg == a2 + \k. */
.macro EXPECT reg, k, bit
	addi	t0, a2, \k
	beq	\reg, t0, 1f
	li	t1, (1 << \bit)
	or	a0, a0, t1
1:
.endm

	.text

/* uint64_t regs_across(void (*switcher)(sp_ctx), sp_ctx target, uint64_t seed)
 *                      a0                         a1             a2
 *
 * Loads the callee-saved registers from 'seed' (LOAD_REGS), calls
 * switcher(target), and returns a mask of what came back changed:
 *
 *     bits 0-11 s0-s11   12-23 fs0-fs11   24 rounding mode
 *
 * The caller's registers and rounding mode are put back before it returns.
 * Frame:
 *
 *     sp+0xd0  seed
 *     sp+0xc8  caller's rounding mode
 *     sp+0xc0  caller's ra
 *     sp+0x60  caller's s0-s11
 *     sp+0x00  caller's fs0-fs11
 */
	.globl	regs_across
	.type	regs_across, @function
regs_across:
	.cfi_startproc
	addi	sp, sp, -0xe0
	.cfi_adjust_cfa_offset 0xe0
	.irp n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
	fsd	fs\n, (8 * \n)(sp)
	sd	s\n, (0x60 + 8 * \n)(sp)
	.endr
	sd	ra, 0xc0(sp)
	.cfi_rel_offset ra, 0xc0
	frrm	t0
	sd	t0, 0xc8(sp)
	sd	a2, 0xd0(sp)

	mv	t2, a0                  /* the switcher */
	mv	a0, a1                  /* its argument */
	LOAD_REGS
	jalr	t2

	ld	a2, 0xd0(sp)            /* seed */
	li	a0, 0
	EXPECT	s0, 1, 0
	EXPECT	s1, 2, 1
	EXPECT	s2, 3, 2
	EXPECT	s3, 4, 3
	EXPECT	s4, 5, 4
	EXPECT	s5, 6, 5
	EXPECT	s6, 7, 6
	EXPECT	s7, 8, 7
	EXPECT	s8, 9, 8
	EXPECT	s9, 10, 9
	EXPECT	s10, 11, 10
	EXPECT	s11, 12, 11
	.irp n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
	fmv.x.d	t2, fs\n
	EXPECT	t2, (\n + 13), (\n + 12)
	.endr
	frrm	t2
	andi	t3, a2, 3
	beq	t2, t3, 1f
	li	t1, (1 << 24)
	or	a0, a0, t1

1:	ld	t0, 0xc8(sp)            /* the caller's rounding mode back */
	fsrm	t0
	.irp n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
	fld	fs\n, (8 * \n)(sp)
	ld	s\n, (0x60 + 8 * \n)(sp)
	.endr
	ld	ra, 0xc0(sp)
	addi	sp, sp, 0xe0
	.cfi_adjust_cfa_offset -0xe0
	ret
	.cfi_endproc
	.size	regs_across, .-regs_across

/* void regs_clobber(void *seed)
 *                   a0: points at a uint64_t
 *
 * A coroutine body that never returns: forever, do what regs_across does
 * for the seed ~*seed (every register and the rounding mode then differ
 * from what regs_across(..., *seed) loads), and yield. Since it never
 * returns it owes its caller no registers; tests destroy it suspended.
 */
	.globl	regs_clobber
	.type	regs_clobber, @function
regs_clobber:
	.cfi_startproc
	ld	a2, 0(a0)
	not	a2, a2                  /* unlike anything regs_across loads */
	addi	sp, sp, -16
	sd	a2, 0(sp)
1:	ld	a2, 0(sp)
	LOAD_REGS
	call	yield_ctx
	j	1b
	.cfi_endproc
	.size	regs_clobber, .-regs_clobber

/* void record_entry_rsp(void *slot)
 *                       a0: points at a uintptr_t
 *
 * A coroutine body that stores the stack pointer it was entered with; on
 * riscv64 that is the caller's too (the return address is in ra). The
 * psABI wants it 16-aligned.
 */
	.globl	record_entry_rsp
	.type	record_entry_rsp, @function
record_entry_rsp:
	.cfi_startproc
	sd	sp, 0(a0)
	ret
	.cfi_endproc
	.size	record_entry_rsp, .-record_entry_rsp

	.section .note.GNU-stack, "", %progbits
