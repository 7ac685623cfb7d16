/* Uses tls_global_lib.c's thread-local variable (PCPU_RTLD_GLOBAL). */
extern __thread int shared_tls;
int user_tls_bump(void) { return ++shared_tls; }
