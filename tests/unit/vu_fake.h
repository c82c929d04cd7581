/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A fake vhost-user back-end thread built on protocol/'s codec, for the
 * unit tests of the front-ends (protocol/vhost_user_client, core/
 * vhost_user_dev): it records what it was sent, maps the guest RAM and
 * inflight regions it is given, and misbehaves on request.
 */
#ifndef SPLITVM_TEST_VU_FAKE_H
#define SPLITVM_TEST_VU_FAKE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "vhost_user.h"

/* Rings it decodes and keeps per-ring state for. */
#define VU_FAKE_NVRINGS		8
/* Requests whose id and flags it logs, in order. */
#define VU_FAKE_LOG		256

enum vu_fake_fault {
	VU_FAKE_FAULT_NONE,
	VU_FAKE_HANG_UP,	/* hangs up when the request comes, unlogged */
	VU_FAKE_WRONG_ID,	/* reply carries another request id */
	VU_FAKE_WRONG_SIZE,	/* a 4-byte payload where 8 are due */
	VU_FAKE_EXTRA_FD,	/* an eventfd rides along with the reply */
	VU_FAKE_NO_REPLY,	/* reads on, never answers */
	VU_FAKE_CLOSE_MID,	/* header and half the payload, then EOF */
	VU_FAKE_EMPTY_CONFIG,	/* GET_CONFIG's "failed" reply */
};

struct vu_fake {
	int sock;
	pthread_t thread;
	/* What it offers. */
	uint64_t features, protocol_features;
	uint64_t queue_num;		/* GET_QUEUE_NUM's answer */
	uint64_t max_mem_slots;		/* GET_MAX_MEM_SLOTS's answer */
	uint32_t stopped_at[VU_FAKE_NVRINGS]; /* GET_VRING_BASE's answers */
	uint64_t inflight_offer;	/* GET_INFLIGHT_FD's region size, fixed */
	uint8_t config[VHOST_USER_MAX_CONFIG_SIZE];
	/*
	 * Try to shrink and grow the first memfd of SET_MEM_TABLE (a
	 * back-end must not be able to resize guest RAM): only for a
	 * front-end that seals it, else the front-end's RAM shrinks.
	 */
	bool probe_seals;
	/* How it misbehaves: fault when fault_on comes; nack_on: status 1. */
	enum vu_fake_fault fault;
	uint32_t fault_on;
	uint32_t nack_on;
	/* What it saw: requests (nreq in all) and ones it could not decode. */
	unsigned nreq, nbad;
	unsigned count[VHOST_USER_REQUEST_COUNT];
	uint32_t reqs[VU_FAKE_LOG], flags[VU_FAKE_LOG];
	union vhost_user_payload seen[VHOST_USER_REQUEST_COUNT]; /* the last */
	uint64_t acked_protocol, acked_features;
	/* Guest RAM: SET_MEM_TABLE's regions (it replaces), ADD_MEM_REG's. */
	struct vhost_user_mem_region regions[VHOST_USER_MAX_FDS];
	void *maps[VHOST_USER_MAX_FDS];
	unsigned nmaps;
	/* probe_seals: the memfd's seals, ftruncate()'s errno (0: it worked). */
	int seals, shrink_errno, grow_errno;
	/* Per ring: the last of each SET_VRING_* and whether an fd came. */
	struct vhost_user_vring_addr addr[VU_FAKE_NVRINGS];
	struct stat kick_st[VU_FAKE_NVRINGS], call_st[VU_FAKE_NVRINGS];
	bool kick_fd[VU_FAKE_NVRINGS], call_fd[VU_FAKE_NVRINGS];
	unsigned num[VU_FAKE_NVRINGS];
	uint32_t base[VU_FAKE_NVRINGS];
	bool enabled[VU_FAKE_NVRINGS];	/* GET_VRING_BASE stops a ring */
	/* The inflight region it made (GET) or was given (SET). */
	struct stat inflight_st;
	uint64_t inflight_size;
	void *inflight_map;		/* GET's region, for the test to fill */
	uint16_t inflight_nq, inflight_qsize;
};

/*
 * A fresh fake offering features and protocol: GET_QUEUE_NUM 2,
 * GET_MAX_MEM_SLOTS 32, GET_VRING_BASE 0, inflight regions of a page,
 * no fault.
 */
void vu_fake_init(struct vu_fake *f, uint64_t features, uint64_t protocol);
/*
 * Serve f->sock until it closes, a fault ends it or nothing comes for
 * 10 s.  A thread's body (arg: the fake).
 */
void *vu_fake_main(void *arg);
/* A socketpair: the fake's thread serves one end; the other is returned. */
int vu_fake_start(struct vu_fake *f);
/* Wait for the thread (the peer must have closed) and close f->sock. */
void vu_fake_join(struct vu_fake *f);
/* Unmap the guest RAM it mapped. */
void vu_fake_unmap_ram(struct vu_fake *f);
/* Unmap all it mapped: guest RAM and its inflight region. */
void vu_fake_release(struct vu_fake *f);

#endif
