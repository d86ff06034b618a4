/*
 * refrecv: the project's reference UDP receiver, the plain-C yardstick the
 * comparison scripts of bench/ measure udpperf against.
 *
 * usage: refrecv PORT SECONDS [naive|mmsg|gro] [BATCH] [IDLE_MS]
 *
 * Receives on 127.0.0.1:PORT:
 *   naive  one recv() per datagram;
 *   mmsg   up to BATCH datagrams per recvmmsg() (default 64);
 *   gro    up to BATCH (at most 64) messages per recvmmsg() with UDP GRO on,
 *          each a run of datagrams the kernel coalesced, counted from the
 *          segment size it reports.
 * Counting starts at the first datagram and stops SECONDS later, or IDLE_MS
 * (default 500) after the last datagram, or on SIGINT/SIGTERM. Prints one
 * JSON line: datagrams, payload bytes, the seconds from the first datagram
 * to the last, and the rates. Exit status 1, after the JSON line, when no
 * datagram came within SECONDS of the start; 2 on a usage error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif

enum mode { NAIVE, MMSG, GRO };

static volatile sig_atomic_t stopped;

static void on_signal(int sig)
{
	(void)sig;
	stopped = 1;
}

struct receiver {
	int fd;
	enum mode mode;
	int batch;
	size_t msg_bytes;
	char *buf;
	struct mmsghdr msgs[REF_MAX_BATCH];
	struct iovec iovs[REF_MAX_BATCH];
	char ctl[REF_MAX_BATCH][CMSG_SPACE(sizeof(int))];
	unsigned long long datagrams, bytes;
};

static enum mode parse_mode(const char *s)
{
	if (strcmp(s, "naive") == 0)
		return NAIVE;
	if (strcmp(s, "mmsg") == 0)
		return MMSG;
	if (strcmp(s, "gro") == 0)
		return GRO;
	fprintf(stderr, "refrecv: mode \"%s\" is not naive, mmsg or gro\n", s);
	exit(2);
}

static int open_socket(int port, enum mode mode)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("refrecv: socket");
		return -1;
	}
	/* A large receive buffer, forced past rmem_max where allowed (root). */
	int size = 64 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
	struct sockaddr_in at = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&at, sizeof at) != 0) {
		perror("refrecv: bind");
		close(fd);
		return -1;
	}
	int one = 1;
	if (mode == GRO && setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof one) != 0) {
		perror("refrecv: UDP_GRO");
		close(fd);
		return -1;
	}
	/* Wake up now and then to look at the clock and the signal flag. */
	struct timeval tv = {.tv_sec = 0, .tv_usec = 50000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	return fd;
}

/* segment_size is the GRO segment size the kernel reported for a message,
 * or 0 when it holds one datagram. */
static unsigned segment_size(struct msghdr *h)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
			int v;
			memcpy(&v, CMSG_DATA(c), sizeof v);
			return v > 0 ? (unsigned)v : 0;
		}
	}
	return 0;
}

/* receive_round waits for one call's worth of datagrams and counts them;
 * it returns the number of messages, 0 on a timeout or signal, -1 on an
 * error. */
static int receive_round(struct receiver *r)
{
	if (r->mode == NAIVE) {
		ssize_t n = recv(r->fd, r->buf, r->msg_bytes, 0);
		if (n < 0)
			return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
		r->datagrams++;
		r->bytes += (unsigned long long)n;
		return 1;
	}
	for (int i = 0; i < r->batch; i++) {
		struct msghdr *h = &r->msgs[i].msg_hdr;
		h->msg_control = r->mode == GRO ? r->ctl[i] : NULL;
		h->msg_controllen = r->mode == GRO ? sizeof r->ctl[i] : 0;
		h->msg_flags = 0;
	}
	int n = recvmmsg(r->fd, r->msgs, (unsigned)r->batch, MSG_WAITFORONE, NULL);
	if (n < 0)
		return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
	for (int i = 0; i < n; i++) {
		unsigned len = r->msgs[i].msg_len;
		unsigned seg = r->mode == GRO ? segment_size(&r->msgs[i].msg_hdr) : 0;
		r->datagrams += seg > 0 ? (len + seg - 1) / seg : 1;
		r->bytes += len;
	}
	return n;
}

static int setup(struct receiver *r)
{
	if (r->mode == GRO && r->batch > 64)
		r->batch = 64;
	r->msg_bytes = r->mode == GRO ? 65536 : REF_MAX_PAYLOAD + 1;
	size_t count = r->mode == NAIVE ? 1 : (size_t)r->batch;
	r->buf = malloc(r->msg_bytes * count);
	if (r->buf == NULL) {
		fprintf(stderr, "refrecv: out of memory\n");
		return -1;
	}
	memset(r->msgs, 0, sizeof r->msgs);
	for (size_t i = 0; i < count; i++) {
		r->iovs[i].iov_base = r->buf + i * r->msg_bytes;
		r->iovs[i].iov_len = r->msg_bytes;
		r->msgs[i].msg_hdr.msg_iov = &r->iovs[i];
		r->msgs[i].msg_hdr.msg_iovlen = 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 6) {
		fprintf(stderr, "usage: refrecv PORT SECONDS [naive|mmsg|gro] [BATCH] [IDLE_MS]\n");
		return 2;
	}
	static struct receiver r;
	int port = (int)ref_long("refrecv: port", argv[1], 1, 65535);
	double secs = ref_seconds("refrecv: seconds", argv[2]);
	r.mode = argc > 3 ? parse_mode(argv[3]) : MMSG;
	r.batch = argc > 4 ? (int)ref_long("refrecv: batch", argv[4], 1, REF_MAX_BATCH) : 64;
	double idle = (argc > 5 ? (double)ref_long("refrecv: idle ms", argv[5], 1, 60000) : 500) / 1000;
	if (setup(&r) != 0 || (r.fd = open_socket(port, r.mode)) < 0)
		return 1;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	double start = ref_now(), first = 0, last = 0;
	int failed = 0;
	while (!stopped) {
		int n = receive_round(&r);
		double t = ref_now();
		if (n < 0) {
			perror("refrecv: receive");
			failed = 1;
			break;
		}
		if (n > 0) {
			if (first == 0)
				first = t;
			last = t;
		}
		if (first == 0 ? t - start >= secs : (t - first >= secs || t - last >= idle))
			break;
	}
	double el = last - first > 0 ? last - first : 1e-9;
	static const char *names[] = {"naive", "mmsg", "gro"};
	printf("{\"tool\":\"refrecv\",\"mode\":\"%s\",\"datagrams\":%llu,\"bytes\":%llu,"
	       "\"seconds\":%.3f,\"pps\":%.0f,\"gbps\":%.3f}\n",
	       names[r.mode], r.datagrams, r.bytes, last - first, (double)r.datagrams / el,
	       (double)r.bytes * 8 / el / 1e9);
	fflush(stdout);
	close(r.fd);
	free(r.buf);
	if (r.datagrams == 0) {
		fprintf(stderr, "refrecv: no datagram on port %d within %.1f s\n", port, secs);
		return 1;
	}
	return failed;
}
