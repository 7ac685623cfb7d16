// kapi.c compiled as C++20: the headers meant for C++ take kernel code too.
#include "kapi.c"
