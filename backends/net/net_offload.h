/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Software completion of checksum and TCP segmentation offloads, for a
 * destination that cannot take a frame's partial checksum or TSO frame as
 * it is: header parsing and validation, Internet checksums and the header
 * of each TSO segment, on plain buffers (pure C, unit tested).
 */
#ifndef SPLITVM_NET_OFFLOAD_H
#define SPLITVM_NET_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a frame asks for, and what a destination takes as it is. */
#define NET_OL_CSUM	1u	/* a partial TCP or UDP checksum */
#define NET_OL_TSO4	2u	/* a TCP/IPv4 frame to be segmented */
#define NET_OL_TSO6	4u	/* a TCP/IPv6 frame to be segmented */

/* Segments one TSO frame may turn into (more: a bad frame). */
#define NET_OL_MAX_SEGS	128

/* The headers of an offloaded frame, as net_ol_parse found them. */
struct net_ol_frame {
	uint16_t l2_len;	/* Ethernet, one 802.1Q tag at most */
	uint16_t l3_len;	/* IPv4 with options, or the IPv6 fixed header */
	uint16_t l4_len;	/* TCP with options, or 8 for UDP */
	uint8_t l4_proto;	/* 6 TCP, 17 UDP */
	bool ipv6;
	uint32_t l4_total;	/* L4 header and payload, from the IP header */
};

/*
 * Parse the Ethernet, IP and TCP/UDP headers at the start of a frame of
 * frame_len bytes, of which the first hlen are contiguous at buf. Every
 * length the frame claims is checked against frame_len and hlen: 0, or
 * -EPROTONOSUPPORT (not IPv4/IPv6 with TCP or UDP right after the IP
 * header, an IPv4 fragment) or -EINVAL (a length out of bounds).
 */
int net_ol_parse(const uint8_t *buf, size_t hlen, size_t frame_len,
		 struct net_ol_frame *f)
	__attribute__((warn_unused_result));

/*
 * Is a frame with these headers, asking for want (NET_OL_*) with TCP
 * segments of mss payload bytes (TSO), one the switch can forward, and
 * complete in software when it must: the L4 protocol matches the request,
 * segments' IP datagrams fit mtu bytes and are at most NET_OL_MAX_SEGS.
 * 0 or -EINVAL.
 */
int net_ol_check(const struct net_ol_frame *f, unsigned want, uint32_t mss,
		 uint32_t mtu)
	__attribute__((warn_unused_result));

/* One's complement sum of len bytes at buf added to sum (not folded). */
uint32_t net_ol_sum(const void *buf, size_t len, uint32_t sum);
/* Fold a sum to 16 bits (not inverted). */
uint16_t net_ol_fold(uint32_t sum);

/*
 * Write the complete L4 checksum (and, IPv4, the header checksum) of the
 * frame at buf, contiguous up to the end of its L4 payload.
 */
void net_ol_csum_fill(uint8_t *buf, const struct net_ol_frame *f);

/* Segments of mss payload bytes a TSO frame turns into (at least 1). */
unsigned net_ol_tso_segs(const struct net_ol_frame *f, uint32_t mss);
/* Payload bytes of segment i. */
uint32_t net_ol_tso_seg_payload(const struct net_ol_frame *f, uint32_t mss,
				unsigned i);

/*
 * Segment i of a TSO frame at seg: the original headers (hdr, l2_len +
 * l3_len + l4_len bytes) copied in front of its payload, which the caller
 * put at seg + header length; lengths, IPv4 id, TCP sequence number and
 * flags (FIN and PSH on the last segment only, CWR on the first) set, and
 * both checksums computed. Returns the segment's length.
 */
uint32_t net_ol_tso_fill(uint8_t *seg, const uint8_t *hdr,
			 const struct net_ol_frame *f, uint32_t mss,
			 unsigned i);

#endif
