/* Stand-ins seen by the assembly in platform_test, aarch64.
 *
 * asm.s calls into the core through four symbols. In platform_test each of
 * them is one of these probes: it writes the stack pointer its caller had
 * at the call (on aarch64, sp itself) into probe_rsp[] (defined in
 * platform_test.c) and branches on to the test's fake core, leaving sp
 * untouched, so the fake runs on exactly the stack the probe saw.
 */

.macro PROBE name, slot
	.globl	\name
	.type	\name, %function
\name:
	.cfi_startproc
	mov	x9, sp                  /* x9, x10: free, no argument uses them */
	adrp	x10, probe_rsp
	add	x10, x10, :lo12:probe_rsp
	str	x9, [x10, #(8 * \slot)]
	b	fake_\name
	.cfi_endproc
	.size	\name, .-\name
.endm

	.text
	PROBE	yield_ctx_inner, 0
	PROBE	switch_ctx_inner, 1
	PROBE	coroutine_finish, 2
	PROBE	finish_ctx_inner, 3

	.section .note.GNU-stack, "", %progbits
