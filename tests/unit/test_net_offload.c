/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * splitvm-net's software offloads: header parsing and its bounds, TCP and
 * UDP checksums over IPv4 and IPv6, and TSO segments (lengths, ids,
 * sequence numbers, flags, checksums, payload), each checked against a
 * reference sum written here byte by byte.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "net_offload.h"
#include "unit.h"

#define FRAME_MAX 70000

static uint8_t frame[FRAME_MAX];
static uint8_t seg[2048];

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static unsigned get16(const uint8_t *p)
{
	return (unsigned)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* The reference: RFC 1071 over a list of byte ranges, one at a time. */
static unsigned ref_fold(const uint8_t *a, size_t alen, const uint8_t *b,
			 size_t blen)
{
	unsigned long sum = 0;
	size_t i;

	for (i = 0; i + 1 < alen; i += 2)
		sum += (unsigned long)a[i] << 8 | a[i + 1];
	for (i = 0; i + 1 < blen; i += 2)
		sum += (unsigned long)b[i] << 8 | b[i + 1];
	if (blen & 1)
		sum += (unsigned long)b[blen - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (unsigned)sum;
}

/* A frame's L4 checksum is right when the sum over the pseudo-header and
 * the L4 bytes (checksum included) folds to 0xffff. */
static int l4_ok(const uint8_t *buf, unsigned l2, bool v6)
{
	const uint8_t *ip = buf + l2;
	uint8_t ph[40];
	unsigned l3, len, proto;

	memset(ph, 0, sizeof(ph));
	if (v6) {
		l3 = 40;
		len = get16(ip + 4);
		proto = ip[6];
		memcpy(ph, ip + 8, 32);
		put16(ph + 34, len);
		ph[39] = (uint8_t)proto;
		return ref_fold(ph, 40, ip + l3, len) == 0xffff;
	}
	l3 = (ip[0] & 0xfu) * 4;
	len = get16(ip + 2) - l3;
	proto = ip[9];
	memcpy(ph, ip + 12, 8);
	ph[9] = (uint8_t)proto;
	put16(ph + 10, len);
	return ref_fold(ph, 12, ip + l3, len) == 0xffff;
}

static int ip4_ok(const uint8_t *buf, unsigned l2)
{
	return ref_fold(NULL, 0, buf + l2, (buf[l2] & 0xfu) * 4) == 0xffff;
}

/*
 * Ethernet (vlan: with a tag), IPv4 or IPv6, TCP (20 + opt bytes) or UDP,
 * payload bytes of a pattern; the checksum fields hold garbage, as a
 * partial checksum's would. Returns the frame length.
 */
static unsigned build(bool v6, bool vlan, unsigned proto, unsigned opt,
		      unsigned payload)
{
	unsigned l2 = vlan ? 18 : 14, l3 = v6 ? 40 : 20;
	unsigned l4 = proto == 6 ? 20 + opt : 8;
	uint8_t *ip = frame + l2, *t = ip + l3;

	memset(frame, 0, l2 + l3 + l4);
	memset(frame, 0x02, 12);
	if (vlan) {
		put16(frame + 12, 0x8100);
		put16(frame + 14, 7);
	}
	put16(frame + l2 - 2, v6 ? 0x86dd : 0x0800);
	if (v6) {
		ip[0] = 0x60;
		put16(ip + 4, l4 + payload);
		ip[6] = (uint8_t)proto;
		ip[7] = 64;
		for (unsigned i = 0; i < 32; i++)
			ip[8 + i] = (uint8_t)(0x20 + i);
	} else {
		ip[0] = 0x45;
		put16(ip + 2, l3 + l4 + payload);
		put16(ip + 4, 0xfffe);	/* the ids of segments wrap */
		ip[8] = 64;
		ip[9] = (uint8_t)proto;
		put16(ip + 10, 0x1234);
		memcpy(ip + 12, "\xc0\xa8\x00\x01\xc0\xa8\x00\xc7", 8);
	}
	put16(t, 1234);
	put16(t + 2, 80);
	if (proto == 6) {
		memcpy(t + 4, "\xff\xff\xff\x00", 4);	/* seq wraps too */
		t[12] = (uint8_t)((20 + opt) / 4 << 4);
		t[13] = 0x80 | 0x10 | 0x08 | 0x01;	/* CWR ACK PSH FIN */
		put16(t + 16, 0xbeef);
	} else {
		put16(t + 4, l4 + payload);
		put16(t + 6, 0xbeef);
	}
	for (unsigned i = 0; i < payload; i++)
		t[l4 + i] = (uint8_t)(i * 7 + 3);
	return l2 + l3 + l4 + payload;
}

static void test_ipv4_known_answer(void)
{
	/* A textbook IPv4 header whose checksum is 0xb861. */
	static const uint8_t hdr[20] = {
		0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
		0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };
	struct net_ol_frame f;
	unsigned len = build(false, false, 17, 0, 0x73 - 28);

	memcpy(frame + 14, hdr, sizeof(hdr));
	CU_ASSERT_EQUAL_FATAL(net_ol_parse(frame, len, len, &f), 0);
	CU_ASSERT_EQUAL(f.l4_total, 0x73 - 20);
	net_ol_csum_fill(frame, &f);
	CU_ASSERT_EQUAL(get16(frame + 24), 0xb861);
	CU_ASSERT_TRUE(l4_ok(frame, 14, false));
}

static void test_csum_fill(void)
{
	static const struct { bool v6, vlan; unsigned proto, opt, pay; } c[] = {
		{ false, false, 6, 0, 1000 }, { false, true, 6, 12, 1 },
		{ false, false, 17, 0, 33 }, { true, false, 6, 20, 1200 },
		{ true, true, 17, 0, 0 }, { false, false, 6, 0, 0 },
	};

	for (unsigned i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		unsigned len = build(c[i].v6, c[i].vlan, c[i].proto, c[i].opt,
				     c[i].pay);
		unsigned l2 = c[i].vlan ? 18 : 14;
		struct net_ol_frame f;

		/* Ethernet padding after the IP datagram is not summed. */
		memset(frame + len, 0xaa, 20);
		CU_ASSERT_EQUAL_FATAL(net_ol_parse(frame, len + 20, len + 20,
						   &f), 0);
		CU_ASSERT_EQUAL(f.l2_len, l2);
		CU_ASSERT_EQUAL(f.l4_proto, c[i].proto);
		CU_ASSERT_EQUAL(f.l4_len, c[i].proto == 6 ? 20 + c[i].opt : 8);
		CU_ASSERT_EQUAL(net_ol_check(&f, NET_OL_CSUM, 0, 1500), 0);
		CU_ASSERT_FALSE(l4_ok(frame, l2, c[i].v6));
		net_ol_csum_fill(frame, &f);
		CU_ASSERT_TRUE(l4_ok(frame, l2, c[i].v6));
		if (!c[i].v6)
			CU_ASSERT_TRUE(ip4_ok(frame, l2));
	}
}

static void check_tso(bool v6, unsigned opt, unsigned payload, unsigned mss)
{
	unsigned len = build(v6, false, 6, opt, payload);
	unsigned hl = 14 + (v6 ? 40 : 20) + 20 + opt, nsegs, off = 0;
	struct net_ol_frame f;

	CU_ASSERT_EQUAL_FATAL(net_ol_parse(frame, len, len, &f), 0);
	CU_ASSERT_EQUAL(net_ol_check(&f, NET_OL_CSUM |
				     (v6 ? NET_OL_TSO6 : NET_OL_TSO4), mss,
				     1500), 0);
	nsegs = net_ol_tso_segs(&f, mss);
	CU_ASSERT_EQUAL(nsegs, (payload + mss - 1) / mss);
	for (unsigned i = 0; i < nsegs; i++) {
		uint32_t pay = net_ol_tso_seg_payload(&f, mss, i);
		const uint8_t *ip = seg + 14, *t = ip + (v6 ? 40 : 20);
		bool last = i + 1 == nsegs;

		CU_ASSERT_EQUAL(pay, last ? payload - off : mss);
		memcpy(seg + hl, frame + hl + off, pay);
		CU_ASSERT_EQUAL(net_ol_tso_fill(seg, frame, &f, mss, i),
				hl + pay);
		CU_ASSERT_TRUE(l4_ok(seg, 14, v6));
		if (v6) {
			CU_ASSERT_EQUAL(get16(ip + 4), 20 + opt + pay);
		} else {
			CU_ASSERT_TRUE(ip4_ok(seg, 14));
			CU_ASSERT_EQUAL(get16(ip + 2), 40 + opt + pay);
			CU_ASSERT_EQUAL(get16(ip + 4), (0xfffe + i) & 0xffff);
		}
		CU_ASSERT_EQUAL(get32(t + 4), (uint32_t)(0xffffff00u + off));
		CU_ASSERT_EQUAL(t[13] & 0x01, last ? 0x01 : 0);	/* FIN */
		CU_ASSERT_EQUAL(t[13] & 0x08, last ? 0x08 : 0);	/* PSH */
		CU_ASSERT_EQUAL(t[13] & 0x80, i ? 0 : 0x80);	/* CWR */
		CU_ASSERT_EQUAL(t[13] & 0x10, 0x10);		/* ACK */
		/* Options and payload as they were. */
		CU_ASSERT_EQUAL(memcmp(seg + hl - opt, frame + hl - opt, opt),
				0);
		CU_ASSERT_EQUAL(memcmp(seg + hl, frame + hl + off, pay), 0);
		off += pay;
	}
	CU_ASSERT_EQUAL(off, payload);
}

static void test_tso(void)
{
	check_tso(false, 0, 3 * 1000 - 100, 1000);
	check_tso(false, 12, 1448 * 44 + 7, 1448);
	check_tso(true, 0, 2 * 1200, 1200);
	check_tso(true, 8, 65000, 1400);
	/* One segment: the frame as it is, flags kept. */
	check_tso(false, 0, 500, 1000);
}

static void test_parse_rejects(void)
{
	struct net_ol_frame f;
	unsigned len;

	len = build(false, false, 6, 0, 100);
	CU_ASSERT_EQUAL(net_ol_parse(frame, 30, len, &f), -EINVAL);
	CU_ASSERT_EQUAL(net_ol_parse(frame, len, 30, &f), -EINVAL);
	/* The IP header claims more than the frame has. */
	CU_ASSERT_EQUAL(net_ol_parse(frame, len, len - 1, &f), -EINVAL);
	frame[14] = 0x44;	/* IHL 4 */
	CU_ASSERT_EQUAL(net_ol_parse(frame, len, len, &f), -EINVAL);
	frame[14] = 0x4f;	/* IHL 15: past the TCP header */
	CU_ASSERT_EQUAL(net_ol_parse(frame, 40, len, &f), -EINVAL);
	len = build(false, false, 6, 0, 100);
	frame[14 + 20 + 12] = 0x40;	/* TCP data offset 4 */
	CU_ASSERT_EQUAL(net_ol_parse(frame, len, len, &f), -EINVAL);
	len = build(false, false, 6, 0, 10);
	frame[14 + 20 + 12] = 0xf0;	/* 60 bytes: more than the segment */
	CU_ASSERT_EQUAL(net_ol_parse(frame, len, len, &f), -EINVAL);
	len = build(false, false, 17, 0, 10);
	put16(frame + 14 + 20 + 4, 9);	/* UDP length disagrees */
	CU_ASSERT_EQUAL(net_ol_parse(frame, len, len, &f), -EINVAL);
	len = build(false, false, 6, 0, 10);
	put16(frame + 14 + 6, 0x2000);	/* more fragments */
	CU_ASSERT_EQUAL(net_ol_parse(frame, len, len, &f), -EPROTONOSUPPORT);
	len = build(false, false, 1, 0, 10);	/* ICMP */
	CU_ASSERT_EQUAL(net_ol_parse(frame, len, len, &f), -EPROTONOSUPPORT);
	len = build(true, false, 0, 0, 10);	/* a hop-by-hop header */
	CU_ASSERT_EQUAL(net_ol_parse(frame, len, len, &f), -EPROTONOSUPPORT);
	len = build(true, false, 6, 0, 10);
	put16(frame + 14 + 4, 2000);	/* IPv6 payload past the end */
	CU_ASSERT_EQUAL(net_ol_parse(frame, len, len, &f), -EINVAL);
	len = build(false, false, 6, 0, 10);
	put16(frame + 12, 0x0806);	/* ARP */
	CU_ASSERT_EQUAL(net_ol_parse(frame, len, len, &f), -EPROTONOSUPPORT);
}

static void test_check_rejects(void)
{
	struct net_ol_frame f;
	unsigned len;

	len = build(false, false, 17, 0, 3000);
	CU_ASSERT_EQUAL_FATAL(net_ol_parse(frame, len, len, &f), 0);
	/* Segmentation of a UDP frame. */
	CU_ASSERT_EQUAL(net_ol_check(&f, NET_OL_CSUM | NET_OL_TSO4, 1000,
				     1500), -EINVAL);
	len = build(false, false, 6, 0, 3000);
	CU_ASSERT_EQUAL_FATAL(net_ol_parse(frame, len, len, &f), 0);
	CU_ASSERT_EQUAL(net_ol_check(&f, NET_OL_TSO4, 0, 1500), -EINVAL);
	CU_ASSERT_EQUAL(net_ol_check(&f, NET_OL_TSO4, 1461, 1500), -EINVAL);
	CU_ASSERT_EQUAL(net_ol_check(&f, NET_OL_TSO4, 1460, 1500), 0);
	/* IPv4 frame, IPv6 segmentation asked. */
	CU_ASSERT_EQUAL(net_ol_check(&f, NET_OL_TSO6, 1000, 1500), -EINVAL);
	CU_ASSERT_EQUAL(net_ol_check(&f, 8, 0, 1500), -EINVAL);
	len = build(false, false, 6, 0, 60000);
	CU_ASSERT_EQUAL_FATAL(net_ol_parse(frame, len, len, &f), 0);
	/* 600 segments. */
	CU_ASSERT_EQUAL(net_ol_check(&f, NET_OL_TSO4, 100, 1500), -EINVAL);
	CU_ASSERT_EQUAL(net_ol_check(&f, NET_OL_TSO4, 536, 1500), 0);
}

static CU_TestInfo offload_tests[] = {
	{ "IPv4 header checksum, known answer", test_ipv4_known_answer },
	{ "TCP and UDP checksums, IPv4 and IPv6", test_csum_fill },
	{ "TSO segments", test_tso },
	{ "header parsing refuses what is out of bounds", test_parse_rejects },
	{ "requests that do not fit the frame", test_check_rejects },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "net_offload", NULL, NULL, NULL, NULL, offload_tests },
	CU_SUITE_INFO_NULL,
};
