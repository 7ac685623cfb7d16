# check --format sarif: SARIF 2.1.0 with the rule table and located results.
# An absolute object path is a file: URI, as source paths are.
# RUN: check --format sarif %t/t.o
# EXIT: 1
# CHECK: "$schema": "https://json.schemastore.org/sarif-2.1.0.json"
# CHECK: "results": [
# CHECK: "kind": "section"
# CHECK-NEXT: "name": ".text+0x2"
# CHECK: "kind": "variable"
# CHECK-NEXT: "name": "per_cpu__x"
# CHECK: "uri": "file://%t/t.o"
# CHECK: "ruleId": "direct-access"
# CHECK: "name": "percpu-elfpatch"
# CHECK: "id": "malformed"
# CHECK: "id": "layout-drift"
# CHECK: "version": "2.1.0"
    .text
    movl per_cpu__x(%rip), %eax
    .section .data..percpu,"aw",@progbits
    .globl per_cpu__x
per_cpu__x: .long 1
