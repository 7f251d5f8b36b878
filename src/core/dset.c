/* dset.c - the destination set of a request (see dset.h). */
#include <string.h>

#include "core/dset.h"
#include "core/log.h"

typedef struct dset {
	osp_branch_t b[DSET_MAX_BRANCHES];
	int n;
} dset_t;

static str_t dup(arena_t *a, str_t s)
{
	char *p;

	if (!s.len)
		return STR_NULL;
	p = arena_strndup(a, s.s, s.len);
	return p ? (str_t){p, s.len} : STR_NULL;
}

int dset_append(sip_msg_t *msg, const osp_branch_t *b)
{
	dset_t *d = msg->dset;
	osp_branch_t *nb;

	if (!d) {
		d = arena_zalloc(msg->arena, sizeof(*d));
		if (!d)
			return -1;
		msg->dset = d;
	}
	if (d->n == DSET_MAX_BRANCHES) {
		LOG_ERR("too many branches (max %d)", DSET_MAX_BRANCHES);
		return -1;
	}
	nb = &d->b[d->n];
	*nb = *b;
	nb->uri = dup(msg->arena, b->uri);
	nb->dst_uri = dup(msg->arena, b->dst_uri);
	nb->path = dup(msg->arena, b->path);
	nb->instance = dup(msg->arena, b->instance);
	nb->ruid = dup(msg->arena, b->ruid);
	nb->ua = dup(msg->arena, b->ua);
	if (!nb->uri.len)
		return -1;
	d->n++;
	return 1;
}

int dset_count(const sip_msg_t *msg)
{
	const dset_t *d = msg->dset;

	return d ? d->n : 0;
}

osp_branch_t *dset_get(sip_msg_t *msg, int i)
{
	dset_t *d = msg->dset;

	return d && i >= 0 && i < d->n ? &d->b[i] : NULL;
}

void dset_clear(sip_msg_t *msg)
{
	dset_t *d = msg->dset;

	if (d)
		d->n = 0;
}

void dset_branch0(sip_msg_t *msg, osp_branch_t *out)
{
	memset(out, 0, sizeof(*out));
	out->uri = sip_cur_uri(msg);
	out->dst_uri = msg->dst_uri;
	out->path = msg->path_vec;
	out->q = msg->has_ruri_q ? msg->ruri_q : -1;
	out->flags = msg->bflags;
}
