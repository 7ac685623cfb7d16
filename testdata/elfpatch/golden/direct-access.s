# direct-access fires on loads and stores through a per-CPU variable's
# canonical address, and not on address computations.  The instruction is
# quoted with its operand named as the assembler writes it (sym+k(%rip),
# sym@GOTPCREL(%rip)).
# RUN: check %t/t.o
# EXIT: 1
# CHECK: %t/t.o:(.text+0x2): error: 'movl per_cpu__hits(%rip), %eax' reads or writes the canonical address of per-CPU 'per_cpu__hits' (R_X86_64_PC32){{.*}} [direct-access]
# CHECK: %t/t.o:(.text+0x8): error: 'addl $1, per_cpu__hits(%rip)' reads or writes the canonical address of per-CPU 'per_cpu__hits'{{.*}} [direct-access]
# CHECK: %t/t.o:(.text+0x{{[0-9a-f]+}}): error: 'movq per_cpu__hits@GOTPCREL(%rip), %rax; then movl (%rax), %eax at +0x{{[0-9a-fA-F]+}}' {{.*}}'per_cpu__hits' (R_X86_64_REX_GOTPCRELX){{.*}} [direct-access]
# CHECK: %t/t.o:(.text+0x{{[0-9a-f]+}}): error: 'movl .data..percpu+8(%rip), %eax' {{.*}}per-CPU '.data..percpu' (R_X86_64_PC32){{.*}} [direct-access]
# The address computations below produce nothing else (no other error).
    .text
bad_load:
    movl per_cpu__hits(%rip), %eax
    addl $1, per_cpu__hits(%rip)
    ret
good_lea:
    leaq per_cpu__hits(%rip), %rax
    leaq per_cpu__hits+8(%rip), %rcx
    addq (%rdx,%rcx,8), %rax
    ret
bad_got:
    movq per_cpu__hits@GOTPCREL(%rip), %rax
    movl (%rax), %eax
    ret
good_got:
    movq per_cpu__hits@GOTPCREL(%rip), %rax
    addq (%rdx,%rcx,8), %rax
    movl (%rax), %eax
    ret
bad_static:
    movl per_cpu__local_counter(%rip), %eax
    ret
good_nopic:
    addq per_cpu__hits(%rdx), %rax
    movq $per_cpu__hits, %rax
    ret

    .section .data..percpu,"aw",@progbits
    .globl per_cpu__hits
    .p2align 3
per_cpu__hits:
    .quad 0
per_cpu__local_counter:
    .quad 0
