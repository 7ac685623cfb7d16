/* A module's thread-local variable used by another module: loaded with
 * PCPU_RTLD_GLOBAL, its definition resolves tls_global_user.c's reference
 * to the same block. */
__thread int shared_tls = 5;
int lib_tls_get(void) { return shared_tls; }
