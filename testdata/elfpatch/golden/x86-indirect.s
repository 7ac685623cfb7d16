# x86-64 patch --indirect: `lea sym+off(%rip), %r64` becomes `mov slot(%rip),
# %r64` (same length, 8D -> 8B); a GOTPCRELX load reads a slot instead of the
# GOT entry (the same slot as the lea of the same address); other relocations
# of the function are untouched.
# RUN: patch --indirect -v %t/t.o -o %t/i.o && %bin/llvm-objdump -dr %t/i.o && %bin/llvm-readelf -r %t/i.o
# CHECK: %t/i.o: per-CPU block 16 bytes in 1 section(s) merged, 3 reference(s) made indirect through 2 slot(s)
# CHECK: 48 8b 05 00 00 00 00 movq (%rip), %rax
# CHECK-NEXT: R_X86_64_PC32 .data.rel.percpu_slots-0x4
# CHECK: 4c 8b 0d 00 00 00 00 movq (%rip), %r9
# CHECK-NEXT: R_X86_64_PC32 .data.rel.percpu_slots+0x4
# CHECK: e8 00 00 00 00 callq
# CHECK-NEXT: R_X86_64_PLT32 helper-0x4
# CHECK: 48 8b 0d 00 00 00 00 movq (%rip), %rcx
# CHECK-NEXT: R_X86_64_PC32 .data.rel.percpu_slots-0x4
# CHECK: R_X86_64_64 {{.*}} per_cpu__a + 0
# CHECK: R_X86_64_64 {{.*}} per_cpu__b + 8
# CHECK-NOT: GOTPCREL
    .text
f:
    leaq per_cpu__a(%rip), %rax
    leaq per_cpu__b+8(%rip), %r9
    call helper@PLT
    movq per_cpu__a@GOTPCREL(%rip), %rcx
    ret
    .section .data..percpu,"aw",@progbits
    .globl per_cpu__a, per_cpu__b
per_cpu__a: .quad 1
per_cpu__b: .quad 2
