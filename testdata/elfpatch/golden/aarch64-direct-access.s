// AArch64: ADRP+ADD computes an address (fine); ADRP+LDR/STR with :lo12:
// reads or writes the canonical address (direct-access); a GOT load is fine.
// TRIPLE: aarch64-linux-gnu
// RUN: check %t/t.o
// EXIT: 1
// CHECK: %t/t.o:(.text+0xc): error: 'ldr w0, [x0]' reads or writes the canonical address of per-CPU 'per_cpu__hits' (R_AARCH64_LDST32_ABS_LO12_NC){{.*}} [direct-access]
// CHECK: %t/t.o:(.text+0x14): error: 'str x1, [x2]' {{.*}}'per_cpu__wide' (R_AARCH64_LDST64_ABS_LO12_NC){{.*}} [direct-access]
    .text
good:
    adrp x0, per_cpu__hits
    add  x0, x0, :lo12:per_cpu__hits
bad:
    adrp x0, per_cpu__hits
    ldr  w0, [x0, :lo12:per_cpu__hits]
    adrp x2, per_cpu__wide
    str  x1, [x2, :lo12:per_cpu__wide]
got:
    adrp x3, :got:per_cpu__hits
    ldr  x3, [x3, :got_lo12:per_cpu__hits]
    ret
    .section .data..percpu,"aw",@progbits
    .globl per_cpu__hits, per_cpu__wide
    .p2align 3
per_cpu__hits: .long 0
    .p2align 3
per_cpu__wide: .quad 0
