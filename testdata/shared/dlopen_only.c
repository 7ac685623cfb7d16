/* A program that knows nothing of percpu (as Python or any plugin host)
 * opens and closes a plugin with per-CPU data many times: the runtime comes
 * with the plugin and stays (it is never unloaded), and every open finds
 * its copies zero or initial.
 *   dlopen_only PLUGIN.so ROUNDS */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    int rounds = argc > 2 ? atoi(argv[2]) : 100;
    for (int i = 0; i < rounds; i++) {
        void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
        int (*check)(void) = h ? (int (*)(void))dlsym(h, "big_check_and_dirty") : NULL;
        if (!check) {
            fprintf(stderr, "dlopen_only: %s\n", dlerror());
            return 1;
        }
        int bad = check();
        if (bad) {
            fprintf(stderr, "dlopen_only: round %d: CPU %d's copy was neither zero nor initial\n", i, bad - 1);
            return 1;
        }
        dlclose(h);
    }
    printf("dlopen only ok\n");
    return 0;
}
