# kind-mismatch across files, per-CPU symbols under their C names: a
# reference declared per-CPU (a DECLARE_PER_CPU record) bound to ordinary
# data, an ordinary reference (no record) bound to per-CPU data, and a
# per_cpu__ name (the 2006 spelling) defined outside the per-CPU sections.
# RUN: check %t/def.o %t/use.o
# EXIT: 1
# CHECK-DAG: %t/def.o:(.data+0x4): error: 'per_cpu__fake' is named like a per-CPU variable but defined in '.data', not in a per-CPU section [kind-mismatch]
# CHECK-DAG: %t/use.o: error: per-CPU reference 'plain' (declared with DECLARE_PER_CPU) would bind to ordinary data defined at %t/def.o:(.data) [kind-mismatch]
# CHECK-DAG: %t/use.o: error: ordinary reference 'counter' would bind to per-CPU data defined at %t/def.o:(.data..percpu) (declare it with DECLARE_PER_CPU) [kind-mismatch]
# `real` declared and used as per-CPU data, `old` referenced under the 2006
# spelling per_cpu__old, and `other`, declared per-CPU but never defined in
# these files, report nothing.
#--- def.s
    .data
    .globl plain, per_cpu__fake
plain: .long 0
per_cpu__fake: .long 0
    .section .data..percpu,"aw",@progbits
    .globl real, counter, old
real: .long 0
counter: .long 0
old: .long 0
#--- use.s
    .pushsection .percpu_decl,"",@progbits
    .asciz "plain"
    .asciz "real[4]"
    .asciz "other"
    .popsection
    .text
    .globl g
g:  leaq plain(%rip), %rax
    leaq real(%rip), %rax
    leaq counter(%rip), %rax
    leaq per_cpu__old(%rip), %rax
    leaq other(%rip), %rax
    ret
