# What gcc -fPIE writes for code reading libc's variables: a 32-bit
# PC-relative load, which a linker serves in an executable with a copy
# relocation. The loader's library gives the host those copies for libc's
# well-known variables, so the module reaches them; the values must be the
# real ones: fileno(stderr) == 2, fileno(stdout) == 1, and the PC-relative and
# GOT routes must agree.
# Addresses of variables nobody copied (`lea daylight(%rip)`, `lea
# tzname+8(%rip)`, i.e. &tzname[1]) are out of reach too; the loader turns each
# lea into a load from a GOT entry holding the symbol plus its offset.
# far_memory_check reads and writes variables nobody copied (`daylight`,
# `timezone`) with memory operands of several shapes; the loader moves each
# such instruction into a stub that goes through a 64-bit address, and the
# results (and flags) must be what the GOT route sees.
        .text
        .globl  far_data_check
        .type   far_data_check,@function
far_data_check:
        pushq   %rbx
        movq    stderr(%rip), %rdi
        movq    stderr@GOTPCREL(%rip), %rax
        cmpq    (%rax), %rdi
        jne     .Lfail
        call    fileno@PLT
        cmpl    $2, %eax
        jne     .Lfail
        movq    stdout(%rip), %rdi
        call    fileno@PLT
        cmpl    $1, %eax
        jne     .Lfail
        movl    optind(%rip), %ebx
        movq    optind@GOTPCREL(%rip), %rax
        cmpl    (%rax), %ebx
        jne     .Lfail
        leaq    daylight(%rip), %rax
        cmpq    daylight@GOTPCREL(%rip), %rax
        jne     .Lfail
        leaq    tzname+8(%rip), %rax
        movq    tzname@GOTPCREL(%rip), %rcx
        addq    $8, %rcx
        cmpq    %rcx, %rax
        jne     .Lfail
        xorl    %eax, %eax
        popq    %rbx
        ret
.Lfail:
        movl    $1, %eax
        popq    %rbx
        ret
        .size   far_data_check, .-far_data_check

        .globl  far_memory_check
        .type   far_memory_check,@function
far_memory_check:
        movq    daylight@GOTPCREL(%rip), %rcx
        movl    (%rcx), %r8d            # to restore
        movl    $5, daylight(%rip)      # store, imm32 after the displacement
        cmpl    $5, (%rcx)
        jne     .Lmfail
        addl    $2, daylight(%rip)      # read-modify-write, imm8
        cmpl    $7, (%rcx)
        jne     .Lmfail
        movl    daylight(%rip), %r11d   # names the usual scratch register
        cmpl    $7, %r11d
        jne     .Lmfail
        movb    daylight(%rip), %dl     # 8-bit, no REX prefix
        cmpb    $7, %dl
        jne     .Lmfail
        movw    daylight(%rip), %si     # 16-bit, operand-size prefix
        cmpw    $7, %si
        jne     .Lmfail
        movq    timezone(%rip), %rax    # 64-bit load
        movq    timezone@GOTPCREL(%rip), %rdx
        cmpq    (%rdx), %rax
        jne     .Lmfail
        cmpl    $7, daylight(%rip)      # the flags it sets survive the way back
        jne     .Lmfail
        movl    %r8d, (%rcx)
        xorl    %eax, %eax
        ret
.Lmfail:
        movl    %r8d, (%rcx)
        movl    $1, %eax
        ret
        .size   far_memory_check, .-far_memory_check
        .section .note.GNU-stack,"",@progbits
