# layout-drift: against a baseline written by `layout --format json`, a moved
# variable, a resized one, a removed one, and growth over --max-growth.
# SH: %tool layout --format json %t/v1.o > %t/base.json
# RUN: check --baseline %t/base.json --max-growth 10% %t/v2.o
# EXIT: 1
# CHECK-DAG: %t/v2.o:(plain+0x8): error: per-CPU variable 'per_cpu__b' changed against the baseline: offset 0x4 -> 0x8; size 4 -> 8 [layout-drift]
# CHECK-DAG: %t/v2.o:(plain+0x0): error: per-CPU variable 'per_cpu__gone' of the baseline is gone [layout-drift]
# CHECK-DAG: %t/v2.o: error: per-CPU block grew by 8 bytes (8 -> 16), more than --max-growth 10% [layout-drift]
#--- v1.s
    .section .data..percpu,"aw",@progbits
    .globl per_cpu__gone, per_cpu__b
    .size per_cpu__gone, 4
per_cpu__gone: .long 0
    .size per_cpu__b, 4
per_cpu__b: .long 0
#--- v2.s
    .section .data..percpu,"aw",@progbits
    .globl per_cpu__a2, per_cpu__b, per_cpu__new
    .size per_cpu__new, 4
per_cpu__new: .long 0
    .size per_cpu__a2, 4
per_cpu__a2: .long 0
    .size per_cpu__b, 8
per_cpu__b: .quad 0
