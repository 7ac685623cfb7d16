/* Reads a shared object's per-CPU variable through the address dlsym()
 * gives, the template's: with the guard on (PERCPU_GUARD=1) the fault is
 * explained, naming the object and the variable.
 *   template_read LIBRARY.so VARIABLE */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    volatile long *v = h ? (volatile long *)dlsym(h, argv[2]) : NULL;
    if (!v) {
        fprintf(stderr, "template_read: %s\n", dlerror());
        return 1;
    }
    printf("template_read: read %ld without a fault\n", *v);
    return 1;
}
