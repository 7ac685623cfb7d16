// The machine's CPUs, from sysfs (Documentation/ABI/testing/sysfs-devices-system-cpu):
// how many are possible, which are online and present, and the NUMA node of
// each.  Plain reads with no lock and no allocation, safe before main() (the
// runtime's start-up runs from .preinit_array) and with any lock held.
#include "runtime.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <cerrno>

#include <dirent.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <unistd.h>

namespace percpu::rt {
namespace {

// Parses a cpulist ("0-3,8,10-11") into a bitmap; returns highest CPU + 1 or 0.
unsigned parseCpuList(const char *s, uint64_t *bits)
{
    unsigned top = 0;
    while (*s) {
        char *end;
        unsigned long a = strtoul(s, &end, 10), b = a;
        if (end == s)
            break;
        s = end;
        if (*s == '-') {
            b = strtoul(s + 1, &end, 10);
            s = end;
        }
        for (unsigned long c = a; c <= b && c < PCPU_MAX_CPUS; ++c) {
            if (bits)
                bits[c / 64] |= uint64_t{1} << (c % 64);
            top = std::max(top, static_cast<unsigned>(c) + 1);
        }
        if (*s == ',')
            ++s;
        else
            break;
    }
    return top;
}

bool readSmallFile(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, len - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = 0;
    return true;
}

} // namespace

unsigned possibleCpus()
{
    char buf[4096];
    unsigned n = 0;
    if (readSmallFile("/sys/devices/system/cpu/possible", buf, sizeof(buf)))
        n = parseCpuList(buf, nullptr);
    if (n == 0) {
        long c = sysconf(_SC_NPROCESSORS_CONF);
        n = c > 0 ? static_cast<unsigned>(c) : 1;
    }
    return std::min<unsigned>(n, PCPU_MAX_CPUS);
}

int readCpuList(const char *path, uint64_t *bits, unsigned limit)
{
    char buf[4096];
    std::memset(bits, 0, sizeof(pcpu__online_mask.bits));
    if (!readSmallFile(path, buf, sizeof(buf))) {
        for (unsigned c = 0; c < limit; ++c) // unknown: take all as online
            bits[c / 64] |= uint64_t{1} << (c % 64);
        return -1;
    }
    parseCpuList(buf, bits);
    return 0;
}

int readOnlineCpus(uint64_t *bits, unsigned possible)
{
    // The kernel answers sched_getaffinity() with the thread's CPUs that
    // are active, so a subset of the online ones: when that is every
    // possible CPU (no cpuset, nothing offline: the common case), so is the
    // online set, known with one system call instead of a sysfs file's
    // three and its formatting.
    constexpr size_t kWords = PCPU_MAX_CPUS / 64;
    uint64_t allowed[kWords] = {};
    if (syscall(SYS_sched_getaffinity, 0, sizeof(allowed), allowed) > 0 &&
        maskIsAllBelow(allowed, possible)) {
        std::memcpy(bits, allowed, sizeof(allowed));
        return 0;
    }
    return readCpuList("/sys/devices/system/cpu/online", bits, possible);
}

bool readCpuNodes(signed char *node, unsigned realCpus)
{
    // One system call first: the nodes this process may take memory from
    // (its cpuset's).  With one (or a kernel without NUMA), binding units to
    // nodes has nothing to choose, and sysfs need not be read.
    unsigned long allowed[16] = {};
    if (syscall(SYS_get_mempolicy, nullptr, allowed, sizeof(allowed) * 8, nullptr, 4 /* MPOL_F_MEMS_ALLOWED */) == 0) {
        unsigned n = 0;
        for (unsigned long w : allowed)
            n += static_cast<unsigned>(__builtin_popcountl(w));
        if (n < 2)
            return false;
    } else if (errno == ENOSYS) {
        return false;
    }
    char buf[256];
    uint64_t nodes[PCPU_MAX_CPUS / 64] = {};
    if (!readSmallFile("/sys/devices/system/node/online", buf, sizeof(buf)))
        return false;
    parseCpuList(buf, nodes);
    unsigned count = 0;
    for (uint64_t w : nodes)
        count += static_cast<unsigned>(__builtin_popcountll(w));
    if (count < 2)
        return false;
    // Only now: on one node the table is never read, and its pages stay
    // untouched.
    std::memset(node, -1, PCPU_MAX_CPUS);
    for (unsigned c = 0; c < realCpus; ++c) {
        char dir[64];
        snprintf(dir, sizeof(dir), "/sys/devices/system/cpu/cpu%u", c);
        DIR *d = opendir(dir);
        if (!d)
            continue;
        while (dirent *e = readdir(d))
            if (!strncmp(e->d_name, "node", 4) && e->d_name[4] >= '0' && e->d_name[4] <= '9') {
                node[c] = static_cast<signed char>(atoi(e->d_name + 4));
                break;
            }
        closedir(d);
    }
    return true;
}

} // namespace percpu::rt
