/*
 * A third-party library's object as a module: global definitions and no
 * EXPORT_SYMBOL.  Loaded with PCPU_RTLD_GLOBAL they resolve the modules
 * loaded after it (global_user.c).
 */
int lib_value(void) { return 42; }

/* Strong here; global_user.c has a weak one: the first definition wins. */
int weak_pick(void) { return 1; }

/* A libc name: with PCPU_RTLD_DEEPBIND, global_user.c binds to this one
 * instead of the process's. */
int getpagesize(void) { return 12345; }
