// AArch64: what keeps an address canonical on its way to the access.
//  - gcc -fPIE reaches a variable through a section anchor plus its offset
//    (add #8): the diagnostic names the variable at that offset;
//  - clang adds a row offset, shifted (add x2, x2, x3, lsl #4), before an
//    indexed load (m[i][j]);
//  - gcc -O0 shuffles argument registers (mov x3, x1; mov x0, x3) before
//    calling memset: the copies are followed;
//  - a register added as it is may be the unit offset: a CPU's copy, fine.
// TRIPLE: aarch64-linux-gnu
// RUN: check %t/t.o
// EXIT: 1
// CHECK: %t/t.o:(.text+0x4): error: 'add x1, x1, #0; then ldr w0, [x1, w0, sxtw #2] at +0xC' reads or writes the canonical address of per-CPU 'second' (R_AARCH64_ADD_ABS_LO12_NC){{.*}} [direct-access]
// CHECK: %t/t.o:(.text+0x14): error: 'add x2, x2, #0; then ldr w0, [x2, x4, lsl #2] at +0x1C' reads or writes the canonical address of per-CPU 'mat' (R_AARCH64_ADD_ABS_LO12_NC){{.*}} [direct-access]
// CHECK: %t/t.o:(.text+0x24): error: 'ldr x1, [x1]; then bl #0 at +0x34' reads or writes the canonical address of per-CPU 'first' (R_AARCH64_LD64_GOT_LO12_NC){{.*}} [direct-access]
// CHECK-NOT: error:
    .text
anchored:
    adrp x1, .LANCHOR0
    add  x1, x1, :lo12:.LANCHOR0
    add  x1, x1, #8
    ldr  w0, [x1, w0, sxtw #2]
matrix:
    adrp x2, mat
    add  x2, x2, :lo12:mat
    add  x2, x2, x3, lsl #4
    ldr  w0, [x2, x4, lsl #2]
copied:
    adrp x1, :got:first
    ldr  x1, [x1, :got_lo12:first]
    mov  x3, x1
    mov  x1, x0
    mov  x0, x3
    bl   memset
good:
    adrp x5, mat
    add  x5, x5, :lo12:mat
    add  x5, x5, x6
    ldr  w0, [x5]
    ret
    .section .data..percpu,"aw",@progbits
    .globl first, second, mat
.LANCHOR0:
first: .quad 0
second: .long 0, 0, 0, 0
mat: .zero 64
