# layout --format svg: the block as cache lines.  rx and tx share a line
# and are used by different functions: a false-sharing candidate, framed in
# red; the document is valid XML and renders (xmllint, rsvg-convert).
# SH: %tool layout --format svg %t/t.o > %t/t.svg
# SH: xmllint --noout %t/t.svg
# SH: rsvg-convert -o %t/t.png %t/t.svg
# SH: test -s %t/t.png
# RUN: layout --format svg %t/t.o
# CHECK: <svg xmlns="http://www.w3.org/2000/svg"
# CHECK: per-CPU block, 80 bytes
# CHECK: stroke="#d00000" stroke-width="3"
# CHECK: <title>rx: offset 0x0, 8 bytes, plain</title>
# CHECK: <title>tx: offset 0x8, 8 bytes, plain</title>
# CHECK: <title>hist: offset 0x10, 64 bytes, plain</title>
# CHECK: false-sharing candidates (variables on one line, used by different functions): 3
# CHECK: line 0x0: rx and tx
# CHECK: line 0x0: rx and hist
# CHECK: line 0x0: tx and hist
# CHECK: </svg>
    .section .data..percpu,"aw",@progbits
    .p2align 3
    .globl rx, tx, hist
    .size rx, 8
rx: .quad 0
    .size tx, 8
tx: .quad 0
    .size hist, 64
hist: .zero 64
    .text
    .globl on_rx, on_tx
    .type on_rx,@function
on_rx:
    leaq rx(%rip), %rax
    leaq hist(%rip), %rcx
    ret
    .size on_rx, .-on_rx
    .type on_tx,@function
on_tx:
    leaq tx(%rip), %rax
    leaq hist(%rip), %rcx
    ret
    .size on_tx, .-on_tx
