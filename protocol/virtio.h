/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Virtio 1.2 layouts the core and the backends share: the Linux UAPI
 * headers plus what they lack on older kernels, with the layouts we rely
 * on checked at compile time.
 */
#ifndef SPLITVM_VIRTIO_H
#define SPLITVM_VIRTIO_H

#include <stddef.h>
#include <stdint.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

/*
 * Modern virtio is little-endian and the UAPI __le/__virtio types are
 * plain integers, so fields are accessed natively: only on LE hosts.
 */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "virtio fields are read natively: little-endian host only");

/* ---- feature bits missing from older <linux/virtio_config.h> ----------- */

#ifndef VIRTIO_F_NOTIFICATION_DATA
#define VIRTIO_F_NOTIFICATION_DATA	38	/* Linux 6.4 */
#endif
#ifndef VIRTIO_F_NOTIF_CONFIG_DATA
#define VIRTIO_F_NOTIF_CONFIG_DATA	39	/* virtio 1.3, Linux 6.7 */
#endif
#ifndef VIRTIO_F_RING_RESET
#define VIRTIO_F_RING_RESET		40	/* Linux 6.0 */
#endif

/* Largest Queue Size any virtqueue may have (split and packed). */
#define VIRTIO_QUEUE_SIZE_MAX		32768

/* ---- split virtqueue ---------------------------------------------------- */

_Static_assert(sizeof(struct vring_desc) == 16, "split descriptor");
_Static_assert(sizeof(struct vring_avail) == 4, "avail ring header");
_Static_assert(offsetof(struct vring_avail, ring) == 4, "avail ring entries");
_Static_assert(sizeof(struct vring_used_elem) == 8, "used element");
_Static_assert(sizeof(struct vring_used) == 4, "used ring header");
_Static_assert(offsetof(struct vring_used, ring) == 4, "used ring entries");

/*
 * Sizes of the three separately placed parts of a split virtqueue of
 * `num` entries (virtio 1.2 2.7), each including the event-index word
 * VIRTIO_RING_F_EVENT_IDX adds (the spec counts it whether or not it is
 * negotiated).  Alignments: VRING_{DESC,AVAIL,USED}_ALIGN_SIZE.
 */
static inline uint64_t virtio_split_desc_size(uint32_t num)
{
	return (uint64_t)sizeof(struct vring_desc) * num;
}

static inline uint64_t virtio_split_avail_size(uint32_t num)
{
	/* flags, idx, ring[num], used_event */
	return 2 * sizeof(uint16_t) + (uint64_t)sizeof(uint16_t) * num +
	       sizeof(uint16_t);
}

static inline uint64_t virtio_split_used_size(uint32_t num)
{
	/* flags, idx, ring[num], avail_event */
	return 2 * sizeof(uint16_t) +
	       (uint64_t)sizeof(struct vring_used_elem) * num +
	       sizeof(uint16_t);
}

/* ---- packed virtqueue --------------------------------------------------- */

_Static_assert(sizeof(struct vring_packed_desc) == 16, "packed descriptor");
_Static_assert(offsetof(struct vring_packed_desc, id) == 12,
	       "packed descriptor id");
_Static_assert(sizeof(struct vring_packed_desc_event) == 4,
	       "packed event suppression");

/* VRING_PACKED_DESC_F_AVAIL/USED are bit numbers: these are the masks. */
#define VIRTIO_PACKED_DESC_F_AVAIL	(1u << VRING_PACKED_DESC_F_AVAIL)
#define VIRTIO_PACKED_DESC_F_USED	(1u << VRING_PACKED_DESC_F_USED)

/* ---- virtio-net --------------------------------------------------------- */

#ifndef VIRTIO_NET_F_GUEST_USO4
#define VIRTIO_NET_F_GUEST_USO4		54	/* driver takes USOv4 */
#define VIRTIO_NET_F_GUEST_USO6		55	/* driver takes USOv6 */
#define VIRTIO_NET_F_HOST_USO		56	/* device takes USO */
#endif
#ifndef VIRTIO_NET_F_GUEST_HDRLEN
#define VIRTIO_NET_F_GUEST_HDRLEN	59	/* driver gives exact hdr_len */
#endif
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4	5	/* USO */
#endif

/* The virtio 1.2 config space; newer headers may append fields. */
_Static_assert(offsetof(struct virtio_net_config, mac) == 0, "net mac");
_Static_assert(offsetof(struct virtio_net_config, status) == 6, "net status");
_Static_assert(offsetof(struct virtio_net_config, max_virtqueue_pairs) == 8,
	       "net max_virtqueue_pairs");
_Static_assert(offsetof(struct virtio_net_config, mtu) == 10, "net mtu");
_Static_assert(offsetof(struct virtio_net_config, speed) == 12, "net speed");
_Static_assert(offsetof(struct virtio_net_config, duplex) == 16, "net duplex");
_Static_assert(offsetof(struct virtio_net_config, supported_hash_types) == 20,
	       "net supported_hash_types");
#define VIRTIO_NET_CONFIG_SIZE_1_2	24
_Static_assert(sizeof(struct virtio_net_config) >= VIRTIO_NET_CONFIG_SIZE_1_2,
	       "net config holds every virtio 1.2 field");

/* The header before every packet (VERSION_1: always with num_buffers). */
_Static_assert(sizeof(struct virtio_net_hdr_v1) == 12, "net header");
_Static_assert(offsetof(struct virtio_net_hdr_v1, num_buffers) == 10,
	       "net header num_buffers");
_Static_assert(sizeof(struct virtio_net_hdr_v1_hash) == 20,
	       "net header with hash report");
_Static_assert(sizeof(struct virtio_net_hdr_mrg_rxbuf) == 12,
	       "legacy mergeable header");
_Static_assert(sizeof(struct virtio_net_ctrl_hdr) == 2, "control header");

/* Virtqueue numbering: receiveq(n) = 2n, transmitq(n) = 2n + 1. */
#define VIRTIO_NET_RXQ(pair)		(2u * (pair))
#define VIRTIO_NET_TXQ(pair)		(2u * (pair) + 1)

/* ---- virtio-blk --------------------------------------------------------- */

#define VIRTIO_BLK_SECTOR_SIZE		512

#ifndef VIRTIO_BLK_F_LIFETIME
#define VIRTIO_BLK_F_LIFETIME		15
#define VIRTIO_BLK_T_GET_LIFETIME	10

/* VIRTIO_BLK_T_GET_LIFETIME reply. */
struct virtio_blk_lifetime {
	__le16 pre_eol_info;
	__le16 device_lifetime_est_typ_a;
	__le16 device_lifetime_est_typ_b;
};
#define VIRTIO_BLK_PRE_EOL_INFO_UNDEFINED	0
#define VIRTIO_BLK_PRE_EOL_INFO_NORMAL		1
#define VIRTIO_BLK_PRE_EOL_INFO_WARNING		2
#define VIRTIO_BLK_PRE_EOL_INFO_URGENT		3
#endif
_Static_assert(sizeof(struct virtio_blk_lifetime) == 6, "blk lifetime");

#ifndef VIRTIO_BLK_F_ZONED		/* Linux < 6.3 */
#define VIRTIO_BLK_F_ZONED		17

/*
 * Newer headers declare this inside struct virtio_blk_config (at
 * VIRTIO_BLK_CONFIG_ZONED_OFFSET), which C also makes visible here.
 */
struct virtio_blk_zoned_characteristics {
	__le32 zone_sectors;
	__le32 max_open_zones;
	__le32 max_active_zones;
	__le32 max_append_sectors;
	__le32 write_granularity;
	__u8 model;
	__u8 unused2[3];
};

struct virtio_blk_zone_descriptor {
	__le64 z_cap;
	__le64 z_start;
	__le64 z_wp;
	__u8 z_type;
	__u8 z_state;
	__u8 reserved[38];
};

struct virtio_blk_zone_report {
	__le64 nr_zones;
	__u8 reserved[56];
	struct virtio_blk_zone_descriptor zones[];
};

#define VIRTIO_BLK_Z_NONE		0
#define VIRTIO_BLK_Z_HM			1
#define VIRTIO_BLK_Z_HA			2

#define VIRTIO_BLK_T_ZONE_APPEND	15
#define VIRTIO_BLK_T_ZONE_REPORT	16
#define VIRTIO_BLK_T_ZONE_OPEN		18
#define VIRTIO_BLK_T_ZONE_CLOSE		20
#define VIRTIO_BLK_T_ZONE_FINISH	22
#define VIRTIO_BLK_T_ZONE_RESET		24
#define VIRTIO_BLK_T_ZONE_RESET_ALL	26

#define VIRTIO_BLK_ZT_CONV		1
#define VIRTIO_BLK_ZT_SWR		2
#define VIRTIO_BLK_ZT_SWP		3

#define VIRTIO_BLK_ZS_NOT_WP		0
#define VIRTIO_BLK_ZS_EMPTY		1
#define VIRTIO_BLK_ZS_IOPEN		2
#define VIRTIO_BLK_ZS_EOPEN		3
#define VIRTIO_BLK_ZS_CLOSED		4
#define VIRTIO_BLK_ZS_RDONLY		13
#define VIRTIO_BLK_ZS_FULL		14
#define VIRTIO_BLK_ZS_OFFLINE		15

#define VIRTIO_BLK_S_ZONE_INVALID_CMD	3
#define VIRTIO_BLK_S_ZONE_UNALIGNED_WP	4
#define VIRTIO_BLK_S_ZONE_OPEN_RESOURCE	5
#define VIRTIO_BLK_S_ZONE_ACTIVE_RESOURCE 6
#endif

_Static_assert(sizeof(struct virtio_blk_zoned_characteristics) == 24,
	       "blk zoned characteristics");
_Static_assert(sizeof(struct virtio_blk_zone_descriptor) == 64,
	       "blk zone descriptor");
_Static_assert(sizeof(struct virtio_blk_zone_report) == 64,
	       "blk zone report header");

/*
 * Config space, virtio 1.2 5.2.4.  Older headers end the structure
 * after secure_erase_sector_alignment, newer ones embed the zoned
 * characteristics there: whichever we have, the 1.2 layout is 96 bytes.
 */
_Static_assert(offsetof(struct virtio_blk_config, capacity) == 0, "capacity");
_Static_assert(offsetof(struct virtio_blk_config, size_max) == 8, "size_max");
_Static_assert(offsetof(struct virtio_blk_config, seg_max) == 12, "seg_max");
_Static_assert(offsetof(struct virtio_blk_config, geometry) == 16, "geometry");
_Static_assert(offsetof(struct virtio_blk_config, blk_size) == 20, "blk_size");
_Static_assert(offsetof(struct virtio_blk_config, physical_block_exp) == 24,
	       "topology");
_Static_assert(offsetof(struct virtio_blk_config, opt_io_size) == 28,
	       "opt_io_size");
_Static_assert(offsetof(struct virtio_blk_config, wce) == 32, "writeback");
_Static_assert(offsetof(struct virtio_blk_config, num_queues) == 34,
	       "num_queues");
_Static_assert(offsetof(struct virtio_blk_config, max_discard_sectors) == 36,
	       "discard");
_Static_assert(offsetof(struct virtio_blk_config, max_write_zeroes_sectors)
	       == 48, "write zeroes");
_Static_assert(offsetof(struct virtio_blk_config, write_zeroes_may_unmap)
	       == 56, "write_zeroes_may_unmap");
_Static_assert(offsetof(struct virtio_blk_config, max_secure_erase_sectors)
	       == 60, "secure erase");
_Static_assert(offsetof(struct virtio_blk_config,
			secure_erase_sector_alignment) == 68,
	       "secure_erase_sector_alignment");
#define VIRTIO_BLK_CONFIG_ZONED_OFFSET	72
#define VIRTIO_BLK_CONFIG_SIZE_1_2	(VIRTIO_BLK_CONFIG_ZONED_OFFSET + \
		sizeof(struct virtio_blk_zoned_characteristics))
_Static_assert(sizeof(struct virtio_blk_config) ==
	       VIRTIO_BLK_CONFIG_ZONED_OFFSET ||
	       sizeof(struct virtio_blk_config) == VIRTIO_BLK_CONFIG_SIZE_1_2,
	       "blk config is the virtio 1.2 layout, with or without zoned");
_Static_assert(VIRTIO_BLK_CONFIG_SIZE_1_2 == 96, "blk config size");

/* Request header (type, reserved/ioprio, sector); a status byte ends it. */
_Static_assert(sizeof(struct virtio_blk_outhdr) == 16, "blk request header");
_Static_assert(offsetof(struct virtio_blk_outhdr, sector) == 8,
	       "blk request sector");
_Static_assert(sizeof(struct virtio_blk_discard_write_zeroes) == 16,
	       "blk discard segment");

/* ---- virtio-pci (modern) ------------------------------------------------ */

#define VIRTIO_PCI_VENDOR_ID		0x1af4
/* Modern (non-transitional) device id: 0x1040 + virtio device id. */
#define VIRTIO_PCI_DEVICE_ID_MODERN(virtio_id)	(0x1040u + (virtio_id))
/* Non-transitional devices have PCI revision 1 or more. */
#define VIRTIO_PCI_REVISION_MODERN	1

/* ISR status bits (the config-change bit is in the UAPI header). */
#define VIRTIO_PCI_ISR_QUEUE		0x1

#ifndef VIRTIO_PCI_COMMON_Q_NDATA
#define VIRTIO_PCI_COMMON_Q_NDATA	56	/* queue_notify_data */
#endif
#ifndef VIRTIO_PCI_COMMON_Q_RESET
#define VIRTIO_PCI_COMMON_Q_RESET	58	/* queue_reset */
#endif
/*
 * The virtio 1.2 common config ends with queue_notify_data and
 * queue_reset after struct virtio_pci_common_cfg's last field.
 */
#define VIRTIO_PCI_COMMON_CFG_SIZE_1_2	60

_Static_assert(sizeof(struct virtio_pci_cap) == 16, "PCI capability");
_Static_assert(sizeof(struct virtio_pci_cap64) == 24, "64-bit capability");
_Static_assert(sizeof(struct virtio_pci_notify_cap) == 20, "notify capability");
_Static_assert(sizeof(struct virtio_pci_cfg_cap) == 20, "PCI cfg capability");
_Static_assert(sizeof(struct virtio_pci_common_cfg) == 56,
	       "common config up to queue_used_hi");
_Static_assert(offsetof(struct virtio_pci_common_cfg, device_status) ==
	       VIRTIO_PCI_COMMON_STATUS, "common config device_status");
_Static_assert(offsetof(struct virtio_pci_common_cfg, queue_notify_off) ==
	       VIRTIO_PCI_COMMON_Q_NOFF, "common config queue_notify_off");
_Static_assert(offsetof(struct virtio_pci_common_cfg, queue_used_hi) ==
	       VIRTIO_PCI_COMMON_Q_USEDHI, "common config queue_used_hi");
_Static_assert(VIRTIO_PCI_COMMON_Q_USEDHI + 4 == VIRTIO_PCI_COMMON_Q_NDATA &&
	       VIRTIO_PCI_COMMON_Q_RESET + 2 == VIRTIO_PCI_COMMON_CFG_SIZE_1_2,
	       "virtio 1.2 common config tail");

#endif
