// AArch64 -fPIC: loading a per-CPU variable's address from the GOT is fine
// (its canonical address, for per_cpu_ptr), but reading or writing through
// that register in the following straight-line code is a direct access.
// A register redefined, or a branch, ends the search.
// TRIPLE: aarch64-linux-gnu
// RUN: check %t/t.o
// EXIT: 1
// CHECK: %t/t.o:(.text+0x4): error: 'ldr x0, [x0]; then ldr w1, [x0, #4] at +0x8' reads or writes the canonical address of per-CPU 'per_cpu__hits' (R_AARCH64_LD64_GOT_LO12_NC){{.*}} [direct-access]
// CHECK: %t/t.o:(.text+0x14): error: 'ldr x2, [x2]; then str x5, [x2] at +0x1C' {{.*}}'per_cpu__hits'{{.*}} [direct-access]
    .text
bad_load:
    adrp x0, :got:per_cpu__hits
    ldr  x0, [x0, :got_lo12:per_cpu__hits]
    ldr  w1, [x0, #4]
    ret
bad_store:
    adrp x2, :got:per_cpu__hits
    ldr  x2, [x2, :got_lo12:per_cpu__hits]
    add  x4, x4, #1
    str  x5, [x2]
    ret
good_ptr:
    adrp x3, :got:per_cpu__hits
    ldr  x3, [x3, :got_lo12:per_cpu__hits]
    stp  x1, x3, [sp, #16]
    mov  x3, x9
    ldr  w6, [x3]
    ret
good_branch:
    adrp x7, :got:per_cpu__hits
    ldr  x7, [x7, :got_lo12:per_cpu__hits]
    bl   use_pointer
    ldr  w8, [x7]
    ret
    .section .data..percpu,"aw",@progbits
    .globl per_cpu__hits
    .p2align 3
per_cpu__hits: .long 0
