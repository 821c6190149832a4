/*
 * replay.c - the main() of a fuzz target built without libFuzzer: every
 * file named on the command line, and every regular file of every
 * directory named (in name order), is run once through
 * LLVMFuzzerTestOneInput(). CTest runs each target this way over its
 * seed corpus (tests/fuzz/corpus/TARGET), so the normal test run, and
 * the ASan + UBSan one, replay every seed and every kept crash input.
 *
 * Exit status: 0 when every input ran (a failing check aborts), 1 when
 * an input could not be read, 2 on usage errors or an empty corpus.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_INPUT (1u << 20)     /* libFuzzer's default -max_len is far below */

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	uint8_t *data;
	size_t n;

	if (!f || fstat(fileno(f), &st) < 0 || st.st_size > (off_t)REPLAY_MAX_INPUT) {
		fprintf(stderr, "%s: %s\n", path, f ? "cannot read (too large?)" : strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	/* Exactly the file's bytes: ASan sees a read past the input. */
	data = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!data) {
		fclose(f);
		return -1;
	}
	n = fread(data, 1, (size_t)st.st_size, f);
	fclose(f);
	LLVMFuzzerTestOneInput(data, n);
	free(data);
	return 0;
}

static int skip_dots(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static int run_path(const char *path, unsigned *count)
{
	struct dirent **names;
	struct stat st;
	char file[4096];
	int n, i, rc = 0;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return run_file(path);
	}
	n = scandir(path, &names, skip_dots, alphasort);
	if (n < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		snprintf(file, sizeof(file), "%s/%s", path, names[i]->d_name);
		if (stat(file, &st) == 0 && S_ISREG(st.st_mode)) {
			(*count)++;
			if (run_file(file) < 0)
				rc = -1;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned count = 0;
	int i, rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++)
		if (run_path(argv[i], &count) < 0)
			rc = 1;
	printf("%s: %u inputs replayed\n", argv[0], count);
	if (count == 0)
		return 2;
	return rc;
}
