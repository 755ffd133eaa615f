// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the reader of the Kubernetes API's Status object
 * (k8s_status_parse in controller/k8s.c), which turns the body of every
 * non-2xx answer, the API's or a proxy's in front of it, into the words our
 * error messages quote. The input is the HTTP body.
 *
 * Beyond "no crash, no leak": the reason and the message are NUL-terminated
 * in their arrays, hold no control byte (they end up in one-line log
 * messages), do not end in a space, and the message is never empty; a body
 * that is not a Status is quoted by its first 120 bytes at most.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "controller/k8s_parse.h"
#include "tests/fuzz/fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_check_text(const char *s, size_t size)
{
	size_t n;

	fuzz_require(memchr(s, '\0', size) != NULL);
	n = strlen(s);
	for (size_t i = 0; i < n; i++)
		fuzz_require((unsigned char)s[i] >= 0x20 && s[i] != 0x7f);
	fuzz_require(n == 0 || s[n - 1] != ' ');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct k8s_resp   r = {.status = 500, .len = size};
	struct k8s_status st;

	if ((r.body = fuzz_body(data, size)) == NULL)
		return 0;
	k8s_status_parse(&r, &st);
	fuzz_check_text(st.reason, sizeof(st.reason));
	fuzz_check_text(st.message, sizeof(st.message));
	fuzz_require(st.message[0] != '\0');
	if (strstr(r.body, "Status") == NULL)
		fuzz_require(strlen(st.message) <= 120 ||
		             strcmp(st.message, "(no message)") == 0);
	free(r.body);
	/* no body at all, as when the connection gave none */
	r = (struct k8s_resp) {.status = 502};
	k8s_status_parse(&r, &st);
	fuzz_require(strcmp(st.message, "(no message)") == 0 && st.reason[0] == '\0');
	return 0;
}
