# A direct access to a libc variable nobody copied into the host, by an
# instruction that cannot be moved out of line (it uses the stack): refused
# with a message that names the library, the reason and the remedy.
        .text
        .globl  read_timezone
        .type   read_timezone,@function
read_timezone:
        pushq   timezone(%rip)
        popq    %rax
        ret
        .size   read_timezone, .-read_timezone
        .section .note.GNU-stack,"",@progbits
