# What gcc -fPIE writes for code reading libc's variables: a 32-bit
# PC-relative load, which a linker serves in an executable with a copy
# relocation. The loader's library gives the host those copies for libc's
# well-known variables, so the module reaches them; the values must be the
# real ones: fileno(stderr) == 2, fileno(stdout) == 1, and the PC-relative and
# GOT routes must agree.
# Addresses of variables nobody copied (`lea daylight(%rip)`, `lea
# tzname+8(%rip)`, i.e. &tzname[1]) are out of reach too; the loader turns each
# lea into a load from a GOT entry holding the symbol plus its offset.
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
        .section .note.GNU-stack,"",@progbits
