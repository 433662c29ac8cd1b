// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Loopback connection churn for benchmarks: N connections over C client
 * threads against C acceptor threads. The server closes first, so each
 * connection walks ~10 transitions (5 per side) and TIME_WAIT lands on the
 * server side, where it does not hold client ephemeral ports; clients spread
 * over several destination addresses (127.0.0.1..-a) to multiply the
 * usable 4-tuples. Bounded by -n and by -t seconds, whichever comes first.
 *
 * Prints one JSON line: connections done, failures, seconds, rate.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

struct cfg {
	long total;
	int threads;
	int naddrs;
	int port;
	double max_s;
};

struct shared {
	const struct cfg *cfg;
	int lfd;
	atomic_long next;
	atomic_long done;
	atomic_long failed;
	double deadline;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *server(void *arg)
{
	struct shared *sh = arg;

	for (;;) {
		int fd = accept(sh->lfd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			break; /* listener shut down */
		}
		close(fd);
	}
	return NULL;
}

static void *client(void *arg)
{
	struct shared *sh = arg;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(sh->cfg->port)};
	char buf[64];
	long i;

	while ((i = atomic_fetch_add(&sh->next, 1)) < sh->cfg->total) {
		int fd;

		if ((i & 255) == 0 && now_s() > sh->deadline)
			break;
		sa.sin_addr.s_addr = htonl(0x7f000001 + (i % sh->cfg->naddrs));
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			atomic_fetch_add(&sh->failed, 1);
			if (fd >= 0)
				close(fd);
			continue;
		}
		while (read(fd, buf, sizeof(buf)) > 0) /* until the server's FIN */
			;
		close(fd);
		atomic_fetch_add(&sh->done, 1);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct cfg cfg = {.total = 10000, .threads = 2, .naddrs = 4, .port = 5001, .max_s = 60};
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY)};
	struct shared sh = {.cfg = &cfg};
	pthread_t *srv = NULL, *cli = NULL;
	int c, one = 1, err = 1;
	double t0, t1;

	while ((c = getopt(argc, argv, "n:c:a:p:t:")) != -1) {
		switch (c) {
		case 'n':
			cfg.total = atol(optarg);
			break;
		case 'c':
			cfg.threads = atoi(optarg);
			break;
		case 'a':
			cfg.naddrs = atoi(optarg);
			break;
		case 'p':
			cfg.port = atoi(optarg);
			break;
		case 't':
			cfg.max_s = atof(optarg);
			break;
		default:
			fprintf(stderr,
				"usage: loadgen [-n CONNS] [-c THREADS] [-a ADDRS] [-p PORT] "
				"[-t MAX_SECONDS]\n");
			return 2;
		}
	}
	if (cfg.total <= 0 || cfg.threads <= 0 || cfg.threads > 256 || cfg.naddrs <= 0 ||
	    cfg.naddrs > 250 || cfg.port <= 0 || cfg.port > 65535 || cfg.max_s <= 0) {
		fprintf(stderr, "loadgen: bad arguments\n");
		return 2;
	}
	sa.sin_port = htons(cfg.port);
	sh.lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (sh.lfd < 0 || setsockopt(sh.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(sh.lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(sh.lfd, 4096)) {
		perror("loadgen: listen");
		return 1;
	}
	srv = calloc(cfg.threads, sizeof(*srv));
	cli = calloc(cfg.threads, sizeof(*cli));
	if (!srv || !cli)
		goto cleanup;
	for (int i = 0; i < cfg.threads; i++)
		pthread_create(&srv[i], NULL, server, &sh);
	t0 = now_s();
	sh.deadline = t0 + cfg.max_s;
	for (int i = 0; i < cfg.threads; i++)
		pthread_create(&cli[i], NULL, client, &sh);
	for (int i = 0; i < cfg.threads; i++)
		pthread_join(cli[i], NULL);
	t1 = now_s();
	shutdown(sh.lfd, SHUT_RDWR); /* wakes the acceptors */
	for (int i = 0; i < cfg.threads; i++)
		pthread_join(srv[i], NULL);
	printf("{\"connections\":%ld,\"failed\":%ld,\"seconds\":%.6f,\"rate\":%.1f}\n",
	       atomic_load(&sh.done), atomic_load(&sh.failed), t1 - t0,
	       atomic_load(&sh.done) / (t1 - t0));
	err = atomic_load(&sh.failed) ? 1 : 0;
cleanup:
	free(srv);
	free(cli);
	close(sh.lfd);
	return err;
}
