// SPDX-License-Identifier: MIT
#include "tests/fuzz/fuzz_check.h"

#include <stdlib.h>

void
fuzz_require(bool ok)
{
	if (!ok)
		abort();
}
