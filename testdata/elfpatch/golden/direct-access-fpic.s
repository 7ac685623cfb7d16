# Correct -fPIC code raises no direct-access: what gcc -O1 and above emit for
# per_cpu(x, cpu)++, get_cpu_var(x)++, this_cpu_ptr(&s)->f++ and memset of
# per_cpu_ptr(&arr, cpu) adds the GOT entry to the unit offset already in a
# register, and a cmp, test or push of the slot makes no register at all.
# Only the plain load of the entry followed by a dereference is a bug.
# RUN: check %t/t.o
# EXIT: 1
# CHECK: %t/t.o:(.text+0x{{[0-9a-f]+}}): error: 'movq hits@GOTPCREL(%rip), %rax; then movl (%rax), %eax at +0x{{[0-9a-fA-F]+}}' {{.*}}'hits' (R_X86_64_REX_GOTPCRELX){{.*}} [direct-access]
    .text
per_cpu_inc:                         # per_cpu(hits, cpu)++ (gcc 12 -O2 -fPIC)
    movq pcpu_unit_offset@GOTPCREL(%rip), %rax
    movslq %edi, %rdi
    movq (%rax,%rdi,8), %rdx
    addq hits@GOTPCREL(%rip), %rdx
    addq $1, (%rdx)
    ret
memset_arr:                          # memset(per_cpu_ptr(&arr, cpu), 0, 64)
    movq pcpu_unit_offset@GOTPCREL(%rip), %rax
    movslq %edi, %rdi
    movq (%rax,%rdi,8), %rcx
    addq arr@GOTPCREL(%rip), %rcx
    movq $0, (%rcx)
    movq $0, 8(%rcx)
    ret
sub_form:                            # canonical - (-offset): the same copy
    movq %rsi, %rcx
    subq hits@GOTPCREL(%rip), %rcx
    movq (%rcx), %rax
    ret
compare_and_push:                    # no register holds the address after these
    cmpq hits@GOTPCREL(%rip), %rdi
    testq %rdi, hits@GOTPCREL(%rip)
    pushq hits@GOTPCREL(%rip)
    popq %rax
    ret
bad_got:                             # the canonical address itself, dereferenced
    movq hits@GOTPCREL(%rip), %rax
    movl (%rax), %eax
    ret

    .section .data..percpu,"aw",@progbits
    .globl hits
    .p2align 3
hits:
    .quad 0
    .globl arr
arr:
    .zero 64
