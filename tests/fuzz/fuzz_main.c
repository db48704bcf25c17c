/*
 * fuzz_main.c - the replay driver for builds without libFuzzer: a main()
 * that runs a target's LLVMFuzzerTestOneInput over every file named on the
 * command line, and over every file (not starting with '.') of every
 * directory named, in name order. CTest runs it over tests/fuzz/corpus/
 * <target>/ (tests/fuzz/CMakeLists.txt).
 *
 * Each input's name is printed before it runs, so the last line before a
 * crash names the culprit. Exits 0 after running at least one input; 1 on
 * an unreadable path or when there was no input at all (a corpus that went
 * missing must not pass silently).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL) {
		fprintf(stderr, "fuzz replay: cannot open %s\n", path);
		return -1;
	}
	for (;;) {
		if (len == cap) {
			size_t ncap = cap != 0 ? 2 * cap : 4096;
			uint8_t *nbuf = realloc(buf, ncap);

			if (nbuf == NULL) {
				fprintf(stderr, "fuzz replay: out of memory\n");
				free(buf);
				fclose(f);
				return -1;
			}
			buf = nbuf;
			cap = ncap;
		}
		n = fread(buf + len, 1, cap - len, f);
		if (n == 0)
			break;
		len += n;
	}
	if (ferror(f)) {
		fprintf(stderr, "fuzz replay: cannot read %s\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	printf("%s (%zu bytes)\n", path, len);
	fflush(stdout);
	/* a private copy of exactly len bytes, so ASan sees overreads */
	{
		uint8_t *exact = malloc(len != 0 ? len : 1);

		if (exact == NULL) {
			free(buf);
			return -1;
		}
		if (len != 0)
			memcpy(exact, buf, len);
		LLVMFuzzerTestOneInput(exact, len);
		free(exact);
	}
	free(buf);
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every file of dir; returns the number run, or -1. */
static long run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t count = 0, cap = 0, i;
	long ran = 0;

	if (d == NULL) {
		fprintf(stderr, "fuzz replay: cannot open directory %s\n", dir);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (count == cap) {
			size_t ncap = cap != 0 ? 2 * cap : 64;
			char **nn = realloc(names, ncap * sizeof(*names));

			if (nn == NULL)
				break;
			names = nn;
			cap = ncap;
		}
		names[count] = malloc(strlen(dir) + strlen(e->d_name) + 2);
		if (names[count] == NULL)
			break;
		sprintf(names[count], "%s/%s", dir, e->d_name);
		count++;
	}
	closedir(d);
	if (count > 0)
		qsort(names, count, sizeof(*names), cmp_names);
	for (i = 0; i < count; i++) {
		struct stat st;

		if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
			if (run_file(names[i]) != 0)
				ran = -1;
			else if (ran >= 0)
				ran++;
		}
		free(names[i]);
	}
	free(names);
	return ran;
}

int main(int argc, char **argv)
{
	long total = 0;
	int i, failed = 0;

	for (i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "fuzz replay: no such path %s\n",
			        argv[i]);
			failed = 1;
		} else if (S_ISDIR(st.st_mode)) {
			long n = run_dir(argv[i]);

			if (n < 0)
				failed = 1;
			else
				total += n;
		} else if (run_file(argv[i]) != 0) {
			failed = 1;
		} else {
			total++;
		}
	}
	if (total == 0) {
		fprintf(stderr, "fuzz replay: no input ran\n");
		failed = 1;
	}
	printf("fuzz replay: %ld inputs, %s\n", total,
	       failed ? "FAILED" : "ok");
	return failed;
}
