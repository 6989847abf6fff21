/* Context switch for Linux riscv64, the LP64D psABI.
 *
 * A suspended context is just a stack pointer 'sp'. Above it lies this
 * frame; every routine below builds or consumes exactly this shape, and
 * 'struct frame' in platform.c describes it to C with checked offsets.
 *
 *     sp+0xd0  ...             the suspended code's own frames
 *     sp+0xc8  frm             rounding mode, from fcsr
 *     sp+0xc0  ra              where the context resumes
 *     sp+0x60  s0 .. s11       callee-saved registers (s0 is the fp)
 *     sp+0x00  fs0 .. fs11     callee-saved floating-point registers
 *                                                        <- sp
 *
 * Alignment: the psABI wants sp % 16 == 0 at every call, and the frame is
 * 0xd0 bytes, so a call made at sp enters C aligned.
 *
 * Only callee-saved state is kept. The return address arrives in ra, not
 * on the stack, so saving ra is what makes the frame resumable. Of fcsr
 * only the rounding mode is callee-saved (the flags are not); it is
 * written only when the resumed context's differs.
 */

/* Tell the unwinder that sp points at a whole frame, so a backtrace taken
 * here continues into the code that the frame will resume. */
.macro FRAME_CFI
	.cfi_def_cfa sp, 0xd0
	.cfi_offset ra, -0x10
	.cfi_offset s0, -0x70
	.cfi_offset s1, -0x68
	.cfi_offset s2, -0x60
	.cfi_offset s3, -0x58
	.cfi_offset s4, -0x50
	.cfi_offset s5, -0x48
	.cfi_offset s6, -0x40
	.cfi_offset s7, -0x38
	.cfi_offset s8, -0x30
	.cfi_offset s9, -0x28
	.cfi_offset s10, -0x20
	.cfi_offset s11, -0x18
.endm

/* Store the frame above below the current sp. */
.macro SAVE_FRAME
	addi	sp, sp, -0xd0
	.cfi_adjust_cfa_offset 0xd0
	fsd	fs0, 0x00(sp)
	fsd	fs1, 0x08(sp)
	fsd	fs2, 0x10(sp)
	fsd	fs3, 0x18(sp)
	fsd	fs4, 0x20(sp)
	fsd	fs5, 0x28(sp)
	fsd	fs6, 0x30(sp)
	fsd	fs7, 0x38(sp)
	fsd	fs8, 0x40(sp)
	fsd	fs9, 0x48(sp)
	fsd	fs10, 0x50(sp)
	fsd	fs11, 0x58(sp)
	sd	s0, 0x60(sp)
	sd	s1, 0x68(sp)
	sd	s2, 0x70(sp)
	sd	s3, 0x78(sp)
	sd	s4, 0x80(sp)
	sd	s5, 0x88(sp)
	sd	s6, 0x90(sp)
	sd	s7, 0x98(sp)
	sd	s8, 0xa0(sp)
	sd	s9, 0xa8(sp)
	sd	s10, 0xb0(sp)
	sd	s11, 0xb8(sp)
	sd	ra, 0xc0(sp)            /* where this context resumes */
	frrm	t0
	sd	t0, 0xc8(sp)
	FRAME_CFI
.endm

	.text

/* void yield_ctx(void)
 *
 * Builds the frame on the current stack, asks the scheduler for the next
 * context and resumes it.
 */
	.globl	yield_ctx
	.type	yield_ctx, @function
	.p2align 2
yield_ctx:
	.cfi_startproc
	SAVE_FRAME
	mv	a0, sp                  /* arg 1: where this context was saved */
	call	yield_ctx_inner         /* returns the sp to resume */
	j	_asm_restore_ctx
	.cfi_endproc
	.size	yield_ctx, .-yield_ctx

/* void switch_ctx(sp_ctx target)
 *                 a0
 *
 * Like yield_ctx, but the scheduler resumes 'target' (NULL: main).
 */
	.globl	switch_ctx
	.type	switch_ctx, @function
	.p2align 2
switch_ctx:
	.cfi_startproc
	SAVE_FRAME                      /* leaves a0 alone */
	mv	a1, a0                  /* arg 2: the target */
	mv	a0, sp                  /* arg 1: where this context was saved */
	call	switch_ctx_inner        /* returns the sp to resume */
	j	_asm_restore_ctx
	.cfi_endproc
	.size	switch_ctx, .-switch_ctx

/* _asm_restore_ctx: the second half of every switch, reached by a jump
 * with
 *
 *     sp = a frame (the one just saved, or the one being resumed)
 *     a0 = sp of the frame to resume (drawn at the top of this file)
 *
 * It consumes the frame and returns to its ra: the caller of yield_ctx or
 * switch_ctx, or _asm_ctx_start for a coroutine's first run.
 *
 * Every context arrives here, so this is where 'ctx_arrival_hook' is
 * called when the core has set it (to tell a sanitizer, or the trace):
 * on the new stack, with sp at the frame.
 */
	.globl	_asm_restore_ctx
	.hidden	_asm_restore_ctx
	.type	_asm_restore_ctx, @function
	.p2align 2
_asm_restore_ctx:
	.cfi_startproc
	FRAME_CFI                       /* sp is at a frame from the start */
	mv	sp, a0                  /* the switch: now on the other stack */
	lla	t0, ctx_arrival_hook
	ld	t0, 0(t0)
	beqz	t0, .Lheard             /* set when someone listens */
	jalr	t0                      /* ra comes back from the frame */
.Lheard:
	ld	t0, 0xc8(sp)            /* its rounding mode */
	frrm	t1
	beq	t0, t1, .Lload_registers
	fsrm	t0                      /* differs from ours: load it */
.Lload_registers:
	fld	fs0, 0x00(sp)
	fld	fs1, 0x08(sp)
	fld	fs2, 0x10(sp)
	fld	fs3, 0x18(sp)
	fld	fs4, 0x20(sp)
	fld	fs5, 0x28(sp)
	fld	fs6, 0x30(sp)
	fld	fs7, 0x38(sp)
	fld	fs8, 0x40(sp)
	fld	fs9, 0x48(sp)
	fld	fs10, 0x50(sp)
	fld	fs11, 0x58(sp)
	ld	s0, 0x60(sp)
	ld	s1, 0x68(sp)
	ld	s2, 0x70(sp)
	ld	s3, 0x78(sp)
	ld	s4, 0x80(sp)
	ld	s5, 0x88(sp)
	ld	s6, 0x90(sp)
	ld	s7, 0x98(sp)
	ld	s8, 0xa0(sp)
	ld	s9, 0xa8(sp)
	ld	s10, 0xb0(sp)
	ld	s11, 0xb8(sp)
	ld	ra, 0xc0(sp)
	addi	sp, sp, 0xd0            /* pop the frame */
	.cfi_def_cfa sp, 0
	.irp reg, ra, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11
	.cfi_restore \reg               /* its value is in the register again */
	.endr
	ret                             /* resumed */
	.cfi_endproc
	.size	_asm_restore_ctx, .-_asm_restore_ctx

/* void _asm_finish_ctx(void *sp, sp_ctx dead)
 *                      a0        a1
 *
 * A finished coroutine cannot free the stack it is running on. So move to
 * the next context's stack first and call finish_ctx_inner(dead) there,
 * just below that context's saved frame (free space: the frame is the
 * lowest thing in use on a suspended stack), then resume the frame.
 */
	.globl	_asm_finish_ctx
	.hidden	_asm_finish_ctx
	.type	_asm_finish_ctx, @function
	.p2align 2
_asm_finish_ctx:
	.cfi_startproc
	mv	sp, a0                  /* leave the dead stack for good */
	FRAME_CFI
	mv	a0, a1                  /* arg 1: the dead coroutine */
	call	finish_ctx_inner
	mv	a0, sp                  /* the call left sp at the frame */
	j	_asm_restore_ctx
	.cfi_endproc
	.size	_asm_finish_ctx, .-_asm_finish_ctx

/* _asm_ctx_entry: the first code every coroutine runs.
 *
 * platform_setup_stack seeds a frame whose ra is _asm_ctx_start, so
 * _asm_restore_ctx returns there with
 *
 *     s1 = fn    s2 = arg    s3 = finish    s0 = 0    sp = top, aligned
 *
 * Why the nop: a debugger looks up the code that a return address belongs
 * to at address - 1 (the call before it). The seeded return address is not
 * after a call, so that byte must still be in here, where the CFI says
 * there is no caller, or a backtrace would wander into the routine above.
 */
	.globl	_asm_ctx_entry
	.hidden	_asm_ctx_entry
	.type	_asm_ctx_entry, @function
	.globl	_asm_ctx_start
	.hidden	_asm_ctx_start
	.p2align 2
_asm_ctx_entry:
	.cfi_startproc
	.cfi_undefined ra               /* no caller: backtraces end here */
	nop
_asm_ctx_start:
	mv	a0, s2                  /* arg 1 of fn */
	jalr	s1                      /* fn(arg) */
	jalr	s3                      /* finish(): leaves this stack for good */
	unimp                           /* finish never returns */
	.cfi_endproc
	.size	_asm_ctx_entry, .-_asm_ctx_entry

	.section .note.GNU-stack, "", %progbits
