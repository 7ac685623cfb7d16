/* The program of the start-up benchmark: calls into its two libraries and
 * exits.  With -DBIG_PROGRAM it also holds a table of 65536 pointers, as many
 * relative relocations as a large program has: what each library's
 * registration costs must not grow with them. */
void startup_touch1(void);
void startup_touch2(void);
#ifdef BIG_PROGRAM
static char startup_objects[65536];
#define P1(n) startup_objects + (n),
#define P4(n) P1(n) P1((n) + 1) P1((n) + 2) P1((n) + 3)
#define P16(n) P4(n) P4((n) + 4) P4((n) + 8) P4((n) + 12)
#define P64(n) P16(n) P16((n) + 16) P16((n) + 32) P16((n) + 48)
#define P256(n) P64(n) P64((n) + 64) P64((n) + 128) P64((n) + 192)
#define P1024(n) P256(n) P256((n) + 256) P256((n) + 512) P256((n) + 768)
#define P4096(n) P1024(n) P1024((n) + 1024) P1024((n) + 2048) P1024((n) + 3072)
#define P16384(n) P4096(n) P4096((n) + 4096) P4096((n) + 8192) P4096((n) + 12288)
#define P65536(n) P16384(n) P16384((n) + 16384) P16384((n) + 32768) P16384((n) + 49152)
char *volatile startup_table[] = {P65536(0)};
#endif
int main(void)
{
    startup_touch1();
    startup_touch2();
#ifdef BIG_PROGRAM
    return startup_table[65535] != startup_objects + 65535;
#else
    return 0;
#endif
}
