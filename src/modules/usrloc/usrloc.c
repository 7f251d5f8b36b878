/* usrloc.c - the usrloc module: parameters, start and stop, the timer, the
 * control-socket commands (ul.*) and the counters. The location tables
 * themselves are in ul_mem.c (memory) and ul_db.c (SQLite); see ul.h. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/globals.h"
#include "core/log.h"
#include "core/module.h"
#include "core/osp.h"
#include "core/timer.h"
#include "core/worker.h"
#include "modules/usrloc/ul_int.h"

/* ---- parameters (Kamailio names and defaults, except db_mode: Osprey
 * persists by default) ---- */
static char *p_db_url; /* NULL: osp_db_default_url() */
static int p_db_mode = UL_WRITE_THROUGH;
int ul_use_domain_p;
static int p_timer_interval = 60; /* seconds */
int ul_hash_bits = 10;		  /* hash_size: 2^n slots per table */
static int p_nat_bflag = -1;
int ul_cseq_delay_p = 20;
#define MAX_PRELOAD UL_MAX_DOMAINS
static char *p_preload[MAX_PRELOAD];
static int n_preload;

int ul_db_mode;
osp_db_t *ul_db;
long ul_time_offset;
static int case_sensitive;
static int job_busy;

OSP_COUNTER(ul_registered_users, "usrloc", "registered_users");

int ul_use_domain(void)
{
	return ul_use_domain_p;
}

void ul_set_case_sensitive(int on)
{
	case_sensitive = on;
}

int ul_case_sensitive(void)
{
	return case_sensitive;
}

int ul_cseq_delay(void)
{
	return ul_cseq_delay_p;
}

int ul_nat_bflag(void)
{
	return p_nat_bflag;
}

time_t ul_now(void)
{
	return time(NULL) + ul_time_offset;
}

/* modparam("usrloc", "preload", "table"): may be given several times. */
static int set_preload(const char *param, int type, const char *sval, long ival,
		       char *err, size_t errlen)
{
	char *dup;

	if (!ul_name_valid(str_from(sval))) {
		snprintf(err, errlen,
			 "usrloc preload: invalid table name '%s' (letters, "
			 "digits and '_')",
			 sval);
		return -1;
	}
	for (int i = 0; i < n_preload; i++)
		if (strcmp(p_preload[i], sval) == 0)
			return 0;
	if (n_preload == MAX_PRELOAD) {
		snprintf(err, errlen, "usrloc preload: at most %d tables",
			 MAX_PRELOAD);
		return -1;
	}
	dup = strdup(sval);
	if (!dup) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	p_preload[n_preload++] = dup;
	return 0;
}

static const osp_param_t ul_params[] = {
    {"db_url", MP_STR, &p_db_url, NULL},
    {"db_mode", MP_INT, &p_db_mode, NULL},
    {"use_domain", MP_INT, &ul_use_domain_p, NULL},
    {"timer_interval", MP_INT, &p_timer_interval, NULL},
    {"hash_size", MP_INT, &ul_hash_bits, NULL},
    {"nat_bflag", MP_INT, &p_nat_bflag, NULL},
    {"cseq_delay", MP_INT, &ul_cseq_delay_p, NULL},
    {"preload", MP_STR, NULL, set_preload},
    {0},
};

/* ---- maintenance ---- */

int ul_flush(void)
{
	int n = ul_n_domains();

	for (int i = 0; i < n; i++)
		ul_maintain(ul_domain_at(i));
	return 0;
}

int ul_expire_now(void)
{
	int n = ul_n_domains(), expired = 0;

	for (int i = 0; i < n; i++)
		expired += ul_maintain(ul_domain_at(i));
	return expired;
}

static void maintenance_job(void *arg)
{
	ul_expire_now();
	__atomic_store_n(&job_busy, 0, __ATOMIC_RELEASE);
}

/* Timer tick: the pass may write to disk, so it runs on a worker between
 * two messages rather than on the timer thread; inline when there are no
 * workers (tests, start-up). A tick is skipped while the previous pass is
 * still queued or running. */
static void ul_timer(void *arg)
{
	if (__atomic_exchange_n(&job_busy, 1, __ATOMIC_ACQ_REL))
		return;
	if (worker_post(-1, maintenance_job, NULL) < 0)
		maintenance_job(NULL);
}

/* ---- start and stop ---- */

static int ul_init(void)
{
	char err[512];
	const char *url;

	stats_register(&ul_registered_users);
	if (p_db_mode < 0 || p_db_mode > 2) {
		LOG_ERR("usrloc: db_mode %d is not supported (0: memory only, "
			"1: write-through, 2: write-back)",
			p_db_mode);
		return -1;
	}
	if (ul_hash_bits < 1 || ul_hash_bits > 20) {
		LOG_ERR("usrloc: hash_size must be 1..20 (2^n slots), not %d",
			ul_hash_bits);
		return -1;
	}
	if (p_timer_interval < 1)
		p_timer_interval = 1;
	ul_db_mode = UL_NO_DB;
	/* No database for "osprey -c" (check only) and "osprey --api" (no
	 * configuration at all): they must not create files. */
	if (p_db_mode != UL_NO_DB && !osp_g.check_only && osp_g.cfg_file) {
		url = p_db_url && *p_db_url ? p_db_url : osp_db_default_url();
		ul_db = osp_db_open(url, err, sizeof(err));
		if (!ul_db && p_db_url && *p_db_url) {
			LOG_ERR("usrloc: %s", err);
			return -1;
		}
		if (!ul_db)
			LOG_WARN("usrloc: %s; registrations are kept in memory "
				 "only (set modparam(\"usrloc\", \"db_url\", "
				 "...))",
				 err);
		else
			ul_db_mode = p_db_mode;
		if (ul_db)
			LOG_INFO("usrloc: %s, db_mode %d", url, ul_db_mode);
	}
	if (!ul_get_domain(STR_LIT("location")))
		return -1;
	for (int i = 0; i < n_preload; i++)
		if (!ul_get_domain(str_from(p_preload[i])))
			return -1;
	if (osp_timer_periodic((unsigned)p_timer_interval * 1000, ul_timer,
			       NULL) < 0) {
		LOG_ERR("usrloc: cannot start the expiry timer");
		return -1;
	}
	return 0;
}

/* At shutdown (workers and timer stopped): write what is pending, then
 * free everything. */
static void ul_destroy(void)
{
	int n = ul_n_domains();

	if (ul_db)
		ul_flush();
	for (int i = 0; i < n; i++)
		ul_db_finalize(ul_domain_at(i));
	ul_domains_free();
	if (ul_db)
		osp_db_close(ul_db);
	ul_db = NULL;
	ul_db_mode = UL_NO_DB;
}

/* ---- control socket ---- */

static json_t *str_json(str_t s)
{
	return json_stringn(s.s ? s.s : "", s.len);
}

static json_t *str_or_unset(str_t s)
{
	return s.len ? str_json(s) : json_string("[not set]");
}

static const char *state_name(int st)
{
	switch (st) {
	case UL_CS_NEW: return "CS_NEW";
	case UL_CS_SYNC: return "CS_SYNC";
	case UL_CS_DIRTY: return "CS_DIRTY";
	}
	return "CS_UNKNOWN";
}

/* {"Contact": {...}} with Kamailio's field names. */
static json_t *contact_json(const ul_contact_t *c, time_t now)
{
	json_t *o = json_object(), *w = json_object(), *exp;

	if (!o || !w) {
		json_decref(o);
		json_decref(w);
		return NULL;
	}
	if (c->expires == 0)
		exp = json_string("permanent");
	else if (c->expires <= now)
		exp = json_string("expired");
	else
		exp = json_integer((json_int_t)(c->expires - now));
	json_object_set_new(o, "Address", str_json(c->c));
	json_object_set_new(o, "Expires", exp);
	json_object_set_new(o, "Q", json_real(c->q < 0 ? -1.0 : c->q / 1000.0));
	json_object_set_new(o, "Call-ID", str_json(c->callid));
	json_object_set_new(o, "CSeq", json_integer(c->cseq));
	json_object_set_new(o, "User-Agent", str_or_unset(c->user_agent));
	json_object_set_new(o, "Received", str_or_unset(c->received));
	json_object_set_new(o, "Path", str_or_unset(c->path));
	json_object_set_new(o, "State", json_string(state_name(c->state)));
	json_object_set_new(o, "Flags", json_integer(c->flags));
	json_object_set_new(o, "CFlags", json_integer(c->cflags));
	json_object_set_new(o, "Socket", str_or_unset(c->socket));
	json_object_set_new(o, "Methods", json_integer(c->methods));
	json_object_set_new(o, "Ruid", str_or_unset(c->ruid));
	json_object_set_new(o, "Instance", str_or_unset(c->instance));
	json_object_set_new(o, "Reg-Id", json_integer(c->reg_id));
	json_object_set_new(o, "Server-Id", json_integer(0));
	json_object_set_new(
	    o, "Tcpconn-Id",
	    json_integer(c->conn_id ? (json_int_t)c->conn_id : -1));
	json_object_set_new(o, "Keepalive", json_integer(0));
	json_object_set_new(o, "Last-Keepalive", json_integer(0));
	json_object_set_new(o, "Last-Modified",
			    json_integer((json_int_t)c->last_modified));
	json_object_set_new(w, "Contact", o);
	return w;
}

/* ul.dump [brief]: every table, record and contact. */
static json_t *rpc_dump(json_t *params, rpc_error_t *err)
{
	json_t *res, *doms;
	int brief = 0, nd = ul_n_domains();
	time_t now = ul_now();

	if (json_is_array(params) && json_array_size(params) > 0) {
		const char *b = rpc_param_str(params, 0, err);

		if (!b)
			return NULL;
		brief = strcmp(b, "brief") == 0;
	}
	res = json_object();
	doms = json_array();
	if (!res || !doms) {
		json_decref(res);
		json_decref(doms);
		return rpc_fail(err, 500, "out of memory");
	}
	json_object_set_new(res, "Domains", doms);
	for (int i = 0; i < nd; i++) {
		ul_domain_t *d = ul_domain_at(i);
		json_t *wrap = json_object(), *dj = json_object(),
		       *aors = json_array(), *st = json_object();
		int records = 0, max = 0;

		if (!wrap || !dj || !aors || !st) {
			json_decref(wrap);
			json_decref(dj);
			json_decref(aors);
			json_decref(st);
			goto nomem;
		}
		json_object_set_new(dj, "Domain", json_string(d->name));
		json_object_set_new(dj, "Size", json_integer(d->size));
		json_object_set_new(dj, "AoRs", aors);
		json_object_set_new(wrap, "Domain", dj);
		json_array_append_new(doms, wrap);
		for (unsigned k = 0; k < d->size; k++) {
			ul_slot_t *s = &d->slots[k];

			pthread_mutex_lock(&s->lock);
			records += s->n;
			if (s->n > max)
				max = s->n;
			for (ul_record_t *r = s->first; r; r = r->next) {
				json_t *info = json_object(), *cs, *item;

				if (!info) {
					pthread_mutex_unlock(&s->lock);
					goto nomem;
				}
				json_object_set_new(info, "AoR",
						    str_json(r->aor));
				if (brief) {
					json_array_append_new(aors, info);
					continue;
				}
				cs = json_array();
				json_object_set_new(info, "HashID",
						    json_integer(r->hash));
				json_object_set_new(info, "Contacts", cs);
				for (ul_contact_t *c = r->contacts; c;
				     c = c->next)
					json_array_append_new(
					    cs, contact_json(c, now));
				item = json_object();
				json_object_set_new(item, "Info", info);
				json_array_append_new(aors, item);
			}
			pthread_mutex_unlock(&s->lock);
		}
		json_object_set_new(st, "Records", json_integer(records));
		json_object_set_new(st, "Max-Slots", json_integer(max));
		json_object_set_new(dj, "Stats", st);
	}
	return res;
nomem:
	json_decref(res);
	return rpc_fail(err, 500, "out of memory");
}

/* The table named by parameter i; NULL with err set when unknown. */
static ul_domain_t *rpc_domain(json_t *params, size_t i, rpc_error_t *err)
{
	const char *t = rpc_param_str(params, i, err);
	int n = ul_n_domains();

	if (!t)
		return NULL;
	for (int k = 0; k < n; k++)
		if (strcmp(ul_domain_at(k)->name, t) == 0)
			return ul_domain_at(k);
	rpc_fail(err, 500, "Domain not found");
	return NULL;
}

/* The AOR of parameter i as stored: without "sip:", "user" or
 * "user@domain" depending on use_domain, lower case unless the registrar
 * is case-sensitive. */
static int rpc_aor(json_t *params, size_t i, char *buf, size_t cap, str_t *out,
		   rpc_error_t *err)
{
	const char *a = rpc_param_str(params, i, err), *at;
	size_t n;

	if (!a)
		return -1;
	if (strncasecmp(a, "sip:", 4) == 0)
		a += 4;
	else if (strncasecmp(a, "sips:", 5) == 0)
		a += 5;
	at = strchr(a, '@');
	if (ul_use_domain_p && !at) {
		rpc_fail(err, 500, "Domain missing in AOR");
		return -1;
	}
	n = !ul_use_domain_p && at ? (size_t)(at - a) : strlen(a);
	if (!n || n >= cap) {
		rpc_fail(err, RPC_E_INVALID_PARAMS, "invalid AOR");
		return -1;
	}
	for (size_t k = 0; k < n; k++)
		buf[k] = case_sensitive && (!at || a + k < at)
			     ? a[k]
			     : (char)tolower((unsigned char)a[k]);
	buf[n] = '\0';
	*out = (str_t){buf, n};
	return 0;
}

/* ul.lookup table aor: the valid contacts of one AOR. */
static json_t *rpc_lookup(json_t *params, rpc_error_t *err)
{
	ul_domain_t *d = rpc_domain(params, 0, err);
	char buf[512];
	str_t aor;
	ul_handle_t h;
	ul_record_t *r;
	json_t *res, *cs;
	time_t now = ul_now();
	int n = 0;

	if (!d || rpc_aor(params, 1, buf, sizeof(buf), &aor, err) < 0)
		return NULL;
	res = json_object();
	cs = json_array();
	if (!res || !cs) {
		json_decref(res);
		json_decref(cs);
		return rpc_fail(err, 500, "out of memory");
	}
	json_object_set_new(res, "AoR", str_json(aor));
	json_object_set_new(res, "Contacts", cs);
	ul_lock(d, aor, &h);
	r = ul_get_record(&h);
	for (ul_contact_t *c = r ? r->contacts : NULL; c; c = c->next)
		if (ul_contact_valid(c, now)) {
			json_array_append_new(cs, contact_json(c, now));
			n++;
		}
	ul_unlock(&h);
	if (!r || !n) {
		json_decref(res);
		return rpc_fail(err, 404,
				r ? "AOR has no contacts"
				  : "AOR not found in location table");
	}
	return res;
}

/* ul.rm table aor: delete the AOR with its contacts. */
static json_t *rpc_rm(json_t *params, rpc_error_t *err)
{
	ul_domain_t *d = rpc_domain(params, 0, err);
	char buf[512];
	str_t aor;
	ul_handle_t h;

	if (!d || rpc_aor(params, 1, buf, sizeof(buf), &aor, err) < 0)
		return NULL;
	ul_lock(d, aor, &h);
	ul_delete_record(&h);
	ul_unlock(&h);
	return json_null();
}

/* ul.rm_contact table aor contact */
static json_t *rpc_rm_contact(json_t *params, rpc_error_t *err)
{
	ul_domain_t *d = rpc_domain(params, 0, err);
	const char *uri;
	char buf[512];
	str_t aor;
	ul_handle_t h;
	ul_record_t *r;
	ul_contact_t *c;

	if (!d || rpc_aor(params, 1, buf, sizeof(buf), &aor, err) < 0 ||
	    !(uri = rpc_param_str(params, 2, err)))
		return NULL;
	ul_lock(d, aor, &h);
	r = ul_get_record(&h);
	c = ul_find_contact(r, str_from(uri));
	if (c) {
		ul_delete_contact(&h, r, c);
		ul_release_record(&h, r);
	}
	ul_unlock(&h);
	if (!r)
		return rpc_fail(err, 404, "AOR not found");
	if (!c)
		return rpc_fail(err, 404, "Contact not found");
	return json_null();
}

/* q as given by ospreyctl: a number or a string ("0.5", "1"). */
static int rpc_q(json_t *params, size_t i, int *q, rpc_error_t *err)
{
	json_t *v = json_is_array(params) ? json_array_get(params, i) : NULL;
	double d;
	char *end;

	if (json_is_number(v)) {
		d = json_number_value(v);
	} else if (json_is_string(v)) {
		d = strtod(json_string_value(v), &end);
		if (end == json_string_value(v) || *end)
			goto bad;
	} else {
		goto bad;
	}
	if (d < 0) {
		*q = -1;
		return 0;
	}
	if (d > 1)
		goto bad;
	*q = (int)(d * 1000 + 0.5);
	return 0;
bad:
	rpc_fail(err, RPC_E_INVALID_PARAMS,
		 "parameter %zu (q) must be a number from 0 to 1", i + 1);
	return -1;
}

/* ul.add table aor contact expires q path flags cflags methods
 * (Kamailio's nine parameters; expires 0 = permanent, path "0" = none). */
static json_t *rpc_add(json_t *params, rpc_error_t *err)
{
	ul_domain_t *d = rpc_domain(params, 0, err);
	const char *uri, *path;
	char buf[512];
	long expires, flags, cflags, methods;
	str_t aor;
	ul_contact_t ci, *c;
	ul_handle_t h;
	ul_record_t *r;
	int q, rc;
	time_t now = ul_now();

	if (!d || rpc_aor(params, 1, buf, sizeof(buf), &aor, err) < 0 ||
	    !(uri = rpc_param_str(params, 2, err)) ||
	    rpc_param_int(params, 3, &expires, err) < 0 ||
	    rpc_q(params, 4, &q, err) < 0 ||
	    !(path = rpc_param_str(params, 5, err)) ||
	    rpc_param_int(params, 6, &flags, err) < 0 ||
	    rpc_param_int(params, 7, &cflags, err) < 0 ||
	    rpc_param_int(params, 8, &methods, err) < 0)
		return NULL;
	if (!*uri || expires < 0)
		return rpc_fail(err, RPC_E_INVALID_PARAMS,
				"invalid contact or expires");
	memset(&ci, 0, sizeof(ci));
	ci.c = str_from(uri);
	ci.path = strcmp(path, "0") == 0 ? STR_NULL : str_from(path);
	ci.expires = expires ? now + expires : 0;
	ci.q = q;
	ci.callid = STR_LIT("osprey-ul.add@rpc");
	ci.cseq = 1;
	ci.user_agent = STR_LIT("Osprey RPC");
	ci.flags = (unsigned)flags;
	ci.cflags = (unsigned)cflags;
	ci.methods = (unsigned)methods;
	ci.last_modified = now;
	ul_lock(d, aor, &h);
	r = ul_get_or_insert_record(&h);
	if (!r) {
		rc = -OSP_ENOMEM;
	} else if ((c = ul_find_contact(r, ci.c))) {
		rc = ul_update_contact(&h, r, c, &ci, NULL);
	} else {
		rc = ul_insert_contact(&h, r, &ci, NULL);
		if (rc < 0)
			ul_release_record(&h, r);
	}
	ul_unlock(&h);
	if (rc < 0)
		return rpc_fail(err, 500, "Can't insert contact");
	return json_null();
}

/* ul.flush: write every pending change now. */
static json_t *rpc_flush(json_t *params, rpc_error_t *err)
{
	ul_flush();
	return json_null();
}

static const rpc_export_t ul_rpc[] = {
    {"ul.dump", rpc_dump, "Dump the location tables (\"brief\": AORs only)"},
    {"ul.lookup", rpc_lookup, "Contacts of an AOR: ul.lookup TABLE AOR"},
    {"ul.rm", rpc_rm, "Delete an AOR and its contacts: ul.rm TABLE AOR"},
    {"ul.rm_contact", rpc_rm_contact,
     "Delete one contact: ul.rm_contact TABLE AOR CONTACT"},
    {"ul.add", rpc_add,
     "Add a contact: ul.add TABLE AOR CONTACT EXPIRES Q PATH FLAGS "
     "CFLAGS METHODS"},
    {"ul.flush", rpc_flush, "Write pending changes to the database now"},
    {0},
};

osp_module_t osp_mod_usrloc = {
    .name = "usrloc",
    .params = ul_params,
    .rpc = ul_rpc,
    .init = ul_init,
    .destroy = ul_destroy,
};
