/* SPDX-License-Identifier: GPL-2.0-only */
#include <CUnit/Basic.h>
#include <stdio.h>

#include "log.h"
#include "unit.h"

int main(void)
{
	unsigned failures;

	/* Code under test logs its rejections; keep them for the test log. */
	log_init("unit", LOG_LEVEL_DEBUG);

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	if (CU_register_suites(unit_suites) != CUE_SUCCESS) {
		fprintf(stderr, "cannot register suites: %s\n", CU_get_error_msg());
		CU_cleanup_registry();
		return 2;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	/* CU_get_error() stays 0 on failed assertions: count them instead. */
	failures = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	if (CU_get_error() != CUE_SUCCESS)
		failures++;
	CU_cleanup_registry();
	return failures ? 1 : 0;
}
