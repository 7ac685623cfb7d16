/*
 * Constructors and destructors in the tables older toolchains emit
 * (.ctors/.dtors, with priorities as .ctors.N, N = 65535 - priority) beside
 * .init_array/.fini_array. GNU ld merges them into .init_array/.fini_array:
 * prioritised entries first, then .init_array, then each .ctors table with its
 * words reversed; .fini_array likewise with .dtors, run backward. So: b, c,
 * d, a at load; x, y, z at unload. Each records a letter in the host's buffer.
 */
extern char host_ctor_order[32]; /* exported by the host */

static void note(char c)
{
    int n = 0;
    while (n < 31 && host_ctor_order[n])
        ++n;
    host_ctor_order[n] = c;
}

static void a(void) { note('a'); }
static void b(void) { note('b'); }
static void d(void) { note('d'); }
static void x(void) { note('x'); }
static void y(void) { note('y'); }
__attribute__((constructor)) static void c(void) { note('c'); }
__attribute__((destructor)) static void z(void) { note('z'); }

/* Plain table {a, d}: reversed, so d then a, after .init_array's c. */
__attribute__((section(".ctors"), used)) static void (*ctor_table[])(void) = {a, d};
/* Priority 101: before everything else. */
__attribute__((section(".ctors.65434"), used)) static void (*ctor_early[])(void) = {b};
__attribute__((section(".dtors"), used)) static void (*dtor_table[])(void) = {x, y};
