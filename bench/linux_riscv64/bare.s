/* The least a switch can do on riscv64, as a yardstick for the benchmarks:
 * save the callee-saved registers, swap stacks, restore, return. No
 * scheduler, no checks; bare_swap_fp also saves and restores the rounding
 * mode, unconditionally. Frame (bare_frame.c writes the first one):
 *
 *     sp+0xc8  rounding mode (bare_swap_fp only)
 *     sp+0xc0  ra (resume address)
 *     sp+0x60  s0 .. s11
 *     sp+0x00  fs0 .. fs11                                <- sp
 */

.macro SWAP fp
	addi	sp, sp, -0xd0
	.irp n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
	fsd	fs\n, (8 * \n)(sp)
	sd	s\n, (0x60 + 8 * \n)(sp)
	.endr
	sd	ra, 0xc0(sp)
	.if \fp
	frrm	t0
	sd	t0, 0xc8(sp)
	.endif
	sd	sp, 0(a0)               /* save */
	mv	sp, a1                  /* load */
	.if \fp
	ld	t0, 0xc8(sp)
	fsrm	t0
	.endif
	.irp n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
	fld	fs\n, (8 * \n)(sp)
	ld	s\n, (0x60 + 8 * \n)(sp)
	.endr
	ld	ra, 0xc0(sp)
	addi	sp, sp, 0xd0
	ret
.endm

	.text

/* void bare_swap(void **save, void *load)
 *                a0           a1
 */
	.globl	bare_swap
	.type	bare_swap, @function
bare_swap:
	SWAP	0
	.size	bare_swap, .-bare_swap

	.globl	bare_swap_fp
	.type	bare_swap_fp, @function
bare_swap_fp:
	SWAP	1
	.size	bare_swap_fp, .-bare_swap_fp

/* First code of a bare context: s1 = fn, s2 = arg. fn never returns. */
	.globl	bare_entry
	.type	bare_entry, @function
bare_entry:
	.cfi_startproc
	.cfi_undefined ra
	mv	a0, s2
	jalr	s1
	unimp
	.cfi_endproc
	.size	bare_entry, .-bare_entry

	.section .note.GNU-stack, "", %progbits
