/* unit.h - a tiny unit-test harness in the style of libuv's test runner.
 *
 * A test file defines tests with TEST(name) { ... } and lists them once:
 *
 *     TEST_LIST(
 *         TEST_ENTRY(uri_basic),
 *         TEST_ENTRY(uri_ipv6),
 *     )
 *
 * which also defines main(). Each test runs in its own forked process with
 * a timeout (10 s), so a crash or a hang fails that test only. Run one test
 * with `./test_x NAME`. CHECK* macros report file:line and the values. */
#ifndef OSP_UNIT_H
#define OSP_UNIT_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct unit_test {
	const char *name;
	void (*fn)(void);
} unit_test_t;

#define TEST(name) static void test_##name(void)
#define TEST_ENTRY(name) {#name, test_##name}

#define UNIT_FAIL(...)                                                         \
	do {                                                                   \
		fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                \
		fprintf(stderr, __VA_ARGS__);                                  \
		fprintf(stderr, "\n");                                         \
		exit(1);                                                       \
	} while (0)

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			UNIT_FAIL("CHECK failed: %s", #cond);                  \
	} while (0)

#define CHECK_INT(a, b)                                                        \
	do {                                                                   \
		long long a_ = (long long)(a), b_ = (long long)(b);            \
		if (a_ != b_)                                                  \
			UNIT_FAIL("%s == %lld, expected %s == %lld", #a, a_,   \
				  #b, b_);                                     \
	} while (0)

#define CHECK_STR(a, b)                                                        \
	do {                                                                   \
		const char *a_ = (a), *b_ = (b);                               \
		if (!a_ || !b_ || strcmp(a_, b_) != 0)                         \
			UNIT_FAIL("%s == \"%s\", expected \"%s\"", #a,         \
				  a_ ? a_ : "(null)", b_ ? b_ : "(null)");     \
	} while (0)

/* Compare a str_t with a C string. */
#define CHECK_STRV(v, b)                                                       \
	do {                                                                   \
		str_t v_ = (v);                                                \
		const char *b_ = (b);                                          \
		if (v_.len != strlen(b_) ||                                    \
		    (v_.len && memcmp(v_.s, b_, v_.len) != 0))                 \
			UNIT_FAIL("%s == \"%.*s\", expected \"%s\"", #v,       \
				  (int)v_.len, v_.s ? v_.s : "", b_);          \
	} while (0)

static inline int unit_run_one(const unit_test_t *t)
{
	pid_t pid;
	int st = 0;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		alarm(10);
		t->fn();
		fflush(stdout);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return 1;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFSIGNALED(st))
		fprintf(stderr, "  %s: killed by signal %d%s\n", t->name,
			WTERMSIG(st), WTERMSIG(st) == SIGALRM ? " (timeout)" : "");
	return 1;
}

static inline int unit_main(const unit_test_t *tests, int argc, char **argv)
{
	int failed = 0, ran = 0;

	for (const unit_test_t *t = tests; t->name; t++) {
		if (argc > 1 && strcmp(argv[1], t->name) != 0)
			continue;
		ran++;
		if (unit_run_one(t)) {
			printf("not ok - %s\n", t->name);
			failed++;
		} else {
			printf("ok - %s\n", t->name);
		}
	}
	printf("# %d tests, %d failed\n", ran, failed);
	return failed || ran == 0 ? 1 : 0;
}

#define TEST_LIST(...)                                                         \
	static const unit_test_t unit_tests_[] = {__VA_ARGS__{0, 0}};          \
	int main(int argc, char **argv)                                        \
	{                                                                      \
		return unit_main(unit_tests_, argc, argv);                     \
	}

#endif
