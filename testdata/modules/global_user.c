/* Uses global_lib.c's definitions, which it only reaches when global_lib.o
 * was loaded with PCPU_RTLD_GLOBAL. */
int getpagesize(void); /* <unistd.h> declares it only outside strict C11 */

int lib_value(void);

__attribute__((weak)) int weak_pick(void) { return 2; }

int use_lib(void) { return lib_value(); }
int which_pick(void) { return weak_pick(); }
int which_pagesize(void) { return getpagesize(); }
