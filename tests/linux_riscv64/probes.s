/* Stand-ins seen by the assembly in platform_test, riscv64.
 *
 * asm.s calls into the core through four symbols. In platform_test each of
 * them is one of these probes: it writes the stack pointer its caller had
 * at the call (on riscv64, sp itself) into probe_rsp[] (defined in
 * platform_test.c) and jumps on to the test's fake core, leaving sp
 * untouched, so the fake runs on exactly the stack the probe saw.
 */

.macro PROBE name, slot
	.globl	\name
	.type	\name, @function
\name:
	.cfi_startproc
	lla	t0, probe_rsp           /* t0: free, no argument uses it */
	sd	sp, (8 * \slot)(t0)
	tail	fake_\name
	.cfi_endproc
	.size	\name, .-\name
.endm

	.text
	PROBE	yield_ctx_inner, 0
	PROBE	switch_ctx_inner, 1
	PROBE	coroutine_finish, 2
	PROBE	finish_ctx_inner, 3

	.section .note.GNU-stack, "", %progbits
