// x86-64: what the guard (src/runtime/guard.cc) reads from a fault's signal
// frame.  The kernel's page-fault error code (Intel SDM vol. 3, 4.7: bit 1,
// W/R, set for a write) is saved in the frame's REG_ERR; the faulting
// instruction's address is REG_RIP.
#include "runtime.h"

#include <ucontext.h>

namespace percpu::rt {

namespace {
constexpr greg_t kPageFaultWrite = 1 << 1; // error code bit 1: the access was a write
}

FaultAccess faultAccess(const void *ucontext)
{
    const auto *uc = static_cast<const ucontext_t *>(ucontext);
    FaultAccess fa;
    fa.pc = static_cast<uintptr_t>(uc->uc_mcontext.gregs[REG_RIP]);
    fa.write = (uc->uc_mcontext.gregs[REG_ERR] & kPageFaultWrite) != 0;
    return fa;
}

} // namespace percpu::rt
