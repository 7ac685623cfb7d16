# check --output: the JSON report goes to the file, standard output gets the
# same diagnostics as text (what a build log shows); the exit status is the
# check's.
# RUN: check --format json --output %t/report.json %t/t.o
# EXIT: 1
# CHECK: t.o:(.text+0x2): error: {{.*}}per-CPU 'x'{{.*}}[direct-access]
# CHECK-NOT: "diagnostics"
    .text
    movl x(%rip), %eax
    .section .data..percpu,"aw",@progbits
    .globl x
x: .long 1
