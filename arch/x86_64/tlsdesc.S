// x86-64 TLS descriptor functions for modules (src/loader/Tls.h).
//
// `lea x@TLSDESC(%rip), %rax; call *x@TLSCALL(%rax)` calls descriptor[0]
// with %rax = &descriptor and expects in %rax the variable's offset from the
// thread pointer, every other register preserved (flags excepted): the
// psABI's "TLS descriptors" convention (RFC by Oliva and Gomes).
//
// pcpu_tlsdesc_return: descriptor[1] is the offset (glibc's static TLS).
// pcpu_tlsdesc_dynamic: descriptor[1] points to a {module, offset} pair.
//   Fast path, a module's block this thread already has: pcpu_thread_tls
//   {n, blocks} read %fs-relative.  Otherwise pcpu_tls_get_addr (which
//   allocates, or passes glibc's pairs on) with every caller-saved register
//   and the whole vector state saved (XSAVE sized at run time, or FXSAVE).

        .text
        .globl  pcpu_tlsdesc_return
        .hidden pcpu_tlsdesc_return
        .type   pcpu_tlsdesc_return, @function
        .p2align 4
pcpu_tlsdesc_return:
        .cfi_startproc
        movq    8(%rax), %rax
        ret
        .cfi_endproc
        .size   pcpu_tlsdesc_return, .-pcpu_tlsdesc_return

        .globl  pcpu_tlsdesc_dynamic
        .hidden pcpu_tlsdesc_dynamic
        .type   pcpu_tlsdesc_dynamic, @function
        .p2align 4
pcpu_tlsdesc_dynamic:
        .cfi_startproc
        movq    8(%rax), %rax                   // the pair
        pushq   %rdi
        .cfi_adjust_cfa_offset 8
        pushq   %rsi
        .cfi_adjust_cfa_offset 8
        movq    (%rax), %rsi
        btrq    $63, %rsi                       // a module's slot?
        jnc     1f
        movq    pcpu_thread_tls@gottpoff(%rip), %rdi
        cmpq    %fs:(%rdi), %rsi                // slot < n
        jae     1f
        movq    %fs:8(%rdi), %rdi               // blocks
        movq    (%rdi,%rsi,8), %rdi
        testq   %rdi, %rdi
        jz      1f
        addq    8(%rax), %rdi                   // + offset
        subq    %fs:0, %rdi                     // - thread pointer
        movq    %rdi, %rax
        popq    %rsi
        .cfi_adjust_cfa_offset -8
        popq    %rdi
        .cfi_adjust_cfa_offset -8
        ret
        .cfi_adjust_cfa_offset 16
1:      popq    %rsi
        .cfi_adjust_cfa_offset -8
        popq    %rdi
        .cfi_adjust_cfa_offset -8
        pushq   %rbp
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %rbp, 0
        movq    %rsp, %rbp
        .cfi_def_cfa_register %rbp
        pushq   %rcx
        pushq   %rdx
        pushq   %rsi
        pushq   %rdi
        pushq   %r8
        pushq   %r9
        pushq   %r10
        pushq   %r11
        movq    %rax, %rdi                      // the pair: the argument
        movl    pcpu_tlsdesc_xsave_size(%rip), %ecx
        testl   %ecx, %ecx
        jz      2f
        subq    %rcx, %rsp
        andq    $-64, %rsp
        xorl    %eax, %eax                      // XSAVE's header must start zeroed
        movq    %rax, 512(%rsp)
        movq    %rax, 520(%rsp)
        movq    %rax, 528(%rsp)
        movq    %rax, 536(%rsp)
        movq    %rax, 544(%rsp)
        movq    %rax, 552(%rsp)
        movq    %rax, 560(%rsp)
        movq    %rax, 568(%rsp)
        movl    $-1, %eax
        movl    $-1, %edx
        xsave   (%rsp)
        call    pcpu_tls_get_addr
        movq    %rax, %rsi
        movl    $-1, %eax
        movl    $-1, %edx
        xrstor  (%rsp)
        jmp     3f
2:      subq    $512, %rsp
        andq    $-64, %rsp
        fxsave  (%rsp)
        call    pcpu_tls_get_addr
        movq    %rax, %rsi
        fxrstor (%rsp)
3:      movq    %rsi, %rax
        subq    %fs:0, %rax                     // - thread pointer
        leaq    -64(%rbp), %rsp
        popq    %r11
        popq    %r10
        popq    %r9
        popq    %r8
        popq    %rdi
        popq    %rsi
        popq    %rdx
        popq    %rcx
        popq    %rbp
        .cfi_def_cfa %rsp, 8
        ret
        .cfi_endproc
        .size   pcpu_tlsdesc_dynamic, .-pcpu_tlsdesc_dynamic

        .data
        .globl  pcpu_tlsdesc_xsave_size
        .hidden pcpu_tlsdesc_xsave_size
        .p2align 2
pcpu_tlsdesc_xsave_size:                        // HostTarget.cpp sets it
        .long   0

        .section .note.GNU-stack,"",@progbits
