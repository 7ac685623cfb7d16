// The C header test again, compiled as C++20 (style: every C header is
// compiled as C and as C++).
#include "header_c.c"
