/* A host that runs the conformance checks of kapi.c in its own image. */
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif
int kapi_run(void);
int kapi_run_threads(void);
#ifdef __cplusplus
}
#endif

int main(void)
{
    int single = kapi_run();
    int threads = kapi_run_threads();
    printf("kapi: %d single-thread and %d threaded check failures\n", single, threads);
    if (single || threads)
        return 1;
    printf("kapi ok\n");
    return 0;
}
