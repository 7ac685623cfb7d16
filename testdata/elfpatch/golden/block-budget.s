# block-budget: one module over --max-block names its biggest variables; two
# modules under it alone but over it together give the total.
# RUN: check --max-block 256 %t/big.o %t/small1.o %t/small2.o
# EXIT: 1
# CHECK-DAG: %t/big.o:(.data..percpu): error: per-CPU block is 400 bytes, over the budget of 256; biggest: per_cpu__table (300 bytes), per_cpu__stats (96 bytes), per_cpu__n (4 bytes) [block-budget]
# CHECK-DAG: %t/big.o: error: per-CPU blocks of the 3 modules add up to 656 bytes, over the budget of 256; biggest: %t/big.o (400 bytes), {{.*}} [block-budget]
# small1.o and small2.o alone (128 bytes each) report nothing.
#--- big.s
    .section .data..percpu,"aw",@progbits
    .globl per_cpu__table, per_cpu__stats, per_cpu__n
    .type per_cpu__table,@object
    .size per_cpu__table, 300
per_cpu__table: .zero 300
    .type per_cpu__stats,@object
    .size per_cpu__stats, 96
per_cpu__stats: .zero 96
    .type per_cpu__n,@object
    .size per_cpu__n, 4
per_cpu__n: .zero 4
#--- small1.s
    .section .data..percpu,"aw",@progbits
    .globl per_cpu__s1
    .size per_cpu__s1, 128
per_cpu__s1: .zero 128
#--- small2.s
    .section .data..percpu,"aw",@progbits
    .globl per_cpu__s2
    .size per_cpu__s2, 128
per_cpu__s2: .zero 128
