# layout-drift: the same layout, plus a variable appended, is no drift.
# SH: %tool layout --format json %t/v1.o > %t/base.json
# RUN: check --baseline %t/base.json %t/v2.o
# CHECK-NOT: {{.}}
#--- v1.s
    .section .data..percpu,"aw",@progbits
    .globl per_cpu__a
    .size per_cpu__a, 4
per_cpu__a: .long 0
#--- v2.s
    .section .data..percpu,"aw",@progbits
    .globl per_cpu__a, per_cpu__z
    .size per_cpu__a, 4
per_cpu__a: .long 0
    .size per_cpu__z, 4
per_cpu__z: .long 0
