# host-layout: a program with per-CPU data linked without percpu.ld has no
# __per_cpu_start/__per_cpu_end; linked with it, it is clean.
# SH: %ld %t/host.o -o %t/bare
# SH: %ld -T %percpu_ld %t/host.o -o %t/good
# SH: %ld -T %t/wrong.ld %t/host.o -o %t/wrong
# RUN: check %t/bare %t/good %t/wrong
# EXIT: 1
# CHECK-DAG: %t/bare: error: linked program has per-CPU data but no __per_cpu_start symbol: link it with percpu.ld (percpu_add_host() in CMake) [host-layout]
# CHECK-DAG: %t/wrong:(.data..percpu..first): error: per-CPU section '.data..percpu..first' comes after a section of a later group {{.*}} [host-layout]
# CHECK-DAG: %t/wrong:(.data..percpu..first): error: per-CPU section '.data..percpu..first' {{.*}} is not inside __per_cpu_start..__per_cpu_end {{.*}} [host-layout]
# CHECK-DAG: %t/wrong:(.data..percpu..first+0x{{[0-9a-f]+}}): error: per-CPU variable 'per_cpu__first' at 0x{{[0-9a-f]+}} is outside __per_cpu_start..__per_cpu_end [host-layout]
#--- host.s
    .text
    .globl _start
_start: ret
    .data
    .quad 0
    .section .data..percpu..first,"aw",@progbits
    .globl per_cpu__first
per_cpu__first: .quad 1
    .section .data..percpu,"aw",@progbits
    .globl per_cpu__plain
per_cpu__plain: .quad 2
#--- wrong.ld
SECTIONS {
  .data..percpu : { __per_cpu_start = .; *(.data..percpu) __per_cpu_end = .; }
  .data..percpu..first : { *(.data..percpu..first) }
}
INSERT AFTER .data;
