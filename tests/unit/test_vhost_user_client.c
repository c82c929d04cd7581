/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * protocol/vhost_user_client against a fake back-end thread built on the
 * protocol codec: negotiation, guest RAM shared through real memfds and
 * checked byte for byte, REPLY_ACK, every way a back-end can misbehave,
 * config space, inflight buffers and connecting to a late listener.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vhost_user.h"
#include "vhost_user_client.h"
#include "testutil.h"
#include "unit.h"
#include "vu_fake.h"

#define PAGE		4096u
#define F_PROTOCOL	(1ull << VHOST_USER_F_PROTOCOL_FEATURES)
#define F_VERSION_1	(1ull << 32)
#define PF(f)		VHOST_USER_PROTOCOL_F_BIT(VHOST_USER_PROTOCOL_F_##f)

/* ---- helpers ------------------------------------------------------------ */

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static bool same_file(const struct stat *a, int fd)
{
	struct stat b;

	return fstat(fd, &b) == 0 && a->st_dev == b.st_dev &&
	       a->st_ino == b.st_ino;
}

static int new_memfd(size_t size)
{
	int fd = memfd_create("guest-ram", MFD_CLOEXEC);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(ftruncate(fd, size) == 0);
	return fd;
}

/* ---- the fake back-end (vu_fake.h) ------------------------------------ */

/* A fake on one end of a socketpair, a client on the other. */
static struct vhost_user_client *fake_start(struct vu_fake *f, int timeout_ms)
{
	struct vhost_user_client *c = NULL;

	CU_ASSERT_FATAL(vhost_user_client_from_fd(vu_fake_start(f), "fake",
						  timeout_ms, &c) == 0);
	return c;
}

/* Close the client (EOF ends the fake), then inspect the fake at rest. */
static void fake_join(struct vu_fake *f, struct vhost_user_client *c)
{
	vhost_user_client_close(c);
	vu_fake_join(f);
}

/* GET_QUEUE_NUM answers 4, GET_VRING_BASE 42 + the ring's index. */
static void fake_init(struct vu_fake *f, uint64_t features, uint64_t protocol)
{
	vu_fake_init(f, features, protocol);
	f->queue_num = 4;
	for (unsigned i = 0; i < VU_FAKE_NVRINGS; i++)
		f->stopped_at[i] = 42 + i;
}

/* GET_FEATURES, GET/SET_PROTOCOL_FEATURES with `protocol` acked. */
static void negotiate(struct vhost_user_client *c, uint64_t protocol)
{
	uint64_t v;

	CU_ASSERT_EQUAL_FATAL(vhost_user_client_get_features(c, &v), 0);
	CU_ASSERT_EQUAL_FATAL(vhost_user_client_get_protocol_features(c, &v),
			      0);
	CU_ASSERT_EQUAL_FATAL(vhost_user_client_set_protocol_features(c,
								      protocol),
			      0);
}

/* Every test gives back every fd it opened. */
static int fds_at_start;

static void fd_setup(void)
{
	fds_at_start = test_count_fds();
}

static void fd_teardown(void)
{
	CU_ASSERT_EQUAL(test_count_fds(), fds_at_start);
}

/* ---- happy path --------------------------------------------------------- */

static void fill(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7 + (i >> 12));
}

static void test_happy_path(void)
{
	static const uint32_t order[] = {
		VHOST_USER_GET_FEATURES, VHOST_USER_GET_PROTOCOL_FEATURES,
		VHOST_USER_SET_PROTOCOL_FEATURES, VHOST_USER_GET_QUEUE_NUM,
		VHOST_USER_SET_OWNER, VHOST_USER_SET_FEATURES,
		VHOST_USER_SET_MEM_TABLE, VHOST_USER_SET_VRING_NUM,
		VHOST_USER_SET_VRING_ADDR, VHOST_USER_SET_VRING_BASE,
		VHOST_USER_SET_VRING_KICK, VHOST_USER_SET_VRING_CALL,
		VHOST_USER_SET_VRING_ENABLE, VHOST_USER_GET_VRING_BASE,
	};
	const size_t ram_a = 16 * PAGE, ram_b = 8 * PAGE;
	struct vhost_user_vring_addr addr = {
		.index = 1, .desc_user_addr = 0x7f0000001000,
		.used_user_addr = 0x7f0000003000,
		.avail_user_addr = 0x7f0000002000,
	};
	struct vhost_user_client_region regions[2];
	struct vhost_user_client *c;
	struct stat kick_st, call_st;
	struct vu_fake f;
	uint8_t *fe_a, *fe_b;
	uint64_t v, protocol = PF(MQ) | PF(CONFIG);
	uint32_t base = 0;
	int mem_a, mem_b, kick, call;

	/* Two memfds, each region at a non-zero offset into its file. */
	mem_a = new_memfd(ram_a);
	mem_b = new_memfd(ram_b);
	fe_a = mmap(NULL, ram_a, PROT_READ | PROT_WRITE, MAP_SHARED, mem_a, 0);
	fe_b = mmap(NULL, ram_b, PROT_READ | PROT_WRITE, MAP_SHARED, mem_b, 0);
	CU_ASSERT_FATAL(fe_a != MAP_FAILED && fe_b != MAP_FAILED);
	regions[0] = (struct vhost_user_client_region){
		.gpa = 0, .size = 12 * PAGE, .hva = (uintptr_t)fe_a + 4 * PAGE,
		.fd = mem_a, .mmap_offset = 4 * PAGE,
	};
	regions[1] = (struct vhost_user_client_region){
		.gpa = 0x100000000ull, .size = 6 * PAGE,
		.hva = (uintptr_t)fe_b + 2 * PAGE, .fd = mem_b,
		.mmap_offset = 2 * PAGE,
	};
	kick = eventfd(0, EFD_CLOEXEC);
	call = eventfd(0, EFD_CLOEXEC);
	CU_ASSERT_FATAL(kick >= 0 && call >= 0);
	fstat(kick, &kick_st);
	fstat(call, &call_st);

	fake_init(&f, F_PROTOCOL | F_VERSION_1 | 1,
		  PF(MQ) | PF(CONFIG) | PF(REPLY_ACK));
	c = fake_start(&f, 2000);
	CU_ASSERT_EQUAL(vhost_user_client_get_features(c, &v), 0);
	CU_ASSERT_EQUAL(v, F_PROTOCOL | F_VERSION_1 | 1);
	CU_ASSERT_EQUAL(vhost_user_client_get_protocol_features(c, &v), 0);
	CU_ASSERT_EQUAL(v, PF(MQ) | PF(CONFIG) | PF(REPLY_ACK));
	CU_ASSERT_EQUAL(vhost_user_client_set_protocol_features(c, protocol), 0);
	CU_ASSERT_EQUAL(vhost_user_client_protocol_features(c), protocol);
	CU_ASSERT_EQUAL(vhost_user_client_get_queue_num(c, &v), 0);
	CU_ASSERT_EQUAL(v, 4);
	CU_ASSERT_EQUAL(vhost_user_client_set_owner(c), 0);
	CU_ASSERT_EQUAL(vhost_user_client_set_features(c, F_PROTOCOL |
						       F_VERSION_1), 0);
	CU_ASSERT_EQUAL(vhost_user_client_features(c), F_PROTOCOL | F_VERSION_1);
	CU_ASSERT_EQUAL(vhost_user_client_set_mem_table(c, regions, 2), 0);
	CU_ASSERT_EQUAL(vhost_user_client_set_vring_num(c, 1, 256), 0);
	CU_ASSERT_EQUAL(vhost_user_client_set_vring_addr(c, &addr), 0);
	CU_ASSERT_EQUAL(vhost_user_client_set_vring_base(c, 1, 7), 0);
	CU_ASSERT_EQUAL(vhost_user_client_set_vring_kick(c, 1, kick), 0);
	CU_ASSERT_EQUAL(vhost_user_client_set_vring_call(c, 1, call), 0);
	CU_ASSERT_EQUAL(vhost_user_client_set_vring_enable(c, 1, true), 0);
	CU_ASSERT_EQUAL(vhost_user_client_get_vring_base(c, 1, &base), 0);
	CU_ASSERT_EQUAL(base, 43);
	CU_ASSERT_FALSE(vhost_user_client_broken(c));
	CU_ASSERT_EQUAL(vhost_user_client_error(c, NULL), 0);
	fake_join(&f, c);

	/* The back-end saw exactly this, in this order, no NEED_REPLY. */
	CU_ASSERT_EQUAL(f.nbad, 0);
	CU_ASSERT_EQUAL_FATAL(f.nreq, sizeof(order) / sizeof(order[0]));
	for (unsigned i = 0; i < f.nreq; i++) {
		CU_ASSERT_EQUAL(f.reqs[i], order[i]);
		CU_ASSERT_EQUAL(f.flags[i], VHOST_USER_VERSION);
	}
	CU_ASSERT_EQUAL(f.acked_protocol, protocol);
	CU_ASSERT_EQUAL(f.seen[VHOST_USER_SET_FEATURES].u64,
			F_PROTOCOL | F_VERSION_1);
	CU_ASSERT_EQUAL(f.seen[VHOST_USER_SET_VRING_NUM].state.index, 1);
	CU_ASSERT_EQUAL(f.seen[VHOST_USER_SET_VRING_NUM].state.num, 256);
	CU_ASSERT_EQUAL(memcmp(&f.seen[VHOST_USER_SET_VRING_ADDR].addr, &addr,
			       sizeof(addr)), 0);
	CU_ASSERT_EQUAL(f.seen[VHOST_USER_SET_VRING_BASE].state.index, 1);
	CU_ASSERT_EQUAL(f.seen[VHOST_USER_SET_VRING_BASE].state.num, 7);
	CU_ASSERT_EQUAL(f.seen[VHOST_USER_SET_VRING_KICK].u64, 1);
	CU_ASSERT_EQUAL(f.seen[VHOST_USER_SET_VRING_CALL].u64, 1);
	CU_ASSERT_TRUE(f.kick_fd[1] && same_file(&f.kick_st[1], kick));
	CU_ASSERT_TRUE(f.call_fd[1] && same_file(&f.call_st[1], call));
	CU_ASSERT_EQUAL(f.seen[VHOST_USER_SET_VRING_ENABLE].state.num, 1);

	/* Guest RAM: the back-end's mappings are the front-end's memory. */
	CU_ASSERT_EQUAL_FATAL(f.nmaps, 2);
	for (unsigned i = 0; i < 2; i++) {
		const struct vhost_user_mem_region *r = &f.regions[i];
		uint8_t *fe = (uint8_t *)(uintptr_t)regions[i].hva;
		uint8_t *be = f.maps[i];

		CU_ASSERT_EQUAL(r->guest_phys_addr, regions[i].gpa);
		CU_ASSERT_EQUAL(r->memory_size, regions[i].size);
		CU_ASSERT_EQUAL(r->userspace_addr, regions[i].hva);
		CU_ASSERT_EQUAL(r->mmap_offset, regions[i].mmap_offset);
		fill(fe, regions[i].size, (uint8_t)(0x11 * (i + 1)));
		CU_ASSERT_EQUAL(memcmp(fe, be, regions[i].size), 0);
		fill(be, regions[i].size, (uint8_t)(0x5a + i));
		CU_ASSERT_EQUAL(memcmp(fe, be, regions[i].size), 0);
	}
	/* And not at offset 0: the first page of the file is untouched. */
	CU_ASSERT_EQUAL(fe_a[0], 0);
	CU_ASSERT_EQUAL(fe_b[PAGE], 0);

	vu_fake_release(&f);
	munmap(fe_a, ram_a);
	munmap(fe_b, ram_b);
	close(mem_a);
	close(mem_b);
	close(kick);
	close(call);
}

/* NOFD, add/remove single regions, mapped and compared. */
static void test_mem_slots_and_nofd(void)
{
	struct vhost_user_client_region r;
	struct vhost_user_client *c;
	struct vu_fake f;
	uint64_t slots = 0;
	uint8_t *fe;
	int mem = new_memfd(8 * PAGE);

	fe = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, mem, 0);
	CU_ASSERT_FATAL(fe != MAP_FAILED);
	r = (struct vhost_user_client_region){
		.gpa = 0x200000, .size = 4 * PAGE,
		.hva = (uintptr_t)fe + 3 * PAGE, .fd = mem,
		.mmap_offset = 3 * PAGE,
	};
	fake_init(&f, F_PROTOCOL, PF(CONFIGURE_MEM_SLOTS));
	c = fake_start(&f, 2000);
	/* Not negotiated yet: refused locally. */
	CU_ASSERT_EQUAL(vhost_user_client_add_mem_reg(c, &r), -EOPNOTSUPP);
	CU_ASSERT_EQUAL(vhost_user_client_get_max_mem_slots(c, &slots),
			-EOPNOTSUPP);
	negotiate(c, PF(CONFIGURE_MEM_SLOTS));
	CU_ASSERT_EQUAL(vhost_user_client_get_max_mem_slots(c, &slots), 0);
	CU_ASSERT_EQUAL(slots, 32);
	CU_ASSERT_EQUAL(vhost_user_client_add_mem_reg(c, &r), 0);
	CU_ASSERT_EQUAL(vhost_user_client_rem_mem_reg(c, &r), 0);
	CU_ASSERT_EQUAL(vhost_user_client_set_vring_kick(c, 2, -1), 0);
	CU_ASSERT_EQUAL(vhost_user_client_set_vring_call(c, 3, -1), 0);
	CU_ASSERT_EQUAL(vhost_user_client_set_vring_err(c, 0, -1), 0);
	fake_join(&f, c);

	CU_ASSERT_EQUAL(f.nbad, 0);
	CU_ASSERT_EQUAL(f.seen[VHOST_USER_SET_VRING_KICK].u64,
			2 | VHOST_USER_VRING_NOFD_MASK);
	CU_ASSERT_EQUAL(f.seen[VHOST_USER_SET_VRING_CALL].u64,
			3 | VHOST_USER_VRING_NOFD_MASK);
	CU_ASSERT_EQUAL(f.seen[VHOST_USER_SET_VRING_ERR].u64,
			0 | VHOST_USER_VRING_NOFD_MASK);
	CU_ASSERT_FALSE(f.kick_fd[2]);
	CU_ASSERT_FALSE(f.call_fd[3]);
	CU_ASSERT_EQUAL(f.seen[VHOST_USER_REM_MEM_REG].mem_reg.region.
			guest_phys_addr, 0x200000);
	CU_ASSERT_EQUAL_FATAL(f.nmaps, 1);
	fill(fe + 3 * PAGE, 4 * PAGE, 0x33);
	CU_ASSERT_EQUAL(memcmp(fe + 3 * PAGE, f.maps[0], 4 * PAGE), 0);
	fill(f.maps[0], 4 * PAGE, 0x77);
	CU_ASSERT_EQUAL(memcmp(fe + 3 * PAGE, f.maps[0], 4 * PAGE), 0);
	vu_fake_release(&f);
	munmap(fe, 8 * PAGE);
	close(mem);
}

/* ---- REPLY_ACK ---------------------------------------------------------- */

static void test_reply_ack(void)
{
	struct vhost_user_client *c;
	struct vu_fake f;
	uint32_t base;
	uint64_t v;

	fake_init(&f, F_PROTOCOL, PF(REPLY_ACK));
	f.nack_on = VHOST_USER_SET_VRING_NUM;
	c = fake_start(&f, 2000);
	negotiate(c, PF(REPLY_ACK));
	CU_ASSERT_EQUAL(vhost_user_client_set_owner(c), 0);
	CU_ASSERT_EQUAL(vhost_user_client_set_vring_num(c, 0, 128), -EREMOTEIO);
	/* A refusal is an answer: the connection is still in step. */
	CU_ASSERT_FALSE(vhost_user_client_broken(c));
	CU_ASSERT_EQUAL(vhost_user_client_get_vring_base(c, 0, &base), 0);
	CU_ASSERT_EQUAL(base, 42);
	CU_ASSERT_EQUAL(vhost_user_client_get_features(c, &v), 0);
	fake_join(&f, c);

	CU_ASSERT_EQUAL_FATAL(f.nreq, 7);
	/* Negotiated by this very message: it asks for no ack. */
	CU_ASSERT_EQUAL(f.reqs[2], VHOST_USER_SET_PROTOCOL_FEATURES);
	CU_ASSERT_FALSE(f.flags[2] & VHOST_USER_FLAG_NEED_REPLY);
	CU_ASSERT_EQUAL(f.reqs[3], VHOST_USER_SET_OWNER);
	CU_ASSERT_TRUE(f.flags[3] & VHOST_USER_FLAG_NEED_REPLY);
	CU_ASSERT_EQUAL(f.reqs[4], VHOST_USER_SET_VRING_NUM);
	CU_ASSERT_TRUE(f.flags[4] & VHOST_USER_FLAG_NEED_REPLY);
	/* Requests with a reply of their own never ask for an ack. */
	CU_ASSERT_EQUAL(f.reqs[5], VHOST_USER_GET_VRING_BASE);
	CU_ASSERT_FALSE(f.flags[5] & VHOST_USER_FLAG_NEED_REPLY);
	CU_ASSERT_FALSE(f.flags[6] & VHOST_USER_FLAG_NEED_REPLY);
}

/* ---- misbehaving back-ends ---------------------------------------------- */

/*
 * Run `steps` calls against a fake that commits `fault` on `fault_on`:
 * the last call must break the client with `err`; afterwards every call
 * fails at once with -EPIPE and sends nothing.
 */
static void run_fault(enum vu_fake_fault fault, uint32_t fault_on,
		      uint64_t protocol, int err, int64_t min_ms)
{
	struct vhost_user_client *c;
	const char *name = NULL;
	struct vu_fake f;
	unsigned sent;
	uint32_t base;
	uint64_t v;
	int64_t t;
	int fds = test_count_fds(), ret;

	fake_init(&f, F_PROTOCOL, protocol);
	f.fault = fault;
	f.fault_on = fault_on;
	c = fake_start(&f, 300);
	if (protocol)
		negotiate(c, protocol);
	sent = protocol ? 3 : 0;

	t = test_now_ms();
	switch (fault_on) {
	case VHOST_USER_GET_FEATURES:
		ret = vhost_user_client_get_features(c, &v);
		break;
	case VHOST_USER_GET_VRING_BASE:
		ret = vhost_user_client_get_vring_base(c, 0, &base);
		break;
	default:
		ret = vhost_user_client_set_owner(c);
		break;
	}
	t = test_now_ms() - t;
	sent++;
	CU_ASSERT_EQUAL(ret, err);
	CU_ASSERT_TRUE(t >= min_ms && t < 2000);
	CU_ASSERT_TRUE(vhost_user_client_broken(c));
	CU_ASSERT_EQUAL(vhost_user_client_error(c, &name), err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(name);
	CU_ASSERT_STRING_EQUAL(name, vhost_user_request_name(
				       VHOST_USER_CHANNEL_FRONTEND, fault_on));

	/* Broken: fail fast, send nothing, keep the first error. */
	t = test_now_ms();
	CU_ASSERT_EQUAL(vhost_user_client_get_features(c, &v), -EPIPE);
	CU_ASSERT_EQUAL(vhost_user_client_set_owner(c), -EPIPE);
	CU_ASSERT_EQUAL(vhost_user_client_set_vring_num(c, 0, 64), -EPIPE);
	CU_ASSERT_EQUAL(vhost_user_client_get_vring_base(c, 0, &base), -EPIPE);
	CU_ASSERT_EQUAL(vhost_user_client_set_features(c, 0), -EPIPE);
	CU_ASSERT_EQUAL(vhost_user_client_get_config(c, 0, 4, &v), -EPIPE);
	CU_ASSERT_TRUE(test_now_ms() - t < 50);
	CU_ASSERT_EQUAL(vhost_user_client_error(c, NULL), err);
	fake_join(&f, c);
	CU_ASSERT_EQUAL(f.nreq, sent);
	CU_ASSERT_EQUAL(f.nbad, 0);
	CU_ASSERT_EQUAL(test_count_fds(), fds);
}

static void test_fault_wrong_id(void)
{
	run_fault(VU_FAKE_WRONG_ID, VHOST_USER_GET_FEATURES, 0, -EPROTO, 0);
}

static void test_fault_wrong_size(void)
{
	run_fault(VU_FAKE_WRONG_SIZE, VHOST_USER_GET_FEATURES, 0, -EMSGSIZE, 0);
}

static void test_fault_extra_fd(void)
{
	run_fault(VU_FAKE_EXTRA_FD, VHOST_USER_GET_VRING_BASE, 0, -EINVAL, 0);
}

static void test_fault_ack_with_fd(void)
{
	run_fault(VU_FAKE_EXTRA_FD, VHOST_USER_SET_OWNER, PF(REPLY_ACK),
		  -EINVAL, 0);
}

static void test_fault_no_reply(void)
{
	/* Bounded by the client's 300 ms timeout. */
	run_fault(VU_FAKE_NO_REPLY, VHOST_USER_GET_FEATURES, 0, -ETIMEDOUT, 290);
}

static void test_fault_no_ack(void)
{
	run_fault(VU_FAKE_NO_REPLY, VHOST_USER_SET_OWNER, PF(REPLY_ACK),
		  -ETIMEDOUT, 290);
}

static void test_fault_close_mid_reply(void)
{
	run_fault(VU_FAKE_CLOSE_MID, VHOST_USER_GET_FEATURES, 0, -ECONNRESET, 0);
}

/* ---- caller input ------------------------------------------------------- */

static void test_caller_input(void)
{
	struct vhost_user_client_region r[9];
	struct vhost_user_vring_addr addr = { .index = 0, .flags = 2 };
	struct vhost_user_client *c;
	struct vu_fake f;
	uint64_t v;
	int mem = new_memfd(PAGE), fd = 0;

	for (unsigned i = 0; i < 9; i++)
		r[i] = (struct vhost_user_client_region){
			.gpa = i * PAGE, .size = PAGE, .hva = 0x10000 + i * PAGE,
			.fd = mem,
		};
	fake_init(&f, F_VERSION_1, 0);
	c = fake_start(&f, 2000);
	/* Order and offers. */
	CU_ASSERT_EQUAL(vhost_user_client_set_features(c, 0), -EPROTO);
	CU_ASSERT_EQUAL(vhost_user_client_get_protocol_features(c, &v),
			-EOPNOTSUPP);
	CU_ASSERT_EQUAL(vhost_user_client_get_features(c, &v), 0);
	CU_ASSERT_EQUAL(vhost_user_client_set_features(c, F_PROTOCOL),
			-EINVAL);
	CU_ASSERT_EQUAL(vhost_user_client_get_protocol_features(c, &v),
			-EOPNOTSUPP);
	CU_ASSERT_EQUAL(vhost_user_client_set_protocol_features(c, 0), -EPROTO);
	CU_ASSERT_EQUAL(vhost_user_client_get_queue_num(c, &v), -EOPNOTSUPP);
	CU_ASSERT_EQUAL(vhost_user_client_set_vring_enable(c, 0, true),
			-EOPNOTSUPP);
	CU_ASSERT_EQUAL(vhost_user_client_get_inflight_fd(c, 1, 128, &fd,
							  &v, &v),
			-EOPNOTSUPP);
	CU_ASSERT_EQUAL(fd, -1);
	/* Values the table refuses, checked before anything is sent. */
	CU_ASSERT_EQUAL(vhost_user_client_set_vring_num(c, 256, 64), -EINVAL);
	CU_ASSERT_EQUAL(vhost_user_client_set_vring_num(c, 0, 0), -EINVAL);
	CU_ASSERT_EQUAL(vhost_user_client_set_vring_num(c, 0, 32769), -EINVAL);
	CU_ASSERT_EQUAL(vhost_user_client_set_vring_addr(c, &addr), -EINVAL);
	CU_ASSERT_EQUAL(vhost_user_client_set_vring_kick(c, 0, -2), -EBADF);
	CU_ASSERT_EQUAL(vhost_user_client_set_vring_call(c, 300, -1), -EINVAL);
	CU_ASSERT_EQUAL(vhost_user_client_get_vring_base(c, 256, NULL),
			-EINVAL);
	CU_ASSERT_EQUAL(vhost_user_client_set_mem_table(c, r, 9), -EINVAL);
	r[1].gpa = r[0].gpa;		/* overlap */
	CU_ASSERT_EQUAL(vhost_user_client_set_mem_table(c, r, 2), -EINVAL);
	r[1].gpa = PAGE;
	r[1].fd = -1;
	CU_ASSERT_EQUAL(vhost_user_client_set_mem_table(c, r, 2), -EBADF);
	r[1].fd = mem;
	r[1].size = 0;
	CU_ASSERT_EQUAL(vhost_user_client_set_mem_table(c, r, 2), -EINVAL);
	CU_ASSERT_EQUAL(vhost_user_client_set_timeout(c, 0), -EINVAL);
	/* None of it broke the client or reached the back-end. */
	CU_ASSERT_FALSE(vhost_user_client_broken(c));
	CU_ASSERT_EQUAL(vhost_user_client_set_owner(c), 0);
	fake_join(&f, c);
	CU_ASSERT_EQUAL(f.nreq, 2);
	CU_ASSERT_EQUAL(f.nbad, 0);
	CU_ASSERT_TRUE(fcntl(mem, F_GETFD) >= 0);	/* still ours */
	close(mem);
}

/* ---- config space ------------------------------------------------------- */

static void test_config(void)
{
	static const uint8_t data[4] = { 0xde, 0xad, 0xbe, 0xef };
	struct vhost_user_client *c;
	uint8_t buf[VHOST_USER_MAX_CONFIG_SIZE];
	struct vu_fake f;

	/* Without PROTOCOL_F_CONFIG: refused locally, nothing sent. */
	fake_init(&f, F_PROTOCOL, PF(CONFIG));
	c = fake_start(&f, 2000);
	negotiate(c, 0);
	CU_ASSERT_EQUAL(vhost_user_client_get_config(c, 0, 4, buf),
			-EOPNOTSUPP);
	CU_ASSERT_EQUAL(vhost_user_client_set_config(c, 0, 4, data),
			-EOPNOTSUPP);
	fake_join(&f, c);
	CU_ASSERT_EQUAL(f.nreq, 3);

	/* With it. */
	fake_init(&f, F_PROTOCOL, PF(CONFIG));
	fill(f.config, sizeof(f.config), 0x40);
	c = fake_start(&f, 2000);
	negotiate(c, PF(CONFIG));
	memset(buf, 0, sizeof(buf));
	CU_ASSERT_EQUAL(vhost_user_client_get_config(c, 4, 8, buf), 0);
	CU_ASSERT_EQUAL(memcmp(buf, f.config + 4, 8), 0);
	CU_ASSERT_EQUAL(buf[8], 0);
	CU_ASSERT_EQUAL(vhost_user_client_get_config(c, 0, 256, buf), 0);
	CU_ASSERT_EQUAL(memcmp(buf, f.config, 256), 0);
	CU_ASSERT_EQUAL(vhost_user_client_set_config(c, 16, 4, data), 0);
	CU_ASSERT_EQUAL(vhost_user_client_get_config(c, 250, 10, buf), -EINVAL);
	CU_ASSERT_EQUAL(vhost_user_client_get_config(c, 0, 0, buf), -EINVAL);
	CU_ASSERT_EQUAL(vhost_user_client_get_config(c, 0, 257, buf), -EINVAL);
	CU_ASSERT_FALSE(vhost_user_client_broken(c));
	fake_join(&f, c);
	CU_ASSERT_EQUAL(memcmp(f.config + 16, data, 4), 0);
	CU_ASSERT_EQUAL(f.seen[VHOST_USER_SET_CONFIG].config.offset, 16);
	CU_ASSERT_EQUAL(f.seen[VHOST_USER_SET_CONFIG].config.size, 4);
	CU_ASSERT_EQUAL(f.nreq, 6);

	/* The back-end's empty "failed" reply: refused, not broken. */
	fake_init(&f, F_PROTOCOL, PF(CONFIG));
	f.fault = VU_FAKE_EMPTY_CONFIG;
	f.fault_on = VHOST_USER_GET_CONFIG;
	c = fake_start(&f, 2000);
	negotiate(c, PF(CONFIG));
	CU_ASSERT_EQUAL(vhost_user_client_get_config(c, 0, 4, buf), -EREMOTEIO);
	CU_ASSERT_FALSE(vhost_user_client_broken(c));
	CU_ASSERT_EQUAL(vhost_user_client_set_owner(c), 0);
	fake_join(&f, c);
}

/* ---- inflight ----------------------------------------------------------- */

static void test_inflight(void)
{
	struct vhost_user_client *c;
	uint64_t size = 0, offset = 1;
	struct vu_fake f;
	int fd = -1;

	fake_init(&f, F_PROTOCOL, PF(INFLIGHT_SHMFD));
	c = fake_start(&f, 2000);
	negotiate(c, PF(INFLIGHT_SHMFD));
	CU_ASSERT_EQUAL(vhost_user_client_get_inflight_fd(c, 2, 128, &fd,
							  &size, &offset), 0);
	CU_ASSERT_TRUE_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(size, PAGE);
	CU_ASSERT_EQUAL(offset, 0);
	CU_ASSERT_EQUAL(vhost_user_client_set_inflight_fd(c, fd, size, offset,
							  2, 128), 0);
	/* Zero queues: the table refuses it before sending. */
	CU_ASSERT_EQUAL(vhost_user_client_set_inflight_fd(c, fd, size, offset,
							  0, 128), -EINVAL);
	fake_join(&f, c);
	CU_ASSERT_TRUE(same_file(&f.inflight_st, fd));
	CU_ASSERT_EQUAL(f.seen[VHOST_USER_SET_INFLIGHT_FD].inflight.num_queues,
			2);
	CU_ASSERT_EQUAL(f.nreq, 5);
	vu_fake_release(&f);
	close(fd);
}

/* ---- connecting --------------------------------------------------------- */

struct listener {
	char path[108];
	int delay_ms;
	struct vu_fake fake;
	struct vhost_user_client *c;
};

/*
 * Appear late: first the path does not exist, then it refuses (bound,
 * not listening), then it accepts and serves as a fake back-end.
 */
static void *listener_main(void *arg)
{
	struct listener *l = arg;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, conn;

	memcpy(sa.sun_path, l->path, strlen(l->path) + 1);
	sleep_ms(l->delay_ms);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return NULL;
	}
	sleep_ms(l->delay_ms);
	if (listen(fd, 1) < 0) {
		close(fd);
		return NULL;
	}
	conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	close(fd);
	if (conn < 0)
		return NULL;
	l->fake.sock = conn;
	vu_fake_main(&l->fake);
	close(conn);
	return NULL;
}

static void test_connect_nobody(void)
{
	char dir[] = "/tmp/vuc-XXXXXX", path[200];
	struct vhost_user_client *c = (void *)1;
	int64_t t;

	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/none.sock", dir);
	t = test_now_ms();
	CU_ASSERT_EQUAL(vhost_user_client_connect(path, 200, &c), -ETIMEDOUT);
	t = test_now_ms() - t;
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_TRUE(t >= 190 && t < 1500);
	CU_ASSERT_EQUAL(vhost_user_client_connect(path, 0, &c), -EINVAL);
	/* One byte more than sun_path holds with its NUL. */
	memset(path, 'x', 108);
	path[108] = '\0';
	CU_ASSERT_EQUAL(vhost_user_client_connect(path, 100, &c),
			-ENAMETOOLONG);
	rmdir(dir);
}

static void test_connect_retry(void)
{
	char dir[] = "/tmp/vuc-XXXXXX";
	struct vhost_user_client *c = NULL;
	struct listener l;
	pthread_t thread;
	uint64_t v = 0;
	int64_t t;

	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	memset(&l, 0, sizeof(l));
	snprintf(l.path, sizeof(l.path), "%s/late.sock", dir);
	l.delay_ms = 150;
	fake_init(&l.fake, F_VERSION_1, 0);
	CU_ASSERT_FATAL(pthread_create(&thread, NULL, listener_main, &l) == 0);
	t = test_now_ms();
	CU_ASSERT_EQUAL_FATAL(vhost_user_client_connect(l.path, 3000, &c), 0);
	t = test_now_ms() - t;
	/* It waited through ENOENT and ECONNREFUSED. */
	CU_ASSERT_TRUE(t >= 250);
	CU_ASSERT_EQUAL(vhost_user_client_get_features(c, &v), 0);
	CU_ASSERT_EQUAL(v, F_VERSION_1);
	vhost_user_client_close(c);
	pthread_join(thread, NULL);
	CU_ASSERT_EQUAL(l.fake.nreq, 1);
	unlink(l.path);
	rmdir(dir);
}

static void test_from_fd(void)
{
	struct vhost_user_client *c = (void *)1;
	int sv[2], efd = eventfd(0, EFD_CLOEXEC);

	CU_ASSERT_FATAL(efd >= 0);
	/* Not a socket: refused, and the fd was taken (closed). */
	CU_ASSERT_EQUAL(vhost_user_client_from_fd(efd, NULL, 100, &c),
			-ENOTSOCK);
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_TRUE(fcntl(efd, F_GETFD) < 0 && errno == EBADF);
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0,
				   sv) == 0);
	CU_ASSERT_EQUAL(vhost_user_client_from_fd(sv[0], NULL, 100, &c),
			-EINVAL);
	close(sv[1]);
	CU_ASSERT_EQUAL(vhost_user_client_from_fd(-1, NULL, 100, &c), -EBADF);
	vhost_user_client_close(NULL);
}

static CU_TestInfo session_tests[] = {
	{ "happy path, guest RAM shared", test_happy_path },
	{ "mem slots and NOFD", test_mem_slots_and_nofd },
	{ "REPLY_ACK and NACK", test_reply_ack },
	{ "caller input", test_caller_input },
	{ "config space", test_config },
	{ "inflight", test_inflight },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo fault_tests[] = {
	{ "wrong request id", test_fault_wrong_id },
	{ "wrong size", test_fault_wrong_size },
	{ "unexpected fd", test_fault_extra_fd },
	{ "fd with an ack", test_fault_ack_with_fd },
	{ "never replies", test_fault_no_reply },
	{ "never acks", test_fault_no_ack },
	{ "closes mid-reply", test_fault_close_mid_reply },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo connect_tests[] = {
	{ "nobody listens", test_connect_nobody },
	{ "retry until a listener", test_connect_retry },
	{ "from fd", test_from_fd },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "vhost_user_client session", NULL, NULL, fd_setup, fd_teardown,
	  session_tests },
	{ "vhost_user_client faults", NULL, NULL, fd_setup, fd_teardown,
	  fault_tests },
	{ "vhost_user_client connect", NULL, NULL, fd_setup, fd_teardown,
	  connect_tests },
	CU_SUITE_INFO_NULL,
};
