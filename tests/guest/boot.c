/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Boot structures: PVH start_info and Linux boot_params, normalised into
 * struct boot_info.  Runs at CPL3.  The boot structures and the memory map
 * are read before RAM above 4 GiB is mapped, so they must lie below 4 GiB
 * (every loader puts them in low memory); the command line is copied
 * afterwards and may be anywhere in RAM.
 */
#include <asm/bootparam.h>

#include "guest.h"
#include "pvh.h"

_Static_assert(GUEST_PVH_NOTE_TYPE == PVH_NOTE_PHYS32_ENTRY,
	       "entry.S emits the PVH note with the wrong type");

static void boot_add_memmap(struct boot_info *bi, uint64_t addr,
			    uint64_t size, uint32_t type)
{
	struct boot_memmap_entry *e;

	if (bi->memmap_entries == BOOT_MEMMAP_MAX)
		return;
	e = &bi->memmap[bi->memmap_entries++];
	e->addr = addr;
	e->size = size;
	e->type = type;
}

static bool boot_from_pvh(const struct pvh_start_info *si,
			  struct boot_info *bi)
{
	if (si->magic != PVH_START_MAGIC)
		return false;
	if (si->version >= PVH_START_VERSION_MEMMAP && si->memmap_paddr) {
		const struct pvh_memmap_entry *e =
			(const void *)(uintptr_t)si->memmap_paddr;

		for (uint32_t i = 0; i < si->memmap_entries; i++)
			boot_add_memmap(bi, e[i].addr, e[i].size, e[i].type);
	}
	bi->cmdline_paddr = si->cmdline_paddr;
	if (si->nr_modules >= 1 && si->modlist_paddr) {
		const struct pvh_modlist_entry *m =
			(const void *)(uintptr_t)si->modlist_paddr;

		bi->initrd_addr = m[0].paddr;
		bi->initrd_size = m[0].size;
	}
	bi->rsdp_paddr = si->rsdp_paddr;
	return true;
}

static bool boot_from_linux64(const struct boot_params *bp,
			      struct boot_info *bi)
{
	unsigned int n = bp->e820_entries;
	/*
	 * As Linux does: a set sentinel means a loader copied more than the
	 * setup header into a boot_params it did not clear, so the fields
	 * outside the header (the ext_* high halves) are garbage.
	 */
	bool ext = bp->sentinel == 0;

	if (n > E820_MAX_ENTRIES_ZEROPAGE)
		n = E820_MAX_ENTRIES_ZEROPAGE;
	for (unsigned int i = 0; i < n; i++)
		boot_add_memmap(bi, bp->e820_table[i].addr,
				bp->e820_table[i].size, bp->e820_table[i].type);

	bi->cmdline_paddr = bp->hdr.cmd_line_ptr;
	bi->initrd_addr = bp->hdr.ramdisk_image;
	bi->initrd_size = bp->hdr.ramdisk_size;
	if (ext) {
		bi->cmdline_paddr |= (uint64_t)bp->ext_cmd_line_ptr << 32;
		bi->initrd_addr |= (uint64_t)bp->ext_ramdisk_image << 32;
		bi->initrd_size |= (uint64_t)bp->ext_ramdisk_size << 32;
		bi->rsdp_paddr = bp->acpi_rsdp_addr;
	}
	return true;
}

bool boot_parse(unsigned int protocol, uint64_t ptr, struct boot_info *bi)
{
	bi->protocol = protocol;
	if (!ptr)
		return false;
	switch (protocol) {
	case BOOT_PROTO_PVH:
		return boot_from_pvh((const void *)(uintptr_t)ptr, bi);
	case BOOT_PROTO_LINUX64:
		return boot_from_linux64((const void *)(uintptr_t)ptr, bi);
	default:
		return false;
	}
}

void boot_copy_cmdline(struct boot_info *bi)
{
	const char *src = (const char *)(uintptr_t)bi->cmdline_paddr;
	size_t n = 0;

	if (src) {
		while (n < sizeof(bi->cmdline) - 1 && src[n]) {
			bi->cmdline[n] = src[n];
			n++;
		}
	}
	bi->cmdline[n] = '\0';
}

static bool boot_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

const char *boot_option(const struct boot_info *bi, const char *key,
			size_t *len)
{
	size_t klen = strlen(key);
	const char *p = bi->cmdline;

	while (*p) {
		const char *word;
		size_t wlen = 0;

		while (boot_is_space(*p))
			p++;
		word = p;
		while (*p && !boot_is_space(*p))
			p++;
		wlen = (size_t)(p - word);
		if (wlen > klen && word[klen] == '=' &&
		    memcmp(word, key, klen) == 0) {
			*len = wlen - klen - 1;
			return word + klen + 1;
		}
	}
	return NULL;
}
