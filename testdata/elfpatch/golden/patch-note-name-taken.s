# A section of the object named .note.percpu that is not patch's layout
# record (here data with a symbol in it) is refused, not overwritten: the
# record would have left the symbol past its end.
# RUN: patch %t/t.o -o %t/out.o
# EXIT: 2
# CHECK: %t/t.o:(.note.percpu): error: '.note.percpu' is an allocated or non-note section; the name is reserved for the per-CPU layout record that patch writes [malformed]
# CHECK: %t/t.o: nothing written to %t/out.o
    .text
    leaq per_cpu__x(%rip), %rax
    .section .data..percpu,"aw",@progbits
    .globl per_cpu__x
per_cpu__x: .long 1
    .section .note.percpu,"aw",@progbits
table: .quad 1, 2, 3, 4, 5, 6, 7, 8, 9
