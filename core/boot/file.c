/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Reading kernel and initrd files: every read is bounded by the size seen
 * at open time, and loads go straight into guest RAM through guest_mem_ptr.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot_internal.h"
#include "log.h"

void boot_file_error(const struct boot_file *f, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_err(BOOT_TAG, "%s %s: %s", f->what, f->path, msg);
}

int boot_file_open(struct boot_file *f, const char *what, const char *path)
{
	struct stat st;
	int ret;

	f->what = what;
	f->path = path;
	f->size = 0;
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0) {
		ret = -errno;
		boot_file_error(f, "%s", strerror(-ret));
		return ret;
	}
	if (fstat(f->fd, &st) < 0) {
		ret = -errno;
		boot_file_error(f, "cannot stat: %s", strerror(-ret));
		goto err_close;
	}
	/* A pipe or device has no size to validate the image against. */
	if (!S_ISREG(st.st_mode)) {
		boot_file_error(f, "not a regular file");
		ret = -EINVAL;
		goto err_close;
	}
	f->size = (uint64_t)st.st_size;
	return 0;

err_close:
	close(f->fd);
	f->fd = -1;
	return ret;
}

void boot_file_close(struct boot_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

int boot_file_read(const struct boot_file *f, uint64_t off, void *buf,
		   size_t len)
{
	char *p = buf;

	if (off > f->size || len > f->size - off) {
		boot_file_error(f, "read of %zu bytes at offset %llu is past the end of the file (%llu bytes)",
				len, (unsigned long long)off,
				(unsigned long long)f->size);
		return -EIO;
	}
	while (len) {
		ssize_t n = pread(f->fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int ret = -errno;

			boot_file_error(f, "read error at offset %llu: %s",
					(unsigned long long)off, strerror(-ret));
			return ret;
		}
		if (n == 0) {
			/* The file shrank since fstat(). */
			boot_file_error(f, "unexpected end of file at offset %llu",
					(unsigned long long)off);
			return -EIO;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int boot_file_load(const struct boot_file *f, uint64_t off, uint64_t len,
		   const struct guest_mem *mem, uint64_t gpa)
{
	void *dst = guest_mem_ptr(mem, gpa, len);

	if (!dst) {
		boot_file_error(f, "%llu bytes at 0x%llx are not guest RAM",
				(unsigned long long)len,
				(unsigned long long)gpa);
		return -EFAULT;
	}
	if (len > SIZE_MAX)
		return -EFBIG;
	return boot_file_read(f, off, dst, (size_t)len);
}
