/* test_usrloc.c - the location service: records and contacts in memory
 * (order by q, update, delete), expiry, SQLite persistence in write-through
 * and write-back modes (a new instance loaded from the same file sees the
 * same bindings), failed writes retried, the ul.* control commands, and
 * several threads registering at once. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/globals.h"
#include "core/osp.h"
#include "core/module.h"
#include "modules/usrloc/ul_int.h"
#include "unit.h"

extern osp_module_t osp_mod_usrloc;

/* No workers here: the timer job runs inline. */
__attribute__((weak)) int worker_post(int worker, void (*fn)(void *arg),
				      void *arg)
{
	return -1;
}

static char dir[256];
static char url[320];
static char dbpath[300];

static void set_int(const char *name, long v)
{
	for (const osp_param_t *p = osp_mod_usrloc.params; p->name; p++)
		if (strcmp(p->name, name) == 0) {
			*(int *)p->var = (int)v;
			return;
		}
	UNIT_FAIL("no parameter %s", name);
}

static void set_str(const char *name, const char *v)
{
	char err[128];

	for (const osp_param_t *p = osp_mod_usrloc.params; p->name; p++)
		if (strcmp(p->name, name) == 0) {
			if (p->set)
				CHECK_INT(p->set(name, MP_STR, v, 0, err,
						 sizeof(err)),
					  0);
			else
				*(char **)p->var = strdup(v);
			return;
		}
	UNIT_FAIL("no parameter %s", name);
}

/* A fresh database folder and the module started in db_mode mode. */
static void start(int mode)
{
	osp_g.cfg_file = (char *)"unit";
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/osp-ul-test-XXXXXX");
		CHECK(mkdtemp(dir) != NULL);
		snprintf(dbpath, sizeof(dbpath), "%s/ul.db", dir);
		snprintf(url, sizeof(url), "sqlite://%s", dbpath);
	}
	set_str("db_url", url);
	set_int("db_mode", mode);
	CHECK_INT(osp_mod_usrloc.init(), 0);
}

static void stop(void)
{
	osp_mod_usrloc.destroy();
}

static void cleanup(void)
{
	char cmd[400];

	if (!dir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK_INT(system(cmd), 0);
}

/* Rows in the table, through a separate connection. */
static int db_rows(const char *where)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	char sql[256];
	int n = -1;

	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM location%s%s",
		 where ? " WHERE " : "", where ? where : "");
	CHECK_INT(sqlite3_open(dbpath, &h), SQLITE_OK);
	CHECK_INT(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return n;
}

static void db_exec(const char *sql)
{
	sqlite3 *h;

	CHECK_INT(sqlite3_open(dbpath, &h), SQLITE_OK);
	sqlite3_busy_timeout(h, 2000);
	CHECK_INT(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
}

static ul_domain_t *loc(void)
{
	ul_domain_t *d = ul_get_domain(STR_LIT("location"));

	CHECK(d != NULL);
	return d;
}

/* Add (or update) a binding for aor with the given contact, q and
 * lifetime. */
static void add(const char *aor, const char *uri, int q, int secs,
		const char *callid, unsigned cseq)
{
	ul_handle_t h;
	ul_record_t *r;
	ul_contact_t ci, *c;

	memset(&ci, 0, sizeof(ci));
	ci.c = str_from(uri);
	ci.q = q;
	ci.expires = secs ? ul_now() + secs : 0;
	ci.callid = str_from(callid);
	ci.cseq = cseq;
	ci.user_agent = STR_LIT("UA/1");
	ci.received = STR_LIT("sip:198.51.100.7:5090");
	ci.path = STR_LIT("<sip:edge.example.com;lr>");
	ci.socket = STR_LIT("udp:127.0.0.1:5060");
	ci.instance = STR_LIT("<urn:uuid:0001>");
	ci.methods = 0x21;
	ci.reg_id = 1;
	ci.cflags = 64;
	ci.last_modified = ul_now();
	ul_lock(loc(), str_from(aor), &h);
	r = ul_get_or_insert_record(&h);
	CHECK(r != NULL);
	c = ul_find_contact(r, ci.c);
	if (c)
		CHECK_INT(ul_update_contact(&h, r, c, &ci, NULL), 0);
	else
		CHECK_INT(ul_insert_contact(&h, r, &ci, NULL), 0);
	CHECK_INT(ul_unlock(&h), 0);
}

/* The contact URIs of aor in list order, "a,b,c" ("" when none). */
static const char *contacts_of(const char *aor)
{
	static char buf[1024];
	ul_handle_t h;
	ul_record_t *r;
	size_t n = 0;

	buf[0] = '\0';
	ul_lock(loc(), str_from(aor), &h);
	r = ul_get_record(&h);
	for (ul_contact_t *c = r ? r->contacts : NULL; c; c = c->next)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%.*s",
				      n ? "," : "", STR_FMT(c->c));
	ul_unlock(&h);
	return buf;
}

static uint64_t counter(const char *name)
{
	osp_counter_t *c = stats_find("usrloc", name);

	CHECK(c != NULL);
	return stats_get(c);
}

TEST(insert_order_update_delete)
{
	ul_handle_t h;
	ul_record_t *r;
	ul_contact_t *c;

	set_int("db_mode", 0);
	osp_g.cfg_file = (char *)"unit";
	CHECK_INT(osp_mod_usrloc.init(), 0);
	add("alice", "sip:a1@h", 500, 100, "c1", 1);
	add("alice", "sip:a2@h", 1000, 100, "c1", 1);
	add("alice", "sip:a3@h", 500, 100, "c1", 1);
	add("alice", "sip:a4@h", -1, 100, "c1", 1);
	/* highest q first, equal q in order of arrival, no q last */
	CHECK_STR(contacts_of("alice"), "sip:a2@h,sip:a1@h,sip:a3@h,sip:a4@h");
	CHECK_INT(counter("location-users"), 1);
	CHECK_INT(counter("location-contacts"), 4);
	CHECK_INT(counter("registered_users"), 1);

	/* an update keeps the ruid and moves the contact when q changes */
	ul_lock(loc(), STR_LIT("alice"), &h);
	r = ul_get_record(&h);
	c = ul_find_contact(r, STR_LIT("sip:a4@h"));
	CHECK(c != NULL);
	{
		char ruid[64];
		ul_contact_t ci = *c, *n;

		str_to_buf(c->ruid, ruid, sizeof(ruid));
		ci.q = 700;
		ci.cseq = 2;
		CHECK_INT(ul_update_contact(&h, r, c, &ci, &n), 0);
		CHECK_STRV(n->ruid, ruid);
		CHECK_INT(n->cseq, 2);
	}
	ul_unlock(&h);
	CHECK_STR(contacts_of("alice"), "sip:a2@h,sip:a4@h,sip:a1@h,sip:a3@h");

	/* instance matching */
	ul_lock(loc(), STR_LIT("alice"), &h);
	r = ul_get_record(&h);
	CHECK(ul_find_instance(r, STR_LIT("\"<urn:uuid:0001>\""), 1) != NULL);
	CHECK(ul_find_instance(r, STR_LIT("<urn:uuid:0001>"), 2) == NULL);
	CHECK(ul_find_instance(r, STR_LIT("<urn:uuid:0002>"), 1) == NULL);
	/* delete two, then the rest: the record goes with its last contact */
	ul_delete_contact(&h, r, ul_find_contact(r, STR_LIT("sip:a1@h")));
	ul_delete_contact(&h, r, ul_find_contact(r, STR_LIT("sip:a2@h")));
	ul_release_record(&h, r);
	CHECK(ul_get_record(&h) != NULL);
	ul_unlock(&h);
	CHECK_STR(contacts_of("alice"), "sip:a4@h,sip:a3@h");
	CHECK_INT(counter("location-contacts"), 2);
	ul_lock(loc(), STR_LIT("alice"), &h);
	CHECK_INT(ul_delete_record(&h), 0);
	CHECK(ul_get_record(&h) == NULL);
	CHECK_INT(ul_delete_record(&h), -OSP_ENOTFOUND);
	ul_unlock(&h);
	CHECK_INT(counter("location-users"), 0);
	CHECK_INT(counter("location-contacts"), 0);
	CHECK_INT(counter("registered_users"), 0);

	/* table names are SQL identifiers */
	CHECK(ul_get_domain(STR_LIT("bad name")) == NULL);
	CHECK(ul_get_domain(STR_LIT("1x")) == NULL);
	CHECK(ul_get_domain(STR_LIT("other_table")) != NULL);
	CHECK(ul_get_domain(STR_LIT("other_table")) ==
	      ul_get_domain(STR_LIT("other_table")));
	stop();
}

TEST(expiry)
{
	set_int("db_mode", 0);
	osp_g.cfg_file = (char *)"unit";
	CHECK_INT(osp_mod_usrloc.init(), 0);
	add("bob", "sip:b1@h", -1, 5, "c", 1);
	add("bob", "sip:b2@h", -1, 50, "c", 1);
	add("bob", "sip:b3@h", -1, 0, "c", 1); /* permanent */
	add("carol", "sip:c1@h", -1, 5, "c", 1);
	CHECK_INT(ul_expire_now(), 0);
	ul_time_offset = 10;
	CHECK_INT(ul_expire_now(), 2);
	CHECK_STR(contacts_of("bob"), "sip:b2@h,sip:b3@h");
	CHECK_STR(contacts_of("carol"), "");
	CHECK_INT(counter("location-users"), 1);
	CHECK_INT(counter("location-expires"), 2);
	ul_time_offset = 100000;
	CHECK_INT(ul_expire_now(), 1);
	CHECK_STR(contacts_of("bob"), "sip:b3@h");
	ul_time_offset = 0;
	stop();
}

/* Every field written by add() comes back after a restart. */
static void check_reloaded(const char *aor, const char *uri)
{
	ul_handle_t h;
	ul_record_t *r;
	ul_contact_t *c;

	ul_lock(loc(), str_from(aor), &h);
	r = ul_get_record(&h);
	CHECK(r != NULL);
	c = ul_find_contact(r, str_from(uri));
	CHECK(c != NULL);
	CHECK_STRV(c->callid, "cid");
	CHECK_STRV(c->user_agent, "UA/1");
	CHECK_STRV(c->received, "sip:198.51.100.7:5090");
	CHECK_STRV(c->path, "<sip:edge.example.com;lr>");
	CHECK_STRV(c->socket, "udp:127.0.0.1:5060");
	CHECK_STRV(c->instance, "<urn:uuid:0001>");
	CHECK(c->ruid.len > 5);
	CHECK_INT(c->methods, 0x21);
	CHECK_INT(c->reg_id, 1);
	CHECK_INT(c->cflags, 64);
	CHECK_INT(c->state, UL_CS_SYNC);
	CHECK(c->expires > ul_now() + 90 && c->expires <= ul_now() + 100);
	ul_unlock(&h);
}

TEST(write_through)
{
	start(UL_WRITE_THROUGH);
	add("alice", "sip:a1@h", 1000, 100, "cid", 7);
	add("alice", "sip:a2@h", 250, 100, "cid", 7);
	add("bob", "sip:b1@h", -1, 100, "cid", 7);
	add("gone", "sip:g@h", -1, 100, "cid", 7);
	/* written at once, before any flush */
	CHECK_INT(db_rows(NULL), 4);
	CHECK_INT(db_rows("username = 'alice' AND q = 0.25 AND cseq = 7"), 1);
	CHECK_INT(db_rows("domain IS NULL"), 4);
	{
		ul_handle_t h;

		ul_lock(loc(), STR_LIT("gone"), &h);
		CHECK_INT(ul_delete_record(&h), 0);
		CHECK_INT(ul_unlock(&h), 0);
	}
	CHECK_INT(db_rows(NULL), 3);
	/* an update rewrites the row in place (same ruid) */
	add("bob", "sip:b1@h", 100, 100, "cid", 8);
	CHECK_INT(db_rows("username = 'bob' AND cseq = 8 AND q = 0.1"), 1);
	CHECK_INT(db_rows(NULL), 3);
	/* memory-only contacts never reach the table */
	{
		ul_handle_t h;
		ul_record_t *r;
		ul_contact_t ci;

		memset(&ci, 0, sizeof(ci));
		ci.c = STR_LIT("sip:mem@h");
		ci.callid = STR_LIT("m");
		ci.expires = ul_now() + 100;
		ci.q = -1;
		ci.flags = UL_FL_MEM;
		ul_lock(loc(), STR_LIT("bob"), &h);
		r = ul_get_or_insert_record(&h);
		CHECK_INT(ul_insert_contact(&h, r, &ci, NULL), 0);
		ul_unlock(&h);
	}
	CHECK_INT(db_rows(NULL), 3);
	stop();

	/* a new instance loads the same bindings from the file */
	start(UL_WRITE_THROUGH);
	CHECK_STR(contacts_of("alice"), "sip:a1@h,sip:a2@h");
	CHECK_STR(contacts_of("bob"), "sip:b1@h");
	CHECK_STR(contacts_of("gone"), "");
	check_reloaded("alice", "sip:a2@h");
	CHECK_INT(counter("location-contacts"), 3);
	CHECK_INT(counter("location-users"), 2);
	stop();
	cleanup();
}

TEST(write_back)
{
	ul_handle_t h;

	start(UL_WRITE_BACK);
	add("alice", "sip:a1@h", 1000, 100, "cid", 7);
	add("bob", "sip:b1@h", -1, 100, "cid", 7);
	/* nothing on disk until the timer (or ul.flush) runs */
	CHECK_INT(db_rows(NULL), 0);
	CHECK_INT(ul_flush(), 0);
	CHECK_INT(db_rows(NULL), 2);
	/* a change and a delete wait for the next flush too */
	add("alice", "sip:a1@h", 1000, 100, "cid", 9);
	ul_lock(loc(), STR_LIT("bob"), &h);
	CHECK_INT(ul_delete_record(&h), 0);
	ul_unlock(&h);
	CHECK_INT(db_rows("cseq = 7"), 2);
	ul_expire_now();
	CHECK_INT(db_rows(NULL), 1);
	CHECK_INT(db_rows("cseq = 9"), 1);
	/* inserted and removed between two flushes: never written */
	add("tmp", "sip:t@h", -1, 100, "cid", 1);
	ul_lock(loc(), STR_LIT("tmp"), &h);
	CHECK_INT(ul_delete_record(&h), 0);
	ul_unlock(&h);
	/* the shutdown writes what is pending */
	add("carol", "sip:c1@h", -1, 100, "cid", 7);
	stop();
	CHECK_INT(db_rows(NULL), 2);
	start(UL_WRITE_BACK);
	check_reloaded("carol", "sip:c1@h");
	CHECK_STR(contacts_of("alice"), "sip:a1@h");
	stop();
	cleanup();
}

TEST(preload_drops_lapsed)
{
	start(UL_WRITE_THROUGH);
	add("alice", "sip:a1@h", -1, 5, "cid", 1);
	add("alice", "sip:a2@h", -1, 500, "cid", 1);
	add("bob", "sip:b1@h", -1, 5, "cid", 1);
	stop();
	CHECK_INT(db_rows(NULL), 3);
	ul_time_offset = 60;
	start(UL_WRITE_THROUGH);
	CHECK_STR(contacts_of("alice"), "sip:a2@h");
	CHECK_STR(contacts_of("bob"), "");
	CHECK_INT(db_rows(NULL), 1);
	/* and the timer removes rows as their contacts lapse */
	ul_time_offset = 1000;
	CHECK_INT(ul_expire_now(), 1);
	CHECK_INT(db_rows(NULL), 0);
	ul_time_offset = 0;
	stop();
	cleanup();
}

TEST(failed_write_retried)
{
	start(UL_WRITE_THROUGH);
	add("alice", "sip:a1@h", -1, 100, "cid", 1);
	CHECK_INT(db_rows(NULL), 1);
	/* the table disappears behind our back: the write fails, memory
	 * keeps the binding and marks it for the timer */
	db_exec("ALTER TABLE location RENAME TO location_away");
	{
		ul_handle_t h;
		ul_record_t *r;
		ul_contact_t ci;

		memset(&ci, 0, sizeof(ci));
		ci.c = STR_LIT("sip:a2@h");
		ci.callid = STR_LIT("cid");
		ci.expires = ul_now() + 100;
		ci.q = -1;
		ul_lock(loc(), STR_LIT("alice"), &h);
		r = ul_get_record(&h);
		CHECK_INT(ul_insert_contact(&h, r, &ci, NULL), 0);
		CHECK_INT(ul_unlock(&h), -1);
	}
	CHECK_STR(contacts_of("alice"), "sip:a1@h,sip:a2@h");
	db_exec("ALTER TABLE location_away RENAME TO location");
	CHECK_INT(db_rows(NULL), 1);
	ul_flush();
	CHECK_INT(db_rows(NULL), 2);
	stop();
	cleanup();
}

static const rpc_export_t *rpc(const char *name)
{
	for (const rpc_export_t *e = osp_mod_usrloc.rpc; e->name; e++)
		if (strcmp(e->name, name) == 0)
			return e;
	UNIT_FAIL("no RPC %s", name);
	return NULL;
}

/* Call an RPC with a JSON array of parameters; *code gets the error code
 * (0 on success). */
static json_t *call(const char *name, const char *params, int *code)
{
	json_error_t je;
	json_t *p = json_loads(params, 0, &je), *res;
	rpc_error_t err = {0, ""};

	CHECK(p != NULL);
	res = rpc(name)->fn(p, &err);
	json_decref(p);
	*code = res ? 0 : err.code;
	return res;
}

TEST(rpc_commands)
{
	json_t *res, *dom, *aors, *c;
	int code;

	set_int("db_mode", 0);
	osp_g.cfg_file = (char *)"unit";
	CHECK_INT(osp_mod_usrloc.init(), 0);
	add("alice", "sip:a1@h", 500, 100, "cid", 1);

	res = call("ul.dump", "[]", &code);
	CHECK(res != NULL);
	dom = json_object_get(
	    json_array_get(json_object_get(res, "Domains"), 0), "Domain");
	CHECK_STR(json_string_value(json_object_get(dom, "Domain")),
		  "location");
	CHECK_INT(json_integer_value(json_object_get(dom, "Size")), 1024);
	aors = json_object_get(dom, "AoRs");
	CHECK_INT(json_array_size(aors), 1);
	c = json_object_get(json_object_get(json_array_get(aors, 0), "Info"),
			    "AoR");
	CHECK_STR(json_string_value(c), "alice");
	c = json_object_get(
	    json_array_get(json_object_get(
			       json_object_get(json_array_get(aors, 0), "Info"),
			       "Contacts"),
			   0),
	    "Contact");
	CHECK_STR(json_string_value(json_object_get(c, "Address")), "sip:a1@h");
	CHECK(json_integer_value(json_object_get(c, "Expires")) > 95);
	CHECK(json_real_value(json_object_get(c, "Q")) == 0.5);
	CHECK_STR(json_string_value(json_object_get(c, "Received")),
		  "sip:198.51.100.7:5090");
	CHECK_INT(json_integer_value(json_object_get(
		      json_object_get(dom, "Stats"), "Records")),
		  1);
	json_decref(res);

	/* add: nine parameters as Kamailio's; the AOR may carry a domain
	 * and a scheme, both dropped without use_domain */
	res =
	    call("ul.add",
		 "[\"location\", \"sip:Bob@example.com\", \"sip:bob@10.0.0.2\","
		 " 60, \"0.8\", \"0\", 0, 0, 4294967295]",
		 &code);
	CHECK_INT(code, 0);
	json_decref(res);
	res = call("ul.add",
		   "[\"location\", \"bob\", \"sip:bob@10.0.0.3\", 0, 1, "
		   "\"<sip:p.example.com;lr>\", 0, 0, 1]",
		   &code);
	CHECK_INT(code, 0);
	json_decref(res);
	CHECK_STR(contacts_of("bob"), "sip:bob@10.0.0.3,sip:bob@10.0.0.2");
	res = call("ul.lookup", "[\"location\", \"BOB\"]", &code);
	CHECK(res != NULL);
	CHECK_STR(json_string_value(json_object_get(res, "AoR")), "bob");
	CHECK_INT(json_array_size(json_object_get(res, "Contacts")), 2);
	c = json_object_get(json_array_get(json_object_get(res, "Contacts"), 0),
			    "Contact");
	CHECK_STR(json_string_value(json_object_get(c, "Expires")),
		  "permanent");
	CHECK_STR(json_string_value(json_object_get(c, "Path")),
		  "<sip:p.example.com;lr>");
	json_decref(res);

	res = call("ul.lookup", "[\"location\", \"nobody\"]", &code);
	CHECK(res == NULL);
	CHECK_INT(code, 404);
	res = call("ul.lookup", "[\"nosuch\", \"bob\"]", &code);
	CHECK(res == NULL);
	CHECK_INT(code, 500);
	res = call("ul.add",
		   "[\"location\", \"bob\", \"sip:x@h\", 60, \"2\", "
		   "\"0\", 0, 0, 0]",
		   &code);
	CHECK(res == NULL);
	CHECK_INT(code, RPC_E_INVALID_PARAMS);

	res = call("ul.rm_contact",
		   "[\"location\", \"bob\", \"sip:bob@10.0.0.3\"]", &code);
	CHECK_INT(code, 0);
	json_decref(res);
	CHECK_STR(contacts_of("bob"), "sip:bob@10.0.0.2");
	res = call("ul.rm_contact", "[\"location\", \"bob\", \"sip:none@h\"]",
		   &code);
	CHECK_INT(code, 404);
	res = call("ul.rm", "[\"location\", \"bob\"]", &code);
	CHECK_INT(code, 0);
	json_decref(res);
	CHECK_STR(contacts_of("bob"), "");
	res = call("ul.dump", "[\"brief\"]", &code);
	aors = json_object_get(
	    json_object_get(json_array_get(json_object_get(res, "Domains"), 0),
			    "Domain"),
	    "AoRs");
	CHECK_INT(json_array_size(aors), 1);
	CHECK_STR(
	    json_string_value(json_object_get(json_array_get(aors, 0), "AoR")),
	    "alice");
	json_decref(res);
	res = call("ul.flush", "[]", &code);
	CHECK_INT(code, 0);
	json_decref(res);
	stop();
}

/* Several threads change bindings of a small set of AORs at once while
 * the maintenance pass runs: no deadlock, and the table matches memory. */
static void *hammer(void *arg)
{
	long id = (long)arg;
	char aor[32], uri[64];

	for (int i = 0; i < 300; i++) {
		snprintf(aor, sizeof(aor), "user%d", i % 37);
		snprintf(uri, sizeof(uri), "sip:u@10.0.%ld.%d", id, i % 5);
		if (i % 11 == 10) {
			ul_handle_t h;

			ul_lock(loc(), str_from(aor), &h);
			ul_delete_record(&h);
			ul_unlock(&h);
		} else {
			add(aor, uri, (i % 3) * 300, 100, "cid", (unsigned)i);
		}
		if (id == 0 && i % 50 == 0)
			ul_expire_now();
	}
	return NULL;
}

TEST(threads)
{
	pthread_t th[4];
	int total = 0;

	start(UL_WRITE_THROUGH);
	for (long i = 0; i < 4; i++)
		CHECK_INT(pthread_create(&th[i], NULL, hammer, (void *)i), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 37; i++) {
		char aor[32];
		const char *l;

		snprintf(aor, sizeof(aor), "user%d", i);
		l = contacts_of(aor);
		if (*l)
			total++;
		for (; *l; l++)
			if (*l == ',')
				total++;
	}
	CHECK_INT(counter("location-contacts"), total);
	CHECK_INT(db_rows(NULL), total);
	stop();
	cleanup();
}

/* ruids are "uloc-<start>-<pid>-<counter>" in hex (written by hand, no
 * snprintf): the same text printf would give, unique, snprintf-like on a
 * short buffer. */
TEST(ruid_format)
{
	char a[64], b[64], want[64], small[8];
	unsigned long t;
	unsigned pid, n1, n2;
	int la, lb;

	la = ul_make_ruid(a, sizeof(a));
	lb = ul_make_ruid(b, sizeof(b));
	CHECK_INT(la, strlen(a));
	CHECK_INT(lb, strlen(b));
	CHECK(strncmp(a, "uloc-", 5) == 0);
	CHECK_INT(sscanf(a, "uloc-%lx-%x-%x", &t, &pid, &n1), 3);
	CHECK_INT(sscanf(b, "uloc-%lx-%x-%x", &t, &pid, &n2), 3);
	CHECK_INT(pid, getpid());
	CHECK_INT(n2, n1 + 1);
	snprintf(want, sizeof(want), "uloc-%lx-%x-%x", t, pid, n2);
	CHECK_STR(b, want);
	CHECK(t + 5 >= (unsigned long)time(NULL));
	lb = ul_make_ruid(small, sizeof(small));
	CHECK(lb > 7);
	CHECK_INT(strlen(small), 7);
	CHECK(strncmp(small, "uloc-", 5) == 0);
}

TEST_LIST(TEST_ENTRY(ruid_format), TEST_ENTRY(insert_order_update_delete), TEST_ENTRY(expiry),
	  TEST_ENTRY(write_through), TEST_ENTRY(write_back),
	  TEST_ENTRY(preload_drops_lapsed), TEST_ENTRY(failed_write_retried),
	  TEST_ENTRY(rpc_commands), TEST_ENTRY(threads), )
