/* Part of plugin_cxx.o, from an object library. */
int plugin_part_weight(void) { return 1; }
