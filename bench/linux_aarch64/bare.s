/* The least a switch can do on aarch64, as a yardstick for the benchmarks:
 * save the callee-saved registers, swap stacks, restore, return. No
 * scheduler, no checks; bare_swap_fp also saves and restores FPCR,
 * unconditionally. Frame (bare_frame.c writes the first one):
 *
 *     sp+0xa0  FPCR (bare_swap_fp only), then 8 unused bytes
 *     sp+0x90  x29, x30 (resume address)
 *     sp+0x40  x19 .. x28
 *     sp+0x00  d8 .. d15                                  <- sp
 */

.macro SWAP fp
	sub	sp, sp, #0xb0
	stp	d8, d9, [sp, #0x00]
	stp	d10, d11, [sp, #0x10]
	stp	d12, d13, [sp, #0x20]
	stp	d14, d15, [sp, #0x30]
	stp	x19, x20, [sp, #0x40]
	stp	x21, x22, [sp, #0x50]
	stp	x23, x24, [sp, #0x60]
	stp	x25, x26, [sp, #0x70]
	stp	x27, x28, [sp, #0x80]
	stp	x29, x30, [sp, #0x90]
	.if \fp
	mrs	x9, fpcr
	str	x9, [sp, #0xa0]
	.endif
	mov	x9, sp
	str	x9, [x0]                /* save */
	mov	sp, x1                  /* load */
	.if \fp
	ldr	x9, [sp, #0xa0]
	msr	fpcr, x9
	.endif
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
	add	sp, sp, #0xb0
	ret
.endm

	.text

/* void bare_swap(void **save, void *load)
 *                x0           x1
 */
	.globl	bare_swap
	.type	bare_swap, %function
bare_swap:
	hint	#34
	SWAP	0
	.size	bare_swap, .-bare_swap

	.globl	bare_swap_fp
	.type	bare_swap_fp, %function
bare_swap_fp:
	hint	#34
	SWAP	1
	.size	bare_swap_fp, .-bare_swap_fp

/* First code of a bare context: x19 = fn, x20 = arg. fn never returns. */
	.globl	bare_entry
	.type	bare_entry, %function
bare_entry:
	.cfi_startproc
	.cfi_undefined x30
	mov	x0, x20
	blr	x19
	brk	#0
	.cfi_endproc
	.size	bare_entry, .-bare_entry

	.section .note.GNU-stack, "", %progbits
