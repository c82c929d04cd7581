/* SPDX-License-Identifier: GPL-2.0-only */
#include "net_offload.h"

#include <errno.h>
#include <string.h>

#define ETH_HLEN 14
#define VLAN_HLEN 4
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define IPV4_MIN_HLEN 20
#define IPV6_HLEN 40
#define TCP_MIN_HLEN 20
#define UDP_HLEN 8
#define PROTO_TCP 6
#define PROTO_UDP 17

#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)(v >> 16));
	wr16(p + 2, (uint16_t)v);
}

static int parse_l4(const uint8_t *buf, size_t hlen, struct net_ol_frame *f)
{
	size_t off = (size_t)f->l2_len + f->l3_len;

	if (f->l4_proto == PROTO_TCP) {
		unsigned doff;

		if (f->l4_total < TCP_MIN_HLEN || hlen < off + TCP_MIN_HLEN)
			return -EINVAL;
		doff = (unsigned)(buf[off + 12] >> 4) * 4;
		if (doff < TCP_MIN_HLEN || doff > f->l4_total ||
		    hlen < off + doff)
			return -EINVAL;
		f->l4_len = (uint16_t)doff;
		return 0;
	}
	if (f->l4_proto == PROTO_UDP) {
		if (f->l4_total < UDP_HLEN || hlen < off + UDP_HLEN ||
		    rd16(buf + off + 4) != f->l4_total)
			return -EINVAL;
		f->l4_len = UDP_HLEN;
		return 0;
	}
	return -EPROTONOSUPPORT;
}

int net_ol_parse(const uint8_t *buf, size_t hlen, size_t frame_len,
		 struct net_ol_frame *f)
{
	const uint8_t *ip;
	uint16_t type;

	memset(f, 0, sizeof(*f));
	if (hlen > frame_len)
		hlen = frame_len;
	if (hlen < ETH_HLEN)
		return -EINVAL;
	f->l2_len = ETH_HLEN;
	type = rd16(buf + 12);
	if (type == ETHERTYPE_VLAN) {
		if (hlen < ETH_HLEN + VLAN_HLEN)
			return -EINVAL;
		f->l2_len += VLAN_HLEN;
		type = rd16(buf + 16);
	}
	ip = buf + f->l2_len;
	if (type == ETHERTYPE_IPV4) {
		unsigned ihl, total;

		if (hlen < (size_t)f->l2_len + IPV4_MIN_HLEN ||
		    (ip[0] >> 4) != 4)
			return -EINVAL;
		ihl = (unsigned)(ip[0] & 0xf) * 4;
		total = rd16(ip + 2);
		if (ihl < IPV4_MIN_HLEN || hlen < (size_t)f->l2_len + ihl ||
		    total < ihl || (size_t)f->l2_len + total > frame_len)
			return -EINVAL;
		/* A fragment's L4 checksum covers the whole datagram. */
		if (rd16(ip + 6) & 0x3fff)
			return -EPROTONOSUPPORT;
		f->l3_len = (uint16_t)ihl;
		f->l4_proto = ip[9];
		f->l4_total = total - ihl;
	} else if (type == ETHERTYPE_IPV6) {
		unsigned plen;

		if (hlen < (size_t)f->l2_len + IPV6_HLEN || (ip[0] >> 4) != 6)
			return -EINVAL;
		plen = rd16(ip + 4);
		if ((size_t)f->l2_len + IPV6_HLEN + plen > frame_len)
			return -EINVAL;
		f->ipv6 = true;
		f->l3_len = IPV6_HLEN;
		/* Extension headers are not followed: TCP or UDP first. */
		f->l4_proto = ip[6];
		f->l4_total = plen;
	} else {
		return -EPROTONOSUPPORT;
	}
	return parse_l4(buf, hlen, f);
}

unsigned net_ol_tso_segs(const struct net_ol_frame *f, uint32_t mss)
{
	uint32_t payload = f->l4_total - f->l4_len;

	if (!mss || !payload)
		return 1;
	return (unsigned)((payload + mss - 1) / mss);
}

uint32_t net_ol_tso_seg_payload(const struct net_ol_frame *f, uint32_t mss,
				unsigned i)
{
	uint32_t payload = f->l4_total - f->l4_len;
	uint64_t start = (uint64_t)i * mss;

	if (start >= payload)
		return 0;
	return payload - start < mss ? (uint32_t)(payload - start) : mss;
}

int net_ol_check(const struct net_ol_frame *f, unsigned want, uint32_t mss,
		 uint32_t mtu)
{
	uint32_t hdr = (uint32_t)f->l3_len + f->l4_len;

	if (want & ~(NET_OL_CSUM | NET_OL_TSO4 | NET_OL_TSO6))
		return -EINVAL;
	if (want & (NET_OL_TSO4 | NET_OL_TSO6)) {
		if (f->l4_proto != PROTO_TCP ||
		    !(want & (f->ipv6 ? NET_OL_TSO6 : NET_OL_TSO4)) ||
		    (want & (f->ipv6 ? NET_OL_TSO4 : NET_OL_TSO6)))
			return -EINVAL;
		if (!mss || hdr + (uint64_t)mss > mtu ||
		    net_ol_tso_segs(f, mss) > NET_OL_MAX_SEGS)
			return -EINVAL;
	}
	if ((want & NET_OL_CSUM) && f->l4_proto != PROTO_TCP &&
	    f->l4_proto != PROTO_UDP)
		return -EINVAL;
	return 0;
}

uint32_t net_ol_sum(const void *buf, size_t len, uint32_t sum)
{
	const uint8_t *p = buf;
	uint64_t s = sum;

	for (; len >= 2; p += 2, len -= 2)
		s += rd16(p);
	if (len)
		s += (uint32_t)p[0] << 8;
	while (s >> 32)
		s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

uint16_t net_ol_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint32_t pseudo_sum(const uint8_t *ip, const struct net_ol_frame *f)
{
	uint32_t s;

	if (f->ipv6) {
		s = net_ol_sum(ip + 8, 32, 0);
		s = net_ol_sum((const uint8_t[]){ 0, 0, (uint8_t)(f->l4_total >> 8),
				 (uint8_t)f->l4_total }, 4, s);
	} else {
		s = net_ol_sum(ip + 12, 8, 0);
		s += f->l4_total;
	}
	return s + f->l4_proto;
}

void net_ol_csum_fill(uint8_t *buf, const struct net_ol_frame *f)
{
	uint8_t *ip = buf + f->l2_len, *l4 = ip + f->l3_len;
	uint8_t *field = l4 + (f->l4_proto == PROTO_TCP ? 16 : 6);
	uint16_t c;

	if (!f->ipv6) {
		wr16(ip + 10, 0);
		wr16(ip + 10, (uint16_t)~net_ol_fold(net_ol_sum(ip, f->l3_len,
								 0)));
	}
	wr16(field, 0);
	c = (uint16_t)~net_ol_fold(net_ol_sum(l4, f->l4_total,
					      pseudo_sum(ip, f)));
	/* UDP: 0 means "no checksum", its complement stands for it. */
	if (f->l4_proto == PROTO_UDP && !c)
		c = 0xffff;
	wr16(field, c);
}

uint32_t net_ol_tso_fill(uint8_t *seg, const uint8_t *hdr,
			 const struct net_ol_frame *f, uint32_t mss,
			 unsigned i)
{
	struct net_ol_frame s = *f;
	uint32_t hl = (uint32_t)f->l2_len + f->l3_len + f->l4_len;
	uint32_t pay = net_ol_tso_seg_payload(f, mss, i);
	bool last = i + 1 >= net_ol_tso_segs(f, mss);
	uint8_t *ip = seg + f->l2_len, *tcp = ip + f->l3_len;

	memmove(seg, hdr, hl);
	s.l4_total = f->l4_len + pay;
	if (f->ipv6) {
		wr16(ip + 4, (uint16_t)s.l4_total);
	} else {
		wr16(ip + 2, (uint16_t)(f->l3_len + s.l4_total));
		wr16(ip + 4, (uint16_t)(rd16(ip + 4) + i));
	}
	wr32(tcp + 4, rd32(tcp + 4) + i * mss);
	if (!last)
		tcp[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
	if (i)
		tcp[13] &= (uint8_t)~TCP_CWR;
	net_ol_csum_fill(seg, &s);
	return hl + pay;
}
