/* Part of plugin_cxx.o, a C source in a C++ module. */
int plugin_glue_step(void) { return 1; }
