# layout: the block map of an object, with padding, cache lines, totals for
# --cpus and a reordering that removes the padding between variables.
# RUN: layout --cpus 64 %t/t.o
# CHECK:      %t/t.o: per-CPU block of a relocatable object
# CHECK-NEXT:   variable                         section            offset     size  align  padding  cache lines
# CHECK-NEXT:   per_cpu__flag                    plain                 0x0        1      1        0  0
# CHECK-NEXT:   per_cpu__count                   plain                 0x8        8      8        7  0
# CHECK-NEXT:   per_cpu__small                   plain                0x10        2      2        0  0
# CHECK-NEXT:   per_cpu__wide                    plain                0x18       80      8        6  0-1
# CHECK-NEXT:   bytes per CPU: 104 (alignment 64), padding: 13 bytes
# CHECK-NEXT:   bytes for 64 CPUs: 6656
# CHECK-NEXT:   padding between variables could drop to 0 bytes with this order (by alignment, then size, per group):
# CHECK-NEXT:     per_cpu__wide per_cpu__count per_cpu__small per_cpu__flag
    .section .data..percpu,"aw",@progbits
    .p2align 3
    .globl per_cpu__flag, per_cpu__count, per_cpu__small, per_cpu__wide
    .size per_cpu__flag, 1
per_cpu__flag: .byte 1
    .p2align 3
    .size per_cpu__count, 8
per_cpu__count: .quad 2
    .size per_cpu__small, 2
per_cpu__small: .short 3
    .p2align 3
    .size per_cpu__wide, 80
per_cpu__wide: .zero 80
