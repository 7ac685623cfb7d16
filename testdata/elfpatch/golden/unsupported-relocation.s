# unsupported-relocation: check reports what the module loader would refuse,
# with the loader's own message: a relocation type its engine does not apply
# (once per type and section) or a TLS model, in a loaded section.  Debug
# sections are not loaded, and kernel modules are the kernel's to load.
# RUN: check %t/user.o %t/kmod.o
# EXIT: 1
# CHECK-DAG: %t/user.o:(.text+0x4): error: relocation R_X86_64_TPOFF32 against 'tls_var': thread-local storage is not supported in modules {{.*}} [unsupported-relocation]
# CHECK-DAG: %t/user.o:(.text+0x8): error: unsupported relocation R_X86_64_COPY (5) [unsupported-relocation]
#--- user.s
    .text
f:  movl %fs:tls_var@TPOFF, %eax
    .reloc ., R_X86_64_COPY, other
    .long 0
    .reloc ., R_X86_64_COPY, other
    .long 0
    ret
    .section .debug_foo,"",@progbits
    .reloc ., R_X86_64_COPY, other
    .quad 0
    .section .tbss,"awT",@nobits
tls_var: .zero 4
#--- kmod.s
    .text
g:  .reloc ., R_X86_64_COPY, other
    .long 0
    ret
    .section .modinfo,"a",@progbits
    .asciz "license=GPL"
