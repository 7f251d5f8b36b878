/* floor.c - the physical floor of a UDP SIP responder, for the benchmark.
 *
 * N threads, each with its own UDP socket bound to the same address with
 * SO_REUSEPORT (as Osprey's workers), each looping: receive a datagram,
 * send back "SIP/2.0 200 OK" followed by the request's bytes after its
 * first line. No parsing: finding the end of the first line is the only
 * look at the data, and it is what lets sipp match the reply (its Via,
 * Call-ID and CSeq come back unchanged). What the OS costs to move a
 * datagram in and out is all this measures, so Osprey's cost above it is
 * SIP and scripting.
 *
 * usage: floor ADDR PORT THREADS
 * Runs until SIGTERM or SIGINT. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXT 64

static struct sockaddr_in bind_addr;

static const char status[] = "SIP/2.0 200 OK\r\n";

/* One worker: its own socket, one datagram in, one out, until the process
 * is signalled (the blocking recvfrom is interrupted by the exit). */
static void *worker(void *arg)
{
	char in[65536], out[65536 + sizeof(status)];
	int one = 1;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	(void)arg;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one,
				 sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&bind_addr, sizeof(bind_addr)) < 0) {
		perror("floor: socket");
		exit(1);
	}
	memcpy(out, status, sizeof(status) - 1);
	for (;;) {
		struct sockaddr_storage src;
		socklen_t sl = sizeof(src);
		ssize_t n = recvfrom(fd, in, sizeof(in), 0,
				     (struct sockaddr *)&src, &sl);
		const char *eol;
		size_t rest;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("floor: recvfrom");
			exit(1);
		}
		eol = memchr(in, '\n', (size_t)n);
		if (!eol)
			continue;
		rest = (size_t)n - (size_t)(eol + 1 - in);
		memcpy(out + sizeof(status) - 1, eol + 1, rest);
		sendto(fd, out, sizeof(status) - 1 + rest, 0,
		       (struct sockaddr *)&src, sl);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[MAXT];
	sigset_t set;
	int n, sig;

	if (argc != 4) {
		fprintf(stderr, "usage: floor ADDR PORT THREADS\n");
		return 2;
	}
	memset(&bind_addr, 0, sizeof(bind_addr));
	bind_addr.sin_family = AF_INET;
	bind_addr.sin_port = htons((unsigned short)atoi(argv[2]));
	n = atoi(argv[3]);
	if (inet_pton(AF_INET, argv[1], &bind_addr.sin_addr) != 1 || n < 1 ||
	    n > MAXT) {
		fprintf(stderr, "floor: bad address or thread count\n");
		return 2;
	}
	/* the workers never see the stop signals: main waits for them */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (int i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, worker, NULL) != 0) {
			fprintf(stderr, "floor: cannot start a thread\n");
			return 1;
		}
	fprintf(stderr, "floor: ready on %s:%s with %d threads\n", argv[1],
		argv[2], n);
	sigwait(&set, &sig);
	return 0;
}
