/*
 * A glue module driving SQLite, whose objects (Debian's libsqlite3.a) are
 * loaded as another module: it has no EXPORT_SYMBOL, so it can use SQLite
 * only through PCPU_RTLD_GLOBAL.  thirdparty_test checks which copy of
 * SQLite it bound to (sqlite_glue_open_fn) with and without
 * PCPU_RTLD_DEEPBIND, while the test process links libsqlite3.so too.
 */
#include <sqlite3.h>

#include <stdio.h>

/* The sqlite3_open this module's code calls. */
void *sqlite_glue_open_fn(void)
{
    return (void *)&sqlite3_open;
}

/* An in-memory table of 1..n, summed by SQL: the sum, or -1. */
long long sqlite_glue_sum(int n)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long sum = -1;
    char sql[128];
    if (sqlite3_open(":memory:", &db) != SQLITE_OK)
        goto out;
    if (sqlite3_exec(db, "CREATE TABLE t(v INTEGER); BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        goto out;
    for (int i = 1; i <= n; i++) {
        snprintf(sql, sizeof sql, "INSERT INTO t VALUES(%d)", i);
        if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
            goto out;
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT sum(v) FROM t", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW)
        goto out;
    sum = sqlite3_column_int64(st, 0);
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return sum;
}

/* The library's version as the module's copy reports it. */
const char *sqlite_glue_version(void)
{
    return sqlite3_libversion();
}
