/* Context switch for Linux x86_64, System V AMD64 ABI.
 *
 * A suspended context is just a stack pointer 'sp'. Above it lies this
 * frame; every routine below builds or consumes exactly this shape, and
 * 'struct frame' in platform.c describes it to C with checked offsets.
 *
 *     sp+0x40  ...             the suspended code's own frames
 *     sp+0x38  return address  where the context resumes
 *     sp+0x30  rbp             \
 *     sp+0x28  rbx              |
 *     sp+0x20  r12              | callee-saved registers
 *     sp+0x18  r13              |
 *     sp+0x10  r14              |
 *     sp+0x08  r15             /
 *     sp+0x04  x87 control word (16 bits), then 16 unused bits
 *     sp+0x00  MXCSR (32 bits)                            <- sp
 *
 * Alignment: the ABI has rsp % 16 == 0 at every 'call', so on entry to any
 * function (rsp + 8) % 16 == 0. The frame is 0x40 bytes counting the return
 * address, hence sp % 16 == 0 and a 'call' made at sp enters C aligned.
 *
 * Only callee-saved state is kept. The control bits of MXCSR (rounding,
 * exception masks) and the x87 control word are callee-saved too, so a
 * coroutine that changes its rounding mode keeps it to itself.
 *
 * Two choices make the switch fast: the x87 control word is loaded only
 * when it differs (MXCSR always: comparing it would cost more), and a
 * context resumes with an indirect 'jmp', not 'ret' ('notrack': it lands on
 * a return address, which has no endbr64). docs/performance.md, "Design
 * choices the numbers forced", has why and the numbers.
 */

/* Push the frame above; the return address is already in place. MXCSR is
 * stored first, into the red zone where its slot will be, so that its
 * slow store overlaps the pushes. */
.macro SAVE_FRAME
	stmxcsr	-0x38(%rsp)             /* sp+0x00: SSE rounding mode, masks */
	pushq	%rbp                    /* sp+0x30 */
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %rbp, 0
	pushq	%rbx                    /* sp+0x28 */
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %rbx, 0
	pushq	%r12                    /* sp+0x20 */
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %r12, 0
	pushq	%r13                    /* sp+0x18 */
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %r13, 0
	pushq	%r14                    /* sp+0x10 */
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %r14, 0
	pushq	%r15                    /* sp+0x08 */
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %r15, 0
	subq	$8, %rsp                /* sp+0x00: MXCSR is already there */
	.cfi_adjust_cfa_offset 8
	fnstcw	4(%rsp)                 /* x87 precision and rounding control */
.endm

/* Tell the unwinder that rsp points at a whole frame, so a backtrace taken
 * here continues into the code that the frame will resume. */
.macro FRAME_CFI
	.cfi_def_cfa %rsp, 0x40
	.cfi_offset %rbp, -0x10
	.cfi_offset %rbx, -0x18
	.cfi_offset %r12, -0x20
	.cfi_offset %r13, -0x28
	.cfi_offset %r14, -0x30
	.cfi_offset %r15, -0x38
.endm

	.text

/* void yield_ctx(void)
 *
 * Builds the frame on the current stack, asks the scheduler for the next
 * context and resumes it. Entered by 'call': the return address is the
 * frame's top slot.
 */
	.globl	yield_ctx
	.type	yield_ctx, @function
	.p2align 6
yield_ctx:
	.cfi_startproc
	endbr64
	SAVE_FRAME
	movq	%rsp, %rdi              /* arg 1: where this context was saved */
	call	yield_ctx_inner         /* returns the sp to resume */
	movzwl	4(%rsp), %ecx           /* the x87 control word in force */
	jmp	_asm_restore_ctx
	.cfi_endproc
	.size	yield_ctx, .-yield_ctx

/* void switch_ctx(sp_ctx target)
 *                 rdi
 *
 * Like yield_ctx, but the scheduler resumes 'target' (NULL: main).
 */
	.globl	switch_ctx
	.type	switch_ctx, @function
	.p2align 6
switch_ctx:
	.cfi_startproc
	endbr64
	SAVE_FRAME                      /* leaves rdi alone */
	movq	%rdi, %rsi              /* arg 2: the target */
	movq	%rsp, %rdi              /* arg 1: where this context was saved */
	call	switch_ctx_inner        /* returns the sp to resume */
	movzwl	4(%rsp), %ecx           /* the x87 control word in force */
	jmp	_asm_restore_ctx
	.cfi_endproc
	.size	switch_ctx, .-switch_ctx

/* _asm_restore_ctx: the second half of every switch, reached by 'jmp'
 * with
 *
 *     rsp = a frame (the one just saved, or the one being resumed)
 *     rax = sp of the frame to resume (drawn at the top of this file)
 *     ecx = the x87 control word in force now
 *
 * It consumes the frame and jumps to its return address: the caller of
 * yield_ctx or switch_ctx, or _asm_ctx_start for a coroutine's first run.
 *
 * Every context arrives here, so this is where 'ctx_arrival_hook' is
 * called when the core has set it (to tell a sanitizer, or the trace):
 * on the new stack, with rsp at the frame.
 */
	.globl	_asm_restore_ctx
	.hidden	_asm_restore_ctx
	.type	_asm_restore_ctx, @function
	.p2align 6
_asm_restore_ctx:
	.cfi_startproc
	FRAME_CFI                       /* rsp is at a frame from the start */
	movq	%rax, %rsp              /* the switch: now on the other stack */
	cmpq	$0, ctx_arrival_hook(%rip)
	jne	.Lcall_arrival_hook     /* only when someone listens: below */
.Lheard:
	movq	0x38(%rsp), %rdx        /* where to resume, loaded early */
	ldmxcsr	(%rsp)                  /* its SSE rounding mode and masks */
	cmpw	4(%rsp), %cx            /* its x87 control word the same? */
	jne	.Lload_x87_word         /* no: below */
.Lload_registers:
	movq	0x08(%rsp), %r15
	movq	0x10(%rsp), %r14
	movq	0x18(%rsp), %r13
	movq	0x20(%rsp), %r12
	movq	0x28(%rsp), %rbx
	movq	0x30(%rsp), %rbp
	.cfi_remember_state
	leaq	0x40(%rsp), %rsp        /* pop the frame, return address too */
	.cfi_def_cfa %rsp, 0
	.cfi_register %rip, %rdx
	.cfi_same_value %rbp
	.cfi_same_value %rbx
	.cfi_same_value %r12
	.cfi_same_value %r13
	.cfi_same_value %r14
	.cfi_same_value %r15
	notrack jmp *%rdx               /* resumed */

	/* Out of the way of the common path, which falls straight through. */
.Lload_x87_word:
	.cfi_restore_state
	fldcw	4(%rsp)                 /* the frame's own x87 control word */
	jmp	.Lload_registers
.Lcall_arrival_hook:
	pushq	%rcx                    /* the x87 word in force; twice, */
	.cfi_adjust_cfa_offset 8
	pushq	%rcx                    /* so the call enters C aligned */
	.cfi_adjust_cfa_offset 8
	call	*ctx_arrival_hook(%rip)
	popq	%rcx
	.cfi_adjust_cfa_offset -8
	popq	%rcx
	.cfi_adjust_cfa_offset -8
	jmp	.Lheard
	.cfi_endproc
	.size	_asm_restore_ctx, .-_asm_restore_ctx

/* void _asm_finish_ctx(void *sp, sp_ctx dead)
 *                      rdi       rsi
 *
 * A finished coroutine cannot free the stack it is running on. So move to
 * the next context's stack first and call finish_ctx_inner(dead) there,
 * just below that context's saved frame (free space: the frame is the
 * lowest thing in use on a suspended stack), then resume the frame.
 */
	.globl	_asm_finish_ctx
	.hidden	_asm_finish_ctx
	.type	_asm_finish_ctx, @function
_asm_finish_ctx:
	.cfi_startproc
	movq	%rdi, %rsp              /* leave the dead stack for good */
	FRAME_CFI
	movq	%rsi, %rdi              /* arg 1: the dead coroutine */
	call	finish_ctx_inner        /* sp % 16 == 0: enters C aligned */
	fnstcw	-8(%rsp)                /* the red zone, below the frame */
	movzwl	-8(%rsp), %ecx          /* the x87 control word in force */
	movq	%rsp, %rax              /* the call left rsp at sp again */
	jmp	_asm_restore_ctx
	.cfi_endproc
	.size	_asm_finish_ctx, .-_asm_finish_ctx

/* _asm_ctx_entry: the first code every coroutine runs.
 *
 * platform_setup_stack seeds a frame whose return address is _asm_ctx_start,
 * so _asm_restore_ctx arrives there with
 *
 *     r12 = fn    r13 = arg    r14 = finish    rsp = top of stack, 16-aligned
 *
 * The calls below therefore enter fn and finish with rsp % 16 == 8, as any
 * C function expects.
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
_asm_ctx_entry:
	.cfi_startproc
	.cfi_undefined %rip             /* no caller: backtraces end here */
	nop
_asm_ctx_start:
	endbr64
	movq	%r13, %rdi              /* arg 1 of fn */
	call	*%r12                   /* fn(arg) */
	call	*%r14                   /* finish(): leaves this stack for good */
	ud2                             /* finish never returns */
	.cfi_endproc
	.size	_asm_ctx_entry, .-_asm_ctx_entry

/* Control-flow enforcement: every indirect-branch target here starts with
 * endbr64, so this object may be marked IBT-compatible. Not SHSTK: a
 * switch leaves the one shadow stack out of step with the stacks, so a
 * program with shadow stacks on cannot use coroutines (platform.c checks).
 * The linker ANDs these marks over all objects. */
	.section .note.gnu.property, "a"
	.p2align 3
	.long	4                       /* size of the name, "GNU" */
	.long	16                      /* size of the property below */
	.long	5                       /* NT_GNU_PROPERTY_TYPE_0 */
	.asciz	"GNU"
	.long	0xc0000002              /* GNU_PROPERTY_X86_FEATURE_1_AND */
	.long	4
	.long	1                       /* IBT */
	.p2align 3

	.section .note.GNU-stack, "", %progbits
