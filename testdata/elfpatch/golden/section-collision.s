# section-collision: an ordinary global named `percpu`, compiled with
# -fdata-sections, lands in .data.percpu (the 2006 per-CPU section name,
# whose variables are named per_cpu__NAME).  In .data..percpu, which no C
# identifier can produce by accident, every symbol is a per-CPU variable:
# `fine` (a C name) and per_cpu__legacy report nothing.
# RUN: check %t/t.o
# EXIT: 1
# CHECK: %t/t.o:(.data.percpu+0x0): error: ordinary symbol 'percpu' lies inside per-CPU section '.data.percpu'{{.*}} [section-collision]
    .section .data.percpu,"aw",@progbits
    .globl percpu, per_cpu__legacy
percpu: .long 1
per_cpu__legacy: .long 4
    .section .data..percpu,"aw",@progbits
    .globl fine
fine: .long 2
.Llocal_label: .long 3
