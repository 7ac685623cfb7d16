# x86-64: an element offset added to a canonical address keeps it canonical.
#  - clang's m[i][j]: the row offset (shl) gets the GOT entry added to it;
#  - gcc -O0 -fPIE: a scaled lea with no base, then the lea'd address;
#  - a pointer stored to a stack slot and reloaded (-O0, a volatile local);
#  - gcc -fPIC: the GOT entry added to a unit offset loaded from the table
#    is a CPU's copy, fine.
# RUN: check %t/t.o
# EXIT: 1
# CHECK: %t/t.o:(.text+0xd): error: 'addq mat@GOTPCREL(%rip), %rax; then movl (%rax,%rcx,4), %eax at +0x11' reads or writes the canonical address of per-CPU 'mat' (R_X86_64_REX_GOTPCRELX){{.*}} [direct-access]
# CHECK: %t/t.o:(.text+0x{{[0-9a-f]+}}): error: 'leaq arr(%rip), %rax; then movl (%rdx,%rax), %eax at +0x{{[0-9A-F]+}}' reads or writes the canonical address of per-CPU 'arr' (R_X86_64_PC32){{.*}} [direct-access]
# CHECK: %t/t.o:(.text+0x30): error: 'movq arr@GOTPCREL(%rip), %rax; then movl $1, (%rcx) at +0x42' reads or writes the canonical address of per-CPU 'arr'{{.*}} [direct-access]
# CHECK-NOT: error:
    .text
matrix:
    movslq %edi, %rax
    movslq %esi, %rcx
    shlq $4, %rax
    addq mat@GOTPCREL(%rip), %rax
    movl (%rax,%rcx,4), %eax
    ret
index:
    movl -4(%rbp), %eax
    cltq
    leaq 0(,%rax,4), %rdx
    leaq arr(%rip), %rax
    movl (%rdx,%rax), %eax
    ret
spill:
    movq arr@GOTPCREL(%rip), %rax
    addq $4, %rax
    movq %rax, -8(%rsp)
    movq -8(%rsp), %rcx
    movl $1, (%rcx)
    ret
good:
    movq pcpu_unit_offset@GOTPCREL(%rip), %rax
    movslq %edi, %rdi
    movq (%rax,%rdi,8), %rcx
    addq arr@GOTPCREL(%rip), %rcx
    movl $0, (%rcx)
    ret
    .section .data..percpu,"aw",@progbits
    .globl arr, mat
arr: .zero 16
mat: .zero 64
