# section-collision: an ordinary global named `percpu`, compiled with
# -fdata-sections, lands in .data.percpu (the 2006 per-CPU section name).
# RUN: check %t/t.o
# EXIT: 1
# CHECK: %t/t.o:(.data.percpu+0x0): error: ordinary symbol 'percpu' lies inside per-CPU section '.data.percpu'{{.*}} [section-collision]
    .section .data.percpu,"aw",@progbits
    .globl percpu
percpu: .long 1
    .section .data..percpu,"aw",@progbits
    .globl per_cpu__fine
per_cpu__fine: .long 2
.Llocal_label: .long 3
