/*
 * x86-64 hosts (HostTarget.cpp beside this file): keeps libc's and
 * libstdc++'s well-known variables within reach of modules.
 *
 * Code compiled with -fPIE (the default of Debian's gcc and clang) reaches
 * variables defined outside its object directly, with a 32-bit PC-relative
 * displacement: `mov stderr(%rip), %rdi`. A linker makes that work in an
 * executable with a copy relocation: the executable holds the variable and
 * libc uses that copy. A module loaded at run time has no such help, and libc's
 * own `stderr` is mapped terabytes away from the module area next to the host.
 *
 * These PC-relative references, linked into every host that uses the loader,
 * make the host's linker create the copies, so `stderr` & co. live in the
 * host's image, which modules do reach. Written in assembly so that neither
 * the compiler (-fPIC goes through the GOT) nor its version decides. Other
 * data a -fPIE module reaches directly from a shared library is refused with
 * a message that says to build the module with -fPIC.
 */
__asm__(".pushsection .text.pcpu_loader_libc_anchor,\"ax\",@progbits\n"
        ".globl pcpu_loader_libc_anchor\n"
        ".hidden pcpu_loader_libc_anchor\n"
        ".type pcpu_loader_libc_anchor,@function\n"
        "pcpu_loader_libc_anchor:\n"
        "  lea stdin(%rip), %rax\n"
        "  lea stdout(%rip), %rax\n"
        "  lea stderr(%rip), %rax\n"
        "  lea environ(%rip), %rax\n"
        "  lea optarg(%rip), %rax\n"
        "  lea optind(%rip), %rax\n"
        "  lea opterr(%rip), %rax\n"
        "  lea optopt(%rip), %rax\n"
        "  lea program_invocation_name(%rip), %rax\n"
        "  lea program_invocation_short_name(%rip), %rax\n"
        /* glibc >= 2.32; libstdc++'s inline code (shared_ptr, locale)
           reads it directly */
        "  lea __libc_single_threaded(%rip), %rax\n"
        /* libstdc++'s standard streams: inline members (precision, width,
           the vtable pointer) are read and written in place */
        "  lea _ZSt4cout(%rip), %rax\n"
        "  lea _ZSt4cerr(%rip), %rax\n"
        "  lea _ZSt4clog(%rip), %rax\n"
        "  lea _ZSt3cin(%rip), %rax\n"
        "  lea _ZSt5wcout(%rip), %rax\n"
        "  lea _ZSt5wcerr(%rip), %rax\n"
        "  lea _ZSt5wclog(%rip), %rax\n"
        "  lea _ZSt4wcin(%rip), %rax\n"
        "  ret\n"
        ".size pcpu_loader_libc_anchor, .-pcpu_loader_libc_anchor\n"
        ".popsection\n");
