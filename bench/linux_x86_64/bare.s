/* The least a switch can do on x86_64, as a yardstick for the benchmarks:
 * save the six callee-saved registers, swap stacks, restore, resume with
 * an indirect jmp. No scheduler, no checks; bare_swap_fp also saves and
 * restores MXCSR and the x87 control word, unconditionally.
 *
 * Frame, as the switch leaves it (bare_swap_fp adds 8 bytes of control
 * words below r15):
 *
 *     sp+0x30  resume address
 *     sp+0x28  rbp
 *     sp+0x20  rbx
 *     sp+0x18  r12
 *     sp+0x10  r13
 *     sp+0x08  r14
 *     sp+0x00  r15       <- sp
 */

.macro SWAP fp
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	.if \fp
	subq	$8, %rsp
	stmxcsr	(%rsp)
	fnstcw	4(%rsp)
	.endif
	movq	%rsp, (%rdi)            /* save */
	movq	%rsi, %rsp              /* load */
	.if \fp
	ldmxcsr	(%rsp)
	fldcw	4(%rsp)
	addq	$8, %rsp
	.endif
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	popq	%rcx
	jmp	*%rcx                   /* resume */
.endm

	.text

/* void bare_swap(void **save, void *load)
 *                rdi          rsi
 */
	.globl	bare_swap
	.type	bare_swap, @function
bare_swap:
	.cfi_startproc
	endbr64
	SWAP	0
	.cfi_endproc
	.size	bare_swap, .-bare_swap

/* void bare_swap_fp(void **save, void *load)
 *                   rdi          rsi
 */
	.globl	bare_swap_fp
	.type	bare_swap_fp, @function
bare_swap_fp:
	.cfi_startproc
	endbr64
	SWAP	1
	.cfi_endproc
	.size	bare_swap_fp, .-bare_swap_fp

/* First code of a bare context: r12 = fn, r13 = arg. fn never returns. */
	.globl	bare_entry
	.type	bare_entry, @function
bare_entry:
	.cfi_startproc
	.cfi_undefined %rip
	endbr64
	movq	%r13, %rdi
	call	*%r12
	ud2
	.cfi_endproc
	.size	bare_entry, .-bare_entry

	.section .note.GNU-stack, "", %progbits
