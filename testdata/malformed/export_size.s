# An export table of 20 bytes, not a whole number of 24-byte records: the
# loader refuses it as malformed, and check must say the same.
        .text
        .globl  exported_fn
exported_fn:
        ret
        .section percpu_exports,"aw"
        .balign 8
        .quad   exported_fn
        .quad   exported_fn
        .long   0
