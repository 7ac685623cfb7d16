# --disable turns a rule off; an unknown rule is a usage error (exit 2).
# RUN: check --disable direct-access %t/t.o && %tool check --disable no-such-rule %t/t.o
# EXIT: 2
# CHECK: percpu-elfpatch check: error: --disable no-such-rule: no such rule (see --help)
    .text
    movl per_cpu__x(%rip), %eax
    .section .data..percpu,"aw",@progbits
    .globl per_cpu__x
per_cpu__x: .long 1
