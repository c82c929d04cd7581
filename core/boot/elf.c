/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ELF kernel loader (an uncompressed vmlinux or any ELF64 x86-64
 * executable): load the PT_LOAD segments at their physical addresses and
 * pick the entry protocol.  A Xen PHYS32_ENTRY note selects PVH; without
 * it we enter at e_entry in 64-bit mode with a minimal boot_params, the way
 * Firecracker-style VMMs boot vmlinux.
 *
 * The file is untrusted: every offset, size and address is checked, with
 * arithmetic that cannot wrap, before it is used.
 */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "boot_internal.h"
#include "pvh.h"

#define ELF_MAX_PHNUM		128u
/* Linux's note segment is a few hundred bytes; this is generous. */
#define ELF_MAX_NOTE_SEGMENT	(1u << 20)
#define ELF_PVH_NAMESZ		sizeof(PVH_NOTE_NAME)	/* "Xen" + NUL */

bool boot_elf_probe(const uint8_t *head, size_t len)
{
	return len >= SELFMAG && memcmp(head, ELFMAG, SELFMAG) == 0;
}

static int elf_check_ehdr(const struct boot_file *f, const Elf64_Ehdr *eh)
{
	uint64_t table;

	if (eh->e_ident[EI_CLASS] != ELFCLASS64) {
		boot_file_error(f, "not a 64-bit ELF file (class %u)",
				eh->e_ident[EI_CLASS]);
		return -ENOEXEC;
	}
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB) {
		boot_file_error(f, "not a little-endian ELF file");
		return -ENOEXEC;
	}
	if (eh->e_ident[EI_VERSION] != EV_CURRENT || eh->e_version != EV_CURRENT) {
		boot_file_error(f, "unknown ELF version %u", eh->e_version);
		return -ENOEXEC;
	}
	if (eh->e_machine != EM_X86_64) {
		boot_file_error(f, "ELF machine %u is not x86-64", eh->e_machine);
		return -ENOEXEC;
	}
	if (eh->e_type != ET_EXEC) {
		boot_file_error(f, "ELF type %u is not an executable (ET_EXEC)",
				eh->e_type);
		return -ENOEXEC;
	}
	if (eh->e_phentsize != sizeof(Elf64_Phdr)) {
		boot_file_error(f, "ELF program header size %u (expected %zu)",
				eh->e_phentsize, sizeof(Elf64_Phdr));
		return -ENOEXEC;
	}
	if (eh->e_phnum == 0 || eh->e_phnum > ELF_MAX_PHNUM) {
		boot_file_error(f, "ELF has %u program headers (1 to %u supported)",
				eh->e_phnum, ELF_MAX_PHNUM);
		return -ENOEXEC;
	}
	table = (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr);
	if (eh->e_phoff > f->size || table > f->size - eh->e_phoff) {
		boot_file_error(f, "ELF program header table at offset 0x%llx runs past the end of the file (%llu bytes)",
				(unsigned long long)eh->e_phoff,
				(unsigned long long)f->size);
		return -ENOEXEC;
	}
	return 0;
}

static bool elf_in_file(const struct boot_file *f, const Elf64_Phdr *ph)
{
	return ph->p_offset <= f->size && ph->p_filesz <= f->size - ph->p_offset;
}

/* Walk one note segment; sets *entry if it holds the PVH entry note. */
static int elf_parse_notes(const struct boot_file *f, unsigned idx,
			   const uint8_t *buf, uint64_t len, uint64_t align,
			   bool *found, uint64_t *entry)
{
	uint64_t off = 0;

	while (!*found && len - off >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		uint64_t name_off, desc_off, next;

		memcpy(&nh, buf + off, sizeof(nh));
		name_off = off + sizeof(nh);
		/* 64-bit sums of 32-bit fields and offsets below 1 MiB: no wrap. */
		desc_off = name_off + boot_align_up(nh.n_namesz, align);
		if (desc_off > len || nh.n_descsz > len - desc_off) {
			boot_file_error(f, "ELF note at offset %llu of note segment %u runs past the segment (namesz %u, descsz %u, segment %llu bytes)",
					(unsigned long long)off, idx,
					nh.n_namesz, nh.n_descsz,
					(unsigned long long)len);
			return -ENOEXEC;
		}
		if (nh.n_namesz == ELF_PVH_NAMESZ &&
		    memcmp(buf + name_off, PVH_NOTE_NAME, ELF_PVH_NAMESZ) == 0 &&
		    nh.n_type == PVH_NOTE_PHYS32_ENTRY) {
			uint32_t e32;

			if (nh.n_descsz == sizeof(uint32_t)) {
				memcpy(&e32, buf + desc_off, sizeof(e32));
				*entry = e32;
			} else if (nh.n_descsz == sizeof(uint64_t)) {
				memcpy(entry, buf + desc_off, sizeof(*entry));
			} else {
				boot_file_error(f, "PVH entry note has a %u-byte descriptor (expected 4 or 8)",
						nh.n_descsz);
				return -ENOEXEC;
			}
			*found = true;
		}
		/* The last note may omit its trailing padding. */
		next = desc_off + boot_align_up(nh.n_descsz, align);
		off = next < len ? next : len;
	}
	return 0;
}

static int elf_find_pvh_entry(const struct boot_file *f, const Elf64_Phdr *ph,
			      unsigned phnum, bool *found, uint64_t *entry)
{
	int ret = 0;

	*found = false;
	for (unsigned i = 0; i < phnum && !*found && !ret; i++) {
		uint8_t *buf;

		if (ph[i].p_type != PT_NOTE)
			continue;
		if (!elf_in_file(f, &ph[i])) {
			boot_file_error(f, "ELF note segment %u (offset 0x%llx, %llu bytes) runs past the end of the file",
					i, (unsigned long long)ph[i].p_offset,
					(unsigned long long)ph[i].p_filesz);
			return -ENOEXEC;
		}
		if (ph[i].p_filesz > ELF_MAX_NOTE_SEGMENT) {
			boot_file_error(f, "ELF note segment %u is %llu bytes (at most %u supported)",
					i, (unsigned long long)ph[i].p_filesz,
					ELF_MAX_NOTE_SEGMENT);
			return -ENOEXEC;
		}
		if (ph[i].p_filesz == 0)
			continue;
		buf = malloc(ph[i].p_filesz);
		if (!buf)
			return -ENOMEM;
		ret = boot_file_read(f, ph[i].p_offset, buf, ph[i].p_filesz);
		if (!ret)
			/* Notes are 4-byte aligned unless the segment says 8. */
			ret = elf_parse_notes(f, i, buf, ph[i].p_filesz,
					      ph[i].p_align == 8 ? 8 : 4,
					      found, entry);
		free(buf);
	}
	return ret;
}

/* Every PT_LOAD checked before any is loaded; returns the span they cover. */
static int elf_check_segments(const struct boot_file *f, const Elf64_Phdr *ph,
			      unsigned phnum, uint64_t low_end,
			      uint64_t *start, uint64_t *end)
{
	*start = UINT64_MAX;
	*end = 0;
	for (unsigned i = 0; i < phnum; i++) {
		const Elf64_Phdr *p = &ph[i];

		if (p->p_type != PT_LOAD || p->p_memsz == 0)
			continue;
		if (p->p_filesz > p->p_memsz) {
			boot_file_error(f, "ELF segment %u has p_filesz %llu larger than p_memsz %llu",
					i, (unsigned long long)p->p_filesz,
					(unsigned long long)p->p_memsz);
			return -ENOEXEC;
		}
		if (!elf_in_file(f, p)) {
			boot_file_error(f, "ELF segment %u (offset 0x%llx, %llu bytes) runs past the end of the file (%llu bytes)",
					i, (unsigned long long)p->p_offset,
					(unsigned long long)p->p_filesz,
					(unsigned long long)f->size);
			return -ENOEXEC;
		}
		if (p->p_paddr < BOOT_KERNEL_MIN_GPA) {
			boot_file_error(f, "ELF segment %u at 0x%llx is below 1 MiB, where the boot structures live",
					i, (unsigned long long)p->p_paddr);
			return -ENOEXEC;
		}
		if (p->p_paddr >= low_end || p->p_memsz > low_end - p->p_paddr) {
			boot_file_error(f, "ELF segment %u at 0x%llx (%llu bytes) does not fit in guest RAM below 0x%llx",
					i, (unsigned long long)p->p_paddr,
					(unsigned long long)p->p_memsz,
					(unsigned long long)low_end);
			return -EFBIG;
		}
		if (p->p_paddr < *start)
			*start = p->p_paddr;
		if (p->p_paddr + p->p_memsz > *end)
			*end = p->p_paddr + p->p_memsz;
	}
	if (*end == 0) {
		boot_file_error(f, "ELF file has no loadable segment");
		return -ENOEXEC;
	}
	return 0;
}

static int elf_load_segments(const struct guest_mem *mem,
			     const struct boot_file *f, const Elf64_Phdr *ph,
			     unsigned phnum)
{
	for (unsigned i = 0; i < phnum; i++) {
		const Elf64_Phdr *p = &ph[i];
		uint8_t *bss;
		int ret;

		if (p->p_type != PT_LOAD || p->p_memsz == 0)
			continue;
		ret = boot_file_load(f, p->p_offset, p->p_filesz, mem, p->p_paddr);
		if (ret)
			return ret;
		/* Checked by elf_check_segments(); memory may be reused. */
		bss = guest_mem_ptr(mem, p->p_paddr + p->p_filesz,
				    p->p_memsz - p->p_filesz);
		if (!bss)
			return -EFAULT;
		memset(bss, 0, p->p_memsz - p->p_filesz);
	}
	return 0;
}

int boot_elf_load(const struct guest_mem *mem, const struct boot_file *f,
		  struct boot_kernel *out)
{
	struct boot_kernel k = { .protocol = BOOT_PROTOCOL_LINUX64 };
	Elf64_Phdr *ph = NULL;
	uint64_t pvh_entry = 0;
	Elf64_Ehdr eh;
	bool pvh;
	int ret;

	if (f->size < sizeof(eh)) {
		boot_file_error(f, "truncated ELF header (%llu bytes)",
				(unsigned long long)f->size);
		return -ENOEXEC;
	}
	ret = boot_file_read(f, 0, &eh, sizeof(eh));
	if (ret)
		return ret;
	ret = elf_check_ehdr(f, &eh);
	if (ret)
		return ret;

	ph = calloc(eh.e_phnum, sizeof(*ph));
	if (!ph)
		return -ENOMEM;
	ret = boot_file_read(f, eh.e_phoff, ph, eh.e_phnum * sizeof(*ph));
	if (ret)
		goto out;
	ret = elf_check_segments(f, ph, eh.e_phnum, guest_mem_low_end(mem),
				 &k.start, &k.end);
	if (ret)
		goto out;
	ret = elf_find_pvh_entry(f, ph, eh.e_phnum, &pvh, &pvh_entry);
	if (ret)
		goto out;

	if (pvh) {
		k.protocol = BOOT_PROTOCOL_PVH;
		k.entry = pvh_entry;
	} else {
		k.entry = eh.e_entry;
	}
	/* Also rules out a PVH entry at or above 4 GiB: low RAM ends below. */
	if (k.entry < k.start || k.entry >= k.end) {
		boot_file_error(f, "%s entry point 0x%llx is outside the loaded segments [0x%llx, 0x%llx)",
				pvh ? "PVH" : "ELF",
				(unsigned long long)k.entry,
				(unsigned long long)k.start,
				(unsigned long long)k.end);
		ret = -ENOEXEC;
		goto out;
	}
	ret = elf_load_segments(mem, f, ph, eh.e_phnum);
	if (ret)
		goto out;

	/* Both hand-offs carry 64-bit initrd addresses; RAM ends below 4 GiB. */
	k.initrd_end_max = UINT64_MAX;
	k.cmdline_max = BOOT_CMDLINE_MAX - 1;
	*out = k;
out:
	free(ph);
	return ret;
}
