/* Calls zlib, which percpu-load links for itself (through LLVM), not for
 * its modules: refused unless percpu-load --lib libz.so.1. */
const char *zlibVersion(void);

int zlib_version_ok(void) { return zlibVersion()[0] == '1' ? 0 : 1; }
