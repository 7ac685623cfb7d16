# layout reads the same before and after patch: patch raises the merged
# section's sh_addralign to a cache line, and the layout record keeps each
# variable's own alignment (32 here, not the 64 the merged section has).
# SH: %tool layout %t/t.o > %t/before.txt
# SH: %tool patch %t/t.o -o %t/patched.o
# RUN: layout %t/patched.o
# CHECK:      vec32                            plain                 0x0       64     32        0  0
# CHECK-NEXT: tail                             plain                0x40        8      8        0  1
# SH: grep -q "vec32  *plain  *0x0  *64  *32" %t/before.txt
    .section .data..percpu,"aw",@progbits
    .p2align 5
    .globl vec32, tail
    .size vec32, 64
vec32: .zero 64
    .size tail, 8
tail: .quad 1
