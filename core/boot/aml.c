/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * AML encoding (ACPI 6.5 chapter 20) and resource data (section 6.4).
 * Nothing here allocates: a struct aml writes into its caller's buffer.
 */
#include <string.h>

#include "acpi.h"
#include "aml.h"

void aml_init(struct aml *a, void *buf, size_t cap)
{
	*a = (struct aml){ .buf = buf, .cap = cap };
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->error || n > a->cap - a->len) {
		a->error = true;
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

static void aml_le(struct aml *a, uint64_t v, unsigned n)
{
	uint8_t b[8];

	for (unsigned i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	aml_bytes(a, b, n);
}

size_t aml_pkg_length_encode(size_t body_len, uint8_t out[4])
{
	size_t total;

	/* One byte: bits 7-6 are 0 and bits 5-0 hold up to 63. */
	if (body_len + 1 <= 0x3f) {
		out[0] = (uint8_t)(body_len + 1);
		return 1;
	}
	/*
	 * n = 1..3 following bytes: bits 7-6 say n, bits 3-0 are the low
	 * nibble and the following bytes the rest, least significant first.
	 */
	for (size_t n = 1; n <= 3; n++) {
		total = body_len + 1 + n;
		if (total >> (4 + 8 * n))
			continue;
		out[0] = (uint8_t)(n << 6 | (total & 0xf));
		for (size_t i = 1; i <= n; i++)
			out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
		return n + 1;
	}
	return 0;
}

size_t aml_pkg_begin(const struct aml *a)
{
	return a->len;
}

/* The body is written first; slide it up to make room for its length. */
void aml_pkg_end(struct aml *a, size_t start)
{
	uint8_t enc[4];
	size_t body, n;

	if (a->error)
		return;
	body = a->len - start;
	n = aml_pkg_length_encode(body, enc);
	if (!n || n > a->cap - a->len) {
		a->error = true;
		return;
	}
	memmove(a->buf + start + n, a->buf + start, body);
	memcpy(a->buf + start, enc, n);
	a->len += n;
}

static bool aml_name_char(char c, bool lead)
{
	return (c >= 'A' && c <= 'Z') || c == '_' ||
	       (!lead && c >= '0' && c <= '9');
}

void aml_name_string(struct aml *a, const char *path)
{
	size_t segs, len;

	if (*path == '\\') {
		aml_byte(a, AML_ROOT_CHAR);
		path++;
	}
	len = strlen(path);
	segs = (len + 1) / (AML_NAME_SEG_SIZE + 1);
	/* "ABCD" or "ABCD.EFGH...": every segment 4 characters exactly. */
	if (segs == 0 || segs > 255 || len != segs * (AML_NAME_SEG_SIZE + 1) - 1) {
		a->error = true;
		return;
	}
	for (size_t i = 0; i < len; i++) {
		size_t pos = i % (AML_NAME_SEG_SIZE + 1);

		if (pos == AML_NAME_SEG_SIZE ? path[i] != '.' :
		    !aml_name_char(path[i], pos == 0)) {
			a->error = true;
			return;
		}
	}
	if (segs == 2) {
		aml_byte(a, AML_DUAL_NAME_PREFIX);
	} else if (segs > 2) {
		aml_byte(a, AML_MULTI_NAME_PREFIX);
		aml_byte(a, (uint8_t)segs);
	}
	for (size_t i = 0; i < segs; i++)
		aml_bytes(a, path + i * (AML_NAME_SEG_SIZE + 1),
			  AML_NAME_SEG_SIZE);
}

void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0) {
		aml_byte(a, AML_ZERO_OP);
	} else if (v == 1) {
		aml_byte(a, AML_ONE_OP);
	} else if (v <= UINT8_MAX) {
		aml_byte(a, AML_BYTE_PREFIX);
		aml_le(a, v, 1);
	} else if (v <= UINT16_MAX) {
		aml_byte(a, AML_WORD_PREFIX);
		aml_le(a, v, 2);
	} else if (v <= UINT32_MAX) {
		aml_byte(a, AML_DWORD_PREFIX);
		aml_le(a, v, 4);
	} else {
		aml_byte(a, AML_QWORD_PREFIX);
		aml_le(a, v, 8);
	}
}

void aml_name_integer(struct aml *a, const char *name, uint64_t v)
{
	aml_byte(a, AML_NAME_OP);
	aml_name_string(a, name);
	aml_integer(a, v);
}

static int aml_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Bits 14-0 of the big-endian first half: three letters of 5 bits each
 * ('A' is 1); the second half: four hex digits.  The bytes in memory are
 * the big-endian halves, so the little-endian DWord reads swapped.
 * Returns 0 (never a valid id) for a malformed one.
 */
uint32_t aml_eisaid(const char *id)
{
	uint32_t be = 0;

	if (strlen(id) != 7)
		return 0;
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z')
			return 0;
		be |= (uint32_t)(id[i] - 'A' + 1) << (26 - 5 * i);
	}
	for (int i = 3; i < 7; i++) {
		int d = aml_hex_digit(id[i]);

		if (d < 0)
			return 0;
		be |= (uint32_t)d << (4 * (6 - i));
	}
	return __builtin_bswap32(be);
}

void aml_name_eisaid(struct aml *a, const char *name, const char *id)
{
	uint32_t v = aml_eisaid(id);

	if (!v)
		a->error = true;
	aml_byte(a, AML_NAME_OP);
	aml_name_string(a, name);
	aml_byte(a, AML_DWORD_PREFIX);
	aml_le(a, v, 4);
}

void aml_name_buffer(struct aml *a, const char *name, const void *bytes,
		     size_t n)
{
	size_t pkg;

	aml_byte(a, AML_NAME_OP);
	aml_name_string(a, name);
	aml_byte(a, AML_BUFFER_OP);
	pkg = aml_pkg_begin(a);
	aml_integer(a, n);		/* BufferSize */
	aml_bytes(a, bytes, n);
	aml_pkg_end(a, pkg);
}

/* PackageOp PkgLength NumElements PackageElementList (ACPI 6.5 20.2.5.4) */
size_t aml_package_begin(struct aml *a, unsigned num_elements)
{
	size_t pkg;

	if (num_elements > UINT8_MAX)	/* VarPackageOp's job, not needed */
		a->error = true;
	aml_byte(a, AML_PACKAGE_OP);
	pkg = aml_pkg_begin(a);
	aml_byte(a, (uint8_t)num_elements);
	return pkg;
}

void aml_package_end(struct aml *a, size_t start)
{
	aml_pkg_end(a, start);
}

size_t aml_device_begin(struct aml *a, const char *path)
{
	size_t pkg;

	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_DEVICE_OP);
	pkg = aml_pkg_begin(a);
	aml_name_string(a, path);
	return pkg;
}

void aml_device_end(struct aml *a, size_t start)
{
	aml_pkg_end(a, start);
}

/* ---- resource descriptors ---- */

#define AML_RD_WINDOW	(ACPI_RD_MIN_FIXED | ACPI_RD_MAX_FIXED)

static struct acpi_rd_addr_head aml_rd_head(uint8_t tag, size_t size,
					    uint8_t space, uint8_t type_flags)
{
	return (struct acpi_rd_addr_head){
		.tag = tag,
		.length = (uint16_t)(size - 3),	/* after tag and length */
		.space = space,
		.flags = AML_RD_WINDOW,
		.type_flags = type_flags,
	};
}

static void aml_rd_word(struct aml *a, uint8_t space, uint8_t type_flags,
			uint16_t min, uint16_t max)
{
	struct acpi_rd_word_addr d = {
		.head = aml_rd_head(ACPI_RD_WORD_ADDR, sizeof(d), space,
				    type_flags),
		.min = min,
		.max = max,
		.length = (uint16_t)(max - min + 1),
	};

	if (max < min)
		a->error = true;
	aml_bytes(a, &d, sizeof(d));
}

void aml_rd_word_bus(struct aml *a, uint16_t min, uint16_t max)
{
	aml_rd_word(a, ACPI_RD_SPACE_BUS, 0, min, max);
}

void aml_rd_word_io(struct aml *a, uint16_t min, uint16_t max)
{
	aml_rd_word(a, ACPI_RD_SPACE_IO, ACPI_RD_IO_ENTIRE_RANGE, min, max);
}

void aml_rd_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align,
	       uint8_t len)
{
	struct acpi_rd_io_port d = {
		.tag = ACPI_RD_IO_PORT,
		.info = ACPI_RD_IO_DECODE16,
		.min = min,
		.max = max,
		.align = align,
		.length = len,
	};

	aml_bytes(a, &d, sizeof(d));
}

void aml_rd_dword_mem(struct aml *a, uint8_t type_flags, uint32_t min,
		      uint32_t max)
{
	struct acpi_rd_dword_addr d = {
		.head = aml_rd_head(ACPI_RD_DWORD_ADDR, sizeof(d),
				    ACPI_RD_SPACE_MEM, type_flags),
		.min = min,
		.max = max,
		.length = max - min + 1,
	};

	if (max < min)
		a->error = true;
	aml_bytes(a, &d, sizeof(d));
}

void aml_rd_qword_mem(struct aml *a, uint8_t type_flags, uint64_t min,
		      uint64_t max)
{
	struct acpi_rd_qword_addr d = {
		.head = aml_rd_head(ACPI_RD_QWORD_ADDR, sizeof(d),
				    ACPI_RD_SPACE_MEM, type_flags),
		.min = min,
		.max = max,
		.length = max - min + 1,
	};

	if (max < min)
		a->error = true;
	aml_bytes(a, &d, sizeof(d));
}

void aml_rd_end(struct aml *a, size_t start)
{
	uint8_t sum = ACPI_RD_END_TAG;

	if (a->error)
		return;
	for (size_t i = start; i < a->len; i++)
		sum += a->buf[i];
	aml_byte(a, ACPI_RD_END_TAG);
	aml_byte(a, (uint8_t)(0 - sum));
}
