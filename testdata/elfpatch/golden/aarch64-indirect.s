// AArch64 patch --indirect: adrp+add of a per-CPU address becomes adrp+ldr
// of a slot holding it; no ADD_ABS_LO12_NC against per-CPU data remains.
// An adrp+ldr of a GOT entry reads the slot of the same address instead.
// TRIPLE: aarch64-linux-gnu
// RUN: patch --indirect -v %t/t.o -o %t/i.o && %bin/llvm-objdump -dr %t/i.o && %bin/llvm-readelf -r %t/i.o
// CHECK: %t/i.o: per-CPU block 16 bytes in 1 section(s) merged, 6 reference(s) made indirect through 2 slot(s)
// CHECK: adrp x0, 0x0
// CHECK-NEXT: R_AARCH64_ADR_PREL_PG_HI21 .data.rel.percpu_slots
// CHECK-NEXT: ldr x0, [x0]
// CHECK-NEXT: R_AARCH64_LDST64_ABS_LO12_NC .data.rel.percpu_slots
// CHECK: adrp x5, 0x0
// CHECK-NEXT: R_AARCH64_ADR_PREL_PG_HI21 .data.rel.percpu_slots+0x8
// CHECK-NEXT: ldr x6, [x5]
// CHECK-NEXT: R_AARCH64_LDST64_ABS_LO12_NC .data.rel.percpu_slots+0x8
// CHECK: adrp x1, 0x0
// CHECK-NEXT: R_AARCH64_ADR_PREL_PG_HI21 .data.rel.percpu_slots
// CHECK-NEXT: ldr x1, [x1]
// CHECK-NEXT: R_AARCH64_LDST64_ABS_LO12_NC .data.rel.percpu_slots
// CHECK: Relocation section '.rela.data.rel.percpu_slots'
// CHECK: R_AARCH64_ABS64 {{.*}} per_cpu__a + 0
// CHECK: R_AARCH64_ABS64 {{.*}} per_cpu__b + 8
// CHECK-NOT: {{ADD_ABS_LO12_NC|GOT}}
    .text
f:
    adrp x0, per_cpu__a
    add  x0, x0, :lo12:per_cpu__a
    adrp x5, per_cpu__b+8
    add  x6, x5, :lo12:per_cpu__b+8
    adrp x1, :got:per_cpu__a
    ldr  x1, [x1, :got_lo12:per_cpu__a]
    ret
    .section .data..percpu,"aw",@progbits
    .globl per_cpu__a, per_cpu__b
per_cpu__a: .quad 1
per_cpu__b: .quad 2
