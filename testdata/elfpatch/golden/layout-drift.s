# layout-drift: against a baseline written by `layout --format json`, a moved
# variable, a resized one, a removed one, and growth over --max-growth; the
# variables that are new are named first (notes: they break nothing alone).
# SH: %tool layout --format json %t/v1.o > %t/base.json
# RUN: check --baseline %t/base.json --max-growth 10% %t/v2.o
# EXIT: 1
# In that order: added, gone, resized, moved, then the block's growth.
# CHECK: %t/v2.o:(plain+0x0): note: per-CPU variable 'per_cpu__new' is new: 4 bytes at 0x0, not in the baseline [layout-drift]
# CHECK-NEXT: %t/v2.o:(plain+0x4): note: per-CPU variable 'per_cpu__a2' is new: 4 bytes at 0x4, not in the baseline [layout-drift]
# CHECK-NEXT: %t/v2.o:(plain+0x0): error: per-CPU variable 'per_cpu__gone' of the baseline is gone [layout-drift]
# CHECK-NEXT: %t/v2.o:(plain+0x8): error: per-CPU variable 'per_cpu__b' changed against the baseline: offset 0x4 -> 0x8; size 4 -> 8 [layout-drift]
# CHECK-NEXT: %t/v2.o:(plain+0x10): error: per-CPU variable 'per_cpu__c' changed against the baseline: offset 0x8 -> 0x10 [layout-drift]
# CHECK-NEXT: %t/v2.o: error: per-CPU block grew by 8 bytes (12 -> 20), more than --max-growth 10% [layout-drift]
#--- v1.s
    .section .data..percpu,"aw",@progbits
    .globl per_cpu__gone, per_cpu__b
    .size per_cpu__gone, 4
per_cpu__gone: .long 0
    .size per_cpu__b, 4
per_cpu__b: .long 0
    .globl per_cpu__c
    .size per_cpu__c, 4
per_cpu__c: .long 0
#--- v2.s
    .section .data..percpu,"aw",@progbits
    .globl per_cpu__a2, per_cpu__b, per_cpu__new
    .size per_cpu__new, 4
per_cpu__new: .long 0
    .size per_cpu__a2, 4
per_cpu__a2: .long 0
    .size per_cpu__b, 8
per_cpu__b: .quad 0
    .globl per_cpu__c
    .size per_cpu__c, 4
per_cpu__c: .long 0
