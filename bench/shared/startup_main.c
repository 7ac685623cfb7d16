/* The program of the start-up benchmark: calls into its two libraries and
 * exits. */
void startup_touch1(void);
void startup_touch2(void);
int main(void)
{
    startup_touch1();
    startup_touch2();
    return 0;
}
