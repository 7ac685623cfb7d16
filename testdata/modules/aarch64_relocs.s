// AArch64 relocation kinds the compiled fixtures do not produce, for the
// differential test of the loader's engine against ld.lld: references go to
// global symbols or across sections, so the assembler leaves them to the
// linker (short-range branches stay within .text: the test places sections
// 1 MiB apart).
        .text
        .globl  relocs_entry
relocs_entry:
        tbz     w0, #3, near_target             // R_AARCH64_TSTBR14
        cbz     x1, near_target                 // R_AARCH64_CONDBR19
        b.ne    near_target                     // R_AARCH64_CONDBR19
        ldr     x2, near_literal                // R_AARCH64_LD_PREL_LO19
        adr     x3, near_literal                // R_AARCH64_ADR_PREL_LO21
        movz    x4, #:abs_g3:far_data           // R_AARCH64_MOVW_UABS_G3
        movk    x4, #:abs_g2_nc:far_data        // R_AARCH64_MOVW_UABS_G2_NC
        movk    x4, #:abs_g1_nc:far_data        // R_AARCH64_MOVW_UABS_G1_NC
        movk    x4, #:abs_g0_nc:far_data        // R_AARCH64_MOVW_UABS_G0_NC
        adrp    x5, far_data
        ldrh    w6, [x5, :lo12:far_data + 2]    // R_AARCH64_LDST16_ABS_LO12_NC
        ldr     q7, [x5, :lo12:far_data + 16]   // R_AARCH64_LDST128_ABS_LO12_NC
        b       far_code                        // R_AARCH64_JUMP26
        bl      far_code                        // R_AARCH64_CALL26
        ret

        .globl  near_target, near_literal
near_target:
        ret
        .p2align 3
near_literal:
        .quad   0x1122334455667788

        .section .text.far, "ax", @progbits
far_code:
        ret

        .globl  small_value
        .set    small_value, 0x1234

        .data
        .p2align 4
far_data:
        .quad   1, 2, 3, 4
        .hword  small_value + 1
        .hword  0
        .p2align 2
        .word   far_code - .                    // R_AARCH64_PREL32
        .quad   far_code - .                    // R_AARCH64_PREL64
        .quad   far_data + 8                    // R_AARCH64_ABS64
