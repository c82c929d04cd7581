/* SPDX-License-Identifier: GPL-2.0-only */
#include "vm.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "backend_spawn.h"
#include "bus.h"
#include "console.h"
#include "control.h"
#include "devices/rtc.h"
#include "devices/serial.h"
#include "event.h"
#include "guest_mem.h"
#include "irq.h"
#include "kvm.h"
#include "log.h"
#include "pci.h"
#include "platform.h"
#include "platform_devices.h"
#include "sandbox.h"
#include "vcpu.h"
#include "vhost_user_dev.h"
#include "x86/cpuid.h"

#define TAG "vm"

/*
 * Intel VMX needs three pages for the real-mode TSS and one for the EPT
 * identity map, inside guest-physical space but outside RAM: just below
 * the 4 GiB boundary, where PC firmware would be.
 */
#define VM_TSS_ADDR		0xfffbd000ull
#define VM_IDENTITY_MAP_ADDR	0xfffbc000ull

/* xAPIC ids are 8 bits and 0xff is broadcast. */
#define VM_MAX_XAPIC_CPUS	254

struct vm {
	struct kvm *kvm;
	int fd;
	unsigned ncpus;
	struct guest_mem *mem;
	struct irq_router *irq;
	struct bus *pio;
	struct bus *mmio;
	struct serial *serial;
	struct rtc *rtc;
	struct pci_root *pci;
	unsigned nr_vhost_user;
	struct vhost_user_dev *vhost_user[VM_MAX_VHOST_USER_DEVS];
	struct boot_setup boot;
	struct vcpu **vcpus;
	int console_in_fd;

	/* Set while vm_run() runs; console is the main thread's. */
	struct console *console;
	pthread_mutex_t console_lock;	/* serial rx_space vs console life */

	struct backend_spawn *backends;	/* spawned back-ends, or NULL */

	/* Control API: listening socket (-1: none), state for vm_get_info. */
	int api_fd;
	char *kernel_path;
	char *initrd_path;
	char *cmdline;
	uint64_t mem_size;
	struct timespec started;
	bool running;			/* main thread: inside vm_run() */
	bool paused;			/* main thread */
	_Atomic uint64_t irq_line_changes;

	/* The first exit request wins; exit_fd wakes the main thread. */
	pthread_mutex_t exit_lock;
	atomic_bool exit_requested;
	struct vm_exit exit;
	int exit_fd;
};

static const char *const vm_exit_names[] = {
	[VM_EXIT_POWEROFF] = "poweroff",
	[VM_EXIT_RESET] = "reset",
	[VM_EXIT_DEBUG] = "debug-exit",
	[VM_EXIT_SIGNAL] = "signal",
	[VM_EXIT_CRASH] = "crash",
	[VM_EXIT_ERROR] = "error",
};

const char *vm_exit_reason_name(enum vm_exit_reason reason)
{
	return reason < sizeof(vm_exit_names) / sizeof(vm_exit_names[0])
		       ? vm_exit_names[reason] : "?";
}

void vm_request_exit(struct vm *vm, enum vm_exit_reason reason, int status)
{
	uint64_t one = 1;

	pthread_mutex_lock(&vm->exit_lock);
	if (!atomic_load(&vm->exit_requested)) {
		atomic_store(&vm->exit_requested, true);
		vm->exit.reason = reason;
		vm->exit.status = status;
		if (write(vm->exit_fd, &one, sizeof(one)) < 0)
			log_err(TAG, "exit eventfd: %s", strerror(errno));
	}
	pthread_mutex_unlock(&vm->exit_lock);
}

bool vm_exit_pending(struct vm *vm)
{
	return atomic_load(&vm->exit_requested);
}

int vm_irq_line(struct vm *vm, unsigned gsi, bool level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = level };

	atomic_fetch_add_explicit(&vm->irq_line_changes, 1,
				  memory_order_relaxed);
	if (ioctl(vm->fd, KVM_IRQ_LINE_STATUS, &irq) < 0)
		return -errno;
	return 0;
}

struct bus *vm_pio_bus(struct vm *vm)
{
	return vm->pio;
}

struct bus *vm_mmio_bus(struct vm *vm)
{
	return vm->mmio;
}

static int vm_check_ncpus(struct vm *vm, unsigned ncpus)
{
	unsigned max = kvm_max_vcpus(vm->kvm);

	if (max > VM_MAX_XAPIC_CPUS)
		max = VM_MAX_XAPIC_CPUS;
	if (ncpus == 0 || ncpus > max) {
		log_err(TAG, "%u vCPUs requested; this host supports 1 to %u",
			ncpus, max);
		return -EINVAL;
	}
	return 0;
}

/*
 * RAM and the 64-bit BAR window above it must lie inside the physical
 * address space the guest's CPUID describes, or the guest could not
 * reach the top of its memory or the BARs placed there.
 */
static int vm_check_phys_bits(struct vm *vm)
{
	unsigned bits = cpuid_phys_bits(kvm_supported_cpuid(vm->kvm));
	const struct guest_region *top = guest_mem_region(vm->mem,
		guest_mem_nr_regions(vm->mem) - 1);
	uint64_t start, end;

	if (pci_mmio64_window(top->gpa + top->size, &start, &end) ||
	    (bits < 64 && end > 1ull << bits)) {
		log_err(TAG, "--memory %llu MiB: guest RAM and the 64-bit PCI window above it end at 0x%llx, beyond this host's %u-bit guest physical address space",
			(unsigned long long)(vm->mem_size >> 20),
			(unsigned long long)end, bits);
		return -E2BIG;
	}
	return 0;
}

static int vm_ioctl(struct vm *vm, unsigned long req, unsigned long arg,
		    const char *what)
{
	if (ioctl(vm->fd, req, arg) < 0) {
		int ret = -errno;

		log_err(TAG, "%s: %s", what, strerror(-ret));
		return ret;
	}
	return 0;
}

static int vm_setup_memslots(struct vm *vm)
{
	int ret;

	for (unsigned i = 0; i < guest_mem_nr_regions(vm->mem); i++) {
		const struct guest_region *r = guest_mem_region(vm->mem, i);
		struct kvm_userspace_memory_region slot = {
			.slot = i,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->hva,
		};

		ret = vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION,
			       (unsigned long)&slot, "KVM_SET_USER_MEMORY_REGION");
		if (ret)
			return ret;
	}
	return 0;
}

static int vm_setup_irqchip(struct vm *vm)
{
	struct kvm_pit_config pit = { .flags = 0 };
	int ret;

	ret = vm_ioctl(vm, KVM_CREATE_IRQCHIP, 0, "KVM_CREATE_IRQCHIP");
	if (!ret)
		ret = irq_router_create(vm->fd, &vm->irq);
	if (!ret)
		ret = vm_ioctl(vm, KVM_CREATE_PIT2, (unsigned long)&pit,
			       "KVM_CREATE_PIT2");
	return ret;
}

static void vm_serial_set_irq(void *ctx, bool level)
{
	struct vm *vm = ctx;
	int ret = vm_irq_line(vm, PLATFORM_COM1_IRQ, level);

	if (ret)
		log_warn("serial", "KVM_IRQ_LINE: %s", strerror(-ret));
}

/* vCPU thread: the UART drained its receive FIFO. */
static void vm_serial_rx_space(void *ctx)
{
	struct vm *vm = ctx;

	pthread_mutex_lock(&vm->console_lock);
	if (vm->console)
		console_resume(vm->console);
	pthread_mutex_unlock(&vm->console_lock);
}

/* Connect to each back-end and put its device on the PCI root. */
static int vm_setup_vhost_user(struct vm *vm, const struct vm_config *cfg)
{
	unsigned nblk = 0, nnet = 0;
	int ret;

	if (cfg->nr_vhost_user > VM_MAX_VHOST_USER_DEVS)
		return -EINVAL;
	for (unsigned i = 0; i < cfg->nr_vhost_user; i++) {
		struct vhost_user_dev_config dc = {
			.spec = cfg->vhost_user[i],
			.sock_fd = -1,
			.mem = vm->mem,
			.vm_fd = vm->fd,
			.irq = vm->irq,
		};
		char name[16];

		if (dc.spec.type == VHOST_USER_DEV_BLK)
			snprintf(name, sizeof(name), "blk%u", nblk++);
		else
			snprintf(name, sizeof(name), "net%u", nnet++);
		dc.name = name;
		ret = vhost_user_dev_create(&dc, &vm->vhost_user[i]);
		if (ret)
			return ret;
		vm->nr_vhost_user = i + 1;
		ret = vhost_user_dev_register(vm->vhost_user[i], vm->pci,
					      PCI_SLOT_AUTO);
		if (ret) {
			log_err(name, "no room on the PCI bus: %s",
				strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static int vm_setup_devices(struct vm *vm, const struct vm_config *cfg)
{
	struct serial_config serial = {
		.name = "ttyS0",
		.out_fd = cfg->console_out_fd,
		.set_irq = vm_serial_set_irq,
		.irq_ctx = vm,
		.rx_space = vm_serial_rx_space,
		.rx_ctx = vm,
	};
	int ret;

	ret = bus_create("pio", &vm->pio);
	if (!ret)
		ret = bus_create("mmio", &vm->mmio);
	if (!ret)
		ret = serial_create(&serial, &vm->serial);
	if (!ret)
		ret = bus_register(vm->pio, PLATFORM_COM1_PORT, 8,
				   &serial_bus_ops, vm->serial);
	if (!ret)
		ret = rtc_create(&vm->rtc);
	if (!ret) {
		/* CMOS memory-size bytes, for firmware and boot loaders. */
		rtc_set_memory(vm->rtc, guest_mem_low_end(vm->mem),
			       guest_mem_size(vm->mem) - guest_mem_low_end(vm->mem));
		ret = bus_register(vm->pio, PLATFORM_RTC_PORT, 2, &rtc_bus_ops,
				   vm->rtc);
	}
	if (!ret)
		ret = platform_devices_register(vm, vm->pio);
	if (!ret) {
		/* The 64-bit BAR window goes above the highest RAM region. */
		const struct guest_region *top = guest_mem_region(vm->mem,
			guest_mem_nr_regions(vm->mem) - 1);
		struct pci_root_config pci = {
			.pio = vm->pio,
			.mmio = vm->mmio,
			.ram_end = top->gpa + top->size,
		};

		ret = pci_root_create(&pci, &vm->pci);
	}
	if (!ret)
		ret = vm_setup_vhost_user(vm, cfg);
	return ret;
}

static int vm_create_vcpus(struct vm *vm)
{
	vm->vcpus = calloc(vm->ncpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu_config cfg = {
			.vm = vm,
			.kvm = vm->kvm,
			.vm_fd = vm->fd,
			.id = i,
			.ncpus = vm->ncpus,
			.boot = i == 0 ? &vm->boot : NULL,
			.pio = vm->pio,
			.mmio = vm->mmio,
		};
		int ret = vcpu_create(&cfg, &vm->vcpus[i]);

		if (ret)
			return ret;
	}
	return 0;
}

static int vm_setup_kvm(struct vm *vm, const struct vm_config *cfg)
{
	uint64_t ident = VM_IDENTITY_MAP_ADDR;
	int ret;

	ret = kvm_open(cfg->kvm_path ? cfg->kvm_path : "/dev/kvm", &vm->kvm);
	if (ret)
		return ret;
	ret = vm_check_ncpus(vm, cfg->ncpus);
	if (!ret)
		ret = vm_check_phys_bits(vm);
	if (ret)
		return ret;

	do {
		vm->fd = ioctl(kvm_fd(vm->kvm), KVM_CREATE_VM, 0);
	} while (vm->fd < 0 && errno == EINTR);
	if (vm->fd < 0) {
		ret = -errno;
		log_err(TAG, "KVM_CREATE_VM: %s", strerror(-ret));
		return ret;
	}
	/* Both must precede the first vCPU. */
	ret = vm_ioctl(vm, KVM_SET_TSS_ADDR, VM_TSS_ADDR, "KVM_SET_TSS_ADDR");
	if (!ret)
		ret = vm_ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR,
			       (unsigned long)&ident,
			       "KVM_SET_IDENTITY_MAP_ADDR");
	return ret;
}

int vm_create(const struct vm_config *cfg, struct vm **out)
{
	struct boot_config boot = cfg->boot;
	struct vm *vm = calloc(1, sizeof(*vm));
	int ret;

	if (!vm)
		return -ENOMEM;
	vm->fd = -1;
	vm->api_fd = -1;
	vm->ncpus = cfg->ncpus;
	vm->mem_size = cfg->mem_size;
	vm->console_in_fd = cfg->console_in_fd;
	pthread_mutex_init(&vm->exit_lock, NULL);
	pthread_mutex_init(&vm->console_lock, NULL);
	vm->exit_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->exit_fd < 0) {
		ret = -errno;
		goto err;
	}

	vm->kernel_path = strdup(cfg->boot.kernel_path ? cfg->boot.kernel_path : "");
	vm->cmdline = strdup(cfg->boot.cmdline ? cfg->boot.cmdline : "");
	vm->initrd_path = cfg->boot.initrd_path ? strdup(cfg->boot.initrd_path)
						: NULL;
	if (!vm->kernel_path || !vm->cmdline ||
	    (cfg->boot.initrd_path && !vm->initrd_path)) {
		ret = -ENOMEM;
		goto err;
	}

	/*
	 * Guest RAM and the loaded guest first: a bad kernel, initrd or
	 * memory size is reported without needing /dev/kvm at all.
	 */
	boot.ncpus = cfg->ncpus;	/* the MADT lists exactly these */
	ret = guest_mem_create(cfg->mem_size, cfg->mem_flags, &vm->mem);
	if (!ret)
		ret = boot_load(vm->mem, &boot, &vm->boot);
	if (!ret)
		ret = vm_setup_kvm(vm, cfg);
	if (!ret)
		ret = vm_setup_memslots(vm);
	if (!ret)
		ret = vm_setup_irqchip(vm);
	if (!ret)
		ret = vm_setup_devices(vm, cfg);
	if (!ret)
		ret = vm_create_vcpus(vm);
	if (ret)
		goto err;

	*out = vm;
	return 0;

err:
	vm_destroy(vm);
	return ret;
}

static void vm_on_exit_request(void *opaque, int fd, uint32_t events)
{
	struct event_loop *loop = opaque;
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn(TAG, "exit eventfd: %s", strerror(errno));
	event_loop_stop(loop);
}


static void vm_on_signal(void *opaque, int fd, uint32_t events)
{
	struct vm *vm = opaque;
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	log_info(TAG, "received %s, stopping the VM", strsignal(si.ssi_signo));
	vm_request_exit(vm, VM_EXIT_SIGNAL, si.ssi_signo);
}

static size_t vm_console_input(void *ctx, const void *buf, size_t len)
{
	struct vm *vm = ctx;

	return serial_receive(vm->serial, buf, len);
}

static void vm_console_quit(void *ctx)
{
	struct vm *vm = ctx;

	log_info(TAG, "quit from the console (Ctrl-A x)");
	vm_request_exit(vm, VM_EXIT_SIGNAL, SIGINT);
}

static const struct console_ops vm_console_ops = {
	.input = vm_console_input,
	.quit = vm_console_quit,
};

static void vm_stop_vcpus(struct vm *vm)
{
	for (unsigned i = 0; i < vm->ncpus; i++)
		vcpu_kick(vm->vcpus[i]);
	for (unsigned i = 0; i < vm->ncpus; i++)
		vcpu_join(vm->vcpus[i]);
}

int vm_run(struct vm *vm, struct vm_exit *result)
{
	struct control *control = NULL;
	struct event_loop *loop = NULL;
	sigset_t mask, old;
	int sfd = -1, ret;

	/*
	 * Block the signals we handle before any thread exists so every
	 * thread inherits the mask and only signalfd sees them; the kick
	 * signal stays blocked except inside vCPU threads.
	 */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, vcpu_kick_signal());
	pthread_sigmask(SIG_BLOCK, &mask, &old);
	sigdelset(&mask, vcpu_kick_signal());

	ret = event_loop_create(&loop);
	if (ret)
		goto out;
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		ret = -errno;
		goto out;
	}
	ret = event_loop_add(loop, sfd, EPOLLIN, vm_on_signal, vm);
	if (!ret)
		ret = event_loop_add(loop, vm->exit_fd, EPOLLIN,
				     vm_on_exit_request, loop);
	for (unsigned i = 0; i < vm->nr_vhost_user && !ret; i++)
		ret = vhost_user_dev_watch(vm->vhost_user[i], loop);
	if (!ret)
		ret = backend_spawn_watch(vm->backends, loop);
	if (!ret && vm->api_fd >= 0)
		ret = control_create(loop, vm, vm->api_fd, &control);
	if (ret)
		goto out;

	pthread_mutex_lock(&vm->console_lock);
	ret = console_create(loop, vm->console_in_fd, &vm_console_ops, vm,
			     &vm->console);
	pthread_mutex_unlock(&vm->console_lock);
	if (ret)
		goto out;

	clock_gettime(CLOCK_MONOTONIC, &vm->started);
	vm->running = true;
	for (unsigned i = 0; i < vm->ncpus && !ret; i++)
		ret = vcpu_start(vm->vcpus[i]);
	/* Every thread exists: the main thread gives up running vCPUs. */
	if (!ret)
		ret = sandbox_lockdown_main_thread();
	if (ret)
		vm_request_exit(vm, VM_EXIT_ERROR, 0);

	ret = event_loop_run(loop);
	if (ret)
		log_err(TAG, "event loop: %s", strerror(-ret));
	vm_stop_vcpus(vm);
	vm->running = false;
	serial_flush(vm->serial);

	pthread_mutex_lock(&vm->exit_lock);
	*result = vm->exit;
	pthread_mutex_unlock(&vm->exit_lock);
out:
	control_destroy(control);
	pthread_mutex_lock(&vm->console_lock);
	console_destroy(vm->console);
	vm->console = NULL;
	pthread_mutex_unlock(&vm->console_lock);
	if (sfd >= 0)
		close(sfd);
	for (unsigned i = 0; i < vm->nr_vhost_user; i++)
		vhost_user_dev_unwatch(vm->vhost_user[i]);
	backend_spawn_unwatch(vm->backends);
	event_loop_destroy(loop);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret;
}

/* ---- control API (main thread) ------------------------------------------ */

static const char *const vm_state_names[] = {
	[VM_STATE_CREATED] = "created",
	[VM_STATE_RUNNING] = "running",
	[VM_STATE_PAUSED] = "paused",
	[VM_STATE_STOPPING] = "stopping",
};

const char *vm_state_name(enum vm_state state)
{
	return (unsigned)state < sizeof(vm_state_names) / sizeof(vm_state_names[0])
		       ? vm_state_names[state] : "?";
}

void vm_set_api_socket(struct vm *vm, int listen_fd)
{
	vm->api_fd = listen_fd;
}

void vm_set_backends(struct vm *vm, struct backend_spawn *bs)
{
	vm->backends = bs;
}

struct backend_spawn *vm_backends(struct vm *vm)
{
	return vm->backends;
}

void vm_get_info(struct vm *vm, struct vm_info *out)
{
	struct timespec now;

	memset(out, 0, sizeof(*out));
	out->ncpus = vm->ncpus;
	out->mem_size = vm->mem_size;
	out->kernel_path = vm->kernel_path;
	out->initrd_path = vm->initrd_path;
	out->cmdline = vm->cmdline;
	out->nr_devices = vm->nr_vhost_user;
	out->irq_line_changes = atomic_load_explicit(&vm->irq_line_changes,
						     memory_order_relaxed);
	pthread_mutex_lock(&vm->exit_lock);
	out->ended = atomic_load(&vm->exit_requested);
	out->exit = vm->exit;
	pthread_mutex_unlock(&vm->exit_lock);
	if (out->ended)
		out->state = VM_STATE_STOPPING;
	else if (!vm->running)
		out->state = VM_STATE_CREATED;
	else
		out->state = vm->paused ? VM_STATE_PAUSED : VM_STATE_RUNNING;
	if (vm->running) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		out->uptime_s = (double)(now.tv_sec - vm->started.tv_sec) +
				(double)(now.tv_nsec - vm->started.tv_nsec) / 1e9;
	}
}

int vm_pause(struct vm *vm, int timeout_ms)
{
	int ret = 0;

	if (vm_exit_pending(vm) || !vm->running)
		return -ESHUTDOWN;
	if (vm->paused)
		return -EALREADY;
	vm->paused = true;
	for (unsigned i = 0; i < vm->ncpus; i++)
		vcpu_pause(vm->vcpus[i]);
	/* They leave KVM_RUN in parallel: the waits overlap. */
	for (unsigned i = 0; i < vm->ncpus && !ret; i++)
		ret = vcpu_wait_parked(vm->vcpus[i], timeout_ms);
	if (ret)
		log_warn(TAG, "pause: a vCPU did not park within %d ms", timeout_ms);
	else
		log_info(TAG, "paused");
	return ret;
}

int vm_resume(struct vm *vm)
{
	if (vm_exit_pending(vm) || !vm->running)
		return -ESHUTDOWN;
	if (!vm->paused)
		return -EALREADY;
	vm->paused = false;
	for (unsigned i = 0; i < vm->ncpus; i++)
		vcpu_resume(vm->vcpus[i]);
	log_info(TAG, "resumed");
	return 0;
}

void vm_get_vcpu_stats(struct vm *vm, unsigned index, struct vcpu_stats *out)
{
	vcpu_get_stats(vm->vcpus[index], out);
}

struct vhost_user_dev *vm_device(struct vm *vm, unsigned index)
{
	return index < vm->nr_vhost_user ? vm->vhost_user[index] : NULL;
}

void vm_destroy(struct vm *vm)
{
	if (!vm)
		return;
	if (vm->vcpus) {
		for (unsigned i = 0; i < vm->ncpus; i++)
			vcpu_destroy(vm->vcpus[i]);
		free(vm->vcpus);
	}
	/* Before the root and the irq router they are registered with. */
	for (unsigned i = 0; i < vm->nr_vhost_user; i++)
		vhost_user_dev_destroy(vm->vhost_user[i]);
	pci_root_destroy(vm->pci);
	rtc_destroy(vm->rtc);
	serial_destroy(vm->serial);
	bus_destroy(vm->mmio);
	bus_destroy(vm->pio);
	irq_router_destroy(vm->irq);
	if (vm->fd >= 0)
		close(vm->fd);
	guest_mem_destroy(vm->mem);
	kvm_close(vm->kvm);
	if (vm->exit_fd >= 0)
		close(vm->exit_fd);
	pthread_mutex_destroy(&vm->console_lock);
	pthread_mutex_destroy(&vm->exit_lock);
	free(vm->kernel_path);
	free(vm->initrd_path);
	free(vm->cmdline);
	free(vm);
}
