// SPDX-License-Identifier: MIT
/*
 * Stand-in for libFuzzer's main() in builds without it (gcc): runs
 * LLVMFuzzerTestOneInput over every file of a seed corpus, then over N
 * inputs made by mutating seeds (bit flips, byte edits, inserts, cuts,
 * splices, another decoder) or from plain random bytes. The generator is
 * seeded, so a failure reproduces with the same arguments.
 *
 * usage: fuzz_driver CORPUS_DIR [N [SEED]]
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DRIVER_MAX_INPUT 8192
#define DRIVER_MAX_SEEDS 4096

struct driver_seed {
	uint8_t *data;
	size_t   len;
};

static uint64_t driver_rng;

static uint64_t
driver_rand(void)
{
	/* xorshift64*: small, fast and the same on every platform. */
	driver_rng ^= driver_rng >> 12;
	driver_rng ^= driver_rng << 25;
	driver_rng ^= driver_rng >> 27;
	return driver_rng * 0x2545f4914f6cdd1dULL;
}

static size_t
driver_below(size_t n)
{
	return n == 0 ? 0 : (size_t)(driver_rand() % n);
}

static int
driver_read_file(const char *path, struct driver_seed *s)
{
	FILE   *f = fopen(path, "rb");
	uint8_t buf[DRIVER_MAX_INPUT];
	size_t  n;

	if (f == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if ((s->data = malloc(n ? n : 1)) == NULL)
		return -1;
	memcpy(s->data, buf, n);
	s->len = n;
	return 0;
}

/* Loads every regular file of dir, in name order so runs are reproducible. */
static int
driver_load(const char *dir, struct driver_seed *seeds, size_t *n)
{
	struct dirent **names = NULL;
	int             count = scandir(dir, &names, NULL, alphasort);
	char            path[4096];

	if (count < 0) {
		fprintf(stderr, "fuzz_driver: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	*n = 0;
	for (int i = 0; i < count; i++) {
		if (names[i]->d_name[0] != '.' && *n < DRIVER_MAX_SEEDS) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
			if (driver_read_file(path, &seeds[*n]) == 0)
				(*n)++;
		}
		free(names[i]);
	}
	free(names);
	return 0;
}

static const uint8_t driver_interesting[] = {0x00, 0x01, 0x02, 0x08, 0x0a,
                                             0x10, 0x1b, 0x20, 0x7f, 0x80,
                                             0xc0, 0xe0, 0xed, 0xf4, 0xff};

/* Applies one random edit to buf[0..*len), keeping *len <= DRIVER_MAX_INPUT. */
static void
driver_mutate_once(uint8_t *buf, size_t *len, const struct driver_seed *seeds,
                   size_t n_seeds)
{
	size_t pos = driver_below(*len);

	switch (driver_rand() % 8) {
	case 0: /* flip a bit */
		if (*len > 0)
			buf[pos] ^= (uint8_t)(1u << driver_below(8));
		break;
	case 1: /* random byte */
		if (*len > 0)
			buf[pos] = (uint8_t)driver_rand();
		break;
	case 2: /* an interesting byte: lengths, tags, control and UTF-8 lead bytes */
		if (*len > 0)
			buf[pos] =
			    driver_interesting[driver_below(sizeof(driver_interesting))];
		break;
	case 3: /* insert a byte */
		if (*len < DRIVER_MAX_INPUT) {
			memmove(buf + pos + 1, buf + pos, *len - pos);
			buf[pos] = (uint8_t)driver_rand();
			(*len)++;
		}
		break;
	case 4: /* delete a byte */
		if (*len > 0) {
			memmove(buf + pos, buf + pos + 1, *len - pos - 1);
			(*len)--;
		}
		break;
	case 5: /* cut the tail */
		*len = pos;
		break;
	case 6: { /* splice in part of another seed */
		const struct driver_seed *o    = &seeds[driver_below(n_seeds)];
		size_t                    from = driver_below(o->len);
		size_t                    take = driver_below(o->len - from + 1);
		if (pos + take > DRIVER_MAX_INPUT)
			take = DRIVER_MAX_INPUT - pos;
		memcpy(buf + pos, o->data + from, take);
		if (pos + take > *len)
			*len = pos + take;
		break;
	}
	default: /* the same bytes to another decoder */
		if (*len > 0)
			buf[0] = (uint8_t)driver_rand();
		break;
	}
}

static size_t
driver_make_input(uint8_t *buf, const struct driver_seed *seeds, size_t n_seeds)
{
	size_t len;

	if (n_seeds == 0 || driver_rand() % 8 == 0) {
		len = driver_below(257);
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)driver_rand();
		return len;
	}
	{
		const struct driver_seed *s = &seeds[driver_below(n_seeds)];
		/* Mostly one edit: a single change keeps a seed close enough to
		 * valid to get past protobuf-c and into the field checks. */
		int edits = driver_rand() % 2 ? 1 : 2 + (int)driver_below(3);
		len       = s->len;
		memcpy(buf, s->data, len);
		for (int i = 0; i < edits; i++)
			driver_mutate_once(buf, &len, seeds, n_seeds);
	}
	return len;
}

/* Runs the target on an exact-size heap copy, so that a read one byte past
 * the input shows up under ASan as it would under libFuzzer. */
static int
driver_run(const uint8_t *data, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);

	if (copy == NULL)
		return -1;
	memcpy(copy, data, len);
	LLVMFuzzerTestOneInput(copy, len);
	free(copy);
	return 0;
}

int
main(int argc, char **argv)
{
	static struct driver_seed seeds[DRIVER_MAX_SEEDS];
	static uint8_t            buf[DRIVER_MAX_INPUT];
	size_t                    n_seeds = 0;
	unsigned long             runs    = argc > 2 ? strtoul(argv[2], NULL, 10) : 20000;

	driver_rng = argc > 3 ? strtoull(argv[3], NULL, 0) : 0x5eed5eed5eed5eedULL;
	if (argc < 2 || driver_rng == 0) {
		fprintf(stderr,
		        "usage: fuzz_driver CORPUS_DIR [N [SEED]] (SEED not 0)\n");
		return 2;
	}
	if (driver_load(argv[1], seeds, &n_seeds) != 0)
		return 1;
	if (n_seeds == 0) {
		fprintf(stderr, "fuzz_driver: no seeds in %s\n", argv[1]);
		return 1;
	}
	for (size_t i = 0; i < n_seeds; i++)
		if (driver_run(seeds[i].data, seeds[i].len) != 0)
			return 1;
	for (unsigned long r = 0; r < runs; r++) {
		size_t len = driver_make_input(buf, seeds, n_seeds);
		if (driver_run(buf, len) != 0)
			return 1;
	}
	/* stderr: a target may have sent stdout to /dev/null */
	fprintf(stderr, "fuzz_driver: %zu seeds and %lu generated inputs, no failure\n",
	        n_seeds, runs);
	for (size_t i = 0; i < n_seeds; i++)
		free(seeds[i].data);
	return 0;
}
