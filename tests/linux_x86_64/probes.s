/* Stand-ins seen by the assembly in platform_test, x86_64.
 *
 * asm.s calls into the core through four symbols. In platform_test each of
 * them is one of these probes: it writes the stack pointer its caller had
 * at the call (rsp + 8, past the return address) into probe_rsp[] (defined
 * in platform_test.c) and jumps on to the test's fake core, leaving rsp
 * untouched, so the fake runs on exactly the stack the probe saw.
 */

.macro PROBE name, slot
	.globl	\name
	.type	\name, @function
\name:
	.cfi_startproc
	endbr64
	leaq	8(%rsp), %rax           /* rax is free: no argument uses it */
	movq	%rax, probe_rsp+8*\slot(%rip)
	jmp	fake_\name
	.cfi_endproc
	.size	\name, .-\name
.endm

	.text
	PROBE	yield_ctx_inner, 0
	PROBE	switch_ctx_inner, 1
	PROBE	coroutine_finish, 2
	PROBE	finish_ctx_inner, 3

	.section .note.GNU-stack, "", %progbits
