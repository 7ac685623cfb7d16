// AArch64: what the guard (src/runtime/guard.cc) reads from a fault's signal
// frame.  The faulting instruction is uc_mcontext.pc.  Read or write comes
// from the exception syndrome the kernel leaves among the records of
// __reserved (an ESR_MAGIC esr_context, arch/arm64/include/uapi/asm/
// sigcontext.h): for a data abort (Arm ARM D17.2.37: EC 0x24 from a lower
// exception level, 0x25 from the same one) ISS bit 6, WnR, is set for a
// write.  qemu-user writes no ESR record: the direction is then unknown.
#include "runtime.h"

#include <asm/sigcontext.h> // ESR_MAGIC, esr_context
#include <ucontext.h>

#include <cstring>

namespace percpu::rt {
namespace {

constexpr unsigned kEsrClassShift = 26, kEsrClassMask = 0x3f;
constexpr unsigned kDataAbortLowerEl = 0x24, kDataAbortSameEl = 0x25;
constexpr unsigned kEsrWnRBit = 6;

// 1 write, 0 read, -1 when the frame has no ESR record or the fault was not
// a data abort.
int faultWasWrite(const ucontext_t *uc)
{
    const auto *p = reinterpret_cast<const unsigned char *>(uc->uc_mcontext.__reserved);
    const auto *end = p + sizeof(uc->uc_mcontext.__reserved);
    while (p + sizeof(_aarch64_ctx) <= end) {
        _aarch64_ctx head;
        memcpy(&head, p, sizeof(head));
        if (head.magic == 0 || head.size < sizeof(head) || head.size > size_t(end - p))
            break;
        if (head.magic == ESR_MAGIC && head.size >= sizeof(esr_context)) {
            esr_context esr;
            memcpy(&esr, p, sizeof(esr));
            const unsigned ec = static_cast<unsigned>(esr.esr >> kEsrClassShift) & kEsrClassMask;
            if (ec != kDataAbortLowerEl && ec != kDataAbortSameEl)
                return -1;
            return (esr.esr >> kEsrWnRBit) & 1;
        }
        p += head.size;
    }
    return -1;
}

} // namespace

FaultAccess faultAccess(const void *ucontext)
{
    const auto *uc = static_cast<const ucontext_t *>(ucontext);
    FaultAccess fa;
    fa.pc = static_cast<uintptr_t>(uc->uc_mcontext.pc);
    fa.write = faultWasWrite(uc);
    return fa;
}

} // namespace percpu::rt
