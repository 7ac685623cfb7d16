# layout-drift keys variables by (name, defining input, occurrence): an
# `ld -r` object with a `static DEFINE_PER_CPU(long, count)` in each of two
# inputs, patched, does not drift against its own baseline taken before.
# SH: %ld -r %t/a.o %t/b.o -o %t/m.o
# SH: %tool layout --format json %t/m.o > %t/base.json
# SH: grep -q '"input": "b.c"' %t/base.json
# SH: %tool patch %t/m.o -o %t/patched.o
# RUN: check --baseline %t/base.json %t/patched.o
# CHECK-NOT: {{.}}
#--- a.s
    .file "a.c"
    .section .data..percpu,"aw",@progbits
    .p2align 3
    .type count,@object
    .size count, 8
count: .quad 1
    .globl a_total
    .size a_total, 4
a_total: .long 0
#--- b.s
    .file "b.c"
    .section .data..percpu,"aw",@progbits
    .p2align 4
    .type count,@object
    .size count, 16
count: .quad 2, 3
