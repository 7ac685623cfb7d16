/* A module that reads a per-CPU variable through its canonical address, as
 * a plain variable: `percpu-elfpatch check` reports it (direct-access). */
#include <percpu/linux.h>

DEFINE_PER_CPU(long, bad_counter);

long bad_read(void)
{
    return bad_counter;
}
