/*
 * upstream_srv.h - the upstream gateway of the upstream client's unit
 * tests (test_upstream_io.c, test_upstream_upnp.c): a PCP server, or a
 * NAT-PMP-only one, on a UDP socket of the test's loop, answering with
 * igdd's own server-side message code (proto/pcp.c, proto/natpmp.c) and
 * counting what it was asked. Include after the headers it names.
 */
#ifndef IGDD_TEST_UPSTREAM_SRV_H
#define IGDD_TEST_UPSTREAM_SRV_H

struct srv {
	int fd;
	bool natpmp_only;               /* answer PCP with NAT-PMP's unsupported version */
	bool silent;
	uint8_t result;                 /* PCP: answer MAPs with this error (0: grant) */
	int port_shift;                 /* grant the asked port + this */
	uint32_t lifetime;              /* grant this (0: as asked) */
	uint32_t epoch;
	struct in_addr pub;             /* the external address (0: 198.51.100.1) */
	unsigned maps, deletes, announces;
	uint16_t last_port;             /* internal port of the last MAP */
	uint16_t port_maps[65536];      /* MAPs granted per internal port */
	bool held[65536];               /* what the server holds, by internal port */
	unsigned at[65536];             /* maps + deletes answered when the port was last mapped */
	unsigned del_at[65536];         /* ... when it was last deleted */
};

static void srv_read(struct loop *l, int fd, uint32_t ev, void *arg)
{
	struct srv *s = arg;
	uint8_t in[1100], out[PCP_MAX_MSG], ext[16];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	ssize_t n = recvfrom(fd, in, sizeof(in), 0, (struct sockaddr *)&from, &fl);
	struct pcp_request q;
	struct natpmp_request nq;
	struct in_addr pub;
	size_t len = 0;

	(void)l;
	(void)ev;
	if (n < 2 || s->silent)
		return;
	pub = s->pub;
	if (!pub.s_addr)
		inet_pton(AF_INET, "198.51.100.1", &pub);
	if (in[0] == 0) {
		if (natpmp_parse(in, (size_t)n, &nq) != NATPMP_PARSE_OK)
			return;
		if (nq.opcode == NATPMP_OP_EXTERNAL) {
			len = natpmp_build_external(out, 0, s->epoch, pub);
		} else {
			s->last_port = nq.int_port;
			s->held[nq.int_port] = nq.lifetime != 0;
			if (nq.lifetime == 0)
				s->deletes++, s->del_at[nq.int_port] = s->maps + s->deletes;
			else
				s->maps++, s->port_maps[nq.int_port]++,
					s->at[nq.int_port] = s->maps + s->deletes;
			len = natpmp_build_map(out, nq.opcode, 0, s->epoch, nq.int_port,
					       nq.lifetime ? (uint16_t)(nq.int_port + s->port_shift) : 0,
					       nq.lifetime ? (s->lifetime ? s->lifetime : nq.lifetime) : 0);
		}
	} else if (s->natpmp_only) {
		len = natpmp_build_error(out, in[1] & 0x7f, NATPMP_UNSUPP_VERSION, s->epoch);
	} else {
		if (pcp_parse(in, (size_t)n, &q) != PCP_SUCCESS)
			return;
		if (q.opcode == PCP_OP_ANNOUNCE) {
			s->announces++;
			len = pcp_build_announce(out, s->epoch);
		} else {
			s->last_port = q.int_port;
			s->held[q.int_port] = q.lifetime != 0;
			if (q.lifetime == 0)
				s->deletes++, s->del_at[q.int_port] = s->maps + s->deletes;
			else
				s->maps++, s->port_maps[q.int_port]++,
					s->at[q.int_port] = s->maps + s->deletes;
			pcp_addr_from_v4(ext, pub);
			if (s->result && q.lifetime)
				len = pcp_build_response(out, &q, s->result, 0, s->epoch, 0, ext);
			else
			len = pcp_build_response(out, &q, PCP_SUCCESS,
						 q.lifetime ? (s->lifetime ? s->lifetime : q.lifetime) : 0,
						 s->epoch, (uint16_t)(q.int_port + s->port_shift), ext);
		}
	}
	sendto(fd, out, len, 0, (struct sockaddr *)&from, sizeof(from));
}

#endif
