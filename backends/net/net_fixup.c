/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Checksum and TSO offloads on the forwarding path, on mbufs: what a frame
 * asks for (checked against its own headers), and complete frames for a
 * destination that cannot take the request as it is. The byte work is in
 * net_offload.c; this file only moves frames between mbufs.
 *
 * librte_vhost 22.11 with legacy offload flags (no
 * RTE_VHOST_USER_NET_COMPLIANT_OL_FLAGS) turns a virtio-net header into
 * TX flags at dequeue: NEEDS_CSUM into RTE_MBUF_F_TX_TCP/UDP_CKSUM with
 * l2_len/l3_len, GSO into RTE_MBUF_F_TX_TCP_SEG (UDP_SEG) with tso_segsz
 * and l4_len; its enqueue turns the same flags back into a header. A
 * frame kept as it is thus reaches an offload destination with no work
 * here. The library's parse is not relied on: the headers are read again.
 */
#include "net_backend_internal.h"

#include <errno.h>
#include <string.h>
#include <netinet/in.h>

#include <rte_mbuf.h>

int net_fixup_classify(struct rte_mbuf *m)
{
	uint64_t fl = m->ol_flags, l4 = fl & RTE_MBUF_F_TX_L4_MASK;
	struct net_ol_frame f;
	unsigned want = 0;
	bool tso = fl & RTE_MBUF_F_TX_TCP_SEG;

	/* No UFO, SCTP or IP checksum offload is offered: nobody asked. */
	if ((fl & (RTE_MBUF_F_TX_UDP_SEG | RTE_MBUF_F_TX_IP_CKSUM)) ||
	    (l4 && l4 != RTE_MBUF_F_TX_TCP_CKSUM &&
	     l4 != RTE_MBUF_F_TX_UDP_CKSUM))
		return -EINVAL;
	if (rte_pktmbuf_pkt_len(m) > (tso ? NET_TSO_FRAME_MAX : NET_FRAME_MAX))
		return -EMSGSIZE;
	/* The library copies the frame's start into the first mbuf. */
	if (net_ol_parse(rte_pktmbuf_mtod(m, const uint8_t *),
			 rte_pktmbuf_data_len(m), rte_pktmbuf_pkt_len(m), &f))
		return -EINVAL;
	if (l4 == RTE_MBUF_F_TX_TCP_CKSUM && f.l4_proto != IPPROTO_TCP)
		return -EINVAL;
	if (l4 == RTE_MBUF_F_TX_UDP_CKSUM && f.l4_proto != IPPROTO_UDP)
		return -EINVAL;
	if (l4)
		want |= NET_OL_CSUM;
	if (tso)
		want |= NET_OL_CSUM | (f.ipv6 ? NET_OL_TSO6 : NET_OL_TSO4);
	if (net_ol_check(&f, want, tso ? m->tso_segsz : 0, NET_MTU))
		return -EINVAL;
	/* As the enqueue (and an uplink's driver) will read them. */
	m->l2_len = f.l2_len;
	m->l3_len = f.l3_len;
	m->l4_len = f.l4_len;
	m->ol_flags = (fl & ~(NET_FIXUP_TX_FLAGS | RTE_MBUF_F_TX_IPV4 |
			      RTE_MBUF_F_TX_IPV6)) |
		      (f.ipv6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4) |
		      (f.l4_proto == IPPROTO_TCP ? RTE_MBUF_F_TX_TCP_CKSUM :
						   RTE_MBUF_F_TX_UDP_CKSUM) |
		      (tso ? RTE_MBUF_F_TX_TCP_SEG : 0) |
		      /* each IPv4 segment's header checksum: the driver's (an
		       * uplink's); librte_vhost recomputes the one header */
		      (tso && !f.ipv6 ? RTE_MBUF_F_TX_IP_CKSUM : 0);
	return (int)want;
}

static void clear_offload(struct rte_mbuf *m)
{
	m->ol_flags &= ~(NET_FIXUP_TX_FLAGS | RTE_MBUF_F_TX_IPV4 |
			 RTE_MBUF_F_TX_IPV6);
}

void net_fixup_complete(struct rte_mbuf *m)
{
	struct net_ol_frame f;

	/* classify parsed it already: this cannot fail. */
	if (net_ol_parse(rte_pktmbuf_mtod(m, const uint8_t *),
			 rte_pktmbuf_data_len(m), rte_pktmbuf_pkt_len(m), &f))
		return;
	net_ol_csum_fill(rte_pktmbuf_mtod(m, uint8_t *), &f);
	clear_offload(m);
}

/* len bytes of m from off into dst (m may be a chain). */
static void read_into(const struct rte_mbuf *m, uint32_t off, uint32_t len,
		      uint8_t *dst)
{
	const void *p = rte_pktmbuf_read(m, off, len, dst);

	if (p && p != dst)
		memcpy(dst, p, len);
}

static int fix_build(struct rte_mempool *pool, const struct rte_mbuf *m,
		     unsigned want, struct rte_mbuf **out)
{
	const uint8_t *hdr = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t mss = (want & (NET_OL_TSO4 | NET_OL_TSO6)) ? m->tso_segsz : 0;
	struct net_ol_frame f;
	unsigned n;

	if (net_ol_parse(hdr, rte_pktmbuf_data_len(m), rte_pktmbuf_pkt_len(m),
			 &f))
		return -EINVAL;
	n = mss ? net_ol_tso_segs(&f, mss) : 1;
	if (n > NET_OL_MAX_SEGS)
		return -EINVAL;
	if (rte_pktmbuf_alloc_bulk(pool, out, n))
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		uint32_t hl = (uint32_t)f.l2_len + f.l3_len + f.l4_len;
		uint32_t len = mss ? hl + net_ol_tso_seg_payload(&f, mss, i) :
				     rte_pktmbuf_pkt_len(m);
		uint8_t *d = (uint8_t *)rte_pktmbuf_append(out[i],
							   (uint16_t)len);

		/* classify bounded both by NET_FRAME_MAX (NET_MTU): they
		 * fit an mbuf. */
		if (!d || len > UINT16_MAX) {
			rte_pktmbuf_free_bulk(out, n);
			return -EINVAL;
		}
		if (mss) {
			read_into(m, hl + i * mss, len - hl, d + hl);
			net_ol_tso_fill(d, hdr, &f, mss, i);
		} else {
			read_into(m, 0, len, d);
			net_ol_csum_fill(d, &f);
		}
		out[i]->port = m->port;
	}
	return (int)n;
}

int net_fix_make(struct net_fix *x, struct rte_mempool *pool,
		 const struct rte_mbuf *m, unsigned want,
		 const struct net_fix_made **made)
{
	struct net_fix_made *e = &x->made[x->next];
	int n = fix_build(pool, m, want, x->pkts + x->used);

	x->next = (x->next + 1) % NET_FIX_KINDS;
	e->of = m;
	e->start = x->used;
	e->n = n > 0 ? (unsigned)n : 0;
	x->used += e->n;
	*made = e;
	return n < 0 ? n : 0;
}

void net_fix_release(struct net_fix *x)
{
	if (x->used)
		rte_pktmbuf_free_bulk(x->pkts, x->used);
	x->used = 0;
	for (unsigned i = 0; i < NET_FIX_KINDS; i++)
		x->made[i].of = NULL;
	x->next = 0;
}
