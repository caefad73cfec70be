/*
 * The C tests' checks: each passing check counts in `checks`; the first failing one prints where and why
 * (with the library's last error message) and exits with status 1. Included once, by each test program.
 */
#ifndef HEALTHCHAIN_TEST_CHECK_H
#define HEALTHCHAIN_TEST_CHECK_H

#include "healthchain.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int checks;

/* `call` returns `status`. */
#define EXPECT(call, status)                                                                            \
    do {                                                                                                \
        int32_t rc_ = (call);                                                                           \
        if (rc_ != (status)) {                                                                          \
            fprintf(stderr, "%s:%d: %s\n  gave %d (%s): %s\n  expected %s\n", __FILE__, __LINE__, #call, \
                    rc_, hc_status_str(rc_), hc_last_error_message(), #status);                         \
            exit(1);                                                                                    \
        }                                                                                               \
        checks++;                                                                                       \
    } while (0)

/* `call` succeeds. */
#define OK(call) EXPECT(call, HC_OK)

/* `condition` holds. */
#define REQUIRE(condition)                                                                      \
    do {                                                                                        \
        if (!(condition)) {                                                                     \
            fprintf(stderr, "%s:%d: requirement failed: %s\n", __FILE__, __LINE__, #condition); \
            exit(1);                                                                            \
        }                                                                                       \
        checks++;                                                                               \
    } while (0)

#endif
