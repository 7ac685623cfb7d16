# -fPIE-style direct read of a libc variable nobody copied into the host
# (`timezone`): out of reach of the module, refused with a message that names
# the library and says to build with -fPIC.
        .text
        .globl  read_timezone
        .type   read_timezone,@function
read_timezone:
        movq    timezone(%rip), %rax
        ret
        .size   read_timezone, .-read_timezone
        .section .note.GNU-stack,"",@progbits
