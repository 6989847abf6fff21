/* Register-preservation helpers for the tests, x86_64 System V.
 *
 * C cannot promise what is in a register, so these routines load the
 * callee-saved registers themselves, switch, and look again.
 */

/* Set the rounding control of MXCSR to (%edx & 3) and that of the x87
 * control word to ((%edx >> 2) & 3), using 4 bytes at \slot(%rsp). */
.macro SET_ROUNDING slot
	stmxcsr	\slot(%rsp)
	movl	\slot(%rsp), %eax      /* MXCSR rounding control: bits 13-14 */
	andl	$~0x6000, %eax
	movl	%edx, %ecx
	andl	$3, %ecx
	shll	$13, %ecx
	orl	%ecx, %eax
	movl	%eax, \slot(%rsp)
	ldmxcsr	\slot(%rsp)
	fnstcw	\slot(%rsp)
	movzwl	\slot(%rsp), %eax      /* x87 rounding control: bits 10-11 */
	andl	$~0x0c00, %eax
	movl	%edx, %ecx
	shrl	$2, %ecx
	andl	$3, %ecx
	shll	$10, %ecx
	orl	%ecx, %eax
	movw	%ax, \slot(%rsp)
	fldcw	\slot(%rsp)
.endm

/* Load rbx, rbp, r12..r15 with %rdx + 1 .. %rdx + 6. */
.macro LOAD_REGS
	leaq	1(%rdx), %rbx
	leaq	2(%rdx), %rbp
	leaq	3(%rdx), %r12
	leaq	4(%rdx), %r13
	leaq	5(%rdx), %r14
	leaq	6(%rdx), %r15
.endm

/* Set 'bit' in %eax unless \reg == %rdx + \k. */
.macro EXPECT reg, k, bit
	leaq	\k(%rdx), %rcx
	cmpq	%rcx, %\reg
	je	1f
	orl	$\bit, %eax
1:
.endm

	.text

/* uint64_t regs_across(void (*switcher)(sp_ctx), sp_ctx target, uint64_t seed)
 *                      rdi                       rsi            rdx
 *
 * Loads rbx, rbp, r12..r15 with seed+1 .. seed+6, the rounding control of
 * MXCSR with (seed & 3) and that of the x87 control word with (seed >> 2) & 3,
 * calls switcher(target), and returns a mask of what came back changed:
 *
 *     bit 0 rbx   1 rbp   2 r12   3 r13   4 r14   5 r15   6 MXCSR   7 x87 CW
 *
 * The caller's own registers and control words are put back before it
 * returns. Its frame, below the six pushed registers:
 *
 *     rsp+0x10  scratch for control words
 *     rsp+0x0c  caller's x87 control word
 *     rsp+0x08  caller's MXCSR
 *     rsp+0x00  seed
 */
	.globl	regs_across
	.type	regs_across, @function
regs_across:
	.cfi_startproc
	endbr64
	pushq	%rbp
	.cfi_adjust_cfa_offset 8
	pushq	%rbx
	.cfi_adjust_cfa_offset 8
	pushq	%r12
	.cfi_adjust_cfa_offset 8
	pushq	%r13
	.cfi_adjust_cfa_offset 8
	pushq	%r14
	.cfi_adjust_cfa_offset 8
	pushq	%r15
	.cfi_adjust_cfa_offset 8
	subq	$24, %rsp               /* 8 + 48 + 24: aligned for the call */
	.cfi_adjust_cfa_offset 24
	movq	%rdx, (%rsp)
	stmxcsr	8(%rsp)
	fnstcw	12(%rsp)

	SET_ROUNDING 16

	movq	%rdi, %rax              /* the switcher */
	LOAD_REGS
	movq	%rsi, %rdi              /* its argument */
	call	*%rax

	movq	(%rsp), %rdx            /* seed; rdx is caller-saved */
	xorl	%eax, %eax
	EXPECT	rbx, 1, 0x01
	EXPECT	rbp, 2, 0x02
	EXPECT	r12, 3, 0x04
	EXPECT	r13, 4, 0x08
	EXPECT	r14, 5, 0x10
	EXPECT	r15, 6, 0x20
	stmxcsr	16(%rsp)
	movl	16(%rsp), %ecx
	shrl	$13, %ecx
	andl	$3, %ecx
	movl	%edx, %esi
	andl	$3, %esi
	cmpl	%esi, %ecx
	je	1f
	orl	$0x40, %eax
1:	fnstcw	16(%rsp)
	movzwl	16(%rsp), %ecx
	shrl	$10, %ecx
	andl	$3, %ecx
	movl	%edx, %esi
	shrl	$2, %esi
	andl	$3, %esi
	cmpl	%esi, %ecx
	je	1f
	orl	$0x80, %eax

1:	ldmxcsr	8(%rsp)                 /* the caller's control words back */
	fldcw	12(%rsp)
	addq	$24, %rsp
	.cfi_adjust_cfa_offset -24
	popq	%r15
	.cfi_adjust_cfa_offset -8
	popq	%r14
	.cfi_adjust_cfa_offset -8
	popq	%r13
	.cfi_adjust_cfa_offset -8
	popq	%r12
	.cfi_adjust_cfa_offset -8
	popq	%rbx
	.cfi_adjust_cfa_offset -8
	popq	%rbp
	.cfi_adjust_cfa_offset -8
	ret
	.cfi_endproc
	.size	regs_across, .-regs_across

/* void regs_clobber(void *seed)
 *                   rdi: points at a uint64_t
 *
 * A coroutine body that never returns: forever, do what regs_across does
 * for the seed ~*seed (every register and rounding control then differs
 * from what regs_across(…, *seed) loads), and yield. Since it never returns it
 * owes its caller no registers; tests destroy it while it is suspended.
 */
	.globl	regs_clobber
	.type	regs_clobber, @function
regs_clobber:
	.cfi_startproc
	endbr64
	subq	$24, %rsp               /* aligned for the call */
	.cfi_adjust_cfa_offset 24
	movq	(%rdi), %rax
	movq	%rax, (%rsp)
1:	movq	(%rsp), %rdx
	notq	%rdx                    /* unlike anything regs_across loads */
	LOAD_REGS
	SET_ROUNDING 8
	call	yield_ctx
	jmp	1b
	.cfi_endproc
	.size	regs_clobber, .-regs_clobber

/* void record_entry_rsp(void *slot)
 *                       rdi: points at a uintptr_t
 *
 * A coroutine body that stores the stack pointer its caller had at the
 * 'call': rsp + 8, past the return address. The ABI wants it 16-aligned.
 */
	.globl	record_entry_rsp
	.type	record_entry_rsp, @function
record_entry_rsp:
	.cfi_startproc
	endbr64
	leaq	8(%rsp), %rax
	movq	%rax, (%rdi)
	ret
	.cfi_endproc
	.size	record_entry_rsp, .-record_entry_rsp

	.section .note.GNU-stack, "", %progbits
