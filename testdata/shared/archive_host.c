/* The program of the archive case of tests/shared_matrix.sh: the library's
 * variable, which came from an archive member, must be in the library's
 * block, and count exactly.  Prints "archive ok". */
#include <percpu/linux.h>

#include <stdio.h>
#include <string.h>

long archived_work(int n);
long *archived_address(void);

struct find {
    const char *name;
    unsigned long lo, hi;
};

static int look(const struct pcpu_block_info *b, void *arg)
{
    struct find *f = arg;
    if (b->owner == PCPU_BLOCK_SHARED_OBJECT && strstr(b->name, f->name)) {
        f->lo = (unsigned long)b->canonical;
        f->hi = f->lo + b->size;
    }
    return 0;
}

int main(void)
{
    struct find f = {"libarchived.so", 0, 0};
    pcpu_for_each_block(look, &f);
    unsigned long a = (unsigned long)archived_address();
    long first = archived_work(100), second = archived_work(50);
    if (a < f.lo || a >= f.hi || first != 100 || second != 150) {
        printf("archive: address %#lx, block [%#lx, %#lx), counts %ld %ld\n", a, f.lo, f.hi, first, second);
        return 1;
    }
    printf("archive ok\n");
    return 0;
}
