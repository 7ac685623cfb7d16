# Thread-local relocations against what is not thread-local data, and an
# address of thread-local data taken as if it had one: malformed, refused
# before anything is mapped (loader_mistakes.sh assembles each half).
    .text
    .globl tls_of_plain
tls_of_plain:
    subq $8, %rsp
    # assemblers refuse `plain@tlsgd`: the relocation is written by hand
    .reloc .+4, R_X86_64_TLSGD, plain-4
    data16 leaq 0(%rip), %rdi
    .value 0x6666
    rex64 call __tls_get_addr@PLT
    addq $8, %rsp
    ret
    .data
    .globl plain
    .type plain, @object
plain: .quad 0
#--- address
    .data
    .globl address_of_tls
address_of_tls:
    .quad tv
    .section .tbss,"awT",@nobits
tv: .zero 8
