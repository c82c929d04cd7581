/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The virtio-blk test (guest.blk=1): the first modern virtio-blk function
 * on bus 0 is driven through one polled split virtqueue.  It reads the
 * capacity, asks for the serial (GET_ID), writes a pattern to extents
 * spread over the disk, reads every written sector back one request per
 * sector (so the ring wraps and several chains are in flight), flushes,
 * checks that a read past the end fails with IOERR, and resets the device.
 *
 * The pattern, which the host recomputes to check the disk image:
 *   sector s (512 bytes, s counted from 0) holds 128 little-endian 32-bit
 *   words; word w (0..127) is
 *       (seed * 0x9E3779B1 + s * 0x85EBCA77 + w) mod 2^32
 *   with seed from guest.blk_seed= (default 1).
 * Extents: BLK_EXTENT_SECTORS sectors starting at 0, capacity/4,
 * capacity/2, 3*capacity/4 (each rounded down to a multiple of 8, and
 * at most capacity-BLK_EXTENT_SECTORS) and capacity-BLK_EXTENT_SECTORS;
 * an extent overlapping the previous one is dropped.  Each is reported
 * on its own line.
 *
 * Report lines:
 *   guest: blk 00:<dd>.<f> features=0x<offered> negotiated=0x<accepted> queue_size=<n> ring=split|packed
 *   guest: blk 00:<dd>.<f> extent sector=<s> count=<n>
 *   guest: blk 00:<dd>.<f> capacity=<sectors> id="<serial>" wrote=<sectors>
 *          read=<sectors> verified=<sectors> flush=ok|none oob=ioerr
 *          requests=<n> kicks=<n> suppressed=<n>            (one line)
 *   guest: blk 00:<dd>.<f> FAIL reason="<text>"    or   guest: blk none
 * flush=none: the device does not offer VIRTIO_BLK_F_FLUSH (no cache).
 * The summary line ends in irqs=<n>: MSI-X or INTx interrupts taken (0
 * unless guest.blk_irq=1 or intx).
 *
 * Opt-in variants (struct blk_options, from main.c):
 *   guest.blk_irq=1  MSI-X: table entry 0 -> VEC_VIRTIO on the BSP, queue
 *     0 on it (NO_VECTOR read back is a FAIL); every completion is waited
 *     for by the interrupt count advancing before used->idx is read.  An
 *     interrupt that finds nothing new (a stale eventfd) is tolerated.
 *   guest.blk_irq=intx  the same with MSI-X left disabled and queue 0 on
 *     NO_VECTOR: the Interrupt Line's IOAPIC pin, level-triggered, to
 *     VEC_VIRTIO_INTX on the BSP, whose handler reads the ISR.  Line:
 *       guest: blk 00:<dd>.<f> intx pin=<p> line=<gsi> vector=0x32
 *   guest.blk_reset=1  after pass 1: write the pass-2 extents with the
 *     pattern of seed ~seed, kick, wait for one completion only, reset,
 *     set the device up from scratch and run pass 2 (write, read back,
 *     flush) with seed+1 on the pass-2 extents: each pass-1 extent moved
 *     up 8 sectors (down 8 if that passes the end), dropped if it would
 *     overlap any other.  Lines:
 *       guest: blk 00:<dd>.<f> pass2 extent sector=<s> count=<n>
 *       guest: blk 00:<dd>.<f> restart=ok pass2_verified=<sectors>
 *   guest.blk_loop_ms=N  then rounds of write 8 sectors + read + verify on
 *     the loop extent (sector (capacity/8) rounded down to 8; round r,
 *     from 0, writes seed seed+2+r) for N "ms" of TSC at 1 GHz (so N/4 to
 *     N real ms on a 1-4 GHz TSC), each request timing out after 2000
 *     (guest.blk_loop_timeout_ms=T: after T, for a back-end restarted
 *     under the loop).  guest.blk_loop_recover=1: a round that fails
 *     with DEVICE_NEEDS_RESET set resets the device, sets it up again
 *     and runs again (at most BLK_LOOP_RESETS times; each takes a
 *     virtqueue page of the pool):
 *       guest: blk 00:<dd>.<f> loop reset after needs-reset round=<n>
 *     and the ok line ends with resets=<k>.  guest.blk_loop_depth=N (2 to
 *     BLK_EXTENTS): each round writes N extents of 8 sectors one after
 *     the other (N writes in flight at once), then reads every sector
 *     back, one request each, up to BLK_INFLIGHT in flight: a back-end
 *     killed under the loop leaves requests in flight that complete out
 *     of order.  The loop extent is then 8 * N sectors.
 *       guest: blk 00:<dd>.<f> loop extent sector=<s> count=8
 *       guest: blk loop started
 *       guest: blk 00:<dd>.<f> loop rounds=<n> ok
 *       guest: blk 00:<dd>.<f> loop stopped reason="needs-reset"|"timeout" rounds=<n>
 *     A stopped loop passes only with guest.blk_loop_expect=stop, which in
 *     turn fails a loop that ran to the end.  After a stop the final
 *     reset's failure is only a warning.
 *   guest.blk_idle_ms=N  before the final reset, leave the started device
 *     alone for N "ms" of TSC at 1 GHz (a CPL3 spin, no requests), so the
 *     host can check that the back-end does not spin meanwhile:
 *       guest: blk idle start ms=<n>
 *       guest: blk idle end
 *     guest.blk_idle_verify=1: then the pass again on the same extents
 *     (write, read back, flush; same seed, so the image ends the same), for
 *     a back-end replaced while the rings were idle:
 *       guest: blk 00:<dd>.<f> idle pass verified=<sectors>
 */
#include "guest.h"
#include "platform.h"
#include "virtio.h"

#define PCI_CFG_INTERRUPT_LINE	0x3c
#define PCI_CFG_INTERRUPT_PIN	0x3d

#define BLK_SECTOR		VIRTIO_BLK_SECTOR_SIZE
#define BLK_WORDS		(BLK_SECTOR / 4)
#define BLK_EXTENT_SECTORS	8
#define BLK_EXTENTS		5
/* Three descriptors per request: header, data, status. */
#define BLK_INFLIGHT		(VIRTQ_SIZE_MAX / 3)
#define BLK_TIMEOUT_MS		20000
#define BLK_LOOP_TIMEOUT_MS	2000
#define BLK_LOOP_RESETS		16
#define BLK_PASS2_SHIFT		8
/* Spins on the interrupt count between looks at device_status. */
#define BLK_IRQ_STATUS_EVERY	(1u << 16)

struct blk_req {
	struct virtio_blk_outhdr hdr;
	uint8_t status;
};

struct blk_extent {
	uint64_t sector;
	uint32_t count;
};

struct blk_test {
	struct virtio_dev vd;
	struct virtq vq;
	uint64_t capacity;
	uint32_t seed;
	uint64_t requests;
	unsigned int slot_of[VIRTQ_SIZE_MAX];	/* by chain head */
	const struct blk_options *opt;
	uint64_t timeout_ms;		/* per completion */
	uint64_t irq_base;		/* virtio_irq_count at the start */
	uint64_t irq_seen;		/* the count when used_seen was read */
	uint16_t used_seen;		/* virtq_used_idx() after an interrupt */
	uint64_t irqs_empty;		/* interrupts that found nothing new */
	uint32_t intx_pin;		/* routed IOAPIC pin, 0: none */
};

static struct blk_test blk;
static struct blk_req blk_reqs[BLK_INFLIGHT];
static uint8_t blk_wbuf[BLK_EXTENTS][BLK_EXTENT_SECTORS * BLK_SECTOR]
	__attribute__((aligned(4096)));
static uint8_t blk_rbuf[BLK_INFLIGHT][BLK_SECTOR]
	__attribute__((aligned(4096)));
static char blk_id[VIRTIO_BLK_ID_BYTES + 1];

static void blk_pattern(uint32_t seed, uint64_t sector, uint8_t *buf)
{
	uint32_t base = seed * 0x9E3779B1u + (uint32_t)sector * 0x85EBCA77u;

	for (uint32_t w = 0; w < BLK_WORDS; w++) {
		uint32_t v = base + w;

		buf[4 * w] = (uint8_t)v;
		buf[4 * w + 1] = (uint8_t)(v >> 8);
		buf[4 * w + 2] = (uint8_t)(v >> 16);
		buf[4 * w + 3] = (uint8_t)(v >> 24);
	}
}

/* Queue one request in slot `slot`; data may be NULL (FLUSH). */
static const char *blk_submit(struct blk_test *t, unsigned int slot,
			      uint32_t type, uint64_t sector, void *data,
			      uint32_t len)
{
	struct blk_req *r = &blk_reqs[slot];
	struct virtq_buf b[3];
	unsigned int n = 0;
	int head;

	r->hdr.type = type;
	r->hdr.ioprio = 0;
	r->hdr.sector = sector;
	r->status = 0xff;	/* a device that never writes it is caught */
	b[n++] = (struct virtq_buf){ &r->hdr, sizeof(r->hdr), false };
	if (data)
		b[n++] = (struct virtq_buf){ data, len, type != VIRTIO_BLK_T_OUT };
	b[n++] = (struct virtq_buf){ &r->status, 1, true };
	head = virtq_add(&t->vq, b, n);
	if (head < 0)
		return "virtqueue full";
	t->slot_of[head] = slot;
	t->requests++;
	return NULL;
}

/*
 * guest.blk_irq=1: until used->idx, read after an interrupt, shows a
 * completion not yet taken, wait for the interrupt count to move.  The
 * count is read before used->idx, so a completion published after that
 * read brings an interrupt that moves the count again: none is missed,
 * some interrupts may find nothing (counted in irqs_empty).
 */
static const char *blk_wait_irq(struct blk_test *t)
{
	struct virtq *vq = &t->vq;
	uint64_t deadline = tsc_deadline_ms(t->timeout_ms);
	uint32_t spins = 0;

	while (t->used_seen == vq->last_used) {
		uint64_t n = virtio_irq_count;
		uint8_t status;

		if (n != t->irq_seen) {
			t->irq_seen = n;
			__asm__ volatile("" ::: "memory");
			t->used_seen = virtq_used_idx(vq);
			if (t->used_seen == vq->last_used)
				t->irqs_empty++;
			continue;
		}
		if (++spins % BLK_IRQ_STATUS_EVERY == 0 &&
		    virtio_status(&t->vd) & VIRTIO_CONFIG_S_NEEDS_RESET)
			return "virtio device needs reset";
		if (tsc_expired(deadline)) {
			uint16_t used = virtq_used_idx(vq);

			status = virtio_status(&t->vd);
			guest_printf("guest: warning: blk no interrupt: irqs=%llu used idx=%u taken=%u status=0x%02x\n",
				     (unsigned long long)(n - t->irq_base),
				     used, vq->last_used, status);
			if (status & VIRTIO_CONFIG_S_NEEDS_RESET)
				return "virtio device needs reset";
			return used != vq->last_used ?
			       "virtio completion without an interrupt" :
			       "virtio request timed out";
		}
		cpu_relax();
	}
	return NULL;
}

/* The slot of the next completed request, and the bytes the device wrote. */
static const char *blk_complete(struct blk_test *t, unsigned int *slot,
				uint32_t *len)
{
	uint16_t head;
	const char *r = NULL;

	if (t->opt->irq)
		r = blk_wait_irq(t);
	if (!r)
		r = virtq_wait(&t->vq, &head, len, t->timeout_ms);
	if (!r)
		*slot = t->slot_of[head];
	return r;
}

/* One request, waited for; its status. */
static const char *blk_sync(struct blk_test *t, uint32_t type, uint64_t sector,
			    void *data, uint32_t len, uint8_t *status)
{
	unsigned int slot;
	uint32_t used;
	const char *r = blk_submit(t, 0, type, sector, data, len);

	if (r)
		return r;
	virtq_kick(&t->vq);
	r = blk_complete(t, &slot, &used);
	if (!r)
		*status = blk_reqs[slot].status;
	return r;
}

static unsigned int blk_plan(uint64_t capacity, struct blk_extent *ext)
{
	uint64_t starts[BLK_EXTENTS] = {
		0, capacity / 4, capacity / 2, capacity / 4 * 3,
		capacity - BLK_EXTENT_SECTORS,
	};
	uint64_t end = 0;
	unsigned int n = 0;

	for (unsigned int i = 0; i < BLK_EXTENTS; i++) {
		uint64_t s = starts[i] & ~(uint64_t)(BLK_EXTENT_SECTORS - 1);

		/* Never past the end; the last extent is the last sectors. */
		if (i == BLK_EXTENTS - 1 || s > starts[BLK_EXTENTS - 1])
			s = starts[BLK_EXTENTS - 1];
		if (n && s < end)
			continue;
		ext[n].sector = s;
		ext[n].count = BLK_EXTENT_SECTORS;
		end = s + BLK_EXTENT_SECTORS;
		n++;
	}
	return n;
}

/* One write per extent, slot i for extent i, pattern of `seed`; kicked. */
static const char *blk_submit_writes(struct blk_test *t,
				     const struct blk_extent *ext,
				     unsigned int n, uint32_t seed)
{
	const char *r;

	for (unsigned int i = 0; i < n; i++) {
		for (uint32_t k = 0; k < ext[i].count; k++)
			blk_pattern(seed, ext[i].sector + k,
				    blk_wbuf[i] + k * BLK_SECTOR);
		r = blk_submit(t, i, VIRTIO_BLK_T_OUT, ext[i].sector,
			       blk_wbuf[i], ext[i].count * BLK_SECTOR);
		if (r)
			return r;
	}
	virtq_kick(&t->vq);
	return NULL;
}

static const char *blk_write_extents(struct blk_test *t,
				     const struct blk_extent *ext,
				     unsigned int n, uint64_t *wrote)
{
	const char *r = blk_submit_writes(t, ext, n, t->seed);

	if (r)
		return r;
	for (unsigned int i = 0; i < n; i++) {
		unsigned int slot;
		uint32_t len;

		r = blk_complete(t, &slot, &len);
		if (r)
			return r;
		if (blk_reqs[slot].status != VIRTIO_BLK_S_OK) {
			guest_printf("guest: warning: blk write sector=%llu status=%u\n",
				     (unsigned long long)ext[slot].sector,
				     blk_reqs[slot].status);
			return "write failed";
		}
		*wrote += ext[slot].count;
	}
	return NULL;
}

/* Every written sector, one request each, up to BLK_INFLIGHT at a time. */
static const char *blk_read_verify(struct blk_test *t,
				   const struct blk_extent *ext,
				   unsigned int n, uint64_t *read,
				   uint64_t *verified)
{
	static uint8_t want[BLK_SECTOR];
	uint64_t sector_of[BLK_INFLIGHT];
	bool busy[BLK_INFLIGHT] = { false };
	unsigned int e = 0, inflight = 0;
	uint32_t k = 0;
	const char *r;

	while (e < n || inflight) {
		unsigned int slot;
		uint32_t len;

		/* Refill every free slot, then one kick for the batch. */
		for (slot = 0; slot < BLK_INFLIGHT && e < n; slot++) {
			if (busy[slot])
				continue;
			sector_of[slot] = ext[e].sector + k;
			memset(blk_rbuf[slot], 0, BLK_SECTOR);
			r = blk_submit(t, slot, VIRTIO_BLK_T_IN,
				       sector_of[slot], blk_rbuf[slot],
				       BLK_SECTOR);
			if (r)
				return r;
			busy[slot] = true;
			inflight++;
			if (++k == ext[e].count) {
				k = 0;
				e++;
			}
		}
		virtq_kick(&t->vq);
		r = blk_complete(t, &slot, &len);
		if (r)
			return r;
		busy[slot] = false;
		inflight--;
		if (blk_reqs[slot].status != VIRTIO_BLK_S_OK) {
			guest_printf("guest: warning: blk read sector=%llu status=%u\n",
				     (unsigned long long)sector_of[slot],
				     blk_reqs[slot].status);
			return "read failed";
		}
		if (len != BLK_SECTOR + 1)
			guest_printf("guest: warning: blk read sector=%llu used len=%u, expected %u\n",
				     (unsigned long long)sector_of[slot], len,
				     BLK_SECTOR + 1);
		(*read)++;
		blk_pattern(t->seed, sector_of[slot], want);
		if (memcmp(blk_rbuf[slot], want, BLK_SECTOR)) {
			guest_printf("guest: warning: blk sector=%llu does not hold the pattern\n",
				     (unsigned long long)sector_of[slot]);
			return "read-back mismatch";
		}
		(*verified)++;
	}
	return NULL;
}

/* The serial, printable: not NUL-terminated when it has all 20 bytes. */
static void blk_id_text(void)
{
	for (unsigned int i = 0; i < VIRTIO_BLK_ID_BYTES; i++) {
		char c = blk_id[i];

		if (!c)
			break;
		if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
			blk_id[i] = '?';
	}
	blk_id[VIRTIO_BLK_ID_BYTES] = '\0';
}

/* Features, queue 0 (on MSI-X entry 0 if enabled), DRIVER_OK. */
static const char *blk_start(struct blk_test *t)
{
	const char *r = virtio_negotiate(&t->vd, 1ull << VIRTIO_BLK_F_FLUSH);

	if (r)
		return r;
	if (t->vd.offered & (1ull << VIRTIO_BLK_F_RO))
		return "device is read-only";
	if (!t->vd.device ||
	    t->vd.device_len < offsetof(struct virtio_blk_config, size_max))
		return "device config window too small for capacity";
	r = virtq_setup(&t->vd, &t->vq, 0);
	if (r)
		return r;
	t->used_seen = 0;
	t->irq_seen = virtio_irq_count;
	return virtio_driver_ok(&t->vd);
}

static const char *blk_flush(struct blk_test *t, const char **flush)
{
	const char *r;
	uint8_t status;

	*flush = "none";
	if (!(t->vd.features & (1ull << VIRTIO_BLK_F_FLUSH)))
		return NULL;
	r = blk_sync(t, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, &status);
	if (r)
		return r;
	if (status != VIRTIO_BLK_S_OK)
		return "FLUSH failed";
	*flush = "ok";
	return NULL;
}

/*
 * One pass over extents: print them (tag "" or "pass2 ") so the host can
 * check the image, write them, read every sector back and compare, flush.
 */
struct blk_pass_result {
	uint64_t wrote, read, verified;
	const char *flush;
};

static const char *blk_pass(struct blk_test *t, const struct blk_extent *ext,
			    unsigned int n, const char *tag,
			    struct blk_pass_result *res)
{
	const char *r;

	for (unsigned int i = 0; i < n; i++)
		guest_printf("guest: blk 00:%02x.%x %sextent sector=%llu count=%u\n",
			     t->vd.pci.slot, t->vd.pci.fn, tag,
			     (unsigned long long)ext[i].sector, ext[i].count);
	r = blk_write_extents(t, ext, n, &res->wrote);
	if (!r)
		r = blk_read_verify(t, ext, n, &res->read, &res->verified);
	if (!r)
		r = blk_flush(t, &res->flush);
	return r;
}


static bool blk_overlaps(uint64_t s, uint32_t n, const struct blk_extent *ext,
			 unsigned int count)
{
	for (unsigned int i = 0; i < count; i++)
		if (s < ext[i].sector + ext[i].count && ext[i].sector < s + n)
			return true;
	return false;
}

/* Pass-1 extents moved by BLK_PASS2_SHIFT sectors; see the top. */
static unsigned int blk_plan2(uint64_t capacity, const struct blk_extent *ext1,
			      unsigned int n1, struct blk_extent *ext2)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < n1; i++) {
		uint64_t s = ext1[i].sector + BLK_PASS2_SHIFT;

		if (s + BLK_EXTENT_SECTORS > capacity) {
			if (ext1[i].sector < BLK_PASS2_SHIFT)
				continue;
			s = ext1[i].sector - BLK_PASS2_SHIFT;
		}
		if (blk_overlaps(s, BLK_EXTENT_SECTORS, ext1, n1) ||
		    blk_overlaps(s, BLK_EXTENT_SECTORS, ext2, n))
			continue;
		ext2[n].sector = s;
		ext2[n].count = BLK_EXTENT_SECTORS;
		n++;
	}
	return n;
}

/*
 * guest.blk_reset=1: stale writes in flight, reset, set up again, pass 2.
 * The stale writes target the pass-2 extents, so the host's check of
 * those also shows that none of them landed after the reset.
 */
static const char *blk_restart(struct blk_test *t,
			       const struct blk_extent *ext1, unsigned int n1)
{
	struct blk_extent ext2[BLK_EXTENTS];
	struct blk_pass_result res = { 0 };
	unsigned int n, slot;
	uint32_t len;
	const char *r;

	n = blk_plan2(t->capacity, ext1, n1, ext2);
	if (!n)
		return "disk too small for pass 2";
	r = blk_submit_writes(t, ext2, n, ~t->opt->seed);
	if (r)
		return r;
	r = blk_complete(t, &slot, &len);	/* one: the rest stay in flight */
	if (r)
		return r;
	r = virtio_reset(&t->vd);
	if (r)
		return r;
	r = blk_start(t);
	if (r)
		return r;
	t->seed = t->opt->seed + 1;
	r = blk_pass(t, ext2, n, "pass2 ", &res);
	if (r)
		return r;
	if (res.verified != res.wrote)
		return "pass 2 verified fewer sectors than it wrote";
	guest_printf("guest: blk 00:%02x.%x restart=ok pass2_verified=%llu\n",
		     t->vd.pci.slot, t->vd.pci.fn,
		     (unsigned long long)res.verified);
	return NULL;
}

/* One loop round: write the loop extent, read it back, compare. */
static const char *blk_loop_round(struct blk_test *t, uint64_t sector,
				  uint32_t seed)
{
	uint8_t *rbuf = &blk_rbuf[0][0];
	uint32_t bytes = BLK_EXTENT_SECTORS * BLK_SECTOR;
	const char *r;
	uint8_t status;

	_Static_assert(BLK_INFLIGHT >= BLK_EXTENT_SECTORS,
		       "the read buffers hold one extent");
	for (uint32_t k = 0; k < BLK_EXTENT_SECTORS; k++)
		blk_pattern(seed, sector + k, blk_wbuf[0] + k * BLK_SECTOR);
	r = blk_sync(t, VIRTIO_BLK_T_OUT, sector, blk_wbuf[0], bytes, &status);
	if (r)
		return r;
	if (status != VIRTIO_BLK_S_OK)
		return "loop write failed";
	memset(rbuf, 0, bytes);
	r = blk_sync(t, VIRTIO_BLK_T_IN, sector, rbuf, bytes, &status);
	if (r)
		return r;
	if (status != VIRTIO_BLK_S_OK)
		return "loop read failed";
	if (memcmp(rbuf, blk_wbuf[0], bytes))
		return "loop read-back mismatch";
	return NULL;
}

/*
 * guest.blk_loop_depth=N: one round over N adjacent extents, N writes and
 * then the reads in flight together.
 */
static const char *blk_loop_round_deep(struct blk_test *t, uint64_t sector,
				       unsigned int depth, uint32_t seed)
{
	struct blk_extent ext[BLK_EXTENTS];
	uint64_t wrote = 0, read = 0, verified = 0;
	const char *r;

	for (unsigned int i = 0; i < depth; i++)
		ext[i] = (struct blk_extent){
			.sector = sector + (uint64_t)i * BLK_EXTENT_SECTORS,
			.count = BLK_EXTENT_SECTORS,
		};
	t->seed = seed;
	r = blk_write_extents(t, ext, depth, &wrote);
	if (!r)
		r = blk_read_verify(t, ext, depth, &read, &verified);
	if (!r && verified != wrote)
		r = "loop verified fewer sectors than it wrote";
	return r;
}

/* guest.blk_loop_ms=N; *stopped: the loop ended early, not a failure. */
static const char *blk_loop(struct blk_test *t, bool *stopped)
{
	uint64_t sector = (t->capacity / 8) & ~(uint64_t)(BLK_EXTENT_SECTORS - 1);
	unsigned int depth = t->opt->loop_depth > 1 ? t->opt->loop_depth : 1;
	uint64_t deadline, rounds = 0, resets = 0;
	const char *r = NULL, *why = NULL;

	*stopped = false;
	if (depth > BLK_EXTENTS)
		return "guest.blk_loop_depth is larger than the write buffers";
	if (sector + (uint64_t)depth * BLK_EXTENT_SECTORS > t->capacity)
		return "disk too small for the loop";
	guest_printf("guest: blk 00:%02x.%x loop extent sector=%llu count=%u\n",
		     t->vd.pci.slot, t->vd.pci.fn, (unsigned long long)sector,
		     depth * BLK_EXTENT_SECTORS);
	guest_printf("guest: blk loop started\n");
	t->timeout_ms = t->opt->loop_timeout_ms ? t->opt->loop_timeout_ms :
			BLK_LOOP_TIMEOUT_MS;
	deadline = tsc_deadline_ms(t->opt->loop_ms);
	while (!tsc_expired(deadline)) {
		uint32_t seed = t->opt->seed + 2 + (uint32_t)rounds;

		r = depth > 1 ? blk_loop_round_deep(t, sector, depth, seed) :
				blk_loop_round(t, sector, seed);
		if (r && t->opt->loop_recover && resets < BLK_LOOP_RESETS &&
		    virtio_status(&t->vd) & VIRTIO_CONFIG_S_NEEDS_RESET) {
			guest_printf("guest: blk 00:%02x.%x loop reset after needs-reset round=%llu\n",
				     t->vd.pci.slot, t->vd.pci.fn,
				     (unsigned long long)rounds);
			resets++;
			r = virtio_reset(&t->vd);
			if (!r)
				r = blk_start(t);
			if (r)
				break;
			continue;	/* the same round again */
		}
		if (r)
			break;
		rounds++;
	}
	t->timeout_ms = BLK_TIMEOUT_MS;
	if (r) {
		if (virtio_status(&t->vd) & VIRTIO_CONFIG_S_NEEDS_RESET)
			why = "needs-reset";
		else if (str_eq_n(r, strlen(r), "virtio request timed out"))
			why = "timeout";
	}
	if (!why) {
		if (r)
			return r;
		guest_printf("guest: blk 00:%02x.%x loop rounds=%llu ok resets=%llu\n",
			     t->vd.pci.slot, t->vd.pci.fn,
			     (unsigned long long)rounds,
			     (unsigned long long)resets);
		return NULL;
	}
	guest_printf("guest: blk 00:%02x.%x loop stopped reason=\"%s\" rounds=%llu\n",
		     t->vd.pci.slot, t->vd.pci.fn, why,
		     (unsigned long long)rounds);
	*stopped = true;
	return NULL;
}

/* Route the function's INTx pin (its Interrupt Line, a GSI) to the BSP. */
static const char *blk_intx_enable(struct blk_test *t)
{
	const struct pci_dev *pd = &t->vd.pci;
	uint8_t pin = pci_cfg_read8(pd, PCI_CFG_INTERRUPT_PIN);
	uint8_t line = pci_cfg_read8(pd, PCI_CFG_INTERRUPT_LINE);

	guest_printf("guest: blk 00:%02x.%x intx pin=%u line=%u vector=0x%02x\n",
		     pd->slot, pd->fn, pin, line, VEC_VIRTIO_INTX);
	if (pin != 1)
		return "virtio-blk does not use INTA";
	/* Our IOAPIC takes GSIs from 0; an ISA line would be edge. */
	if (line < 16 || line >= ioapic_pins(PLATFORM_IOAPIC_BASE))
		return "Interrupt Line is no PCI IOAPIC pin";
	virtio_intx_isr_reg = t->vd.isr;
	ioapic_route_level(PLATFORM_IOAPIC_BASE, line, VEC_VIRTIO_INTX,
			   t->opt->apic_id);
	t->intx_pin = line;
	return NULL;
}

static const char *blk_run(struct blk_test *t, const struct pci_dev *pd)
{
	struct blk_extent ext[BLK_EXTENTS];
	struct blk_pass_result res = { 0 };
	const char *r;
	unsigned int n;
	uint8_t status;
	bool stopped = false;

	r = virtio_pci_open(pd, &t->vd);
	if (r)
		return r;
	if (t->opt->intx) {
		r = blk_intx_enable(t);
		if (r)
			return r;
	} else if (t->opt->irq) {
		r = virtio_msix_enable(&t->vd, t->opt->apic_id);
		if (r)
			return r;
	}
	r = blk_start(t);
	if (r)
		return r;
	guest_printf("guest: blk 00:%02x.%x features=0x%llx negotiated=0x%llx queue_size=%u ring=%s\n",
		     t->vd.pci.slot, t->vd.pci.fn,
		     (unsigned long long)t->vd.offered,
		     (unsigned long long)t->vd.features, t->vq.size,
		     virtio_ring_name(&t->vd));

	t->capacity = virtio_cfg_read64(&t->vd,
				offsetof(struct virtio_blk_config, capacity));
	if (t->capacity < BLK_EXTENT_SECTORS)
		return "capacity below 8 sectors";

	memset(blk_id, 0, sizeof(blk_id));
	r = blk_sync(t, VIRTIO_BLK_T_GET_ID, 0, blk_id, VIRTIO_BLK_ID_BYTES,
		     &status);
	if (r)
		return r;
	if (status != VIRTIO_BLK_S_OK)
		return "GET_ID failed";
	blk_id_text();

	n = blk_plan(t->capacity, ext);
	r = blk_pass(t, ext, n, "", &res);
	if (r)
		return r;

	/* One sector past the end: the device must refuse it. */
	r = blk_sync(t, VIRTIO_BLK_T_IN, t->capacity, blk_rbuf[0], BLK_SECTOR,
		     &status);
	if (r)
		return r;
	if (status != VIRTIO_BLK_S_IOERR) {
		guest_printf("guest: warning: blk read past capacity status=%u\n",
			     status);
		return "read past capacity did not fail with IOERR";
	}

	guest_printf("guest: blk 00:%02x.%x capacity=%llu id=\"%s\" wrote=%llu read=%llu verified=%llu flush=%s oob=ioerr requests=%llu kicks=%llu suppressed=%llu irqs=%llu\n",
		     t->vd.pci.slot, t->vd.pci.fn,
		     (unsigned long long)t->capacity, blk_id,
		     (unsigned long long)res.wrote, (unsigned long long)res.read,
		     (unsigned long long)res.verified, res.flush,
		     (unsigned long long)t->requests,
		     (unsigned long long)t->vq.kicks,
		     (unsigned long long)t->vq.kicks_suppressed,
		     (unsigned long long)(virtio_irq_count - t->irq_base));
	if (t->opt->irq && virtio_irq_count == t->irq_base)
		return t->opt->intx ? "no INTx interrupt with guest.blk_irq=intx" :
				      "no MSI-X interrupt with guest.blk_irq=1";

	if (t->opt->reset) {
		r = blk_restart(t, ext, n);
		if (r)
			return r;
	}
	if (t->opt->loop_ms) {
		r = blk_loop(t, &stopped);
		if (r)
			return r;
	}

	if (t->opt->idle_ms) {
		uint64_t deadline = tsc_deadline_ms(t->opt->idle_ms);

		guest_printf("guest: blk idle start ms=%llu\n",
			     (unsigned long long)t->opt->idle_ms);
		while (!tsc_expired(deadline))
			;
		guest_printf("guest: blk idle end\n");
		if (t->opt->idle_verify) {
			struct blk_pass_result again = { 0 };

			t->seed = t->opt->seed;
			r = blk_pass(t, ext, n, "idle ", &again);
			if (r)
				return r;
			if (again.verified != again.wrote)
				return "idle pass verified fewer sectors than it wrote";
			guest_printf("guest: blk 00:%02x.%x idle pass verified=%llu\n",
				     t->vd.pci.slot, t->vd.pci.fn,
				     (unsigned long long)again.verified);
		}
	}

	r = virtio_reset(&t->vd);
	if (r && stopped) {
		guest_printf("guest: warning: blk reset after the stopped loop: %s\n",
			     r);
		r = NULL;
	}
	if (r)
		return r;
	if (t->opt->loop_ms && stopped != t->opt->loop_expect_stop)
		return stopped ? "blk loop stopped" :
				 "blk loop ran to the end, expected it to stop";
	return NULL;
}

const char *virtio_blk_test(const struct blk_options *o)
{
	struct blk_test *t = &blk;
	struct pci_dev pd;
	const char *r;

	memset(t, 0, sizeof(*t));
	t->opt = o;
	t->seed = o->seed;
	t->timeout_ms = BLK_TIMEOUT_MS;
	t->irq_base = virtio_irq_count;
	if (!pci_find(VIRTIO_PCI_VENDOR_ID,
		      VIRTIO_PCI_DEVICE_ID_MODERN(VIRTIO_ID_BLOCK), 0,
		      &pd)) {
		guest_printf("guest: blk none\n");
		return "no virtio-blk device";
	}
	r = blk_run(t, &pd);
	if (t->intx_pin)
		ioapic_mask(PLATFORM_IOAPIC_BASE, t->intx_pin);
	if (r)
		guest_printf("guest: blk 00:%02x.%x FAIL reason=\"%s\"\n",
			     pd.slot, pd.fn, r);
	return r;
}
