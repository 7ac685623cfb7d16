/* module_init fails: the load must fail and leave nothing behind. */
#include <percpu/linux.h>
DEFINE_PER_CPU(char[256], failing_block);
static int failing_init(void) { return -5; }
module_init(failing_init);
