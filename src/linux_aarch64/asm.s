/* Context switch for Linux aarch64, AAPCS64.
 *
 * A suspended context is just a stack pointer 'sp'. Above it lies this
 * frame; every routine below builds or consumes exactly this shape, and
 * 'struct frame' in platform.c describes it to C with checked offsets.
 *
 *     sp+0xb0  ...             the suspended code's own frames
 *     sp+0xa8  (unused)
 *     sp+0xa0  FPCR            rounding mode and floating-point traps
 *     sp+0x98  x30 (lr)        where the context resumes
 *     sp+0x90  x29 (fp)
 *     sp+0x40  x19 .. x28      callee-saved registers, two per 16 bytes
 *     sp+0x00  d8 .. d15       low halves of v8-v15, callee-saved too
 *                                                        <- sp
 *
 * Alignment: sp % 16 == 0 at all times on aarch64, not only at calls, and
 * the frame is 0xb0 bytes, so sp stays aligned throughout.
 *
 * Only callee-saved state is kept. The return address arrives in x30, not
 * on the stack, so saving x30 is what makes the frame resumable. FPCR is
 * written only when the resumed context's differs: reading it is cheap,
 * writing it may wait for the floating-point pipeline.
 */

/* Tell the unwinder that sp points at a whole frame, so a backtrace taken
 * here continues into the code that the frame will resume. */
.macro FRAME_CFI
	.cfi_def_cfa sp, 0xb0
	.cfi_offset x29, -0x20
	.cfi_offset x30, -0x18
	.cfi_offset x19, -0x70
	.cfi_offset x20, -0x68
	.cfi_offset x21, -0x60
	.cfi_offset x22, -0x58
	.cfi_offset x23, -0x50
	.cfi_offset x24, -0x48
	.cfi_offset x25, -0x40
	.cfi_offset x26, -0x38
	.cfi_offset x27, -0x30
	.cfi_offset x28, -0x28
.endm

/* Store the frame above below the current sp. */
.macro SAVE_FRAME
	sub	sp, sp, #0xb0
	.cfi_adjust_cfa_offset 0xb0
	stp	d8, d9, [sp, #0x00]
	stp	d10, d11, [sp, #0x10]
	stp	d12, d13, [sp, #0x20]
	stp	d14, d15, [sp, #0x30]
	stp	x19, x20, [sp, #0x40]
	stp	x21, x22, [sp, #0x50]
	stp	x23, x24, [sp, #0x60]
	stp	x25, x26, [sp, #0x70]
	stp	x27, x28, [sp, #0x80]
	stp	x29, x30, [sp, #0x90]   /* x30: where this context resumes */
	FRAME_CFI
	mrs	x9, fpcr
	str	x9, [sp, #0xa0]
.endm

	.text

/* void yield_ctx(void)
 *
 * Builds the frame on the current stack, asks the scheduler for the next
 * context and resumes it.
 */
	.globl	yield_ctx
	.type	yield_ctx, %function
	.p2align 4
yield_ctx:
	.cfi_startproc
	hint	#34                     /* bti c: a valid target of 'blr' */
	SAVE_FRAME
	mov	x0, sp                  /* arg 1: where this context was saved */
	bl	yield_ctx_inner         /* returns the sp to resume */
	b	_asm_restore_ctx
	.cfi_endproc
	.size	yield_ctx, .-yield_ctx

/* void switch_ctx(sp_ctx target)
 *                 x0
 *
 * Like yield_ctx, but the scheduler resumes 'target' (NULL: main).
 */
	.globl	switch_ctx
	.type	switch_ctx, %function
	.p2align 4
switch_ctx:
	.cfi_startproc
	hint	#34                     /* bti c */
	SAVE_FRAME                      /* leaves x0 alone */
	mov	x1, x0                  /* arg 2: the target */
	mov	x0, sp                  /* arg 1: where this context was saved */
	bl	switch_ctx_inner        /* returns the sp to resume */
	b	_asm_restore_ctx
	.cfi_endproc
	.size	switch_ctx, .-switch_ctx

/* _asm_restore_ctx: the second half of every switch, reached by a branch
 * with
 *
 *     sp = a frame (the one just saved, or the one being resumed)
 *     x0 = sp of the frame to resume (drawn at the top of this file)
 *
 * It consumes the frame and returns to its x30: the caller of yield_ctx or
 * switch_ctx, or _asm_ctx_start for a coroutine's first run.
 *
 * Every context arrives here, so this is where 'ctx_arrival_hook' is
 * called when the core has set it (to tell a sanitizer, or the trace):
 * on the new stack, with sp at the frame.
 */
	.globl	_asm_restore_ctx
	.hidden	_asm_restore_ctx
	.type	_asm_restore_ctx, %function
	.p2align 4
_asm_restore_ctx:
	.cfi_startproc
	FRAME_CFI                       /* sp is at a frame from the start */
	mov	sp, x0                  /* the switch: now on the other stack */
	adrp	x9, ctx_arrival_hook
	ldr	x9, [x9, :lo12:ctx_arrival_hook]
	cbz	x9, .Lheard             /* set when someone listens */
	blr	x9                      /* x30 comes back from the frame */
.Lheard:
	ldr	x9, [sp, #0xa0]         /* its FPCR */
	mrs	x10, fpcr
	cmp	x9, x10
	b.eq	.Lload_registers
	msr	fpcr, x9                /* differs from ours: load it */
.Lload_registers:
	ldp	d8, d9, [sp, #0x00]
	ldp	d10, d11, [sp, #0x10]
	ldp	d12, d13, [sp, #0x20]
	ldp	d14, d15, [sp, #0x30]
	ldp	x19, x20, [sp, #0x40]
	ldp	x21, x22, [sp, #0x50]
	ldp	x23, x24, [sp, #0x60]
	ldp	x25, x26, [sp, #0x70]
	ldp	x27, x28, [sp, #0x80]
	ldp	x29, x30, [sp, #0x90]
	add	sp, sp, #0xb0           /* pop the frame */
	.cfi_def_cfa sp, 0
	.irp reg, x19, x20, x21, x22, x23, x24, x25, x26, x27, x28, x29, x30
	.cfi_restore \reg              /* its value is in the register again */
	.endr
	ret                             /* resumed */
	.cfi_endproc
	.size	_asm_restore_ctx, .-_asm_restore_ctx

/* void _asm_finish_ctx(void *sp, sp_ctx dead)
 *                      x0        x1
 *
 * A finished coroutine cannot free the stack it is running on. So move to
 * the next context's stack first and call finish_ctx_inner(dead) there,
 * just below that context's saved frame (free space: the frame is the
 * lowest thing in use on a suspended stack), then resume the frame.
 */
	.globl	_asm_finish_ctx
	.hidden	_asm_finish_ctx
	.type	_asm_finish_ctx, %function
	.p2align 4
_asm_finish_ctx:
	.cfi_startproc
	mov	sp, x0                  /* leave the dead stack for good */
	FRAME_CFI
	mov	x0, x1                  /* arg 1: the dead coroutine */
	bl	finish_ctx_inner
	mov	x0, sp                  /* the call left sp at the frame */
	b	_asm_restore_ctx
	.cfi_endproc
	.size	_asm_finish_ctx, .-_asm_finish_ctx

/* _asm_ctx_entry: the first code every coroutine runs.
 *
 * platform_setup_stack seeds a frame whose x30 is _asm_ctx_start, so
 * _asm_restore_ctx returns there with
 *
 *     x19 = fn    x20 = arg    x21 = finish    x29 = 0    sp = top, aligned
 *
 * Why the nop: a debugger looks up the code that a return address belongs
 * to at address - 1 (the call before it). The seeded return address is not
 * after a call, so that byte must still be in here, where the CFI says
 * there is no caller, or a backtrace would wander into the routine above.
 */
	.globl	_asm_ctx_entry
	.hidden	_asm_ctx_entry
	.type	_asm_ctx_entry, %function
	.globl	_asm_ctx_start
	.hidden	_asm_ctx_start
	.p2align 4
_asm_ctx_entry:
	.cfi_startproc
	.cfi_undefined x30              /* no caller: backtraces end here */
	nop
_asm_ctx_start:
	mov	x0, x20                 /* arg 1 of fn */
	blr	x19                     /* fn(arg) */
	blr	x21                     /* finish(): leaves this stack for good */
	brk	#0                      /* finish never returns */
	.cfi_endproc
	.size	_asm_ctx_entry, .-_asm_ctx_entry

/* Branch target identification: the routines reached by 'blr' start with
 * 'bti c', and the rest are reached by 'b' or 'ret', which BTI does not
 * check, so this object may be marked BTI-compatible (not PAC: nothing
 * here signs return addresses). The linker ANDs these marks. */
	.section .note.gnu.property, "a"
	.p2align 3
	.long	4                       /* size of the name, "GNU" */
	.long	16                      /* size of the property below */
	.long	5                       /* NT_GNU_PROPERTY_TYPE_0 */
	.asciz	"GNU"
	.long	0xc0000000              /* GNU_PROPERTY_AARCH64_FEATURE_1_AND */
	.long	4
	.long	1                       /* BTI */
	.p2align 3

	.section .note.GNU-stack, "", %progbits
