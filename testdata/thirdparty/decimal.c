/* Decimal floating point from libgcc.a's BID library, whose rounding mode
 * and exception flags are thread-local (general dynamic): loaded as a
 * module with the bid*.o members of Debian's libgcc.a, it must print what
 * the same code linked into a program prints, and compute the same in
 * several threads at once (tests/libgcc_decimal.sh). */
#include <pthread.h>
#include <stdio.h>

static long long compute(void)
{
    _Decimal128 acc = 0.1DL;
    for (int i = 1; i <= 200; ++i)
        acc = acc * 1.07DL + (_Decimal128)i / 3.0DL - acc / 7.0DL;
    return (long long)(acc * 1000000.0DL);
}

static void *worker(void *out)
{
    *(long long *)out = compute();
    return NULL;
}

int decimal_print(void)
{
    _Decimal64 d = 2.5DD;
    d = d / 3.0DD;
    printf("%lld %lld\n", compute(), (long long)(d * 1000000000.0DD));
    return 0;
}

int decimal_threads(void)
{
    pthread_t t[4];
    long long r[4];
    for (int i = 0; i < 4; ++i)
        if (pthread_create(&t[i], NULL, worker, &r[i]) != 0)
            return 2;
    for (int i = 0; i < 4; ++i)
        pthread_join(t[i], NULL);
    const long long mine = compute();
    for (int i = 0; i < 4; ++i)
        if (r[i] != mine)
            return 1;
    return 0;
}

#ifdef DECIMAL_PROGRAM
int main(void) { return decimal_print(); }
#endif
