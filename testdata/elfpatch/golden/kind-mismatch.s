# kind-mismatch across files: a per_cpu__ reference bound to ordinary data,
# an ordinary reference bound to per-CPU data, and a per_cpu__ name defined
# outside the per-CPU sections.
# RUN: check --disable section-collision %t/def.o %t/use.o
# EXIT: 1
# CHECK-DAG: %t/def.o:(.data+0x0): error: 'per_cpu__fake' is named like a per-CPU variable but defined in '.data', not in a per-CPU section [kind-mismatch]
# CHECK-DAG: %t/use.o: error: per-CPU reference 'per_cpu__fake' would bind to ordinary data defined at %t/def.o:(.data) [kind-mismatch]
# CHECK-DAG: %t/use.o: error: ordinary reference 'counter' would bind to per-CPU data defined at %t/def.o:(.data..percpu) (declare it with DECLARE_PER_CPU) [kind-mismatch]
# per_cpu__real used as per-CPU data reports nothing.
#--- def.s
    .data
    .globl per_cpu__fake
per_cpu__fake: .long 0
    .section .data..percpu,"aw",@progbits
    .globl per_cpu__real, counter
per_cpu__real: .long 0
counter: .long 0
#--- use.s
    .text
    .globl g
g:  leaq per_cpu__fake(%rip), %rax
    leaq per_cpu__real(%rip), %rax
    leaq counter(%rip), %rax
    ret
