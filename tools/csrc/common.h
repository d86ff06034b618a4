/*
 * Shared by refsend.c and refrecv.c: argument parsing that refuses bad
 * input instead of guessing, and a monotonic clock in seconds.
 */
#ifndef REF_COMMON_H
#define REF_COMMON_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Largest UDP payload over IPv4: 65535 minus the IP and UDP headers. */
#define REF_MAX_PAYLOAD 65507
/* Most messages one sendmmsg or recvmmsg call handles here. */
#define REF_MAX_BATCH 1024

static double ref_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ref_long parses s as a whole decimal number in [lo, hi]; on anything
 * else it names the argument and exits with status 2 (a usage error). */
static long ref_long(const char *what, const char *s, long lo, long hi)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "%s: \"%s\" is not a number in [%ld, %ld]\n", what, s, lo, hi);
		exit(2);
	}
	return v;
}

/* ref_seconds parses s as a positive number of seconds, at most a day. */
static double ref_seconds(const char *what, const char *s)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v > 0) || v > 86400) {
		fprintf(stderr, "%s: \"%s\" is not a duration in (0, 86400] seconds\n", what, s);
		exit(2);
	}
	return v;
}

#endif
