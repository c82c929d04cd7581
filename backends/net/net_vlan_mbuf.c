/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * 802.1Q tag push and pop on mbufs for the switch's VLAN ports: the byte
 * work is net_vlan.c's (unit tested on plain buffers); this file only
 * decides between changing the frame in place and a copy, and keeps an
 * offload request's l2_len right.
 */
#include "net_backend_internal.h"

#include <errno.h>

#include <rte_mbuf.h>

int net_vlan_mbuf_ingress(const struct net_vlan_config *c,
			  const struct rte_mbuf *m, unsigned want, bool *tagged)
{
	uint16_t tci = 0;
	bool short_tag;
	int v;

	*tagged = net_vlan_read_tag(rte_pktmbuf_mtod(m, const uint8_t *),
				    rte_pktmbuf_data_len(m), &tci, &short_tag);
	v = short_tag ? -1 : net_vlan_ingress(c, *tagged, tci);
	if (v < 0)
		return -EPROTO;
	/* It may get a tag on the way out: 1514 bytes, as any untagged
	 * frame (a TSO frame's segments are bounded by their MTU). */
	if (!*tagged && rte_pktmbuf_pkt_len(m) > NET_VLAN_UNTAGGED_MAX &&
	    !(want & (NET_OL_TSO4 | NET_OL_TSO6)))
		return -EMSGSIZE;
	return v;
}

struct rte_mbuf *net_vlan_mbuf_retag(struct rte_mempool *pool,
				     struct rte_mbuf *m, bool push,
				     uint16_t vid, bool in_place)
{
	struct rte_mbuf *v = m;

	/* A pushed tag goes into the headroom: in place only with room. */
	if (!in_place || (push && rte_pktmbuf_headroom(m) < NET_VLAN_TAG_LEN)) {
		v = rte_pktmbuf_copy(m, pool, 0, UINT32_MAX);
		if (!v)
			return NULL;
		v->ol_flags = m->ol_flags;
	}
	if (push) {
		uint8_t *p = (uint8_t *)rte_pktmbuf_prepend(v, NET_VLAN_TAG_LEN);

		if (!p)
			goto fail;
		net_vlan_push_in_place(p, vid);
		if (v->ol_flags & NET_FIXUP_TX_FLAGS)
			v->l2_len += NET_VLAN_TAG_LEN;
	} else {
		/* The caller saw the whole tag in the first segment (and a
		 * copy's first segment holds at least as much). */
		if (rte_pktmbuf_data_len(v) < 14 + NET_VLAN_TAG_LEN)
			goto fail;
		net_vlan_pop_in_place(rte_pktmbuf_mtod(v, uint8_t *));
		if (!rte_pktmbuf_adj(v, NET_VLAN_TAG_LEN))
			goto fail;
		if (v->ol_flags & NET_FIXUP_TX_FLAGS)
			v->l2_len -= NET_VLAN_TAG_LEN;
	}
	return v;
fail:
	if (v != m)
		rte_pktmbuf_free(v);
	return NULL;
}
