# block-budget does not fire at or under the budget.
# RUN: check --max-block 128 %t/t.o
# CHECK-NOT: {{.}}
    .section .data..percpu,"aw",@progbits
    .globl per_cpu__s
    .size per_cpu__s, 128
per_cpu__s: .zero 128
