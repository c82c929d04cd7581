/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The test guest's program, at CPL3: report what the VMM handed over,
 * bring up the APs, take a few timer interrupts, give a verdict and leave
 * the way the command line asks.
 *
 * Command line options (whitespace-separated words, others ignored):
 *   guest.ticks=N   timer interrupts to wait for (default 3)
 *   guest.exit=HOW  debug (default), poweroff, reset, triple, internal, hang,
 *                   beat (print "guest: beat n=<k>" every 100 ms, forever:
 *                   steady port I/O exits for the control API tests)
 *   guest.echo=N    after the verdict, read N bytes from COM1 and report them
 *   guest.blk=1     test the first virtio-blk device (virtio_blk.c); it
 *                   writes to the disk
 *   guest.blk_seed=N  seed of the pattern it writes (default 1)
 *   guest.blk_irq=1|intx, guest.blk_reset=1, guest.blk_loop_ms=N,
 *   guest.blk_loop_expect=ok|stop, guest.blk_loop_timeout_ms=N,
 *   guest.blk_loop_recover=1, guest.blk_loop_depth=N, guest.blk_idle_verify=1,
 *   guest.blk_idle_ms=N  variants of it
 *   (virtio_blk.c)
 *   guest.net=N     send N frames through the first virtio-net device and
 *                   check what comes back (virtio_net.c); 0: no test
 *   guest.net_expect=N  frames that must come back verified (default N)
 *   guest.net_queues=Q  use up to Q queue pairs (multiqueue, control
 *                   queue; default 1)
 *   guest.net_irq=1  control commands must bring an MSI-X interrupt
 *   guest.net_wait_ms=W  leave the started device idle W "ms" of TSC
 *                   before the traffic (a back-end restarted meanwhile)
 *   guest.net_reset=1  then reset it with frames in flight and run the N
 *                   frames again (virtio_net.c; one queue pair only)
 *   guest.net_peer=1  exchange up to N frames with another guest on the
 *                   same switch until a 'q' on the console, counting lost,
 *                   duplicated and reordered ones (virtio_net_peer.c)
 *   guest.net_peer_bcast=1  its frames stay broadcasts (a switch floods
 *                   them) instead of going to the peer's MAC once heard
 *   guest.net_peer_len=L  bytes of each frame it sends, Ethernet header
 *                   included, virtio-net header not (78 to 1514, default
 *                   78): bytes past the 78 carry a pattern the peer
 *                   checks; both guests need the same L (the peer fails
 *                   frames of another length).  Out of range, or without
 *                   guest.net_peer=1: the net test fails at once
 *   guest.net_rtt=N N kick-to-interrupt round trips of one frame each
 *                   through the first virtio-net device, MSI-X on
 *                   (virtio_net_rtt.c); 0: no test
 *   guest.net_rtt_kick=device|always|both  whether its kicks follow the
 *                   device's NO_NOTIFY flag (default device)
 *   guest.ring=auto|split|packed  virtqueue layout of every virtio device
 *                   (virtio.c): auto (default) takes packed when the
 *                   device offers it, as Linux does, so both layouts get
 *                   used without asking; packed fails a device that does
 *                   not offer it
 *
 * Tests parse the report (tests/pylib/svmtest.py); its lines, in order:
 *   guest: hello protocol=pvh|linux64
 *   guest: cmdline="<verbatim>"
 *   guest: memmap entries=<n>
 *   guest: memmap[<i>] addr=0x<016llx> size=0x<016llx> type=<decimal>
 *   guest: ram bytes=<sum of type 1 sizes>
 *   guest: initrd addr=0x<llx> size=<decimal> fnv1a32=0x<08x> | initrd none
 *   guest: cmos ext_mem_64k=<regs 0x34/35> high_mem_64k=<regs 0x5b-5d>
 *   guest: pci 00:<dd>.<f> vendor=0x<04x> device=0x<04x> class=0x<06x>
 *   guest: pci 00:<dd>.<f> bar<n> addr=0x<llx> size=0x<llx> type=mem32|mem64|io
 *   guest: pci 00:<dd>.<f> cap=0x<02x>
 *   guest: pci devices=<functions> | pci none          (pci.c)
 *   guest: blk ...                       (guest.blk=1, see virtio_blk.c)
 *   guest: net ...                       (guest.net=N, see virtio_net.c)
 *   guest: net_rtt ...                   (guest.net_rtt=N, virtio_net_rtt.c)
 *   guest: acpi rsdp=0x<llx> madt_cpus=<n> ioapic=0x<08x> | acpi none
 *   guest: cpu <index> apic_id=<id> up                 (one per AP)
 *   guest: cpus expected=<madt_cpus or 1> up=<n, BSP included>
 *   guest: timer irq=0 gsi=<gsi> vector=0x20 ticks=<n>
 *   guest: result=PASS | result=FAIL reason="<text>"
 *   guest: waiting for input bytes=<N>                 (guest.echo=N)
 *   guest: input bytes=<n> hex=<bytes in hex>          (guest.echo=N)
 * plus "guest: warning: ..." lines where something is off, and on an
 * unexpected exception "guest: exception vector=<n> rip=0x... err=0x...".
 * The debug exit writes 0 (PASS), 0x21 (FAIL) or 0x22 (an exit path that
 * should not return did).
 */
#include "guest.h"
#include "platform.h"

#define GUEST_DEFAULT_TICKS	3
#define TIMER_HZ		100
/* Exits may complete asynchronously in the VMM: wait before giving up. */
#define EXIT_GRACE_MS		1000
#define ECHO_MAX		64
#define ECHO_TIMEOUT_MS		30000
#define BEAT_MS			100

enum guest_exit {
	GUEST_EXIT_DEBUG,
	GUEST_EXIT_POWEROFF,
	GUEST_EXIT_RESET,
	GUEST_EXIT_TRIPLE,
	GUEST_EXIT_INTERNAL,
	GUEST_EXIT_HANG,
	GUEST_EXIT_BEAT,
};

static const char *const guest_exit_names[] = {
	[GUEST_EXIT_DEBUG] = "debug",
	[GUEST_EXIT_POWEROFF] = "poweroff",
	[GUEST_EXIT_RESET] = "reset",
	[GUEST_EXIT_TRIPLE] = "triple",
	[GUEST_EXIT_INTERNAL] = "internal",
	[GUEST_EXIT_HANG] = "hang",
	[GUEST_EXIT_BEAT] = "beat",
};

struct guest_options {
	uint64_t ticks;
	uint64_t echo;		/* bytes of console input to report */
	bool blk;
	uint64_t blk_seed;
	bool blk_irq, blk_intx, blk_reset, blk_loop_expect_stop;
	uint64_t blk_loop_ms;
	uint64_t blk_loop_timeout_ms;
	bool blk_loop_recover;
	uint64_t blk_loop_depth;
	uint64_t blk_idle_ms;
	bool blk_idle_verify;
	enum guest_exit exit;
};

/* Large (the command line buffer): not on the 64 KiB stack. */
static struct boot_info boot;
static struct acpi_info acpi;

/* A "key=1" switch on the command line. */
static bool option_flag(const struct boot_info *bi, const char *key)
{
	size_t len;
	const char *v = boot_option(bi, key, &len);

	return v && str_eq_n(v, len, "1");
}

/* A "key=N" number, or def when absent or malformed. */
static uint64_t option_u64(const struct boot_info *bi, const char *key,
			   uint64_t def)
{
	size_t len;
	uint64_t n;
	const char *v = boot_option(bi, key, &len);

	return v && parse_u64(v, len, &n) ? n : def;
}

static void guest_parse_options(const struct boot_info *bi,
				struct guest_options *o)
{
	const char *v;
	size_t len;

	o->ticks = option_u64(bi, "guest.ticks", GUEST_DEFAULT_TICKS);
	o->echo = option_u64(bi, "guest.echo", 0);
	if (o->echo > ECHO_MAX)
		o->echo = 0;

	o->blk = option_flag(bi, "guest.blk");
	o->blk_seed = option_u64(bi, "guest.blk_seed", 1);
	o->blk_irq = option_flag(bi, "guest.blk_irq");
	v = boot_option(bi, "guest.blk_irq", &len);
	o->blk_intx = v && str_eq_n(v, len, "intx");
	o->blk_reset = option_flag(bi, "guest.blk_reset");
	o->blk_loop_ms = option_u64(bi, "guest.blk_loop_ms", 0);
	o->blk_loop_timeout_ms = option_u64(bi, "guest.blk_loop_timeout_ms", 0);
	o->blk_loop_recover = option_flag(bi, "guest.blk_loop_recover");
	o->blk_loop_depth = option_u64(bi, "guest.blk_loop_depth", 1);
	o->blk_idle_ms = option_u64(bi, "guest.blk_idle_ms", 0);
	o->blk_idle_verify = option_flag(bi, "guest.blk_idle_verify");
	v = boot_option(bi, "guest.blk_loop_expect", &len);
	o->blk_loop_expect_stop = v && str_eq_n(v, len, "stop");

	v = boot_option(bi, "guest.ring", &len);
	if (v && str_eq_n(v, len, "split"))
		virtio_ring_mode = VIRTIO_RING_SPLIT;
	else if (v && str_eq_n(v, len, "packed"))
		virtio_ring_mode = VIRTIO_RING_PACKED;

	o->exit = GUEST_EXIT_DEBUG;
	v = boot_option(bi, "guest.exit", &len);
	for (unsigned int i = 0; v && i < ARRAY_SIZE(guest_exit_names); i++) {
		if (str_eq_n(v, len, guest_exit_names[i]))
			o->exit = (enum guest_exit)i;
	}
}

/*
 * guest.net=N, guest.net_expect=N, guest.net_queues=Q, guest.net_irq=1,
 * guest.net_reset=1, guest.net_wait_ms=W, guest.net_peer=1,
 * guest.net_peer_bcast=1, guest.net_peer_len=L: the virtio-net test.
 */
static const char *net_test_from_options(const struct boot_info *bi)
{
	uint64_t frames = option_u64(bi, "guest.net", 0);
	uint64_t queues = option_u64(bi, "guest.net_queues", 1);
	size_t len;
	const char *len_opt = boot_option(bi, "guest.net_peer_len", &len);
	uint64_t peer_len = 0;
	bool peer_len_bad = len_opt && !parse_u64(len_opt, len, &peer_len);
	struct net_options no = {
		.queues = queues > 0xffff ? 0xffff : (unsigned int)queues,
		.irq = option_flag(bi, "guest.net_irq"),
		.reset = option_flag(bi, "guest.net_reset"),
		.wait_ms = option_u64(bi, "guest.net_wait_ms", 0),
		.peer = option_flag(bi, "guest.net_peer"),
		.peer_bcast = option_flag(bi, "guest.net_peer_bcast"),
		.peer_len_given = len_opt != NULL,
		.peer_len_bad = peer_len_bad,
		.peer_len = len_opt ? peer_len : NET_PEER_LEN_MIN,
	};

	if (!frames)
		return NULL;
	return virtio_net_test(frames,
			       option_u64(bi, "guest.net_expect", frames),
			       &no);
}

/* guest.net_rtt=N and guest.net_rtt_kick=...: the round-trip test. */
static const char *net_rtt_test_from_options(const struct boot_info *bi,
					     uint32_t apic_id)
{
	unsigned int kick = NET_RTT_KICK_DEVICE;
	const char *v;
	size_t len;

	v = boot_option(bi, "guest.net_rtt_kick", &len);
	if (v && str_eq_n(v, len, "always"))
		kick = NET_RTT_KICK_ALWAYS;
	else if (v && str_eq_n(v, len, "both"))
		kick = NET_RTT_KICK_DEVICE | NET_RTT_KICK_ALWAYS;
	return virtio_net_rtt_test(option_u64(bi, "guest.net_rtt", 0), kick,
				   apic_id);
}

static uint8_t cmos_read(uint8_t reg)
{
	outb(PLATFORM_RTC_PORT, reg);
	return inb(PLATFORM_RTC_PORT + 1);
}

/* The memory-size bytes PC firmware reads from CMOS, in 64 KiB units. */
static void report_cmos(void)
{
	unsigned int ext = cmos_read(0x34) | cmos_read(0x35) << 8;
	unsigned int high = cmos_read(0x5b) | cmos_read(0x5c) << 8 |
			    (unsigned int)cmos_read(0x5d) << 16;

	guest_printf("guest: cmos ext_mem_64k=%u high_mem_64k=%u\n", ext, high);
}

/* Console input from the host's terminal, through the VMM's UART. */
static void report_input(uint64_t want)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t in[ECHO_MAX];
	char text[2 * ECHO_MAX + 1];
	size_t n;

	guest_printf("guest: waiting for input bytes=%llu\n",
		     (unsigned long long)want);
	n = console_read(in, want, ECHO_TIMEOUT_MS);
	for (size_t i = 0; i < n; i++) {
		text[2 * i] = hex[in[i] >> 4];
		text[2 * i + 1] = hex[in[i] & 15];
	}
	text[2 * n] = '\0';
	guest_printf("guest: input bytes=%zu hex=%s\n", n, text);
}

static void report_boot(const struct boot_info *bi)
{
	uint64_t ram = 0;

	guest_printf("guest: cmdline=\"%s\"\n", bi->cmdline);
	guest_printf("guest: memmap entries=%u\n", bi->memmap_entries);
	for (unsigned int i = 0; i < bi->memmap_entries; i++) {
		const struct boot_memmap_entry *e = &bi->memmap[i];

		guest_printf("guest: memmap[%u] addr=0x%016llx size=0x%016llx type=%u\n",
			     i, (unsigned long long)e->addr,
			     (unsigned long long)e->size, e->type);
		if (e->type == BOOT_MEMMAP_RAM)
			ram += e->size;
	}
	guest_printf("guest: ram bytes=%llu\n", (unsigned long long)ram);

	if (bi->initrd_size)
		guest_printf("guest: initrd addr=0x%llx size=%llu fnv1a32=0x%08x\n",
			     (unsigned long long)bi->initrd_addr,
			     (unsigned long long)bi->initrd_size,
			     fnv1a32((const uint8_t *)(uintptr_t)bi->initrd_addr,
				     bi->initrd_size));
	else
		guest_printf("guest: initrd none\n");
}

/*
 * The map only says RAM is there: check that the first and last 8 bytes of
 * each RAM range are mapped, writable and keep what is written (a missing
 * memory slot or mapping faults).  Values are restored: one end of a range
 * is this very image.  NULL, or why it failed.
 */
static const char *ram_probe(const struct boot_info *bi)
{
	static const uint64_t pattern = 0x5a17c0de5a17c0deull;

	for (unsigned int i = 0; i < bi->memmap_entries; i++) {
		const struct boot_memmap_entry *e = &bi->memmap[i];
		uint64_t ends[2] = { e->addr, e->addr + e->size - 8 };

		if (e->type != BOOT_MEMMAP_RAM || e->size < 8)
			continue;
		for (unsigned int j = 0; j < ARRAY_SIZE(ends); j++) {
			volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)ends[j];
			uint64_t saved = *p;
			bool ok;

			*p = pattern;
			ok = *p == pattern;
			*p = saved;
			if (!ok) {
				guest_printf("guest: warning: RAM at 0x%llx does not keep what is written\n",
					     (unsigned long long)ends[j]);
				return "RAM not writable";
			}
		}
	}
	return NULL;
}

/*
 * PIT channel 0 at TIMER_HZ through the IOAPIC pin of ISA IRQ 0 to the
 * BSP, until `want` ticks or the time-out.  NULL, or why it failed.
 */
static const char *timer_test(const struct acpi_info *ai,
			      uint32_t bsp_apic_id, uint64_t want)
{
	uint64_t base = ai->ioapic_addr ? ai->ioapic_addr :
					  PLATFORM_IOAPIC_BASE;
	uint32_t pin = ai->timer_gsi - ai->ioapic_gsi_base;
	const char *reason = NULL;
	uint64_t deadline, ticks = 0;

	if (ai->timer_gsi < ai->ioapic_gsi_base || pin >= ioapic_pins(base)) {
		reason = "timer GSI has no IOAPIC pin";
	} else {
		/* Real time >= 1/4 of this (see tsc_deadline_ms): 2x + 1 s. */
		deadline = tsc_deadline_ms(4 * (2 * want * 1000 / TIMER_HZ +
						1000));
		timer_ticks = 0;
		ioapic_route(base, pin, VEC_TIMER, bsp_apic_id);
		pit_start_periodic(TIMER_HZ);
		while (timer_ticks < want && !tsc_expired(deadline))
			cpu_relax();
		ioapic_mask(base, pin);
		pit_stop();
		ticks = timer_ticks;
		if (ticks < want)
			reason = "too few timer interrupts";
	}
	guest_printf("guest: timer irq=0 gsi=%u vector=0x%02x ticks=%llu\n",
		     ai->timer_gsi, VEC_TIMER, (unsigned long long)ticks);
	return reason;
}

static void exit_grace(void)
{
	uint64_t deadline = tsc_deadline_ms(EXIT_GRACE_MS);

	while (!tsc_expired(deadline))
		cpu_relax();
}

GUEST_NORETURN static void guest_exit(enum guest_exit how, bool pass,
				      const struct acpi_info *ai)
{
	uint8_t slp = (PLATFORM_ACPI_S5_TYP << PLATFORM_ACPI_SLP_TYP_SHIFT) |
		      PLATFORM_ACPI_SLP_EN;

	switch (how) {
	case GUEST_EXIT_DEBUG:
		guest_debug_exit(pass ? GUEST_STATUS_PASS : GUEST_STATUS_FAIL);
	case GUEST_EXIT_POWEROFF:
		if (ai->sleep_ctl_space == ACPI_SLEEP_IO) {
			outb((uint16_t)ai->sleep_ctl_addr, slp);
		} else if (ai->sleep_ctl_space == ACPI_SLEEP_MMIO) {
			*(volatile uint8_t *)(uintptr_t)ai->sleep_ctl_addr = slp;
		} else {
			guest_printf("guest: poweroff: no FADT sleep control register\n");
			guest_debug_exit(GUEST_STATUS_FAIL);
		}
		break;
	case GUEST_EXIT_RESET:
		outb(PLATFORM_I8042_CMD_PORT, PLATFORM_I8042_CMD_RESET);
		break;
	case GUEST_EXIT_TRIPLE:
		gate_call(GATE_TRIPLE_FAULT);
		break;
	case GUEST_EXIT_INTERNAL:
		gate_call(GATE_INTERNAL_ERROR);
		break;
	case GUEST_EXIT_HANG:
		guest_printf("guest: hanging\n");
		gate_call(GATE_PARK);
		break;
	case GUEST_EXIT_BEAT:
		for (uint64_t n = 0;; n++) {
			uint64_t deadline = tsc_deadline_ms(BEAT_MS);

			guest_printf("guest: beat n=%llu\n",
				     (unsigned long long)n);
			while (!tsc_expired(deadline))
				cpu_relax();
		}
	}
	exit_grace();
	guest_printf("guest: exit=%s returned\n", guest_exit_names[how]);
	guest_debug_exit(GUEST_STATUS_RETURNED);
}

void guest_main(unsigned int protocol, uint64_t boot_ptr)
{
	const char *reason = NULL, *timer_reason = NULL, *pci_reason;
	struct guest_options opt;
	uint32_t bsp_apic_id;
	unsigned int expected, up;
	bool boot_ok;

	io_init();
	console_init();
	guest_printf("guest: hello protocol=%s\n",
		     protocol == BOOT_PROTO_PVH ? "pvh" : "linux64");

	/* Memory map first: RAM above 4 GiB needs it to be mapped. */
	boot_ok = boot_parse(protocol, boot_ptr, &boot);
	paging_map_high_ram(&boot);
	boot_copy_cmdline(&boot);
	guest_parse_options(&boot, &opt);
	report_boot(&boot);
	if (!boot_ok)
		reason = "no valid boot structure";
	else if (boot.memmap_entries == 0)
		reason = "memory map empty";
	else
		reason = ram_probe(&boot);

	report_cmos();
	lapic_enable();
	bsp_apic_id = lapic_id();

	pci_reason = pci_report();
	if (!reason)
		reason = pci_reason;
	if (opt.blk) {
		struct blk_options bo = {
			.seed = (uint32_t)opt.blk_seed,
			.irq = opt.blk_irq || opt.blk_intx,
			.intx = opt.blk_intx,
			.reset = opt.blk_reset,
			.loop_ms = opt.blk_loop_ms,
			.loop_timeout_ms = opt.blk_loop_timeout_ms,
			.loop_recover = opt.blk_loop_recover,
			.loop_depth = (uint32_t)opt.blk_loop_depth,
			.loop_expect_stop = opt.blk_loop_expect_stop,
			.idle_ms = opt.blk_idle_ms,
			.idle_verify = opt.blk_idle_verify,
			.apic_id = bsp_apic_id,
		};

		pci_reason = virtio_blk_test(&bo);
		if (!reason)
			reason = pci_reason;
	}
	pci_reason = net_test_from_options(&boot);
	if (!reason)
		reason = pci_reason;
	pci_reason = net_rtt_test_from_options(&boot, bsp_apic_id);
	if (!reason)
		reason = pci_reason;

	acpi_probe(boot.rsdp_paddr, &acpi);
	if (acpi.rsdp)
		guest_printf("guest: acpi rsdp=0x%llx madt_cpus=%u ioapic=0x%08x\n",
			     (unsigned long long)acpi.rsdp, acpi.madt_cpus,
			     acpi.ioapic_addr);
	else
		guest_printf("guest: acpi none\n");

	expected = acpi.madt_cpus ? acpi.madt_cpus : 1;
	up = smp_start_aps(&acpi, bsp_apic_id);
	guest_printf("guest: cpus expected=%u up=%u\n", expected, up);
	if (!reason && up != expected)
		reason = "not every CPU came up";

	timer_reason = timer_test(&acpi, bsp_apic_id, opt.ticks);
	if (!reason)
		reason = timer_reason;

	if (reason)
		guest_printf("guest: result=FAIL reason=\"%s\"\n", reason);
	else
		guest_printf("guest: result=PASS\n");
	if (opt.echo)
		report_input(opt.echo);
	guest_exit(opt.exit, !reason, &acpi);
}
