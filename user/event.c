// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <string.h>
#include <sys/socket.h>

#include "event.h"

_Static_assert(sizeof(struct td_event) == 104, "td_event layout changed: bump TD_EVENT_VERSION");

int td_event_decode(const void *data, size_t size, struct td_event *out)
{
	struct td_event e;

	if (!data || size != sizeof(e))
		return -1;
	memcpy(&e, data, sizeof(e));
	if (e.type == 0 || e.type >= TD_EV_TYPE_MAX)
		return -1;
	/* a RST answering a segment we could not parse has no family */
	if (e.family != AF_INET && e.family != AF_INET6 &&
	    !(e.family == 0 && e.type == TD_EV_RESET_SENT))
		return -1;
	if (e.old_state >= TD_TCP_MAX_STATES || e.new_state >= TD_TCP_MAX_STATES)
		return -1;
	if (e.owner >= TD_OWNER_MAX)
		return -1;
	if (e.type == TD_EV_RETRANS && (e.kind >= TD_RETRANS_KIND_MAX || e.ca_state >= TD_CA_MAX))
		return -1;
	if (e.type == TD_EV_STATE && e.kind >= TD_TW_END_MAX)
		return -1;
	*out = e;
	return 0;
}
