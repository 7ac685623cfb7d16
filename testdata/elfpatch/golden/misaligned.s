# misaligned: shared_aligned data off a cache line, page_aligned data off a
# page; --cacheline changes the first.
# RUN: check %t/t.o
# EXIT: 1
# CHECK-DAG: %t/t.o:(.data..percpu..shared_aligned+0x48): error: 'per_cpu__off_line' in shared_aligned data is at 0x48 in a section aligned to 64: expected a multiple of 64 (a cache line) [misaligned]
# CHECK-DAG: %t/t.o:(.data..percpu..page_aligned+0x10): error: 'per_cpu__off_page' in page_aligned data is at 0x10 in a section aligned to 4096: expected a multiple of 4096 (a page) [misaligned]
    .section .data..percpu..shared_aligned,"aw",@progbits
    .p2align 6
    .globl per_cpu__on_line
per_cpu__on_line: .quad 1
    .zero 56
    .zero 8
    .globl per_cpu__off_line
per_cpu__off_line: .quad 2
    .section .data..percpu..page_aligned,"aw",@progbits
    .p2align 12
    .globl per_cpu__on_page
per_cpu__on_page: .zero 16
    .globl per_cpu__off_page
per_cpu__off_page: .quad 3
