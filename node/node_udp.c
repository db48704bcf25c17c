/*
 * node_udp.c - SWIM over UDP on the --bind address (node.h): datagrams
 * in go to swim_recv with the sender's "ip:port", packets out leave with
 * uv_udp_try_send (a datagram that cannot leave at once is dropped, as
 * the network may drop it anyway; SWIM retries).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "common/sh_err.h"
#include "common/sh_log.h"
#include "node/node_int.h"

int node__resolve(const char *addr, struct sockaddr_storage *out)
{
	char host[SWIM_ADDR_MAX + 1];
	uint16_t port;
	if (node_addr_split(addr, host, sizeof host, &port) != SH_OK)
		return SH_EINVAL;
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof host, "127.0.0.1");
	memset(out, 0, sizeof *out);
	if (uv_ip4_addr(host, port, (struct sockaddr_in *)out) == 0)
		return SH_OK;
	if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)out) == 0)
		return SH_OK;
	return SH_EINVAL;
}

void node__sockaddr_str(const struct sockaddr *sa, char *out, size_t size)
{
	char ip[64] = "?";
	unsigned port = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
		uv_ip4_name(a, ip, sizeof ip);
		port = ntohs(a->sin_port);
		snprintf(out, size, "%s:%u", ip, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
		uv_ip6_name(a, ip, sizeof ip);
		port = ntohs(a->sin6_port);
		snprintf(out, size, "[%s]:%u", ip, port);
	} else {
		snprintf(out, size, "?");
	}
}

static void node__udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char slab[65536];
	(void)h;
	(void)suggested;
	buf->base = slab;
	buf->len = sizeof slab;
}

static void node__udp_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                           const struct sockaddr *from, unsigned flags)
{
	node_t *n = h->data;
	if (nread < 0) {
		n->stats.udp_errors++;
		return;
	}
	if (from == NULL || nread == 0)
		return;
	if (flags & UV_UDP_PARTIAL) {
		n->stats.udp_errors++;
		return;
	}
	char addr[SWIM_ADDR_MAX + 1];
	node__sockaddr_str(from, addr, sizeof addr);
	n->stats.udp_in++;
	int rc = swim_recv(&n->swim, node__now_ms(), addr,
	                   (const uint8_t *)buf->base, (size_t)nread);
	if (rc != SH_OK)
		sh_log(SH_LOG_DEBUG, "udp: rejected %zd bytes from %s: %s",
		       nread, addr, sh_strerror(rc));
}

int node__udp_start(node_t *n)
{
	struct sockaddr_storage sa;
	if (node__resolve(n->cfg.bind, &sa) != SH_OK) {
		sh_log(SH_LOG_ERROR, "--bind %s: not an IP address and port",
		       n->cfg.bind);
		return SH_EINVAL;
	}
	uv_udp_init(&n->loop, &n->udp);
	n->udp.data = n;
	int rc = uv_udp_bind(&n->udp, (const struct sockaddr *)&sa, 0);
	if (rc == 0)
		rc =
		    uv_udp_recv_start(&n->udp, node__udp_alloc, node__udp_recv);
	if (rc != 0) {
		sh_log(SH_LOG_ERROR, "udp bind %s: %s", n->cfg.bind,
		       uv_strerror(rc));
		return SH_EIO;
	}
	return SH_OK;
}

void node__udp_send(node_t *n, const char *to, const uint8_t *data, size_t len)
{
	struct sockaddr_storage sa;
	if (node__resolve(to, &sa) != SH_OK) {
		n->stats.udp_errors++;
		return;
	}
	uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
	int rc = uv_udp_try_send(&n->udp, &b, 1, (const struct sockaddr *)&sa);
	if (rc < 0) {
		n->stats.udp_errors++;
		sh_log(SH_LOG_DEBUG, "udp send to %s: %s", to, uv_strerror(rc));
		return;
	}
	n->stats.udp_out++;
}
