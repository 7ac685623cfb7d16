# check --output into a directory that does not exist: exit 2, the file is
# named, nothing is printed as if checked.
# RUN: check --output %t/no/such/dir/report.txt %t/t.o
# EXIT: 2
# CHECK: %t/no/such/dir/report.txt: error: cannot create a temporary file in %t/no/such/dir: {{.*}}
    .section .data..percpu,"aw",@progbits
    .globl x
x: .long 1
