/* Thread-local storage in a module: refused with the symbol named. */
__thread int module_tls_counter;
int tls_bump(void) { return ++module_tls_counter; }
