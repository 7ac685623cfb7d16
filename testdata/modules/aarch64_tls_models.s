// Every AArch64 thread-local model a module may use, one function each,
// returning the address it computes: traditional general dynamic (TLSGD_*
// and a call to __tls_get_addr), local dynamic (TLSLD_* with DTPREL_HI12
// and DTPREL_LO12_NC, or the checked DTPREL_LO12), TLS descriptors
// (TLSDESC_*), against the module's own tv2 and against libc's errno, and
// initial exec (TLSIE_*) against errno.  tls_models_test compares them with
// each other, with pcpu_dlsym and with the host's errno.
    .text
    .globl gd_addr, ld_addr, ld64_addr, desc_addr, gd_errno, desc_errno, ie_errno
    .p2align 2
gd_addr:
    stp x29, x30, [sp, #-16]!
    mov x29, sp
    adrp x0, :tlsgd:tv2
    add x0, x0, :tlsgd_lo12:tv2
    bl __tls_get_addr
    ldp x29, x30, [sp], #16
    ret
ld_addr:
    stp x29, x30, [sp, #-16]!
    mov x29, sp
    adrp x0, :tlsldm:tv1
    add x0, x0, :tlsldm_lo12_nc:tv1
    bl __tls_get_addr
    add x0, x0, :dtprel_hi12:tv2
    add x0, x0, :dtprel_lo12_nc:tv2
    ldp x29, x30, [sp], #16
    ret
ld64_addr:
    stp x29, x30, [sp, #-16]!
    mov x29, sp
    adrp x0, :tlsldm:tv1
    add x0, x0, :tlsldm_lo12_nc:tv1
    bl __tls_get_addr
    add x0, x0, :dtprel_lo12:tv2
    ldp x29, x30, [sp], #16
    ret
desc_addr:
    stp x29, x30, [sp, #-16]!
    mov x29, sp
    adrp x0, :tlsdesc:tv2
    ldr x1, [x0, :tlsdesc_lo12:tv2]
    add x0, x0, :tlsdesc_lo12:tv2
    .tlsdesccall tv2
    blr x1
    mrs x1, tpidr_el0
    add x0, x0, x1
    ldp x29, x30, [sp], #16
    ret
gd_errno:
    stp x29, x30, [sp, #-16]!
    mov x29, sp
    adrp x0, :tlsgd:errno
    add x0, x0, :tlsgd_lo12:errno
    bl __tls_get_addr
    ldp x29, x30, [sp], #16
    ret
desc_errno:
    stp x29, x30, [sp, #-16]!
    mov x29, sp
    adrp x0, :tlsdesc:errno
    ldr x1, [x0, :tlsdesc_lo12:errno]
    add x0, x0, :tlsdesc_lo12:errno
    .tlsdesccall errno
    blr x1
    mrs x1, tpidr_el0
    add x0, x0, x1
    ldp x29, x30, [sp], #16
    ret
ie_errno:
    adrp x0, :gottprel:errno
    ldr x0, [x0, :gottprel_lo12:errno]
    mrs x1, tpidr_el0
    add x0, x0, x1
    ret

    .section .tdata,"awT",%progbits
    .p2align 3
tv1: .xword 0x1111
    .globl tv2
    .type tv2, %object
    .size tv2, 8
tv2: .xword 0x2222
    .section .note.GNU-stack,"",%progbits
