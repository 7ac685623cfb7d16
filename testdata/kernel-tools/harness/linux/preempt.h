/* Stand-in, written for percpu's tests, of the shape of the radix-tree test
 * harness's linux/preempt.h: a one-copy preemption count, as macros. */
#ifndef __LINUX_PREEMPT_H
#define __LINUX_PREEMPT_H
extern int preempt_count;
#define preempt_disable() __atomic_add_fetch(&preempt_count, 1, __ATOMIC_RELAXED)
#define preempt_enable() __atomic_sub_fetch(&preempt_count, 1, __ATOMIC_RELAXED)
static inline int in_interrupt(void) { return 0; }
#endif
