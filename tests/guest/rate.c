/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Event rates timed by the TSC in chunks of a fixed number of events.  On
 * a busy host the vCPU or the back-end is preempted now and then for
 * milliseconds, which an overall rate averages in; the median chunk
 * leaves out the chunks a preemption hit, as long as most were not.
 */
#include "guest.h"

void rate_start(struct rate_meter *m, uint64_t chunk)
{
	memset(m, 0, sizeof(*m));
	m->chunk = chunk ? chunk : 1;
	m->next = m->chunk;
	m->last = rdtsc();
}

void rate_count(struct rate_meter *m, uint64_t count)
{
	uint64_t now;

	if (count < m->next || m->chunks == RATE_CHUNKS_MAX)
		return;
	now = rdtsc();
	m->cycles[m->chunks++] = now - m->last;
	m->last = now;
	m->next += m->chunk;
}

static uint64_t rate_per_s(const struct rate_meter *m, uint64_t cycles)
{
	uint64_t ns = tsc_to_ns(cycles);

	return ns ? m->chunk * 1000000000ull / ns : 0;
}

uint64_t rate_chunk_median(const struct rate_meter *m)
{
	uint64_t sorted[RATE_CHUNKS_MAX];

	if (!m->chunks)
		return 0;
	/* Insertion sort: a few dozen values. */
	for (unsigned int i = 0; i < m->chunks; i++) {
		unsigned int j = i;

		while (j && sorted[j - 1] > m->cycles[i]) {
			sorted[j] = sorted[j - 1];
			j--;
		}
		sorted[j] = m->cycles[i];
	}
	/* The lower median in cycles is the upper median in rate. */
	return rate_per_s(m, sorted[(m->chunks - 1) / 2]);
}

uint64_t rate_chunk_max(const struct rate_meter *m)
{
	uint64_t best = 0;

	for (unsigned int i = 0; i < m->chunks; i++) {
		if (!best || m->cycles[i] < best)
			best = m->cycles[i];
	}
	return best ? rate_per_s(m, best) : 0;
}
