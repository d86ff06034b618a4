/*
 * refsend: the project's reference UDP sender, the plain-C yardstick the
 * comparison scripts of bench/ measure udpperf against.
 *
 * usage: refsend PORT PAYLOAD SECONDS [naive|mmsg|gso] [BATCH] [COUNT]
 *
 * Sends PAYLOAD-byte datagrams to 127.0.0.1:PORT as fast as the kernel
 * takes them, for SECONDS or until COUNT datagrams have gone (COUNT 0, the
 * default, means no limit):
 *   naive  one send() per datagram;
 *   mmsg   BATCH datagrams per sendmmsg() (default 64);
 *   gso    BATCH messages per sendmmsg(), each a UDP GSO message that the
 *          kernel splits into up to 64 datagrams of PAYLOAD bytes (at most
 *          65000 bytes a message).
 * Prints one JSON line: the datagrams the kernel accepted, the failed
 * calls, the seconds spent and the rates. Exit status 2 on a usage error,
 * 1 when the socket cannot be set up.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

enum mode { NAIVE, MMSG, GSO };

struct sender {
	int fd;
	enum mode mode;
	int payload;
	int batch;
	int per_msg; /* datagrams in one message: 1, or the GSO segment count */
	char *buf;   /* batch messages of per_msg datagrams each */
	struct mmsghdr msgs[REF_MAX_BATCH];
	struct iovec iovs[REF_MAX_BATCH];
};

static enum mode parse_mode(const char *s)
{
	if (strcmp(s, "naive") == 0)
		return NAIVE;
	if (strcmp(s, "mmsg") == 0)
		return MMSG;
	if (strcmp(s, "gso") == 0)
		return GSO;
	fprintf(stderr, "refsend: mode \"%s\" is not naive, mmsg or gso\n", s);
	exit(2);
}

static int open_socket(int port, struct sender *s)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("refsend: socket");
		return -1;
	}
	/* A large send buffer, forced past wmem_max where allowed (root). */
	int size = 16 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&to, sizeof to) != 0) {
		perror("refsend: connect");
		close(fd);
		return -1;
	}
	if (s->mode == GSO) {
		int seg = s->payload;
		if (setsockopt(fd, IPPROTO_UDP, UDP_SEGMENT, &seg, sizeof seg) != 0) {
			perror("refsend: UDP_SEGMENT");
			close(fd);
			return -1;
		}
	}
	return fd;
}

/* setup sizes the messages and fills the payload with a byte pattern. */
static int setup(struct sender *s)
{
	s->per_msg = 1;
	if (s->mode == GSO) {
		s->per_msg = 65000 / s->payload;
		if (s->per_msg < 1)
			s->per_msg = 1;
		if (s->per_msg > 64)
			s->per_msg = 64;
	}
	size_t msg_bytes = (size_t)s->payload * (size_t)s->per_msg;
	s->buf = malloc(msg_bytes * (size_t)s->batch);
	if (s->buf == NULL) {
		fprintf(stderr, "refsend: out of memory\n");
		return -1;
	}
	for (size_t i = 0; i < msg_bytes * (size_t)s->batch; i++)
		s->buf[i] = (char)(i * 31);
	memset(s->msgs, 0, sizeof s->msgs);
	for (int i = 0; i < s->batch; i++) {
		s->iovs[i].iov_base = s->buf + (size_t)i * msg_bytes;
		s->iovs[i].iov_len = msg_bytes;
		s->msgs[i].msg_hdr.msg_iov = &s->iovs[i];
		s->msgs[i].msg_hdr.msg_iovlen = 1;
	}
	return 0;
}

/* send_round sends at most left datagrams (left > 0) and returns how many
 * the kernel took, or -1 when the call failed. */
static long long send_round(struct sender *s, unsigned long long left)
{
	if (s->mode == NAIVE)
		return send(s->fd, s->buf, (size_t)s->payload, 0) == s->payload ? 1 : -1;
	unsigned long long room = (unsigned long long)s->batch * (unsigned long long)s->per_msg;
	int msgs = s->batch;
	if (left < room) {
		/* The last round: whole messages, then one shorter message. */
		msgs = (int)((left + (unsigned long long)s->per_msg - 1) / (unsigned long long)s->per_msg);
		unsigned long long tail = left - (unsigned long long)(msgs - 1) * (unsigned long long)s->per_msg;
		s->iovs[msgs - 1].iov_len = (size_t)tail * (size_t)s->payload;
	}
	int n = sendmmsg(s->fd, s->msgs, (unsigned)msgs, 0);
	if (n < 0)
		return -1;
	long long sent = 0;
	for (int i = 0; i < n; i++)
		sent += (long long)(s->iovs[i].iov_len / (size_t)s->payload);
	return sent;
}

int main(int argc, char **argv)
{
	if (argc < 4 || argc > 7) {
		fprintf(stderr, "usage: refsend PORT PAYLOAD SECONDS [naive|mmsg|gso] [BATCH] [COUNT]\n");
		return 2;
	}
	static struct sender s;
	int port = (int)ref_long("refsend: port", argv[1], 1, 65535);
	s.payload = (int)ref_long("refsend: payload", argv[2], 1, REF_MAX_PAYLOAD);
	double secs = ref_seconds("refsend: seconds", argv[3]);
	s.mode = argc > 4 ? parse_mode(argv[4]) : MMSG;
	s.batch = argc > 5 ? (int)ref_long("refsend: batch", argv[5], 1, REF_MAX_BATCH) : 64;
	unsigned long long count = argc > 6 ? (unsigned long long)ref_long("refsend: count", argv[6], 0, 1L << 62) : 0;
	if (setup(&s) != 0)
		return 1;
	if ((s.fd = open_socket(port, &s)) < 0)
		return 1;

	unsigned long long sent = 0, errors = 0;
	double t0 = ref_now(), t = t0;
	while ((count == 0 || sent < count) && (t = ref_now()) - t0 < secs) {
		long long n = send_round(&s, count == 0 ? ~0ULL : count - sent);
		if (n < 0)
			errors++; /* ENOBUFS, or ECONNREFUSED while nobody listens */
		else
			sent += (unsigned long long)n;
	}
	t = ref_now();
	double el = t - t0 > 0 ? t - t0 : 1e-9;
	static const char *names[] = {"naive", "mmsg", "gso"};
	printf("{\"tool\":\"refsend\",\"mode\":\"%s\",\"payload\":%d,\"datagrams\":%llu,\"errors\":%llu,"
	       "\"seconds\":%.3f,\"pps\":%.0f,\"gbps\":%.3f}\n",
	       names[s.mode], s.payload, sent, errors, el, (double)sent / el,
	       (double)sent * s.payload * 8 / el / 1e9);
	close(s.fd);
	free(s.buf);
	return 0;
}
