/* t_event.c - callbacks other modules register for transaction events
 * (tm.h): today only "first final reply sent upstream", which acc needs. */
#include <string.h>

#include "core/log.h"
#include "modules/tm/tm.h"
#include "modules/tm/tm_int.h"

#define TM_EVENT_MAX 8

/* Written at module init only (before the workers start), read after. */
static tm_event_fn final_cbs[TM_EVENT_MAX];
static int n_final_cbs;

int tm_on_final_reply(tm_event_fn fn)
{
	if (!fn || n_final_cbs >= TM_EVENT_MAX)
		return -1;
	final_cbs[n_final_cbs++] = fn;
	return 0;
}

int tm_event_request(const tm_event_t *ev, sip_msg_t *msg, arena_t *a)
{
	if (!ev || !ev->cell)
		return -1;
	return tm_fake_request(ev->cell, msg, a);
}

/* The reason phrase of a reply's status line "SIP/2.0 200 OK". */
static str_t status_reason(const char *buf, size_t len)
{
	const char *end = memchr(buf, '\r', len);
	const char *p;
	int spaces = 0;

	if (!end)
		end = buf + len;
	for (p = buf; p < end && spaces < 2; p++)
		if (*p == ' ')
			spaces++;
	return spaces < 2 ? STR_NULL : (str_t){p, (size_t)(end - p)};
}

void tm_event_final_reply(tm_cell_t *c, int code, const char *buf, size_t len,
			  str_t totag)
{
	tm_event_t ev;

	if (!n_final_cbs)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.code = code;
	ev.reason = status_reason(buf, len);
	ev.totag = totag;
	ev.method = c->method;
	ev.flags = c->msg_flags;
	ev.cell = c;
	for (int i = 0; i < n_final_cbs; i++)
		final_cbs[i](&ev);
}
