# An export record whose kind (7) is neither plain (0) nor per-CPU (1): the
# loader refuses it as malformed, and check must say the same.
        .text
        .globl  exported_fn
        .type   exported_fn, @function
exported_fn:
        ret
        .section .rodata.str1.1,"aMS",@progbits,1
.Lname:
        .string "exported_fn"
        .section percpu_exports,"aw"
        .balign 8
        .quad   .Lname
        .quad   exported_fn
        .long   7
        .long   0
