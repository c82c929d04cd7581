/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A tiny AML byte writer for the DSDT: names, integers, devices, buffers,
 * packages and the resource descriptors a PCI host bridge's _CRS needs.
 */
#ifndef SPLITVM_BOOT_AML_H
#define SPLITVM_BOOT_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Writes into a caller's buffer.  Running out of room (or a bad name) sets
 * error, which sticks: emit everything, then check it once.
 */
struct aml {
	uint8_t *buf;
	size_t cap;
	size_t len;
	bool error;
};

void aml_init(struct aml *a, void *buf, size_t cap);
void aml_bytes(struct aml *a, const void *p, size_t n);
void aml_byte(struct aml *a, uint8_t b);

/*
 * PkgLength for body_len bytes that follow it (the encoding counts its
 * own 1 to 4 bytes): writes them to out, returns how many, 0 if too long.
 */
size_t aml_pkg_length_encode(size_t body_len, uint8_t out[4]);
/* Everything written between begin and end gets a PkgLength before it. */
size_t aml_pkg_begin(const struct aml *a);
void aml_pkg_end(struct aml *a, size_t start);

/* "\\_SB_.PCI0", "_HID": 4-character segments, an optional leading '\'. */
void aml_name_string(struct aml *a, const char *path);
/* The shortest of ZeroOp, OneOp and the Byte/Word/DWord/QWord prefixes. */
void aml_integer(struct aml *a, uint64_t v);
/* Name (name, v) */
void aml_name_integer(struct aml *a, const char *name, uint64_t v);
/* EISAID ("PNP0A03"): 3 letters and 4 hex digits, compressed to 32 bits. */
uint32_t aml_eisaid(const char *id);
/* Name (name, EISAID (id)), always a DWord as ASL compilers emit it. */
void aml_name_eisaid(struct aml *a, const char *name, const char *id);
/* Name (name, Buffer () { bytes }) */
void aml_name_buffer(struct aml *a, const char *name, const void *bytes,
		     size_t n);
/*
 * Package () { ... } of num_elements (at most 255) elements written
 * between begin and end: returns what aml_package_end takes.
 */
size_t aml_package_begin(struct aml *a, unsigned num_elements);
void aml_package_end(struct aml *a, size_t start);
/* Device (path) { ... }: returns what aml_device_end takes. */
size_t aml_device_begin(struct aml *a, const char *path);
void aml_device_end(struct aml *a, size_t start);

/*
 * Resource descriptors, written into a struct aml of their own; ranges
 * are inclusive [min, max].  Windows are ResourceProducer, MinFixed,
 * MaxFixed, PosDecode, granularity 0 (a fixed window, ACPI 6.5 6.4.3.5).
 */
void aml_rd_word_bus(struct aml *a, uint16_t min, uint16_t max);
/* IO (Decode16, min, max, align, len): a fixed range the bridge uses. */
void aml_rd_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align,
	       uint8_t len);
void aml_rd_word_io(struct aml *a, uint16_t min, uint16_t max);
/* type_flags: ACPI_RD_MEM_* */
void aml_rd_dword_mem(struct aml *a, uint8_t type_flags, uint32_t min,
		      uint32_t max);
void aml_rd_qword_mem(struct aml *a, uint8_t type_flags, uint64_t min,
		      uint64_t max);
/* End tag, with the checksum of everything written since offset start. */
void aml_rd_end(struct aml *a, size_t start);

#endif
