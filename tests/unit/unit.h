/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared by every CUnit test program: each test_<module>.c defines
 * unit_suites[], terminated by CU_SUITE_INFO_NULL; cunit_main.c runs them.
 */
#ifndef SPLITVM_TEST_UNIT_H
#define SPLITVM_TEST_UNIT_H

#include <CUnit/CUnit.h>

extern CU_SuiteInfo unit_suites[];

#endif
