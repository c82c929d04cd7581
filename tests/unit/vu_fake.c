/* SPDX-License-Identifier: GPL-2.0-only */
/* The fake vhost-user back-end of the unit tests: see vu_fake.h. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "vhost_user.h"

#include "vu_fake.h"

#define VU_FAKE_PAGE	4096u

/* Map a region's fd as a back-end does: at mmap_offset, size bytes. */
static void fake_map(struct vu_fake *f, const struct vhost_user_mem_region *r,
		     int fd)
{
	void *p;

	if (f->nmaps >= VHOST_USER_MAX_FDS)
		return;
	p = mmap(NULL, r->memory_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 fd, r->mmap_offset);
	if (p == MAP_FAILED)
		return;
	f->regions[f->nmaps] = *r;
	f->maps[f->nmaps++] = p;
}

void vu_fake_unmap_ram(struct vu_fake *f)
{
	for (unsigned i = 0; i < f->nmaps; i++) {
		munmap(f->maps[i], f->regions[i].memory_size);
		f->maps[i] = NULL;
	}
	f->nmaps = 0;
}

/* The table replaces what came before (it is the whole of guest RAM). */
static void fake_set_mem_table(struct vu_fake *f,
			       const struct vhost_user_msg *msg)
{
	const struct vhost_user_mem_table *t = &msg->payload.mem_table;

	vu_fake_unmap_ram(f);
	for (unsigned i = 0; i < t->nregions; i++)
		fake_map(f, &t->regions[i], msg->fds[i]);
	if (f->probe_seals && t->nregions > 0) {
		f->seals = fcntl(msg->fds[0], F_GET_SEALS);
		f->shrink_errno = ftruncate(msg->fds[0], 4096) < 0 ? errno : 0;
		f->grow_errno = ftruncate(msg->fds[0],
					  t->regions[0].memory_size * 2) < 0 ?
				errno : 0;
	}
}

static void fake_vring_fd(struct vu_fake *f, const struct vhost_user_msg *msg)
{
	unsigned idx = msg->payload.u64 & VHOST_USER_VRING_INDEX_MASK;
	bool kick = msg->hdr.request == VHOST_USER_SET_VRING_KICK;

	if (idx >= VU_FAKE_NVRINGS)
		return;
	(kick ? f->kick_fd : f->call_fd)[idx] = msg->nfds == 1;
	if (msg->nfds == 1)
		fstat(msg->fds[0], kick ? &f->kick_st[idx] : &f->call_st[idx]);
}

/* A region of inflight_offer bytes, kept mapped for the test to fill. */
static void fake_get_inflight(struct vu_fake *f,
			      const struct vhost_user_msg *msg,
			      struct vhost_user_msg *reply)
{
	const struct vhost_user_inflight *in = &msg->payload.inflight;
	uint64_t size = f->inflight_offer;
	int fd = memfd_create("inflight", MFD_CLOEXEC);
	void *m;

	vhost_user_reply_init(reply, msg, sizeof(*in));
	reply->payload.inflight = *in;
	reply->payload.inflight.mmap_size = size;
	reply->payload.inflight.mmap_offset = 0;
	if (fd < 0 || ftruncate(fd, (off_t)size) != 0) {
		reply->payload.inflight.mmap_size = 0;
		if (fd >= 0)
			close(fd);
		return;
	}
	m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m != MAP_FAILED) {
		if (f->inflight_map)
			munmap(f->inflight_map, size);
		f->inflight_map = m;
	}
	fstat(fd, &f->inflight_st);
	f->inflight_size = size;
	f->inflight_nq = in->num_queues;
	f->inflight_qsize = in->queue_size;
	if (vhost_user_msg_add_fd(reply, fd))
		close(fd);
}

static void fake_handle(struct vu_fake *f, struct vhost_user_msg *msg,
			struct vhost_user_msg *reply)
{
	union vhost_user_payload *p = &msg->payload;

	switch (msg->hdr.request) {
	case VHOST_USER_GET_FEATURES:
		vhost_user_reply_init(reply, msg, 8);
		reply->payload.u64 = f->features;
		break;
	case VHOST_USER_SET_FEATURES:
		f->acked_features = p->u64;
		break;
	case VHOST_USER_GET_PROTOCOL_FEATURES:
		vhost_user_reply_init(reply, msg, 8);
		reply->payload.u64 = f->protocol_features;
		break;
	case VHOST_USER_SET_PROTOCOL_FEATURES:
		f->acked_protocol = p->u64;
		break;
	case VHOST_USER_GET_QUEUE_NUM:
		vhost_user_reply_init(reply, msg, 8);
		reply->payload.u64 = f->queue_num;
		break;
	case VHOST_USER_GET_MAX_MEM_SLOTS:
		vhost_user_reply_init(reply, msg, 8);
		reply->payload.u64 = f->max_mem_slots;
		break;
	case VHOST_USER_SET_MEM_TABLE:
		fake_set_mem_table(f, msg);
		break;
	case VHOST_USER_ADD_MEM_REG:
		fake_map(f, &p->mem_reg.region, msg->fds[0]);
		break;
	case VHOST_USER_SET_VRING_NUM:
		if (p->state.index < VU_FAKE_NVRINGS)
			f->num[p->state.index] = p->state.num;
		break;
	case VHOST_USER_SET_VRING_BASE:
		if (p->state.index < VU_FAKE_NVRINGS)
			f->base[p->state.index] = p->state.num;
		break;
	case VHOST_USER_SET_VRING_ADDR:
		if (p->addr.index < VU_FAKE_NVRINGS)
			f->addr[p->addr.index] = p->addr;
		break;
	case VHOST_USER_SET_VRING_KICK:
	case VHOST_USER_SET_VRING_CALL:
		fake_vring_fd(f, msg);
		break;
	case VHOST_USER_SET_VRING_ENABLE:
		if (p->state.index < VU_FAKE_NVRINGS)
			f->enabled[p->state.index] = p->state.num;
		break;
	case VHOST_USER_GET_VRING_BASE:
		vhost_user_reply_init(reply, msg, sizeof(p->state));
		reply->payload.state.index = p->state.index;
		reply->payload.state.num = 0;
		if (p->state.index < VU_FAKE_NVRINGS) {
			reply->payload.state.num = f->stopped_at[p->state.index];
			f->enabled[p->state.index] = false;
		}
		break;
	case VHOST_USER_GET_INFLIGHT_FD:
		fake_get_inflight(f, msg, reply);
		break;
	case VHOST_USER_SET_INFLIGHT_FD:
		if (msg->nfds == 1)
			fstat(msg->fds[0], &f->inflight_st);
		f->inflight_size = p->inflight.mmap_size;
		f->inflight_nq = p->inflight.num_queues;
		f->inflight_qsize = p->inflight.queue_size;
		break;
	case VHOST_USER_GET_CONFIG:
		vhost_user_reply_init(reply, msg, msg->hdr.size);
		reply->payload.config = p->config;
		memcpy(reply->payload.config.region,
		       f->config + p->config.offset, p->config.size);
		break;
	case VHOST_USER_SET_CONFIG:
		memcpy(f->config + p->config.offset, p->config.region,
		       p->config.size);
		break;
	default:
		break;
	}
}

/* Send the reply, or misbehave instead.  false: stop serving. */
static bool fake_reply(struct vu_fake *f, const struct vhost_user_msg *msg,
		       struct vhost_user_msg *reply)
{
	uint8_t raw[VHOST_USER_HEADER_SIZE + 4];
	enum vu_fake_fault fault = msg->hdr.request == f->fault_on ?
				   f->fault : VU_FAKE_FAULT_NONE;
	int efd = -1;
	bool ret = true;

	switch (fault) {
	case VU_FAKE_WRONG_ID:
		reply->hdr.request = msg->hdr.request + 1;
		break;
	case VU_FAKE_WRONG_SIZE:
		reply->hdr.size = 4;
		break;
	case VU_FAKE_EXTRA_FD:
		efd = eventfd(0, EFD_CLOEXEC);
		if (vhost_user_msg_add_fd(reply, efd))
			ret = false;
		break;
	case VU_FAKE_NO_REPLY:
		return true;
	case VU_FAKE_CLOSE_MID:
		reply->hdr.size = 8;
		memcpy(raw, &reply->hdr, VHOST_USER_HEADER_SIZE);
		memset(raw + VHOST_USER_HEADER_SIZE, 0, 4);
		if (write(f->sock, raw, sizeof(raw)) < 0)
			return false;
		shutdown(f->sock, SHUT_RDWR);
		return false;
	case VU_FAKE_EMPTY_CONFIG:
		reply->hdr.size = 0;
		break;
	case VU_FAKE_HANG_UP:		/* before the request was handled */
	case VU_FAKE_FAULT_NONE:
		break;
	}
	if (ret && vhost_user_send(f->sock, reply, 1000))
		ret = false;
	if (efd >= 0)
		close(efd);
	return ret;
}

void *vu_fake_main(void *arg)
{
	struct vu_fake *f = arg;
	struct vhost_user_msg msg, reply;

	for (;;) {
		/* EOF when the front-end closes ends the thread. */
		if (vhost_user_recv(f->sock, &msg, 10000))
			break;
		if (vhost_user_decode(&msg, VHOST_USER_CHANNEL_FRONTEND,
				      VU_FAKE_NVRINGS)) {
			f->nbad++;
			continue;
		}
		if (f->fault == VU_FAKE_HANG_UP &&
		    msg.hdr.request == f->fault_on) {
			vhost_user_msg_close_fds(&msg);
			shutdown(f->sock, SHUT_RDWR);
			break;
		}
		if (f->nreq < VU_FAKE_LOG) {
			f->reqs[f->nreq] = msg.hdr.request;
			f->flags[f->nreq] = msg.hdr.flags;
		}
		f->nreq++;
		f->count[msg.hdr.request]++;
		f->seen[msg.hdr.request] = msg.payload;

		/* An ack unless the handler builds a real reply. */
		vhost_user_reply_init(&reply, &msg, 8);
		reply.payload.u64 = msg.hdr.request == f->nack_on ? 1 : 0;
		fake_handle(f, &msg, &reply);
		vhost_user_msg_close_fds(&msg);

		if (vhost_user_expects_reply(&msg, VHOST_USER_CHANNEL_FRONTEND,
					     f->acked_protocol) &&
		    !fake_reply(f, &msg, &reply)) {
			vhost_user_msg_close_fds(&reply);
			break;
		}
		vhost_user_msg_close_fds(&reply);
	}
	return NULL;
}

void vu_fake_init(struct vu_fake *f, uint64_t features, uint64_t protocol)
{
	memset(f, 0, sizeof(*f));
	f->sock = -1;
	f->features = features;
	f->protocol_features = protocol;
	f->queue_num = 2;
	f->max_mem_slots = 32;
	f->inflight_offer = VU_FAKE_PAGE;
	f->fault_on = VHOST_USER_NONE;
	f->nack_on = VHOST_USER_NONE;
}

int vu_fake_start(struct vu_fake *f)
{
	int sv[2];

	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				   sv) == 0);
	f->sock = sv[1];
	CU_ASSERT_FATAL(pthread_create(&f->thread, NULL, vu_fake_main,
				       f) == 0);
	return sv[0];
}

void vu_fake_join(struct vu_fake *f)
{
	pthread_join(f->thread, NULL);
	close(f->sock);
	f->sock = -1;
}

void vu_fake_release(struct vu_fake *f)
{
	vu_fake_unmap_ram(f);
	if (f->inflight_map)
		munmap(f->inflight_map, f->inflight_offer);
	f->inflight_map = NULL;
}
