/* permissions.c - KSR.permissions: address permissions (Kamailio's
 * permissions module, the address table part).
 *
 *   allow_source_address(group)      1 when the request's source address
 *                                    and port match group, else -1
 *   allow_source_address_group()     the group of the first match, or -1
 *   allow_address(group, addr, port) 1 / -1; addr is an IP address, or a
 *                                    host name matched (case-insensitive,
 *                                    no DNS) against name records
 *   allow_address_group(addr, port)  the group of the first match, or -1
 *
 * Exact addresses are looked up first, then subnets (by group), and a
 * record with port 0 matches any port. On a match, the record's tag (when
 * it has one) is added to the peer_tag_avp AVP. The first match in group
 * order wins when an address is in several groups.
 *
 * Records come from address_file when set, else from the SQLite table
 * address (db_url, or the default database). They are read at start and
 * replaced as a whole by RPC permissions.addressReload; a failed reload
 * keeps the previous records. allow_trusted and the allow/deny files are
 * not implemented. */
#include <arpa/inet.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/globals.h"
#include "core/log.h"
#include "core/module.h"
#include "core/osp.h"
#include "db/db.h"
#include "modules/pv/pv.h"
#include "perm.h"

static char *p_db_url;
static char *p_address_file;
static char *p_address_table = "address";
static char *p_grp_col = "grp";
static char *p_ip_col = "ip_addr";
static char *p_mask_col = "mask";
static char *p_port_col = "port";
static char *p_tag_col = "tag";
static char *p_peer_tag_avp;
static int p_max_subnets = 512;
static int p_load_backends = 0xffff;
static int p_db_mode;	    /* allow_trusted only in Kamailio: accepted */
static int p_peer_tag_mode; /* idem */
static char *p_trusted_table;

static pv_spec_t *tag_spec;
static char file_path[PATH_MAX];
static pthread_mutex_t reload_lock = PTHREAD_MUTEX_INITIALIZER;

/* A relative address_file is looked for next to the configuration file,
 * as Kamailio does. */
static const char *resolve_file(void)
{
	char dir[PATH_MAX];

	if (!p_address_file || !*p_address_file)
		return NULL;
	if (p_address_file[0] == '/' || !osp_g.cfg_file) {
		snprintf(file_path, sizeof(file_path), "%s", p_address_file);
		return file_path;
	}
	snprintf(dir, sizeof(dir), "%s", osp_g.cfg_file);
	snprintf(file_path, sizeof(file_path), "%s/%s", dirname(dir),
		 p_address_file);
	return file_path;
}

static void source_of(perm_source_t *src)
{
	memset(src, 0, sizeof(*src));
	src->file = resolve_file();
	src->db_url = p_db_url && *p_db_url ? p_db_url : osp_db_default_url();
	src->table = p_address_table;
	src->grp_col = p_grp_col;
	src->ip_col = p_ip_col;
	src->mask_col = p_mask_col;
	src->port_col = p_port_col;
	src->tag_col = p_tag_col;
	src->max_subnets = p_max_subnets;
}

/* Load and install the records. 0, or -1 with err (old records kept). */
static int reload(char *err, size_t errlen)
{
	perm_source_t src;
	perm_set_t *s;

	pthread_mutex_lock(&reload_lock);
	source_of(&src);
	s = perm_load(&src, err, errlen);
	if (s) {
		LOG_INFO("permissions: %zu addresses, %zu subnets, %zu names "
			 "from %s",
			 s->naddrs, s->nsubnets, s->ndomains,
			 src.file ? src.file : src.db_url);
		perm_install(s);
	}
	pthread_mutex_unlock(&reload_lock);
	return s ? 0 : -1;
}

/* ---- KSR ---- */

static void add_tag(ksr_ctx_t *ctx, const char *tag)
{
	ksr_xval_t v;

	if (!tag_spec || !tag[0] || !ctx->msg)
		return;
	v = (ksr_xval_t){KSR_STR, 0, str_from(tag)};
	if (pv_set(ctx, tag_spec, &v) < 0)
		LOG_RATE(L_ERR, "permissions: cannot set peer_tag_avp");
}

/* Match an address given as text ("1.2.3.4", "[::1]", "host.name"). */
static int match_text(ksr_ctx_t *ctx, int grp, str_t addr, long port)
{
	uint8_t ip[16];
	char tag[256];
	int fam = perm_parse_ip(str_trim(addr), ip), rc;

	rc = perm_match(grp, fam, ip, str_trim(addr), (int)port, tag,
			sizeof(tag));
	if (rc >= 0)
		add_tag(ctx, tag);
	return rc;
}

static int match_source(ksr_ctx_t *ctx, int grp)
{
	const sip_sockaddr_t *a;
	char tag[256];
	int rc;

	if (!ctx->msg)
		return -1;
	a = &ctx->msg->rcv.src;
	if (a->sa.sa_family == AF_INET)
		rc = perm_match(grp, AF_INET, (const uint8_t *)&a->in4.sin_addr,
				STR_NULL, ntohs(a->in4.sin_port), tag,
				sizeof(tag));
	else if (a->sa.sa_family == AF_INET6)
		rc = perm_match(grp, AF_INET6,
				(const uint8_t *)&a->in6.sin6_addr, STR_NULL,
				ntohs(a->in6.sin6_port), tag, sizeof(tag));
	else
		return -1;
	if (rc >= 0)
		add_tag(ctx, tag);
	return rc;
}

static int ki_allow_source_address(ksr_ctx_t *ctx, const ksr_arg_t *a,
				   ksr_xval_t *r)
{
	if (a[0].n < 0)
		return -1;
	return match_source(ctx, (int)a[0].n) >= 0 ? 1 : -1;
}

static int ki_allow_source_address_group(ksr_ctx_t *ctx, const ksr_arg_t *a,
					 ksr_xval_t *r)
{
	return match_source(ctx, -1);
}

static int ki_allow_address(ksr_ctx_t *ctx, const ksr_arg_t *a, ksr_xval_t *r)
{
	if (a[0].n < 0)
		return -1;
	return match_text(ctx, (int)a[0].n, a[1].s, a[2].n) >= 0 ? 1 : -1;
}

static int ki_allow_address_group(ksr_ctx_t *ctx, const ksr_arg_t *a,
				  ksr_xval_t *r)
{
	return match_text(ctx, -1, a[0].s, a[1].n);
}

static const ksr_export_t perm_exports[] = {
    {"permissions",
     "allow_source_address",
     KSR_INT,
     ki_allow_source_address,
     {KSR_INT}},
    {"permissions",
     "allow_source_address_group",
     KSR_INT,
     ki_allow_source_address_group,
     {0}},
    {"permissions",
     "allow_address",
     KSR_INT,
     ki_allow_address,
     {KSR_INT, KSR_STR, KSR_INT}},
    {"permissions",
     "allow_address_group",
     KSR_INT,
     ki_allow_address_group,
     {KSR_STR, KSR_INT}},
    {0},
};

/* ---- RPC ---- */

static json_t *rpc_reload(json_t *params, rpc_error_t *err)
{
	char why[512];

	if (!(p_load_backends & 1))
		return rpc_fail(err, 500,
				"address table not loaded "
				"(load_backends)");
	if (reload(why, sizeof(why)) < 0) {
		LOG_ERR("permissions: reload failed: %s", why);
		return rpc_fail(err, 500, "Reload failed: %s", why);
	}
	return json_string("Reload OK");
}

static void entry_ip(const perm_entry_t *e, char *buf, size_t cap)
{
	if (!inet_ntop(e->family, e->ip, buf, (socklen_t)cap))
		snprintf(buf, cap, "?");
}

typedef struct dump_arg {
	int which; /* 0 addresses, 1 subnets, 2 domains */
	json_t *out;
} dump_arg_t;

static void dump_set(const perm_set_t *s, void *p)
{
	dump_arg_t *d = p;
	const perm_entry_t *v;
	size_t n;

	if (!s)
		return;
	v = d->which == 0 ? s->addrs : d->which == 1 ? s->subnets : s->domains;
	n = d->which == 0   ? s->naddrs
	    : d->which == 1 ? s->nsubnets
			    : s->ndomains;
	for (size_t i = 0; i < n; i++) {
		const perm_entry_t *e = &v[i];
		const char *tag = e->tag ? e->tag : "NULL";
		char ip[INET6_ADDRSTRLEN];
		json_t *row;

		if (d->which == 2) {
			row = json_pack("{s:i, s:i, s:s, s:i, s:s}", "id",
					e->id, "group", e->grp, "domain",
					e->host, "port", e->port, "tag", tag);
		} else {
			entry_ip(e, ip, sizeof(ip));
			if (d->which == 0)
				row = json_pack("{s:i, s:i, s:s, s:i, s:s}",
						"table", (int)i, "group",
						e->grp, "ip", ip, "port",
						e->port, "tag", tag);
			else
				row = json_pack(
				    "{s:i, s:i, s:s, s:i, s:i, s:s}", "id",
				    e->id, "group", e->grp, "ip", ip, "mask",
				    e->mask, "port", e->port, "tag", tag);
		}
		json_array_append_new(d->out, row);
	}
}

static json_t *dump(int which, rpc_error_t *err)
{
	dump_arg_t d = {which, json_array()};

	if (!d.out)
		return rpc_fail(err, RPC_E_INTERNAL, "out of memory");
	perm_with_set(dump_set, &d);
	return d.out;
}

static json_t *rpc_address_dump(json_t *params, rpc_error_t *err)
{
	return dump(0, err);
}

static json_t *rpc_subnet_dump(json_t *params, rpc_error_t *err)
{
	return dump(1, err);
}

static json_t *rpc_domain_dump(json_t *params, rpc_error_t *err)
{
	return dump(2, err);
}

static const rpc_export_t perm_rpc[] = {
    {"permissions.addressReload", rpc_reload,
     "Reload the address records (address_file or the address table)"},
    {"permissions.addressDump", rpc_address_dump,
     "The exact addresses: [{table, group, ip, port, tag}]"},
    {"permissions.subnetDump", rpc_subnet_dump,
     "The subnets: [{id, group, ip, mask, port, tag}]"},
    {"permissions.domainDump", rpc_domain_dump,
     "The host names: [{id, group, domain, port, tag}]"},
    {NULL, NULL, NULL},
};

/* ---- module ---- */

static int perm_init(void)
{
	char err[512];

	if (p_peer_tag_avp && *p_peer_tag_avp) {
		tag_spec =
		    pv_spec_parse(str_from(p_peer_tag_avp), err, sizeof(err));
		if (!tag_spec || strncmp(p_peer_tag_avp, "$avp(", 5) != 0) {
			LOG_ERR("permissions: peer_tag_avp must be an AVP "
				"($avp(name)): '%s'",
				p_peer_tag_avp);
			return -1;
		}
	}
	if (p_trusted_table || p_db_mode || p_peer_tag_mode)
		LOG_DBG("permissions: trusted table settings ignored "
			"(allow_trusted is not implemented)");
	if (!(p_load_backends & 1))
		return 0;
	/* Without an address file, "osprey -c" (check only) and "osprey
	 * --api" (no configuration) must not create a database file. */
	if (!p_address_file && (osp_g.check_only || !osp_g.cfg_file))
		return 0;
	if (reload(err, sizeof(err)) < 0) {
		if (p_address_file || (p_db_url && *p_db_url)) {
			LOG_ERR("permissions: %s", err);
			return -1;
		}
		LOG_WARN("permissions: %s; no address records", err);
	}
	return 0;
}

static void perm_mod_destroy(void)
{
	perm_destroy();
	pv_spec_free(tag_spec);
	tag_spec = NULL;
}

static const osp_param_t perm_params[] = {
    {"db_url", MP_STR, &p_db_url, NULL},
    {"address_file", MP_STR, &p_address_file, NULL},
    {"address_table", MP_STR, &p_address_table, NULL},
    {"grp_col", MP_STR, &p_grp_col, NULL},
    {"ip_addr_col", MP_STR, &p_ip_col, NULL},
    {"mask_col", MP_STR, &p_mask_col, NULL},
    {"port_col", MP_STR, &p_port_col, NULL},
    {"tag_col", MP_STR, &p_tag_col, NULL},
    {"peer_tag_avp", MP_STR, &p_peer_tag_avp, NULL},
    {"max_subnets", MP_INT, &p_max_subnets, NULL},
    {"load_backends", MP_INT, &p_load_backends, NULL},
    {"db_mode", MP_INT, &p_db_mode, NULL},
    {"peer_tag_mode", MP_INT, &p_peer_tag_mode, NULL},
    {"trusted_table", MP_STR, &p_trusted_table, NULL},
    {NULL, 0, NULL, NULL},
};

osp_module_t osp_mod_permissions = {
    .name = "permissions",
    .exports = perm_exports,
    .params = perm_params,
    .rpc = perm_rpc,
    .init = perm_init,
    .destroy = perm_mod_destroy,
};
