# R_X86_64_8 one past its range (256 fits neither int8 nor uint8): the load
# must fail and say so, never truncate.
        .data
        .globl  narrow_over
narrow_over:
        .byte   narrow_weak + 0x100
        .weak   narrow_weak
        .section .note.GNU-stack,"",@progbits
