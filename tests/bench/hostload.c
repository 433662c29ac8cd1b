// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Work with no TCP in it, for the bench's second load: what a tracer costs
 * the rest of a production host (docs/design.md §4).
 *
 *   syscalls  N calls of getppid(2): the cheapest syscall, so any cost
 *             added to every syscall (a syscall tracepoint puts every task
 *             on the tracing slow path) shows in full.
 *   timers    N round trips between two threads over an AF_UNIX socket
 *             pair with SO_RCVTIMEO: each blocking read() sleeps in
 *             schedule_timeout(), which arms and deletes a timer_list
 *             timer, the kind the timer tracepoints see.
 *
 * Prints one JSON line: mode, operations, seconds, rate.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/syscall.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long syscalls(long n)
{
	for (long i = 0; i < n; i++)
		syscall(SYS_getppid); /* not cached by the C library */
	return n;
}

struct pong {
	int fd;
	long n;
};

/* A blocking read of exactly one byte, retried on EINTR. */
static int read1(int fd, char *c)
{
	ssize_t r;

	do
		r = read(fd, c, 1);
	while (r < 0 && errno == EINTR);
	return r == 1 ? 0 : -1;
}

static void *ponger(void *arg)
{
	struct pong *p = arg;
	char c;

	for (long i = 0; i < p->n; i++)
		if (read1(p->fd, &c) || write(p->fd, &c, 1) != 1)
			break;
	return NULL;
}

static long timers(long n)
{
	struct timeval tv = {.tv_sec = 10}; /* never reached: the peer answers */
	struct pong p = {.n = n};
	pthread_t th;
	int sv[2];
	long done = 0;
	char c = 'x';

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
		perror("hostload: socketpair");
		return -1;
	}
	for (int i = 0; i < 2; i++)
		if (setsockopt(sv[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
			perror("hostload: SO_RCVTIMEO");
			goto cleanup;
		}
	p.fd = sv[1];
	if (pthread_create(&th, NULL, ponger, &p)) {
		fprintf(stderr, "hostload: cannot start a thread\n");
		goto cleanup;
	}
	for (; done < n; done++)
		if (write(sv[0], &c, 1) != 1 || read1(sv[0], &c))
			break;
	shutdown(sv[0], SHUT_RDWR); /* a ponger still waiting reads EOF */
	pthread_join(th, NULL);
cleanup:
	close(sv[0]);
	close(sv[1]);
	return done;
}

int main(int argc, char **argv)
{
	long n, done;
	double t0, t1;

	if (argc != 3 || (n = atol(argv[2])) <= 0 ||
	    (strcmp(argv[1], "syscalls") && strcmp(argv[1], "timers"))) {
		fprintf(stderr, "usage: hostload syscalls|timers COUNT\n");
		return 2;
	}
	t0 = now_s();
	done = strcmp(argv[1], "syscalls") ? timers(n) : syscalls(n);
	t1 = now_s();
	if (done != n) {
		fprintf(stderr, "hostload: %ld of %ld operations done\n", done < 0 ? 0 : done, n);
		return 1;
	}
	printf("{\"mode\":\"%s\",\"operations\":%ld,\"seconds\":%.6f,\"rate\":%.1f}\n", argv[1],
	       done, t1 - t0, done / (t1 - t0));
	return 0;
}
