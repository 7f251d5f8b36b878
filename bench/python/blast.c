/* blast.c - a small closed-loop OPTIONS load generator for the Python
 * engine's throughput figures (bench/python/run.sh). sipp needs a socket per
 * call to spread load over the workers' SO_REUSEPORT sockets, and then it is
 * the bottleneck long before the server; this sends from S sockets (distinct
 * source ports, so the kernel spreads them over the workers), keeps W
 * requests in flight on each, and counts the answers.
 *
 *   blast HOST PORT TOTAL [SOCKETS [WINDOW]]
 *
 * Prints "answered N in T s: R/s" (lost requests are re-sent after 1 s of
 * silence on their socket and counted apart). Not part of the server. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SOCKS 256

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int send_one(int fd, const char *host, int port, int lport,
		    unsigned long seq)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf),
			 "OPTIONS sip:%s:%d SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-b%lu\r\n"
			 "From: <sip:bench@127.0.0.1>;tag=%lu\r\n"
			 "To: <sip:%s:%d>\r\n"
			 "Call-ID: %lu-%d@blast\r\n"
			 "CSeq: 1 OPTIONS\r\n"
			 "Max-Forwards: 70\r\n"
			 "User-Agent: blast bench\r\n"
			 "Content-Length: 0\r\n\r\n",
			 host, port, lport, seq, seq, host, port, seq, lport);

	return send(fd, buf, (size_t)n, 0) == n ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct pollfd pfd[MAX_SOCKS];
	int lport[MAX_SOCKS], inflight[MAX_SOCKS];
	double last[MAX_SOCKS], t0, t1;
	unsigned long sent = 0, answered = 0, lost = 0, total;
	int nsock, window, port;
	struct sockaddr_in dst;
	const char *host;

	if (argc < 4) {
		fprintf(stderr, "usage: blast HOST PORT TOTAL [SOCKETS [WINDOW]]\n");
		return 2;
	}
	host = argv[1];
	port = atoi(argv[2]);
	total = strtoul(argv[3], NULL, 10);
	nsock = argc > 4 ? atoi(argv[4]) : 32;
	window = argc > 5 ? atoi(argv[5]) : 4;
	if (nsock < 1 || nsock > MAX_SOCKS || window < 1)
		return 2;
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, host, &dst.sin_addr) != 1)
		return 2;
	for (int i = 0; i < nsock; i++) {
		struct sockaddr_in me;
		socklen_t ml = sizeof(me);
		int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

		if (fd < 0 || connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0 ||
		    getsockname(fd, (struct sockaddr *)&me, &ml) < 0) {
			perror("socket");
			return 1;
		}
		pfd[i] = (struct pollfd){.fd = fd, .events = POLLIN};
		lport[i] = ntohs(me.sin_port);
		inflight[i] = 0;
	}
	t0 = now();
	for (int i = 0; i < nsock; i++) {
		for (int w = 0; w < window && sent < total; w++)
			if (send_one(pfd[i].fd, host, port, lport[i], ++sent) == 0)
				inflight[i]++;
		last[i] = t0;
	}
	while (answered < total) {
		int n = poll(pfd, (nfds_t)nsock, 100);
		double t = now();

		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < nsock; i++) {
			char buf[2048];
			ssize_t r;

			while ((r = recv(pfd[i].fd, buf, sizeof(buf), 0)) > 0) {
				if (r > 12 && memcmp(buf, "SIP/2.0 200", 11) == 0)
					answered++;
				if (inflight[i] > 0)
					inflight[i]--;
				last[i] = t;
			}
			if (inflight[i] > 0 && t - last[i] > 1.0) {
				lost += (unsigned long)inflight[i];
				inflight[i] = 0;
				last[i] = t;
			}
			while (inflight[i] < window && sent - lost < total &&
			       answered + (unsigned long)inflight[i] < total) {
				if (send_one(pfd[i].fd, host, port, lport[i],
					     ++sent) < 0)
					break;
				inflight[i]++;
			}
		}
		if (t - t0 > 120)
			break;
	}
	t1 = now();
	printf("answered %lu in %.2f s: %.0f/s (lost %lu)\n", answered, t1 - t0,
	       (double)answered / (t1 - t0), lost);
	return answered >= total ? 0 : 1;
}
