# clang -flto writes LLVM bitcode, not ELF: refused, saying what it is.
# SH: printf 'int f(void) { return 1; }\n' | %bin/clang -flto -x c -c - -o %t/bc.o
# RUN: check %t/bc.o
# EXIT: 2
# CHECK: %t/bc.o: error: LLVM bitcode, not an ELF object (compiled with -flto?): percpu works on machine code; compile without -flto [malformed]
