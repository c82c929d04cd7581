/* SPDX-License-Identifier: GPL-2.0-only */
#include "net_msg.h"

#include <string.h>

#include "vhost_user.h"

bool net_msg_answer_queue_num(void *msg, size_t len, uint64_t queue_pairs)
{
	struct vhost_user_header h;

	if (len < VHOST_USER_HEADER_SIZE + sizeof(queue_pairs))
		return false;
	memcpy(&h, msg, sizeof(h));
	if (h.request != VHOST_USER_GET_QUEUE_NUM)
		return false;
	/* The library sets the reply flags and version when it sends it. */
	h.size = sizeof(queue_pairs);
	memcpy(msg, &h, sizeof(h));
	memcpy((uint8_t *)msg + VHOST_USER_HEADER_SIZE, &queue_pairs,
	       sizeof(queue_pairs));
	return true;
}
