# The x86-64 narrow relocation kinds (R_X86_64_8, _16, _PC8, _PC16), which
# LLVM's JIT linker applies and compilers rarely emit.  .reloc keeps the
# PC-relative ones as relocations inside one section (an assembler would
# fold the distance), so that the differential test can place sections far
# apart; the absolute ones are against a weak undefined symbol (0) plus an
# addend at the edge of their range.  narrow_check returns 0 when the loader
# wrote what the psABI says.
        .data
        .globl  narrow_data
narrow_data:
        .byte   narrow_weak + 0xff              # R_X86_64_8   (255: the unsigned edge)
        .short  narrow_weak + 0x8001            # R_X86_64_16  (32769)
        .reloc  ., R_X86_64_PC8, narrow_target + 1
        .byte   0                               # narrow_target + 1 - P = 6 + 1 - 3 = 4
        .reloc  ., R_X86_64_PC16, narrow_target - 2
        .short  0                               # narrow_target - 2 - P = 6 - 2 - 4 = 0
        .globl  narrow_target
narrow_target:
        .byte   0
        .weak   narrow_weak
# More of each, for the differential test: the signed edges, and
# PC-relative values that point backwards.
narrow_more:
        .byte   narrow_weak - 0x80              # R_X86_64_8   (-128)
        .short  narrow_weak - 0x8000            # R_X86_64_16  (-32768)
        .short  narrow_weak + 0xffff            # R_X86_64_16  (65535)
        .reloc  ., R_X86_64_PC8, narrow_data
        .byte   0                               # backwards
        .reloc  ., R_X86_64_PC16, narrow_data + 1
        .short  0                               # backwards
        .reloc  ., R_X86_64_PC8, narrow_end
        .byte   0                               # forwards, across the padding
        .zero   96
narrow_end:

        .text
        .globl  narrow_check
        .type   narrow_check, @function
narrow_check:
        xorl    %eax, %eax
        leaq    narrow_data(%rip), %rcx
        cmpb    $0xff, (%rcx)
        setne   %al
        cmpw    $0x8001, 1(%rcx)
        setne   %dl
        orb     %dl, %al
        cmpb    $4, 3(%rcx)
        setne   %dl
        orb     %dl, %al
        cmpw    $0, 4(%rcx)
        setne   %dl
        orb     %dl, %al
        movzbl  %al, %eax
        ret
        .size   narrow_check, .-narrow_check
        .section .note.GNU-stack,"",@progbits
