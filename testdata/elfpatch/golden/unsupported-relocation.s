# unsupported-relocation: check reports what the module loader would refuse,
# with the loader's own message: a relocation type its engine does not apply
# (once per type and section) or a TLS model that needs a static reserve
# (initial or local exec of the module's own thread-local data), in a loaded
# section.  General and local dynamic, TLS descriptors, and initial exec of
# a process symbol (libc's errno) load.  Debug sections are not loaded, and
# kernel modules are the kernel's to load.
# RUN: check %t/user.o %t/kmod.o %t/pic.o
# EXIT: 1
# CHECK-DAG: %t/user.o:(.text+0x4): error: relocation R_X86_64_TPOFF32 against 'tls_var': local-exec access to thread-local data needs a fixed offset from the thread pointer, {{.*}}; compile the module with -fPIC, or -ftls-model=global-dynamic [unsupported-relocation]
# CHECK-DAG: %t/user.o:(.text+0x{{[0-9a-f]+}}): error: relocation R_X86_64_GOTTPOFF against 'tls_var': initial-exec access to thread-local data {{.*}}; compile the module with -fPIC, or -ftls-model=global-dynamic [unsupported-relocation]
# CHECK-DAG: %t/user.o:(.text+0x8): error: unsupported relocation R_X86_64_COPY (5) [unsupported-relocation]
# CHECK-NOT: pic.o
# CHECK-NOT: errno
#--- user.s
    .text
f:  movl %fs:tls_var@TPOFF, %eax
    .reloc ., R_X86_64_COPY, other
    .long 0
    .reloc ., R_X86_64_COPY, other
    .long 0
    movq tls_var@GOTTPOFF(%rip), %rax
    movq errno@GOTTPOFF(%rip), %rax
    ret
    .section .debug_foo,"",@progbits
    .reloc ., R_X86_64_COPY, other
    .quad 0
    .section .tbss,"awT",@nobits
tls_var: .zero 4
#--- pic.s
    .text
g:  data16 leaq tls_var@tlsgd(%rip), %rdi
    .value 0x6666
    rex64 call __tls_get_addr@PLT
    leaq tls_var@tlsld(%rip), %rdi
    call __tls_get_addr@PLT
    movl tls_var@dtpoff(%rax), %eax
    leaq tls_var@tlsdesc(%rip), %rax
    call *tls_var@tlscall(%rax)
    ret
    .section .tbss,"awT",@nobits
tls_var: .zero 4
#--- kmod.s
    .text
g:  .reloc ., R_X86_64_COPY, other
    .long 0
    ret
    .section .modinfo,"a",@progbits
    .asciz "license=GPL"
