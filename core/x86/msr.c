/* SPDX-License-Identifier: GPL-2.0-only */
#include "x86/msr.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm.h"
#include "log.h"

#define MSR_IA32_TSC			0x00000010
#define MSR_IA32_SYSENTER_CS		0x00000174
#define MSR_IA32_SYSENTER_ESP		0x00000175
#define MSR_IA32_SYSENTER_EIP		0x00000176
#define MSR_IA32_MISC_ENABLE		0x000001a0
#define MSR_MTRR_DEF_TYPE		0x000002ff
#define MSR_STAR			0xc0000081
#define MSR_LSTAR			0xc0000082
#define MSR_CSTAR			0xc0000083
#define MSR_SYSCALL_MASK		0xc0000084
#define MSR_KERNEL_GS_BASE		0xc0000102

#define MISC_ENABLE_FAST_STRING		(1ull << 0)
/* MTRRs enabled, default memory type write-back. */
#define MTRR_DEF_TYPE_E_WB		((1ull << 11) | 6)

static const struct {
	unsigned index;
	unsigned long long value;
} msr_boot_values[] = {
	{ MSR_IA32_SYSENTER_CS, 0 },
	{ MSR_IA32_SYSENTER_ESP, 0 },
	{ MSR_IA32_SYSENTER_EIP, 0 },
	{ MSR_STAR, 0 },
	{ MSR_LSTAR, 0 },
	{ MSR_CSTAR, 0 },
	{ MSR_SYSCALL_MASK, 0 },
	{ MSR_KERNEL_GS_BASE, 0 },
	/* Same value on every vCPU at boot: KVM treats it as a TSC sync. */
	{ MSR_IA32_TSC, 0 },
	{ MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING },
	{ MSR_MTRR_DEF_TYPE, MTRR_DEF_TYPE_E_WB },
};

#define MSR_NR (sizeof(msr_boot_values) / sizeof(msr_boot_values[0]))

int msr_init_vcpu(const struct kvm *kvm, int vcpu_fd)
{
	/* struct kvm_msrs ends in a flexible array: give it room. */
	union {
		struct kvm_msrs hdr;
		char room[sizeof(struct kvm_msrs) +
			  MSR_NR * sizeof(struct kvm_msr_entry)];
	} msrs;
	int ret;

	memset(&msrs, 0, sizeof(msrs));
	for (unsigned i = 0; i < MSR_NR; i++) {
		/* Only what this KVM can save and restore. */
		if (!kvm_has_msr(kvm, msr_boot_values[i].index))
			continue;
		msrs.hdr.entries[msrs.hdr.nmsrs].index = msr_boot_values[i].index;
		msrs.hdr.entries[msrs.hdr.nmsrs].data = msr_boot_values[i].value;
		msrs.hdr.nmsrs++;
	}

	ret = ioctl(vcpu_fd, KVM_SET_MSRS, &msrs);
	if (ret < 0) {
		ret = -errno;
		log_err("vcpu", "KVM_SET_MSRS: %s", strerror(-ret));
		return ret;
	}
	if ((unsigned)ret != msrs.hdr.nmsrs) {
		log_err("vcpu", "KVM refused MSR 0x%x", msrs.hdr.entries[ret].index);
		return -EINVAL;
	}
	return 0;
}
