/* SPDX-License-Identifier: GPL-2.0-only */
#include "vcpu.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "boot/boot.h"
#include "bus.h"
#include "kvm.h"
#include "log.h"
#include "sandbox.h"
#include "vm.h"
#include "x86/cpuid.h"
#include "x86/msr.h"

/* Unclaimed accesses are logged (at debug level) this many times per vCPU. */
#define VCPU_UNCLAIMED_LOG_LIMIT 16

/* Local APIC register offsets and LVT delivery modes. */
#define APIC_LVT_LINT0		0x350
#define APIC_LVT_LINT1		0x360
#define APIC_DM_NMI		0x400
#define APIC_DM_EXTINT		0x700

struct vcpu {
	struct vcpu_config cfg;
	char name[16];
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	bool started;
	atomic_bool stop;
	unsigned unclaimed_logged;

	/* Written by the vCPU thread only; read by the control API. */
	_Atomic uint64_t exits[VCPU_EXIT_NR];

	/* Pause: pause_req set by anyone, parked/done by the thread. */
	pthread_mutex_t park_lock;
	pthread_cond_t park_cond;
	atomic_bool pause_req;
	bool parked;
	bool done;
};

static const char *const vcpu_exit_stat_names[VCPU_EXIT_NR] = {
	[VCPU_EXIT_IO] = "io",
	[VCPU_EXIT_MMIO] = "mmio",
	[VCPU_EXIT_INTR] = "intr",
	[VCPU_EXIT_SHUTDOWN] = "shutdown",
	[VCPU_EXIT_SYSTEM_EVENT] = "system_event",
	[VCPU_EXIT_INTERNAL_ERROR] = "internal_error",
	[VCPU_EXIT_FAIL_ENTRY] = "fail_entry",
	[VCPU_EXIT_HLT] = "hlt",
	[VCPU_EXIT_OTHER] = "other",
};

const char *vcpu_exit_stat_name(enum vcpu_exit_stat stat)
{
	return (unsigned)stat < VCPU_EXIT_NR ? vcpu_exit_stat_names[stat] : "?";
}

static enum vcpu_exit_stat vcpu_exit_stat_of(uint32_t reason)
{
	switch (reason) {
	case KVM_EXIT_IO:		return VCPU_EXIT_IO;
	case KVM_EXIT_MMIO:		return VCPU_EXIT_MMIO;
	case KVM_EXIT_INTR:		return VCPU_EXIT_INTR;
	case KVM_EXIT_SHUTDOWN:		return VCPU_EXIT_SHUTDOWN;
	case KVM_EXIT_SYSTEM_EVENT:	return VCPU_EXIT_SYSTEM_EVENT;
	case KVM_EXIT_INTERNAL_ERROR:	return VCPU_EXIT_INTERNAL_ERROR;
	case KVM_EXIT_FAIL_ENTRY:	return VCPU_EXIT_FAIL_ENTRY;
	case KVM_EXIT_HLT:		return VCPU_EXIT_HLT;
	default:			return VCPU_EXIT_OTHER;
	}
}

/* Single writer: a relaxed load and store, no locked instruction. */
static void vcpu_count_exit(struct vcpu *vcpu, uint32_t reason)
{
	_Atomic uint64_t *c = &vcpu->exits[vcpu_exit_stat_of(reason)];

	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

void vcpu_get_stats(struct vcpu *vcpu, struct vcpu_stats *out)
{
	for (unsigned i = 0; i < VCPU_EXIT_NR; i++)
		out->exits[i] = atomic_load_explicit(&vcpu->exits[i],
						     memory_order_relaxed);
	pthread_mutex_lock(&vcpu->park_lock);
	out->parked = vcpu->parked;
	pthread_mutex_unlock(&vcpu->park_lock);
}

int vcpu_kick_signal(void)
{
	return SIGRTMIN;
}

int vcpu_create(const struct vcpu_config *cfg, struct vcpu **out)
{
	struct vcpu *vcpu = calloc(1, sizeof(*vcpu));
	int ret;

	if (!vcpu)
		return -ENOMEM;
	vcpu->cfg = *cfg;
	pthread_mutex_init(&vcpu->park_lock, NULL);
	pthread_cond_init(&vcpu->park_cond, NULL);
	snprintf(vcpu->name, sizeof(vcpu->name), "vcpu%u", cfg->id);

	vcpu->fd = ioctl(cfg->vm_fd, KVM_CREATE_VCPU, (unsigned long)cfg->id);
	if (vcpu->fd < 0) {
		ret = -errno;
		log_err(vcpu->name, "KVM_CREATE_VCPU: %s", strerror(-ret));
		goto err_free;
	}
	vcpu->run_size = kvm_vcpu_mmap_size(cfg->kvm);
	vcpu->run = mmap(NULL, vcpu->run_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		ret = -errno;
		log_err(vcpu->name, "mmap kvm_run: %s", strerror(-ret));
		goto err_close;
	}
	*out = vcpu;
	return 0;

err_close:
	close(vcpu->fd);
err_free:
	pthread_cond_destroy(&vcpu->park_cond);
	pthread_mutex_destroy(&vcpu->park_lock);
	free(vcpu);
	return ret;
}

static void vcpu_dump_regs(struct vcpu *vcpu)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0) {
		log_err(vcpu->name, "cannot read registers: %s", strerror(errno));
		return;
	}
	log_err(vcpu->name, "rip=%016llx rsp=%016llx rflags=%016llx cpl=%u",
		r.rip, r.rsp, r.rflags, s.cs.dpl);
	log_err(vcpu->name, "rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx",
		r.rax, r.rbx, r.rcx, r.rdx);
	log_err(vcpu->name, "rsi=%016llx rdi=%016llx rbp=%016llx r8 =%016llx",
		r.rsi, r.rdi, r.rbp, r.r8);
	log_err(vcpu->name, "r9 =%016llx r10=%016llx r11=%016llx r12=%016llx",
		r.r9, r.r10, r.r11, r.r12);
	log_err(vcpu->name, "r13=%016llx r14=%016llx r15=%016llx",
		r.r13, r.r14, r.r15);
	log_err(vcpu->name, "cr0=%016llx cr2=%016llx cr3=%016llx cr4=%016llx efer=%llx",
		s.cr0, s.cr2, s.cr3, s.cr4, s.efer);
	log_err(vcpu->name, "cs=%04x base=%llx l=%u db=%u ss=%04x ds=%04x gdt=%llx/%x idt=%llx/%x",
		s.cs.selector, s.cs.base, s.cs.l, s.cs.db, s.ss.selector,
		s.ds.selector, s.gdt.base, s.gdt.limit, s.idt.base,
		s.idt.limit);
}

/* Log, dump the registers and end the VM as crashed. */
static void vcpu_crash(struct vcpu *vcpu, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void vcpu_crash(struct vcpu *vcpu, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LEVEL_ERR, vcpu->name, fmt, ap);
	va_end(ap);
	vcpu_dump_regs(vcpu);
	vm_request_exit(vcpu->cfg.vm, VM_EXIT_CRASH, 0);
}

static int vcpu_setup_cpuid(struct vcpu *vcpu)
{
	struct kvm_cpuid2 *table;
	int ret;

	ret = cpuid_build(kvm_supported_cpuid(vcpu->cfg.kvm), vcpu->cfg.id,
			  vcpu->cfg.ncpus, &table);
	if (ret)
		return ret;
	if (ioctl(vcpu->fd, KVM_SET_CPUID2, table) < 0) {
		ret = -errno;
		log_err(vcpu->name, "KVM_SET_CPUID2: %s", strerror(-ret));
	}
	free(table);
	return ret;
}

/* Wire LINT0 to ExtINT and LINT1 to NMI, as PC firmware leaves them. */
static int vcpu_setup_lapic(struct vcpu *vcpu)
{
	struct kvm_lapic_state lapic;
	uint32_t *lint0 = (uint32_t *)&lapic.regs[APIC_LVT_LINT0];
	uint32_t *lint1 = (uint32_t *)&lapic.regs[APIC_LVT_LINT1];

	if (ioctl(vcpu->fd, KVM_GET_LAPIC, &lapic) < 0)
		goto err;
	*lint0 = (*lint0 & ~0x700u) | APIC_DM_EXTINT;
	*lint1 = (*lint1 & ~0x700u) | APIC_DM_NMI;
	if (ioctl(vcpu->fd, KVM_SET_LAPIC, &lapic) < 0)
		goto err;
	return 0;
err:
	log_err(vcpu->name, "local APIC setup: %s", strerror(errno));
	return -errno;
}

static int vcpu_setup_boot_regs(struct vcpu *vcpu)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		goto err;
	boot_vcpu_state(vcpu->cfg.boot, &regs, &sregs);
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0 ||
	    ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
		goto err;
	return 0;
err:
	log_err(vcpu->name, "cannot set boot registers: %s", strerror(errno));
	return -errno;
}

/*
 * Everything that touches the vCPU fd before the first KVM_RUN.  APs stay
 * in KVM's wait-for-SIPI state; only the boot vCPU gets entry registers.
 */
static int vcpu_setup(struct vcpu *vcpu)
{
	int ret;

	ret = vcpu_setup_cpuid(vcpu);
	if (!ret)
		ret = msr_init_vcpu(vcpu->cfg.kvm, vcpu->fd);
	if (!ret)
		ret = vcpu_setup_lapic(vcpu);
	if (!ret && vcpu->cfg.boot)
		ret = vcpu_setup_boot_regs(vcpu);
	return ret;
}

static void vcpu_log_unclaimed(struct vcpu *vcpu, const char *space,
			       bool write, uint64_t addr, unsigned size)
{
	if (vcpu->unclaimed_logged >= VCPU_UNCLAIMED_LOG_LIMIT)
		return;
	if (++vcpu->unclaimed_logged == VCPU_UNCLAIMED_LOG_LIMIT)
		log_debug(vcpu->name, "further unclaimed accesses not logged");
	else
		log_debug(vcpu->name, "unclaimed %s %s 0x%llx size %u", space,
			  write ? "write" : "read", (unsigned long long)addr,
			  size);
}

static void vcpu_handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool out = run->io.direction == KVM_EXIT_IO_OUT;

	/* "rep outs/ins" arrive as count back-to-back accesses. */
	for (unsigned i = 0; i < run->io.count; i++, data += run->io.size) {
		bool claimed = out ? bus_write(vcpu->cfg.pio, run->io.port,
					       data, run->io.size)
				   : bus_read(vcpu->cfg.pio, run->io.port,
					      data, run->io.size);
		if (!claimed)
			vcpu_log_unclaimed(vcpu, "port", out, run->io.port,
					   run->io.size);
	}
}

static void vcpu_handle_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	bool claimed;

	if (run->mmio.is_write)
		claimed = bus_write(vcpu->cfg.mmio, run->mmio.phys_addr,
				    run->mmio.data, run->mmio.len);
	else
		claimed = bus_read(vcpu->cfg.mmio, run->mmio.phys_addr,
				   run->mmio.data, run->mmio.len);
	if (!claimed)
		vcpu_log_unclaimed(vcpu, "mmio", run->mmio.is_write,
				   run->mmio.phys_addr, run->mmio.len);
}

static void vcpu_handle_system_event(struct vcpu *vcpu)
{
	switch (vcpu->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		log_info(vcpu->name, "guest powered off");
		vm_request_exit(vcpu->cfg.vm, VM_EXIT_POWEROFF, 0);
		break;
	case KVM_SYSTEM_EVENT_RESET:
		log_info(vcpu->name, "guest requested a reset");
		vm_request_exit(vcpu->cfg.vm, VM_EXIT_RESET, 0);
		break;
	default:
		vcpu_crash(vcpu, "guest system event %u (crash)",
			   vcpu->run->system_event.type);
		break;
	}
}

static void vcpu_handle_internal_error(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	char data[128] = "";
	int n = 0;

	for (unsigned i = 0; i < run->internal.ndata && i < 4; i++)
		n += snprintf(data + n, sizeof(data) - n, " %llx",
			      run->internal.data[i]);
	vcpu_crash(vcpu, "KVM internal error, suberror %u%s%s%s",
		   run->internal.suberror,
		   run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
			   ? " (instruction emulation failed)" : "",
		   n ? ", data" : "", data);
}

/* Returns false when the thread must stop. */
static bool vcpu_handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_handle_io(vcpu);
		return true;
	case KVM_EXIT_MMIO:
		vcpu_handle_mmio(vcpu);
		return true;
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_SHUTDOWN:
		/* Triple fault: a PC resets; Linux even uses it to reboot. */
		log_info(vcpu->name, "guest triple-faulted (reset)");
		vm_request_exit(vcpu->cfg.vm, VM_EXIT_RESET, 0);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		vcpu_handle_system_event(vcpu);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		vcpu_handle_internal_error(vcpu);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		vcpu_crash(vcpu, "VM entry failed, hardware reason 0x%llx",
			   run->fail_entry.hardware_entry_failure_reason);
		return false;
	case KVM_EXIT_HLT:
		/* The in-kernel LAPIC handles HLT; reaching here is a bug. */
		vcpu_crash(vcpu, "unexpected HLT exit");
		return false;
	default:
		vcpu_crash(vcpu, "unexpected exit reason %u", run->exit_reason);
		return false;
	}
}

/* Park until resumed or stopped. */
static void vcpu_park(struct vcpu *vcpu)
{
	pthread_mutex_lock(&vcpu->park_lock);
	vcpu->parked = true;
	pthread_cond_broadcast(&vcpu->park_cond);
	while (atomic_load(&vcpu->pause_req) && !atomic_load(&vcpu->stop))
		pthread_cond_wait(&vcpu->park_cond, &vcpu->park_lock);
	vcpu->parked = false;
	pthread_mutex_unlock(&vcpu->park_lock);
}

static void vcpu_thread_done(struct vcpu *vcpu)
{
	pthread_mutex_lock(&vcpu->park_lock);
	vcpu->done = true;
	pthread_cond_broadcast(&vcpu->park_cond);
	pthread_mutex_unlock(&vcpu->park_lock);
}

/*
 * Clear immediate_exit before the loop checks stop and pause_req again:
 * the fence makes the clear visible first, so a kick landing after the
 * check sets it again and is never overwritten (the signal alone could
 * arrive before KVM_RUN and be lost).
 */
static void vcpu_rearm(struct vcpu *vcpu)
{
	vcpu->run->immediate_exit = 0;
	atomic_thread_fence(memory_order_seq_cst);
}

static void vcpu_run_loop(struct vcpu *vcpu)
{
	while (!atomic_load(&vcpu->stop)) {
		if (atomic_load(&vcpu->pause_req)) {
			vcpu_park(vcpu);
			vcpu_rearm(vcpu);
			continue;
		}
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				vcpu_count_exit(vcpu, KVM_EXIT_INTR);
				/* A pause undone before we saw it left it set. */
				vcpu_rearm(vcpu);
				continue;
			}
			vcpu_crash(vcpu, "KVM_RUN: %s", strerror(errno));
			break;
		}
		vcpu_count_exit(vcpu, vcpu->run->exit_reason);
		/*
		 * The exit may have ended the VM (debug exit, poweroff, another
		 * vCPU's crash): never run guest code past that point.
		 */
		if (!vcpu_handle_exit(vcpu) || vm_exit_pending(vcpu->cfg.vm))
			break;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	sigset_t kick;

	/*
	 * Named from inside: naming another thread writes to /proc, which
	 * the sandboxed core can no longer open.
	 */
	pthread_setname_np(pthread_self(), vcpu->name);
	if (vcpu_setup(vcpu) || sandbox_lockdown_vcpu_thread(vcpu->name)) {
		log_err(vcpu->name, "setup failed");
		vm_request_exit(vcpu->cfg.vm, VM_EXIT_ERROR, 0);
		vcpu_thread_done(vcpu);
		return NULL;
	}

	/* Everything else stays blocked; signals are the main thread's. */
	sigemptyset(&kick);
	sigaddset(&kick, vcpu_kick_signal());
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);

	vcpu_run_loop(vcpu);
	vcpu_thread_done(vcpu);
	return NULL;
}

static void vcpu_kick_handler(int sig)
{
	/* Only interrupts KVM_RUN; the thread then sees vcpu->stop. */
	(void)sig;
}

int vcpu_start(struct vcpu *vcpu)
{
	struct sigaction sa = { .sa_handler = vcpu_kick_handler };
	int ret;

	sigemptyset(&sa.sa_mask);
	if (sigaction(vcpu_kick_signal(), &sa, NULL) < 0)
		return -errno;
	ret = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);
	if (ret) {
		log_err(vcpu->name, "cannot start thread: %s", strerror(ret));
		return -ret;
	}
	vcpu->started = true;
	return 0;
}

/* Get the thread out of KVM_RUN (or keep it from entering) and unpark it. */
static void vcpu_interrupt(struct vcpu *vcpu)
{
	/*
	 * immediate_exit closes the window between the thread's check of
	 * stop or pause_req and its entry into KVM_RUN; the signal covers
	 * a thread already inside KVM_RUN (for example halted).
	 */
	vcpu->run->immediate_exit = 1;
	pthread_mutex_lock(&vcpu->park_lock);
	pthread_cond_broadcast(&vcpu->park_cond);
	pthread_mutex_unlock(&vcpu->park_lock);
	if (vcpu->started)
		pthread_kill(vcpu->thread, vcpu_kick_signal());
}

void vcpu_kick(struct vcpu *vcpu)
{
	atomic_store(&vcpu->stop, true);
	vcpu_interrupt(vcpu);
}

void vcpu_pause(struct vcpu *vcpu)
{
	atomic_store(&vcpu->pause_req, true);
	vcpu_interrupt(vcpu);
}

void vcpu_resume(struct vcpu *vcpu)
{
	pthread_mutex_lock(&vcpu->park_lock);
	atomic_store(&vcpu->pause_req, false);
	pthread_cond_broadcast(&vcpu->park_cond);
	pthread_mutex_unlock(&vcpu->park_lock);
}

int vcpu_wait_parked(struct vcpu *vcpu, int timeout_ms)
{
	struct timespec deadline;
	int ret = 0;

	if (!vcpu->started)
		return 0;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&vcpu->park_lock);
	while (!vcpu->parked && !vcpu->done && !ret)
		ret = pthread_cond_timedwait(&vcpu->park_cond,
					     &vcpu->park_lock, &deadline);
	if (vcpu->parked || vcpu->done)
		ret = 0;
	pthread_mutex_unlock(&vcpu->park_lock);
	return ret ? -ret : 0;
}

void vcpu_join(struct vcpu *vcpu)
{
	if (!vcpu->started)
		return;
	pthread_join(vcpu->thread, NULL);
	vcpu->started = false;
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (!vcpu)
		return;
	vcpu_kick(vcpu);
	vcpu_join(vcpu);
	munmap(vcpu->run, vcpu->run_size);
	close(vcpu->fd);
	pthread_cond_destroy(&vcpu->park_cond);
	pthread_mutex_destroy(&vcpu->park_lock);
	free(vcpu);
}
