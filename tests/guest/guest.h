/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The splitvm test guest: constants shared by its assembly and C, and the
 * interfaces between its modules.  See entry.S for the execution model.
 */
#ifndef SPLITVM_GUEST_H
#define SPLITVM_GUEST_H

/* ---- constants, also used from assembly ---- */

#define GUEST_MAX_CPUS		64

/* Physical page the AP start-up code is copied to (SIPI vector 0x08). */
#define GUEST_AP_TRAMPOLINE	0x8000

/*
 * GDT layout.  The 32-bit code segment is only used by APs on their way
 * from real mode to long mode; then one 16-byte TSS descriptor per CPU.
 */
#define SEL_KCODE64		0x08
#define SEL_KDATA		0x10
#define SEL_UDATA		0x18
#define SEL_UCODE64		0x20
#define SEL_KCODE32		0x28
#define SEL_TSS0		0x30
#define SEL_RPL3		3
#define GDT_SIZE		(SEL_TSS0 + 16 * GUEST_MAX_CPUS)

/* Each CPU's TSS sits in a 128-byte slot of one array (see tables.S). */
#define TSS_SIZE		104
#define TSS_SLOT_SHIFT		7

/* CPL0 stacks: one page per CPU, also the TSS RSP0. */
#define KSTACK_SHIFT		12
#define KSTACK_SIZE		(1 << KSTACK_SHIFT)
#define USTACK_SIZE		0x10000		/* the BSP's CPL3 stack */

/* Interrupt vectors and the 16-byte entry stub of each (see isr.S). */
#define VEC_UD			6	/* also the CPL0 gate (isr.S) */
#define VEC_TIMER		0x20
#define VEC_VIRTIO		0x31	/* virtio MSI-X completions (isr.S) */
#define VEC_VIRTIO_INTX		0x32	/* virtio INTx, level (isr.S) */
#define VEC_SPURIOUS		0xff
#define ISR_STUB_SHIFT		4

/*
 * Requests to the CPL0 gate (`call gate_entry`, isr.S): number in %eax;
 * port in %edx, value in %ecx, buffer in %rsi, count in %rcx.
 */
#define GATE_PARK		0	/* cli; hlt forever */
#define GATE_TRIPLE_FAULT	1	/* empty IDT, then #UD */
#define GATE_INTERNAL_ERROR	2	/* int3 at CPL0 */
#define GATE_OUTSB		3	/* rep outsb; %rsi, %rcx advance */
#define GATE_INB		4	/* value in %al */
#define GATE_OUTB		5
#define GATE_INW		6	/* value in %ax */
#define GATE_OUTW		7
#define GATE_INL		8	/* value in %eax */
#define GATE_OUTL		9

/* Which entry point ran (first argument of guest_main()). */
#define BOOT_PROTO_PVH		1
#define BOOT_PROTO_LINUX64	2

/* XEN_ELFNOTE_PHYS32_ENTRY; protocol/pvh.h is C-only (checked in boot.c). */
#define GUEST_PVH_NOTE_TYPE	18

/* Control-register, MSR and paging bits the entry code sets. */
#define CR0_PE			(1 << 0)
#define CR0_PG			0x80000000
#define CR4_PAE			(1 << 5)
#define MSR_EFER		0xc0000080
#define EFER_LME		(1 << 8)
#define CPUID_EXT_FEATURES	0x80000001
#define CPUID_EDX_PDPE1GB_BIT	26
#define PTE_P			(1 << 0)
#define PTE_RW			(1 << 1)
#define PTE_US			(1 << 2)
#define PTE_PS			(1 << 7)
#define PTE_TABLE		(PTE_P | PTE_RW | PTE_US)
#define PTE_LARGE		(PTE_P | PTE_RW | PTE_US | PTE_PS)

#define LAPIC_LVT_MASKED	0x10000

/* RFLAGS for CPL3: interrupts on, IOPL 3 for native port I/O. */
#define RFLAGS_FIXED		(1 << 1)
#define RFLAGS_IF		(1 << 9)
#define RFLAGS_IOPL3		(3 << 12)

#ifndef __ASSEMBLER__

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_NORETURN		__attribute__((noreturn))
#define GUEST_PRINTF(f, a)	__attribute__((format(printf, f, a)))
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

/* ---- boot.c: what the loader handed over, whatever the protocol ---- */

#define BOOT_MEMMAP_MAX		128
#define BOOT_CMDLINE_MAX	0x10000		/* bytes, NUL included */

/* Memory map types: E820's, which PVH shares. */
#define BOOT_MEMMAP_RAM		1
#define BOOT_MEMMAP_ACPI	3
#define BOOT_MEMMAP_NVS		4

struct boot_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

struct boot_info {
	unsigned int protocol;			/* BOOT_PROTO_* */
	unsigned int memmap_entries;
	struct boot_memmap_entry memmap[BOOT_MEMMAP_MAX];
	uint64_t cmdline_paddr;			/* 0: none */
	uint64_t initrd_addr;
	uint64_t initrd_size;			/* 0: no initrd */
	uint64_t rsdp_paddr;			/* 0: scan the BIOS area */
	char cmdline[BOOT_CMDLINE_MAX];		/* boot_copy_cmdline() */
};

/* Normalise the entry's boot structure; false if it is not one. */
bool boot_parse(unsigned int protocol, uint64_t ptr, struct boot_info *bi);
/* Copy the command line into bi->cmdline (after all RAM is mapped). */
void boot_copy_cmdline(struct boot_info *bi);
/* The value of "key=value" in the command line, or NULL. */
const char *boot_option(const struct boot_info *bi, const char *key,
			size_t *len);

/* ---- console.c: COM1, polled ---- */

void console_init(void);
void console_write(const char *s, size_t len);
/* Up to len bytes typed on COM1, waiting at most timeout_ms in all. */
size_t console_read(uint8_t *buf, size_t len, uint64_t timeout_ms);
/* One look at the receiver: a byte typed, or false (one or two exits). */
bool console_poll(uint8_t *c);
void guest_printf(const char *fmt, ...) GUEST_PRINTF(1, 2);
void guest_vprintf(const char *fmt, va_list ap) GUEST_PRINTF(1, 0);

/* ---- cpu.c: CPL3 helpers, the CPL0 gate, exits, faults ---- */

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

/*
 * Port I/O, at CPL3 or CPL0: native where IOPL 3 took effect, else
 * through the CPL0 gate (cpu.c).  io_init() picks.
 */
void io_init(void);
void outb(uint16_t port, uint8_t v);
uint8_t inb(uint16_t port);
void outw(uint16_t port, uint16_t v);
uint16_t inw(uint16_t port);
void outl(uint16_t port, uint32_t v);
uint32_t inl(uint16_t port);
void outsb(uint16_t port, const void *buf, size_t len);

static inline uint32_t mmio_read32(uint64_t addr)
{
	return *(volatile uint32_t *)(uintptr_t)addr;
}

static inline void mmio_write32(uint64_t addr, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)addr = v;
}

static inline uint8_t mmio_read8(uint64_t addr)
{
	return *(volatile uint8_t *)(uintptr_t)addr;
}

static inline void mmio_write8(uint64_t addr, uint8_t v)
{
	*(volatile uint8_t *)(uintptr_t)addr = v;
}

static inline uint16_t mmio_read16(uint64_t addr)
{
	return *(volatile uint16_t *)(uintptr_t)addr;
}

static inline void mmio_write16(uint64_t addr, uint16_t v)
{
	*(volatile uint16_t *)(uintptr_t)addr = v;
}

/*
 * Time-outs count TSC cycles assuming at least 1 GHz: a "second" here lasts
 * between 1/4 s (4 GHz TSC) and 1 s, so callers ask for generous amounts.
 */
#define TSC_CYCLES_PER_MS_MIN	1000000ull
uint64_t tsc_deadline_ms(uint64_t ms);
bool tsc_expired(uint64_t deadline);

/*
 * A GATE_PARK, _TRIPLE_FAULT or _INTERNAL_ERROR request, from CPL3 or
 * CPL0.  Returns only if the CPU did not stop (it should).
 */
void gate_call(unsigned int request);

/* Debug-exit statuses (port PLATFORM_DEBUG_EXIT_PORT). */
#define GUEST_STATUS_PASS		0x00
#define GUEST_STATUS_FAIL		0x21
#define GUEST_STATUS_RETURNED	0x22	/* the requested exit path returned */
GUEST_NORETURN void guest_debug_exit(uint8_t status);

/* Entered from isr.S on any unexpected vector, at CPL0. */
struct isr_frame {
	uint64_t vector;
	uint64_t error;
	uint64_t rip;
	uint64_t cs;
	uint64_t rflags;
	uint64_t rsp;
	uint64_t ss;
};
GUEST_NORETURN void isr_fault(const struct isr_frame *f);

/* ---- isr.S, tables.S, entry.S: symbols C needs ---- */

extern volatile uint64_t timer_ticks;		/* bumped by the timer ISR */
extern volatile uint64_t virtio_irq_count;	/* bumped on VEC_VIRTIO(_INTX) */
/* The ISR byte VEC_VIRTIO_INTX reads to deassert the line (virtio.c). */
extern uint64_t virtio_intx_isr_reg;
extern const uint64_t lapic_eoi_reg;		/* for the timer ISR */
extern const uint64_t lapic_lint0_reg;		/* for start64 */
extern uint64_t pml4[512];
extern uint64_t pdpt_1g[512];
extern uint64_t pdpt_2m[512];
extern const uint8_t ap_trampoline[], ap_trampoline_end[];
extern volatile uint32_t ap_boot_cpu;		/* read by the AP in ap_start64 */

/* ---- paging.c ---- */

/* Map RAM above 4 GiB (the low 4 GiB are mapped at build time). */
void paging_map_high_ram(const struct boot_info *bi);

/* ---- pci.c ---- */

/*
 * Enumerate bus 0 through configuration mechanism #1 and report every
 * function, its BARs and capabilities.  NULL, or why it failed.
 */
const char *pci_report(void);

#define PCI_DEV_BARS		6
#define PCI_CAP_ID_VNDR		0x09

struct pci_dev_bar {
	uint64_t addr;
	uint64_t size;		/* 0: not implemented, or sizing inconsistent */
	bool io;
};

struct pci_dev {
	unsigned int slot, fn;
	uint16_t vendor, device;
	uint8_t revision;
	struct pci_dev_bar bar[PCI_DEV_BARS];	/* a mem64 BAR fills bar[n] */
};

/* The nth (from 0) type 0 function on bus 0 with these ids, BARs sized. */
bool pci_find(uint16_t vendor, uint16_t device, unsigned int nth,
	      struct pci_dev *d);
uint8_t pci_cfg_read8(const struct pci_dev *d, unsigned int reg);
uint16_t pci_cfg_read16(const struct pci_dev *d, unsigned int reg);
uint32_t pci_cfg_read32(const struct pci_dev *d, unsigned int reg);
void pci_cfg_write16(const struct pci_dev *d, unsigned int reg, uint16_t v);
/* COMMAND: memory decoding and bus mastering on. */
void pci_enable_mem_master(const struct pci_dev *d);
/* Offset of the next capability `id` after the one at `from` (0: first). */
unsigned int pci_find_cap(const struct pci_dev *d, uint8_t id,
			  unsigned int from);

/*
 * ---- virtio.c, virtq.c: virtio 1.2 over PCI (modern only), split (2.7)
 * or packed (2.8) virtqueues, polled at CPL3 (no interrupts: vectors are
 * VIRTIO_MSI_NO_VECTOR unless virtio_msix_enable() ran; then virtq_setup()
 * gives each queue MSI-X table entry 0, delivered as VEC_VIRTIO).
 * Functions returning const char * give NULL, or why they failed.
 */

#define VIRTQ_SIZE_MAX		64	/* entries the driver allocates */

/* guest.ring=: which virtqueue layout virtio_negotiate() accepts. */
enum virtio_ring_mode {
	VIRTIO_RING_AUTO,		/* packed if offered, else split */
	VIRTIO_RING_SPLIT,		/* never packed */
	VIRTIO_RING_PACKED,		/* packed, or the device fails */
};
extern enum virtio_ring_mode virtio_ring_mode;

struct virtio_dev {
	struct pci_dev pci;
	uint64_t common;		/* MMIO addresses of the structures */
	uint64_t isr;
	uint64_t device;
	uint32_t device_len;
	uint64_t notify;
	uint32_t notify_len;
	uint32_t notify_mult;		/* notify_off_multiplier */
	uint64_t offered;		/* device features */
	uint64_t features;		/* negotiated */
	bool msix;			/* virtio_msix_enable() succeeded */
	uint16_t msix_entries;		/* table size */
};

struct vring_desc;
struct vring_avail;
struct vring_used;
struct vring_packed_desc;
struct vring_packed_desc_event;

/*
 * One virtqueue of either layout.  Callers use free_head (the id the
 * next virtq_add() returns), num_free, last_used, kicks and
 * kicks_suppressed; the rest belongs to virtio.c and virtq.c.
 */
struct virtq {
	struct virtio_dev *dev;
	uint16_t index, size;
	bool packed;
	/* split: descriptor free list; packed: buffer id free list */
	uint16_t free_head, num_free;	/* num_free: descriptors */
	uint16_t avail_idx;		/* split: published to avail->idx by kick */
	uint16_t last_used;		/* chains taken (mod 2^16) */
	struct vring_desc *desc;	/* split */
	struct vring_avail *avail;
	struct vring_used *used;
	struct vring_packed_desc *ring;	/* packed */
	struct vring_packed_desc_event *driver_event, *device_event;
	uint16_t next_avail, used_pos;	/* packed: positions in ring */
	bool avail_wrap, used_wrap;	/* packed: wrap counters */
	bool held;			/* packed: a head waits for the kick */
	uint16_t held_pos, held_flags;
	uint16_t next_id[VIRTQ_SIZE_MAX];	/* packed: free id list */
	uint64_t notify_addr;
	uint16_t chain_len[VIRTQ_SIZE_MAX];	/* by head/id; 0: free */
	uint64_t kicks, kicks_suppressed;
	/*
	 * Used-ring anomalies seen (virtq_poll()): an id out of range, a
	 * chain returned that was not in flight (twice), split used->idx
	 * moving back or more than the ring past the chains taken.  An
	 * index anomaly (or any on a packed ring) breaks the queue.
	 */
	uint16_t used_seen;		/* split: last used->idx read */
	bool used_broken;
	uint64_t used_bad_id, used_twice, used_idx_back, used_idx_jump;
};

struct virtq_buf {
	void *addr;
	uint32_t len;
	bool device_writes;
};

const char *virtio_pci_open(const struct pci_dev *pd, struct virtio_dev *vd);
/*
 * Reset, ACKNOWLEDGE, DRIVER, features (want & offered, plus VERSION_1
 * and RING_PACKED as virtio_ring_mode says), FEATURES_OK.
 */
const char *virtio_negotiate(struct virtio_dev *vd, uint64_t want);
/* "packed" or "split": what virtio_negotiate() settled on. */
const char *virtio_ring_name(const struct virtio_dev *vd);
const char *virtq_setup(struct virtio_dev *vd, struct virtq *vq,
			uint16_t index);
/* Ask the device for no used-buffer notifications (polled queue). */
void virtq_no_interrupts(struct virtq *vq);
const char *virtio_driver_ok(struct virtio_dev *vd);
/*
 * MSI-X on the function (after virtio_pci_open()): table entry 0 sends
 * VEC_VIRTIO, fixed, edge, to apic_id; queues set up afterwards use it.
 * Survives virtio_reset() (it is PCI state); queue vectors do not.
 */
const char *virtio_msix_enable(struct virtio_dev *vd, uint32_t apic_id);
/* Write 0 and wait for the device to read back 0. */
const char *virtio_reset(struct virtio_dev *vd);
uint8_t virtio_status(const struct virtio_dev *vd);
/* Device config space; 64-bit reads retry on config_generation. */
uint8_t virtio_cfg_read8(const struct virtio_dev *vd, uint32_t off);
uint32_t virtio_cfg_read32(const struct virtio_dev *vd, uint32_t off);
uint64_t virtio_cfg_read64(const struct virtio_dev *vd, uint32_t off);
/*
 * Queue a chain of n buffers; its id (split: head descriptor; packed:
 * buffer id), always the free_head before the call, or -1 if too few
 * descriptors.  Not visible to the device before virtq_kick().
 */
int virtq_add(struct virtq *vq, const struct virtq_buf *bufs, unsigned int n);
/* Publish what virtq_add() queued and notify unless the device says not. */
void virtq_kick(struct virtq *vq);
/*
 * Write the notify register even though the device asked for no
 * notifications (a SHOULD NOT, 2.7.10 and 2.8.10): after virtq_kick().
 */
void virtq_notify(struct virtq *vq);
/*
 * Chains the device has used so far (mod 2^16, comparable with
 * last_used): split used->idx; packed, last_used plus the used ones
 * waiting in the ring.
 */
uint16_t virtq_used_idx(const struct virtq *vq);
/* A used chain waits to be taken. */
bool virtq_used_ready(const struct virtq *vq);
/*
 * One look at the used ring: 1 and the chain taken (freed), 0 when none
 * is there, -1 on a used-ring anomaly (counted in vq, *why says which;
 * a bad element is skipped, a broken queue stays broken).
 */
int virtq_poll(struct virtq *vq, uint16_t *head, uint32_t *len,
	       const char **why);
/* The sum of vq's used-ring anomaly counts. */
uint64_t virtq_used_anomalies(const struct virtq *vq);
/* The next used chain (freed), polling up to timeout_ms. */
const char *virtq_wait(struct virtq *vq, uint16_t *head, uint32_t *len,
		       uint64_t timeout_ms);

/* ---- virtio_blk.c: the guest.blk=1 test ---- */

struct blk_options {
	uint32_t seed;			/* guest.blk_seed */
	bool irq;			/* guest.blk_irq=1|intx: wait for irqs */
	bool intx;			/* guest.blk_irq=intx: INTx, not MSI-X */
	bool reset;			/* guest.blk_reset=1: reset, pass 2 */
	uint64_t loop_ms;		/* guest.blk_loop_ms: timed loop */
	uint64_t loop_timeout_ms;	/* guest.blk_loop_timeout_ms, 0: 2000 */
	bool loop_recover;		/* guest.blk_loop_recover=1 */
	uint32_t loop_depth;		/* guest.blk_loop_depth, 0: 1 */
	bool loop_expect_stop;		/* guest.blk_loop_expect=stop */
	uint64_t idle_ms;		/* guest.blk_idle_ms: device left idle */
	bool idle_verify;		/* guest.blk_idle_verify=1 */
	uint32_t apic_id;		/* the BSP's, for MSI-X */
};

const char *virtio_blk_test(const struct blk_options *o);

/* ---- acpi.c ---- */

#define ACPI_SLEEP_NONE		0
#define ACPI_SLEEP_IO		1
#define ACPI_SLEEP_MMIO		2

struct acpi_info {
	uint64_t rsdp;				/* 0: no ACPI */
	unsigned int madt_cpus;			/* enabled local APICs */
	uint32_t apic_ids[GUEST_MAX_CPUS];	/* the first GUEST_MAX_CPUS */
	uint32_t ioapic_addr;			/* 0: no MADT IOAPIC entry */
	uint32_t ioapic_gsi_base;
	uint32_t timer_gsi;			/* ISA IRQ 0 after overrides */
	unsigned int sleep_ctl_space;		/* ACPI_SLEEP_* */
	uint64_t sleep_ctl_addr;
};

void acpi_probe(uint64_t rsdp_hint, struct acpi_info *ai);

/* ---- apic.c: local APIC and IOAPIC (xAPIC MMIO) ---- */

uint32_t lapic_id(void);
void lapic_enable(void);
bool lapic_send_ipi(uint32_t apic_id, uint32_t icr_low);
void ioapic_route(uint64_t base, uint32_t pin, uint8_t vector,
		  uint32_t apic_id);
void ioapic_route_level(uint64_t base, uint32_t pin, uint8_t vector,
			uint32_t apic_id);
void ioapic_mask(uint64_t base, uint32_t pin);
unsigned int ioapic_pins(uint64_t base);

#define LAPIC_ICR_INIT		0x00000500u
#define LAPIC_ICR_STARTUP	0x00000600u
#define LAPIC_ICR_ASSERT	0x00004000u

/* ---- smp.c ---- */

/* Start the APs listed in *ai, one at a time; returns CPUs up incl. BSP. */
unsigned int smp_start_aps(const struct acpi_info *ai, uint32_t bsp_apic_id);
GUEST_NORETURN void ap_main(uint32_t cpu);

/* ---- tsc.c: TSC frequency, measured against PIT channel 0 ---- */

/* kHz, measured on first use (50 ms, up to 10 tries); 0: it failed. */
uint64_t tsc_khz(void);
/* Bound of that measurement's error, in parts per million. */
uint64_t tsc_calibration_ppm(void);
/* TSC cycles to nanoseconds (0 if uncalibrated). */
uint64_t tsc_to_ns(uint64_t cycles);

/* ---- rate.c: event rates timed in chunks ---- */

#define RATE_CHUNKS_MAX		64

struct rate_meter {
	uint64_t chunk;				/* events per chunk */
	uint64_t next;				/* count ending this chunk */
	uint64_t last;				/* TSC at the last chunk's end */
	unsigned int chunks;			/* full chunks timed */
	uint64_t cycles[RATE_CHUNKS_MAX];
};

/* Start timing now, in chunks of `chunk` events. */
void rate_start(struct rate_meter *m, uint64_t chunk);
/* `count` events so far: closes a chunk when it reaches the next end. */
void rate_count(struct rate_meter *m, uint64_t count);
/* Events per second of the median and of the fastest chunk; 0: none. */
uint64_t rate_chunk_median(const struct rate_meter *m);
uint64_t rate_chunk_max(const struct rate_meter *m);

/* ---- pit.c ---- */

void pit_start_periodic(unsigned int hz);
void pit_stop(void);

/* ---- lib.c: what GCC may call even in freestanding code ---- */

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
bool str_eq_n(const char *a, size_t alen, const char *b);
bool parse_u64(const char *s, size_t len, uint64_t *out);
/* Little-endian fields in frames and tables, at any alignment. */
void put_le32(uint8_t *p, uint32_t v);
uint32_t get_le32(const uint8_t *p);
uint64_t get_le64(const uint8_t *p);
/* FNV-1a, 32 bits: the checksum the host computes with the same code. */
uint32_t fnv1a32(const uint8_t *p, size_t len);

/* ---- main.c ---- */

GUEST_NORETURN void guest_main(unsigned int protocol, uint64_t boot_ptr);

/* ---- virtio_net.c: the guest.net=N test ---- */

struct net_options {
	unsigned int queues;		/* guest.net_queues: pairs wanted */
	bool irq;			/* guest.net_irq=1: ctrl vq by MSI-X */
	bool reset;			/* guest.net_reset=1: reset, pass 2 */
	uint64_t wait_ms;		/* guest.net_wait_ms: idle before traffic */
	bool peer;			/* guest.net_peer=1: exchange with a guest */
	bool peer_bcast;		/* guest.net_peer_bcast=1: never unicast */
	/* guest.net_peer_len=L given (else NET_PEER_LEN_MIN): bytes per
	 * peer frame; peer_len_bad: not a number. */
	bool peer_len_given, peer_len_bad;
	uint64_t peer_len;
};

/* guest.net_peer_len's range: the exchange's own fields, a 1514-byte frame. */
#define NET_PEER_LEN_MIN	78
#define NET_PEER_LEN_MAX	1514

/*
 * Send `frames` frames over up to o->queues queue pairs (more than one:
 * multiqueue through the control queue), fail unless `expect` come back
 * verified; with o->reset, reset with frames in flight, start again and
 * do it once more (one pair only: refused with more).
 */
const char *virtio_net_test(uint64_t frames, uint64_t expect,
			    const struct net_options *o);

/* ---- virtio_net_rtt.c: the guest.net_rtt=N test ---- */

#define NET_RTT_KICK_DEVICE	1	/* notify unless NO_NOTIFY */
#define NET_RTT_KICK_ALWAYS	2	/* notify in every round */

/* N kick-to-interrupt round trips per NET_RTT_KICK_* bit, MSI-X to apic_id. */
const char *virtio_net_rtt_test(uint64_t rounds, unsigned int kick,
				uint32_t apic_id);

#endif /* __ASSEMBLER__ */

#endif
