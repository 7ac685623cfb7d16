# layout-drift across patch: a baseline taken from the object as compiled
# matches the patched object, whose variables keep their groups (read back
# from the layout record) although they now share one .data..percpu section.
# SH: %tool layout --format json %t/t.o > %t/base.json
# SH: %tool patch %t/t.o -o %t/patched.o
# SH: %tool layout %t/patched.o > %t/patched.txt
# SH: grep -q "per_cpu__hot  *shared_aligned" %t/patched.txt
# SH: grep -q "per_cpu__rare  *read_mostly" %t/patched.txt
# RUN: check --baseline %t/base.json %t/patched.o
# CHECK-NOT: {{.}}
    .section .data..percpu..read_mostly,"aw",@progbits
    .globl per_cpu__rare
    .size per_cpu__rare, 4
per_cpu__rare: .long 1
    .section .data..percpu,"aw",@progbits
    .globl per_cpu__plain
    .size per_cpu__plain, 8
per_cpu__plain: .quad 2
    .section .data..percpu..shared_aligned,"aw",@progbits
    .p2align 6
    .globl per_cpu__hot
    .size per_cpu__hot, 8
per_cpu__hot: .quad 3
