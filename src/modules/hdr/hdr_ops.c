/* hdr_ops.c - recording header additions, removals and replacements. */
#include <string.h>

#include "core/arena.h"
#include "core/osp.h"
#include "modules/hdr/hdr_ops.h"

int hdr_name_init(hdr_name_t *n, str_t name)
{
	name = str_trim(name);
	if (name.len == 0)
		return -1;
	n->name = name;
	n->type = sip_hdr_type_from_name(name);
	return 0;
}

int hdr_name_match(const hdr_name_t *n, const sip_hdr_t *h)
{
	if (n->type != SIP_HDR_OTHER)
		return h->type == n->type;
	return h->type == SIP_HDR_OTHER && str_caseeq(h->name, n->name);
}

int hdr_find(const sip_msg_t *msg, const hdr_name_t *n, int nth)
{
	int found = -1, k = 0;

	for (int i = 0; i < msg->n_hdrs; i++) {
		if (!hdr_name_match(n, &msg->hdrs[i]))
			continue;
		if (nth < 0)
			found = i;
		else if (k++ == nth)
			return i;
	}
	return nth < 0 ? found : -1;
}

int hdr_count(const sip_msg_t *msg, const hdr_name_t *n)
{
	int k = 0;

	for (int i = 0; i < msg->n_hdrs; i++)
		if (hdr_name_match(n, &msg->hdrs[i]))
			k++;
	return k;
}

str_t hdr_line_dup(arena_t *a, str_t text)
{
	size_t extra = 0;
	char *p;

	if (text.len == 0 || text.s[text.len - 1] != '\n')
		extra = (text.len && text.s[text.len - 1] == '\r') ? 1 : 2;
	p = arena_alloc(a, text.len + extra + 1);
	if (!p)
		return STR_NULL;
	if (text.len)
		memcpy(p, text.s, text.len);
	if (extra == 2)
		p[text.len] = '\r';
	if (extra)
		p[text.len + extra - 1] = '\n';
	p[text.len + extra] = '\0';
	return (str_t){p, text.len + extra};
}

/* Append to a singly linked list of additions, keeping call order. */
static int add_to(sip_msg_t *msg, sip_hdr_add_t **list, str_t text,
		  sip_add_where_t where, int anchor)
{
	sip_hdr_add_t *a, **pp;

	if (text.len == 0)
		return 0;
	a = arena_zalloc(msg->arena, sizeof(*a));
	if (!a)
		return -OSP_ENOMEM;
	a->text = hdr_line_dup(msg->arena, text);
	if (!a->text.s)
		return -OSP_ENOMEM;
	a->where = where;
	a->anchor = anchor;
	for (pp = list; *pp; pp = &(*pp)->next)
		;
	*pp = a;
	return 0;
}

int hdr_add(sip_msg_t *msg, str_t text, sip_add_where_t where, int anchor)
{
	return add_to(msg, &msg->adds, text, where, anchor);
}

int hdr_add_reply(sip_msg_t *msg, str_t text)
{
	return add_to(msg, &msg->reply_adds, text, SIP_ADD_APPEND, 0);
}

int hdr_remove_all(sip_msg_t *msg, const hdr_name_t *n)
{
	int k = 0;

	for (int i = 0; i < msg->n_hdrs; i++) {
		if (!hdr_name_match(n, &msg->hdrs[i]))
			continue;
		msg->hdrs[i].flags |= SIP_HDR_F_REMOVED;
		k++;
	}
	return k;
}

int hdr_replace(sip_msg_t *msg, int i, str_t line)
{
	sip_hdr_t *h = &msg->hdrs[i];

	if (line.len == 0) {
		h->flags |= SIP_HDR_F_REMOVED;
		return 0;
	}
	line = hdr_line_dup(msg->arena, line);
	if (!line.s)
		return -OSP_ENOMEM;
	h->replace = line;
	return 0;
}

str_t hdr_current_line(const sip_hdr_t *h)
{
	if (h->flags & SIP_HDR_F_REMOVED)
		return STR_NULL;
	return h->replace.len ? h->replace : h->raw;
}

static int add_is(const sip_hdr_add_t *a, str_t name)
{
	return a->text.len > name.len && a->text.s[name.len] == ':' &&
	       strncasecmp(a->text.s, name.s, name.len) == 0;
}

int hdr_added(const sip_msg_t *msg, str_t name)
{
	for (const sip_hdr_add_t *a = msg->adds; a; a = a->next)
		if (add_is(a, name))
			return 1;
	return 0;
}

int hdr_unadd(sip_msg_t *msg, str_t name)
{
	sip_hdr_add_t **pp = &msg->adds;
	int k = 0;

	while (*pp) {
		if (add_is(*pp, name)) {
			*pp = (*pp)->next;
			k++;
		} else {
			pp = &(*pp)->next;
		}
	}
	return k;
}
