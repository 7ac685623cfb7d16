# unknown-section: suffixes other than the canonical ones; both spellings.
# RUN: check %t/t.o
# EXIT: 1
# CHECK-DAG: %t/t.o:(.data..percpu..hot): error: per-CPU section '.data..percpu..hot' has no canonical suffix {{.*}} [unknown-section]
# CHECK-DAG: %t/t.o:(.data.percpu.cold): error: per-CPU section '.data.percpu.cold' has no canonical suffix {{.*}} [unknown-section]
# .data.percpu.read_mostly (2006 spelling) and .data.percpu_stats (an
# ordinary variable's -fdata-sections section) report nothing.
    .section .data..percpu..hot,"aw",@progbits
    .globl per_cpu__h
per_cpu__h: .long 1
    .section .data.percpu.cold,"aw",@progbits
    .globl per_cpu__c
per_cpu__c: .long 1
    .section .data.percpu.read_mostly,"aw",@progbits
    .globl per_cpu__r
per_cpu__r: .long 1
    .section .data.percpu_stats,"aw",@progbits
    .globl percpu_stats
percpu_stats: .long 1
