/* An object without per-CPU data: patch must copy it unchanged. */
int plain_function(int x) { return x * 2; }
int plain_data = 3;
