# AArch64 mapping symbols ($d, $x and their $d.N forms, which the assembler
# puts in .data..percpu) are not variables: layout lists only the variables
# and charges no padding to mapping symbols.
# TRIPLE: aarch64-linux-gnu
# RUN: layout %t/t.o
# CHECK:      %t/t.o: per-CPU block of a relocatable object
# CHECK-NEXT:   variable                         section            offset     size  align  padding  cache lines
# CHECK-NEXT:   hits                             plain                 0x0        8      8        0  0
# CHECK-NEXT:   flags                            plain                 0x8        4      4        0  0
# CHECK-NOT:  $d
    .section .data..percpu,"aw",@progbits
    .p2align 3
    .globl hits, flags
    .size hits, 8
hits: .xword 1
    .size flags, 4
flags: .word 2
$d.1:
    .text
    ret
