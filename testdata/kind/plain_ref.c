/* The mistake: a plain extern of def.c's per-CPU `hits` (reads the template). */
extern long hits;

int plain_ref(void) { return (int)hits; }
