// AArch64 TLS descriptor functions for modules (src/loader/Tls.h).
//
// `adrp x0, :tlsdesc:x; ldr x1, [x0, :tlsdesc_lo12:x]; add x0, x0,
// :tlsdesc_lo12:x; blr x1` calls descriptor[0] with x0 = &descriptor and
// expects in x0 the variable's offset from TPIDR_EL0, every other register
// preserved but x30 and the flags (AAELF64, "TLS descriptors").
//
// pcpu_tlsdesc_return: descriptor[1] is the offset (glibc's static TLS).
// pcpu_tlsdesc_dynamic: descriptor[1] points to a {module, offset} pair.
//   Fast path, a module's block this thread already has: pcpu_thread_tls
//   {n, blocks}.  Otherwise pcpu_tls_get_addr (which allocates, or passes
//   glibc's pairs on) with x1-x18, x29, x30 and q0-q31 saved.

        .text
        .globl  pcpu_tlsdesc_return
        .hidden pcpu_tlsdesc_return
        .type   pcpu_tlsdesc_return, %function
        .p2align 4
pcpu_tlsdesc_return:
        .cfi_startproc
        ldr     x0, [x0, #8]
        ret
        .cfi_endproc
        .size   pcpu_tlsdesc_return, .-pcpu_tlsdesc_return

        .globl  pcpu_tlsdesc_dynamic
        .hidden pcpu_tlsdesc_dynamic
        .type   pcpu_tlsdesc_dynamic, %function
        .p2align 4
pcpu_tlsdesc_dynamic:
        .cfi_startproc
        ldr     x0, [x0, #8]                    // the pair
        stp     x1, x2, [sp, #-32]!
        .cfi_adjust_cfa_offset 32
        str     x3, [sp, #16]
        ldr     x1, [x0]
        tbz     x1, #63, 1f                     // not a module's slot
        and     x1, x1, #0x7fffffffffffffff
        mrs     x2, tpidr_el0
        adrp    x3, :gottprel:pcpu_thread_tls
        ldr     x3, [x3, #:gottprel_lo12:pcpu_thread_tls]
        add     x2, x2, x3                      // &pcpu_thread_tls
        ldr     x3, [x2]                        // n
        cmp     x1, x3
        b.hs    1f
        ldr     x3, [x2, #8]                    // blocks
        ldr     x3, [x3, x1, lsl #3]
        cbz     x3, 1f
        ldr     x1, [x0, #8]                    // offset
        add     x0, x3, x1
        mrs     x1, tpidr_el0
        sub     x0, x0, x1                      // - thread pointer
        ldr     x3, [sp, #16]
        ldp     x1, x2, [sp], #32
        .cfi_adjust_cfa_offset -32
        ret
        .cfi_adjust_cfa_offset 32
1:      ldr     x3, [sp, #16]
        ldp     x1, x2, [sp], #32
        .cfi_adjust_cfa_offset -32
        stp     x29, x30, [sp, #-16]!
        .cfi_adjust_cfa_offset 16
        .cfi_rel_offset x29, 0
        .cfi_rel_offset x30, 8
        mov     x29, sp
        .cfi_def_cfa_register x29
        sub     sp, sp, #(160 + 512)
        stp     x1, x2, [sp, #0]
        stp     x3, x4, [sp, #16]
        stp     x5, x6, [sp, #32]
        stp     x7, x8, [sp, #48]
        stp     x9, x10, [sp, #64]
        stp     x11, x12, [sp, #80]
        stp     x13, x14, [sp, #96]
        stp     x15, x16, [sp, #112]
        stp     x17, x18, [sp, #128]
        add     x1, sp, #160
        stp     q0, q1, [x1, #0]
        stp     q2, q3, [x1, #32]
        stp     q4, q5, [x1, #64]
        stp     q6, q7, [x1, #96]
        stp     q8, q9, [x1, #128]
        stp     q10, q11, [x1, #160]
        stp     q12, q13, [x1, #192]
        stp     q14, q15, [x1, #224]
        stp     q16, q17, [x1, #256]
        stp     q18, q19, [x1, #288]
        stp     q20, q21, [x1, #320]
        stp     q22, q23, [x1, #352]
        stp     q24, q25, [x1, #384]
        stp     q26, q27, [x1, #416]
        stp     q28, q29, [x1, #448]
        stp     q30, q31, [x1, #480]
        bl      pcpu_tls_get_addr
        mrs     x1, tpidr_el0
        sub     x0, x0, x1                      // - thread pointer
        add     x1, sp, #160
        ldp     q0, q1, [x1, #0]
        ldp     q2, q3, [x1, #32]
        ldp     q4, q5, [x1, #64]
        ldp     q6, q7, [x1, #96]
        ldp     q8, q9, [x1, #128]
        ldp     q10, q11, [x1, #160]
        ldp     q12, q13, [x1, #192]
        ldp     q14, q15, [x1, #224]
        ldp     q16, q17, [x1, #256]
        ldp     q18, q19, [x1, #288]
        ldp     q20, q21, [x1, #320]
        ldp     q22, q23, [x1, #352]
        ldp     q24, q25, [x1, #384]
        ldp     q26, q27, [x1, #416]
        ldp     q28, q29, [x1, #448]
        ldp     q30, q31, [x1, #480]
        ldp     x1, x2, [sp, #0]
        ldp     x3, x4, [sp, #16]
        ldp     x5, x6, [sp, #32]
        ldp     x7, x8, [sp, #48]
        ldp     x9, x10, [sp, #64]
        ldp     x11, x12, [sp, #80]
        ldp     x13, x14, [sp, #96]
        ldp     x15, x16, [sp, #112]
        ldp     x17, x18, [sp, #128]
        mov     sp, x29
        ldp     x29, x30, [sp], #16
        .cfi_def_cfa sp, 0
        ret
        .cfi_endproc
        .size   pcpu_tlsdesc_dynamic, .-pcpu_tlsdesc_dynamic

        .section .note.GNU-stack,"",%progbits
