/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Writes a seed corpus for fuzz_vhost_user into the directory argv[1]:
 * one valid request per request id and channel, a reply to each, and
 * two streams of several messages, in the fuzz target's input format.
 * Valid inputs let the fuzzer start past the size and fd checks instead
 * of rediscovering every layout.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "vhost_user.h"

#define PAGE		4096
#define NVRINGS_BYTE	3		/* the target uses byte + 1 vrings */

static const char *dir;
static unsigned seeds;

static size_t msg_bytes(const struct vhost_user_msg *m, uint8_t *out)
{
	memcpy(out, &m->hdr, VHOST_USER_HEADER_SIZE);
	memcpy(out + VHOST_USER_HEADER_SIZE, &m->payload, m->hdr.size);
	return VHOST_USER_HEADER_SIZE + m->hdr.size;
}

/* Input: mode/channel, fd counts, nvrings, first length, messages. */
static int write_seed(unsigned mode, enum vhost_user_channel channel,
		      const struct vhost_user_msg *first,
		      const struct vhost_user_msg *second)
{
	uint8_t buf[5 + 2 * (VHOST_USER_HEADER_SIZE +
			     VHOST_USER_PAYLOAD_MAX_SIZE)];
	size_t len = 5, first_len;
	char path[4096];
	FILE *f;

	buf[0] = mode | (channel == VHOST_USER_CHANNEL_BACKEND ? 4 : 0);
	buf[1] = first->nfds | (second ? second->nfds << 4 : 0);
	buf[2] = NVRINGS_BYTE;
	first_len = msg_bytes(first, buf + len);
	buf[3] = first_len & 0xff;
	buf[4] = first_len >> 8;
	len += first_len;
	if (second)
		len += msg_bytes(second, buf + len);

	snprintf(path, sizeof(path), "%s/seed-%03u", dir, seeds++);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
		perror(path);
		return -1;
	}
	return 0;
}

static void fill_region(struct vhost_user_mem_region *r, unsigned i)
{
	r->guest_phys_addr = (uint64_t)i << 32;
	r->memory_size = 16 * PAGE;
	r->userspace_addr = 0x7f0000000000ull + ((uint64_t)i << 32);
	r->mmap_offset = i * PAGE;
}

/*
 * A request decode accepts.  Only the fd count matters in the seed
 * (nfds); the target supplies the fds themselves.
 */
static void fill_request(struct vhost_user_msg *m, uint32_t request,
			 const struct vhost_user_request_info *info,
			 enum vhost_user_channel channel)
{
	union vhost_user_payload *p = &m->payload;
	bool fe = channel == VHOST_USER_CHANNEL_FRONTEND;

	vhost_user_msg_init(m, request, info->min_size);
	switch (info->payload) {
	case VHOST_USER_PAYLOAD_U64:
		if (fe && request == VHOST_USER_NET_SET_MTU)
			p->u64 = 1500;
		break;
	case VHOST_USER_PAYLOAD_VRING_FD:
		p->u64 = 1;
		break;
	case VHOST_USER_PAYLOAD_VRING_STATE:
		p->state.index = 1;
		if (fe && request == VHOST_USER_SET_VRING_NUM)
			p->state.num = 256;
		break;
	case VHOST_USER_PAYLOAD_MEM_TABLE:
		p->mem_table.nregions = 2;
		fill_region(&p->mem_table.regions[0], 0);
		fill_region(&p->mem_table.regions[1], 1);
		m->hdr.size = VHOST_USER_MEM_TABLE_SIZE(2);
		break;
	case VHOST_USER_PAYLOAD_MEM_REG:
		fill_region(&p->mem_reg.region, 1);
		break;
	case VHOST_USER_PAYLOAD_LOG:
		p->log.mmap_size = PAGE;
		break;
	case VHOST_USER_PAYLOAD_IOTLB:
		p->iotlb.iova = PAGE;
		p->iotlb.size = PAGE;
		p->iotlb.perm = VHOST_USER_IOTLB_PERM_RW;
		p->iotlb.type = fe ? VHOST_USER_IOTLB_UPDATE :
				     VHOST_USER_IOTLB_MISS;
		break;
	case VHOST_USER_PAYLOAD_CONFIG:
		p->config.size = 8;
		m->hdr.size = VHOST_USER_CONFIG_HEADER_SIZE + 8;
		break;
	case VHOST_USER_PAYLOAD_VRING_AREA:
		p->area.u64 = 1;
		p->area.size = PAGE;
		break;
	case VHOST_USER_PAYLOAD_INFLIGHT:
		p->inflight.mmap_size = PAGE;
		p->inflight.num_queues = 2;
		p->inflight.queue_size = 128;
		break;
	case VHOST_USER_PAYLOAD_SHARED_OBJECT:
		memset(p->object.uuid, 0x5a, sizeof(p->object.uuid));
		break;
	default:
		break;
	}

	switch (info->fds) {
	case VHOST_USER_FDS_ONE:
	case VHOST_USER_FDS_OPTIONAL:
	case VHOST_USER_FDS_UNLESS_NOFD:
		m->nfds = 1;
		break;
	case VHOST_USER_FDS_PER_REGION:
		m->nfds = p->mem_table.nregions;
		break;
	default:
		break;
	}
}

/* A reply vhost_user_reply_check() accepts for req. */
static void fill_reply(struct vhost_user_msg *r,
		       const struct vhost_user_msg *req,
		       const struct vhost_user_request_info *info)
{
	bool always = info->reply == VHOST_USER_REPLY_ALWAYS;

	vhost_user_reply_init(r, req, always ? info->reply_min_size : 8);
	if (!always)
		return;
	switch (info->reply_payload) {
	case VHOST_USER_PAYLOAD_VRING_STATE:
		r->payload.state = req->payload.state;
		r->payload.state.num = 7;
		break;
	case VHOST_USER_PAYLOAD_CONFIG:
		r->payload.config = req->payload.config;
		r->hdr.size = req->hdr.size;
		break;
	case VHOST_USER_PAYLOAD_INFLIGHT:
		r->payload.inflight = req->payload.inflight;
		break;
	default:
		break;
	}
	switch (info->reply_fds) {
	case VHOST_USER_FDS_ONE:
	case VHOST_USER_FDS_UNLESS_NOFD:
	case VHOST_USER_FDS_IF_MMAP_SIZE:
	case VHOST_USER_FDS_IF_SUCCESS:
		r->nfds = 1;
		break;
	default:
		break;
	}
}

static int channel_seeds(enum vhost_user_channel channel, uint32_t count)
{
	struct vhost_user_msg req, rep;

	for (uint32_t id = 1; id < count; id++) {
		const struct vhost_user_request_info *info =
			vhost_user_request_info(channel, id);

		if (!info || info->payload == VHOST_USER_PAYLOAD_UNSUPPORTED)
			continue;
		fill_request(&req, id, info, channel);
		fill_reply(&rep, &req, info);
		if (write_seed(0, channel, &req, NULL) ||
		    write_seed(1, channel, &req, &rep))
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct vhost_user_msg a, b;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	if (mkdir(dir, 0755) && errno != EEXIST) {
		perror(dir);
		return 1;
	}
	if (channel_seeds(VHOST_USER_CHANNEL_FRONTEND,
			  VHOST_USER_REQUEST_COUNT) ||
	    channel_seeds(VHOST_USER_CHANNEL_BACKEND,
			  VHOST_USER_BACKEND_REQUEST_COUNT))
		return 1;

	/*
	 * Streams: GET_FEATURES then a polled SET_VRING_CALL; and a
	 * SET_VRING_KICK whose eventfd rides with its first byte, then
	 * GET_FEATURES.
	 */
	vhost_user_msg_init(&a, VHOST_USER_GET_FEATURES, 0);
	vhost_user_msg_init(&b, VHOST_USER_SET_VRING_CALL, 8);
	b.payload.u64 = 1 | VHOST_USER_VRING_NOFD_MASK;
	if (write_seed(2, VHOST_USER_CHANNEL_FRONTEND, &a, &b))
		return 1;
	vhost_user_msg_init(&b, VHOST_USER_SET_VRING_KICK, 8);
	b.payload.u64 = 2;
	b.nfds = 1;
	if (write_seed(2, VHOST_USER_CHANNEL_FRONTEND, &b, &a))
		return 1;
	return 0;
}
