/* A current-convention module using the legacy module's per_cpu__legacy_hits
 * by its C name: per-CPU references bind across the two spellings. */
#include <percpu/linux.h>

DECLARE_PER_CPU(long, legacy_hits);

long legacy_user_read(int cpu) { return per_cpu(legacy_hits, cpu); }
