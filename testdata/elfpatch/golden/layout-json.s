# layout --format json: the baseline format of check --baseline.
# RUN: layout --format json --cpus 4 %t/t.o
# CHECK: "block": {
# CHECK-DAG: "size": 12
# CHECK-DAG: "bytes_for_cpus": 48
# CHECK-DAG: "cpus": 4
# CHECK: "file": "%t/t.o"
# CHECK: "kind": "object"
# CHECK: "variables": [
# CHECK: "name": "per_cpu__x"
# CHECK: "offset": 0
# CHECK: "section": "plain"
# CHECK: "name": "per_cpu__y"
# CHECK: "offset": 4
    .section .data..percpu,"aw",@progbits
    .globl per_cpu__x, per_cpu__y
    .size per_cpu__x, 4
per_cpu__x: .long 1
    .size per_cpu__y, 8
per_cpu__y: .quad 2
