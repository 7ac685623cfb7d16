# Every x86-64 thread-local model a module may use, one function each,
# returning the address it computes: general dynamic (TLSGD), local dynamic
# (TLSLD with DTPOFF32, and with a DTPOFF64 word in data), TLS descriptors
# (GOTPC32_TLSDESC, TLSDESC_CALL), against the module's own tv2 and against
# libc's errno, and initial exec (GOTTPOFF) against errno.  tls_models_test
# compares them with each other, with pcpu_dlsym and with the host's errno.
    .text
    .globl gd_addr, ld_addr, ld64_addr, desc_addr, gd_errno, desc_errno, ie_errno
gd_addr:
    subq $8, %rsp
    data16 leaq tv2@tlsgd(%rip), %rdi
    .value 0x6666
    rex64 call __tls_get_addr@PLT
    addq $8, %rsp
    ret
ld_addr:
    subq $8, %rsp
    leaq tv1@tlsld(%rip), %rdi
    call __tls_get_addr@PLT
    leaq tv2@dtpoff(%rax), %rax
    addq $8, %rsp
    ret
ld64_addr:
    subq $8, %rsp
    leaq tv1@tlsld(%rip), %rdi
    call __tls_get_addr@PLT
    addq tv2_dtpoff64(%rip), %rax
    addq $8, %rsp
    ret
desc_addr:
    leaq tv2@tlsdesc(%rip), %rax
    call *tv2@tlscall(%rax)
    addq %fs:0, %rax
    ret
gd_errno:
    subq $8, %rsp
    data16 leaq errno@tlsgd(%rip), %rdi
    .value 0x6666
    rex64 call __tls_get_addr@PLT
    addq $8, %rsp
    ret
desc_errno:
    leaq errno@tlsdesc(%rip), %rax
    call *errno@tlscall(%rax)
    addq %fs:0, %rax
    ret
ie_errno:
    movq errno@gottpoff(%rip), %rax
    addq %fs:0, %rax
    ret

    .data
    .p2align 3
tv2_dtpoff64:
    .quad tv2@dtpoff

    .section .tdata,"awT",@progbits
    .p2align 3
    .globl tv2
tv1: .quad 0x1111
tv2: .quad 0x2222
    .size tv2, 8
    .type tv2, @object
    .section .note.GNU-stack,"",@progbits
