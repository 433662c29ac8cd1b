// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <string.h>

#include "order.h"

static int before(const struct td_event *batch, uint32_t i, uint32_t j)
{
	if (batch[i].ts_ns != batch[j].ts_ns)
		return batch[i].ts_ns < batch[j].ts_ns;
	return i < j;
}

/* Stable: equal timestamps stay in index order. */
static void insertion_sort(const struct td_event *batch, uint32_t *a, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		uint32_t v = a[i];
		size_t j = i;

		for (; j > 0 && before(batch, v, a[j - 1]); j--)
			a[j] = a[j - 1];
		a[j] = v;
	}
}

static void merge(const struct td_event *batch, const uint32_t *a, size_t na, const uint32_t *b,
		  size_t nb, uint32_t *out)
{
	size_t i = 0, j = 0, k = 0;

	while (i < na && j < nb)
		out[k++] = before(batch, b[j], a[i]) ? b[j++] : a[i++];
	memcpy(out + k, a + i, (na - i) * sizeof(*a));
	memcpy(out + k + (na - i), b + j, (nb - j) * sizeof(*b));
}

void td_order_runs(const struct td_event *batch, size_t n, const size_t *runs, size_t nruns,
		   uint32_t *order, uint32_t *tmp)
{
	size_t start[nruns + 2], m = 0;
	uint32_t *src = order, *dst = tmp;

	for (size_t i = 0; i < n; i++)
		order[i] = i;
	for (size_t r = 0; r < nruns; r++)
		if (runs[r] > 0 && runs[r] < n && (!m || runs[r] > start[m - 1]))
			start[m++] = runs[r];
	/* bounds of each run: start[0] = 0 ... start[m] = n */
	memmove(start + 1, start, m * sizeof(*start));
	start[0] = 0;
	start[++m] = n;
	for (size_t r = 0; r < m; r++)
		insertion_sort(batch, order + start[r], start[r + 1] - start[r]);
	/* merge neighbours until one run is left; a run left over at the
	 * end of a pass is copied as it is */
	while (m > 1) {
		size_t k = 0, r;

		for (r = 0; r + 1 < m; r += 2) {
			merge(batch, src + start[r], start[r + 1] - start[r], src + start[r + 1],
			      start[r + 2] - start[r + 1], dst + start[r]);
			start[k++] = start[r];
		}
		if (r < m) {
			memcpy(dst + start[r], src + start[r],
			       (start[r + 1] - start[r]) * sizeof(*src));
			start[k++] = start[r];
		}
		start[k] = n;
		m = k;
		src = src == order ? tmp : order;
		dst = dst == order ? tmp : order;
	}
	if (src != order)
		memcpy(order, src, n * sizeof(*order));
}
