/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vhost-user messages splitvm-net answers itself before librte_vhost sees
 * them (pure C on protocol/'s wire format, no DPDK header: the two
 * define the same protocol constants).
 */
#ifndef SPLITVM_NET_MSG_H
#define SPLITVM_NET_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * msg: a received message in wire form (12-byte header, then its
 * payload) in a buffer of at least len bytes. A GET_QUEUE_NUM becomes
 * its reply, queue_pairs; returns whether it did (then send msg back).
 */
bool net_msg_answer_queue_num(void *msg, size_t len, uint64_t queue_pairs);

#endif
