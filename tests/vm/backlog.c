// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * SYN retransmits without a firewall (for the busybox-only guest of
 * scripts/vmtest.sh --smoke): a listener that never accepts, with an accept
 * queue of one, and three clients. The first connection fills the queue;
 * the kernel drops the others' SYNs (ListenOverflows) and their SYNs are
 * retransmitted after 1 s and 3 s. Exits after `seconds` (default 4).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(7777)};
	int seconds = argc > 1 ? atoi(argv[1]) : 4, one = 1, srv;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	srv = socket(AF_INET, SOCK_STREAM, 0);
	if (srv < 0 || setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(srv, (struct sockaddr *)&a, sizeof(a)) || listen(srv, 0)) {
		perror("backlog: listener");
		return 1;
	}
	for (int i = 0; i < 3; i++) {
		int c = socket(AF_INET, SOCK_STREAM, 0);

		if (c < 0 || fcntl(c, F_SETFL, O_NONBLOCK)) {
			perror("backlog: client");
			return 1;
		}
		connect(c, (struct sockaddr *)&a, sizeof(a)); /* EINPROGRESS */
		usleep(100000); /* the scenario: SYNs 100 ms apart, not a wait */
	}
	sleep(seconds); /* the scenario: the SYNs retransmit meanwhile */
	printf("backlog: done\n");
	return 0;
}
