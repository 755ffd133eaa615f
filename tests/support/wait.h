/* SPDX-License-Identifier: MIT */
/*
 * Waiting for a condition that nothing signals (another process's state, a
 * counter kept by the code under test), instead of sleeping a guessed time.
 * The deadline is generous on purpose: it only bounds a test that is
 * already failing, so a loaded machine makes a test slower, never wrong.
 */
#ifndef CHAOS_TESTS_WAIT_H
#define CHAOS_TESTS_WAIT_H

#include <stdbool.h>

/* What a test waits at most for something that takes milliseconds when the
 * machine is idle. */
#define WAIT_GENEROUS_MS 20000

/* Returns whether the condition holds now. */
typedef bool (*wait_cond_fn)(void *arg);

/* Calls cond(arg) until it returns true (true) or timeout_ms have passed
 * (false, after one last call). Naps between calls start at 1 ms and grow
 * to 20 ms, so a quick condition is seen quickly and a slow one costs
 * little CPU. */
bool wait_until(wait_cond_fn cond, void *arg, int timeout_ms);

#endif
