# A well-formed object passes every rule; text output is empty, exit 0.
# RUN: check --max-block 8192 %t/t.o
# CHECK-NOT: {{.}}
    .text
    .globl f
f:  leaq per_cpu__a(%rip), %rax
    ret
    .section .data..percpu..first,"aw",@progbits
    .globl per_cpu__first
per_cpu__first: .quad 1
    .section .data..percpu..shared_aligned,"aw",@progbits
    .p2align 6
    .globl per_cpu__shared
per_cpu__shared: .quad 2
    .section .data..percpu..page_aligned,"aw",@progbits
    .p2align 12
    .globl per_cpu__page
per_cpu__page: .quad 3
    .section .data..percpu,"aw",@progbits
    .globl per_cpu__a
per_cpu__a: .long 4
