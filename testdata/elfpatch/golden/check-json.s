# check --format json: diagnostics with rule, severity, file, section, offset,
# symbol, message, and a summary.
# RUN: check --format json %t/t.o
# EXIT: 1
# CHECK: "diagnostics": [
# CHECK: "file": "%t/t.o"
# CHECK: "message": "'movl per_cpu__x(%rip), %eax' reads or writes
# CHECK: "offset": 2
# CHECK: "rule": "direct-access"
# CHECK: "section": ".text"
# CHECK: "severity": "error"
# CHECK: "symbol": "per_cpu__x"
# CHECK: "summary": {
# CHECK: "errors": 1
# CHECK: "files": 1
# CHECK: "direct-access": 1
    .text
    movl per_cpu__x(%rip), %eax
    .section .data..percpu,"aw",@progbits
    .globl per_cpu__x
per_cpu__x: .long 1
