/* test_registrar.c - KSR.registrar: REGISTER processing as RFC 3261 §10.3
 * says (expires from the Contact, the Expires header or the default;
 * min/max_expires and 423; "*"; Call-ID/CSeq ordering; max_contacts;
 * Path), the 200 OK's Contact list, the save() flags, and lookup,
 * registered, unregister and $ulc. The checks look at the reply the
 * module sent (captured by test_mods_util.h) and at the bindings usrloc
 * holds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dset.h"
#include "core/globals.h"
#include "core/stats.h"
#include "modules/pv/pv.h"
#include "modules/usrloc/ul_int.h"
#include "net/net.h"
#include "test_mods_util.h"

extern osp_module_t osp_mod_registrar;
extern osp_module_t osp_mod_usrloc;
#define M (&osp_mod_registrar)

__attribute__((weak)) net_listener_t *net_listeners;

__attribute__((weak)) int worker_post(int worker, void (*fn)(void *arg),
				      void *arg)
{
	return -1;
}

__attribute__((weak)) int net_addr_port(const sip_sockaddr_t *a)
{
	return ntohs(a->sa.sa_family == AF_INET6 ? a->in6.sin6_port
						 : a->in4.sin_port);
}

__attribute__((weak)) osp_module_t *module_find(const char *name)
{
	return NULL;
}

static void set_param(osp_module_t *m, const char *name, long v)
{
	for (const osp_param_t *p = m->params; p->name; p++)
		if (strcmp(p->name, name) == 0) {
			*(int *)p->var = (int)v;
			return;
		}
	UNIT_FAIL("%s has no parameter %s", m->name, name);
}

static void set_sparam(osp_module_t *m, const char *name, const char *v)
{
	for (const osp_param_t *p = m->params; p->name; p++)
		if (strcmp(p->name, name) == 0) {
			*(char **)p->var = strdup(v);
			return;
		}
	UNIT_FAIL("%s has no parameter %s", m->name, name);
}

/* usrloc in memory, registrar with Kamailio's defaults plus ours. */
static void start(void)
{
	set_param(&osp_mod_usrloc, "db_mode", 0);
	osp_mod_usrloc.loaded = 1; /* registrar checks it is there */
	CHECK_INT(osp_mod_usrloc.init(), 0);
	CHECK_INT(osp_mod_registrar.init(), 0);
}

static void stop(void)
{
	osp_mod_registrar.destroy();
	osp_mod_usrloc.destroy();
}

/* A REGISTER for alice from 192.0.2.10:5062; extra is more header lines
 * (Contact, Expires, ...). */
static char reqbuf[4096];
static const char *reg(const char *callid, unsigned cseq, const char *extra)
{
	snprintf(reqbuf, sizeof(reqbuf),
		 "REGISTER sip:example.com SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK%u\r\n"
		 "From: <sip:alice@example.com>;tag=f1\r\n"
		 "To: <sip:alice@example.com>\r\n"
		 "Call-ID: %s\r\n"
		 "CSeq: %u REGISTER\r\n"
		 "User-Agent: TestPhone/1.0\r\n"
		 "%s"
		 "Content-Length: 0\r\n\r\n",
		 cseq, callid, cseq, extra);
	return reqbuf;
}

/* Run save("location", flags) on text; returns its result. */
static int save(const char *text, long flags)
{
	tmsg_t t;
	int rc;

	tmsg_parse(&t, text);
	rc = kcall(&t, M, "save", NULL, "location", flags);
	tmsg_free(&t);
	return rc;
}

/* The bindings of aor: "uri|remaining|q|cseq;..." ("" when none). */
static const char *bindings(const char *aor)
{
	static char buf[2048];
	ul_handle_t h;
	ul_record_t *r;
	size_t n = 0;
	time_t now = ul_now();

	buf[0] = '\0';
	ul_lock(ul_get_domain(STR_LIT("location")), str_from(aor), &h);
	r = ul_get_record(&h);
	for (ul_contact_t *c = r ? r->contacts : NULL; c; c = c->next)
		n += (size_t)snprintf(
		    buf + n, sizeof(buf) - n, "%s%.*s|%ld|%d|%u", n ? ";" : "",
		    STR_FMT(c->c), (long)(c->expires - now), c->q, c->cseq);
	ul_unlock(&h);
	return buf;
}

static const ul_contact_t *binding(const char *aor, const char *uri)
{
	static ul_contact_t *copy;
	ul_handle_t h;
	ul_record_t *r;
	ul_contact_t *c;

	free(copy);
	copy = NULL;
	ul_lock(ul_get_domain(STR_LIT("location")), str_from(aor), &h);
	r = ul_get_record(&h);
	c = ul_find_contact(r, str_from(uri));
	if (c)
		copy = ul_contact_dup(c);
	ul_unlock(&h);
	return copy;
}

#define CT(x) "Contact: " x "\r\n"

TEST(register_and_reply)
{
	start();
	CHECK_INT(
	    save(reg("c1", 1,
		     CT("<sip:alice@192.0.2.10:5062>") "Expires: 1800\r\n"),
		 0),
	    1);
	CHECK_INT(sent.count, 1);
	CHECK_INT(sent.code, 200);
	CHECK_STR(sent.reason, "OK");
	CHECK_STR(sent.extra,
		  "Contact: <sip:alice@192.0.2.10:5062>;expires=1800\r\n");
	CHECK_STR(bindings("alice"), "sip:alice@192.0.2.10:5062|1800|-1|1");
	{
		const ul_contact_t *c =
		    binding("alice", "sip:alice@192.0.2.10:5062");

		CHECK_STRV(c->callid, "c1");
		CHECK_STRV(c->user_agent, "TestPhone/1.0");
		CHECK_INT(c->methods, UL_METHODS_ALL);
		CHECK(c->ruid.len > 0);
	}
	/* a second contact with q; the reply lists both, best first */
	CHECK_INT(
	    save(reg("c1", 2,
		     CT("<sip:alice@198.51.100.1>;q=0.7") "Expires: 600\r\n"),
		 0),
	    1);
	CHECK_STR(sent.extra,
		  "Contact: <sip:alice@198.51.100.1>;q=0.7;expires=600, "
		  "<sip:alice@192.0.2.10:5062>;expires=1800\r\n");
	/* a refresh is an update (2) and keeps the binding's ruid */
	{
		char ruid[64];

		str_to_buf(binding("alice", "sip:alice@192.0.2.10:5062")->ruid,
			   ruid, sizeof(ruid));
		CHECK_INT(save(reg("c1", 3,
				   CT("<sip:alice@192.0.2.10:5062>") "Expires: "
								     "900\r\n"),
			       0),
			  2);
		CHECK_STRV(binding("alice", "sip:alice@192.0.2.10:5062")->ruid,
			   ruid);
	}
	CHECK_STR(bindings("alice"), "sip:alice@198.51.100.1|600|700|2;"
				     "sip:alice@192.0.2.10:5062|900|-1|3");
	/* the AOR is case-insensitive and ignores the domain (use_domain 0) */
	CHECK_INT(stats_get(stats_find("registrar", "accepted_regs")), 3);
	stop();
}

TEST(expires_rules)
{
	start();
	/* the contact's parameter wins over the header */
	save(reg("c", 1, CT("<sip:a@h1>;expires=120") "Expires: 300\r\n"), 0);
	CHECK_STR(bindings("alice"), "sip:a@h1|120|-1|1");
	/* the header, else default_expires (3600) */
	save(reg("c", 2, CT("<sip:a@h2>") "Expires: 300\r\n"), 0);
	save(reg("c", 3, CT("<sip:a@h3>")), 0);
	CHECK(strstr(bindings("alice"), "sip:a@h2|300|") != NULL);
	CHECK(strstr(bindings("alice"), "sip:a@h3|3600|") != NULL);
	/* below min_expires (60): 423 with Min-Expires, nothing changes */
	CHECK_INT(save(reg("c", 4, CT("<sip:a@h4>;expires=30")), 0), -1);
	CHECK_INT(sent.code, 423);
	CHECK_STR(sent.reason, "Interval Too Brief");
	CHECK_HAS(sent.extra, "Min-Expires: 60\r\n");
	CHECK_HAS(sent.extra, "P-Registrar-Error: Interval too brief\r\n");
	CHECK(strstr(bindings("alice"), "h4") == NULL);
	CHECK_INT(stats_get(stats_find("registrar", "rejected_regs")), 1);
	/* Kamailio's mode: raised to the minimum */
	set_param(M, "min_expires_mode", 0);
	CHECK_INT(save(reg("c", 5, CT("<sip:a@h4>;expires=30")), 0), 1);
	CHECK(strstr(bindings("alice"), "sip:a@h4|60|") != NULL);
	set_param(M, "min_expires_mode", 1);
	/* max_expires caps */
	set_param(M, "max_expires", 500);
	save(reg("c", 6, CT("<sip:a@h5>;expires=9999")), 0);
	CHECK(strstr(bindings("alice"), "sip:a@h5|500|") != NULL);
	set_param(M, "max_expires", 0);
	/* a malformed Expires header is a 400 */
	CHECK_INT(save(reg("c", 7, CT("<sip:a@h6>") "Expires: soon\r\n"), 0),
		  -1);
	CHECK_INT(sent.code, 400);
	CHECK_HAS(sent.extra, "P-Registrar-Error: Expires parse error");
	/* expires=0 on one contact removes that binding only (3) */
	CHECK_INT(save(reg("c", 8, CT("<sip:a@h1>;expires=0")), 0), 3);
	CHECK(strstr(bindings("alice"), "h1") == NULL);
	CHECK(strstr(bindings("alice"), "h2") != NULL);
	stop();
}

TEST(star_and_query)
{
	start();
	save(reg("c", 1, CT("<sip:a@h1>, <sip:a@h2>;q=0.5") "Expires: 100\r\n"),
	     0);
	CHECK_STR(bindings("alice"), "sip:a@h2|100|500|1;sip:a@h1|100|-1|1");
	/* a query: no Contact, bindings listed, nothing changes (4) */
	CHECK_INT(save(reg("other", 1, ""), 0), 4);
	CHECK_INT(sent.code, 200);
	CHECK_STR(sent.extra, "Contact: <sip:a@h2>;q=0.5;expires=100, "
			      "<sip:a@h1>;expires=100\r\n");
	/* "*" needs Expires: 0 ... */
	CHECK_INT(save(reg("c", 2, CT("*") "Expires: 10\r\n"), 0), -1);
	CHECK_INT(sent.code, 400);
	CHECK_HAS(sent.extra, "* used in contact and expires is not zero");
	CHECK_INT(save(reg("c", 2, CT("*")), 0), -1);
	CHECK_INT(sent.code, 400);
	/* ... and to be alone */
	CHECK_INT(
	    save(reg("c", 2, CT("*") CT("<sip:a@h3>") "Expires: 0\r\n"), 0),
	    -1);
	CHECK_HAS(sent.extra, "* used in contact and more than 1 contact");
	CHECK_INT(
	    save(reg("c", 2, CT("<sip:a@h3>") CT("*") "Expires: 0\r\n"), 0),
	    -1);
	CHECK_INT(sent.code, 400);
	CHECK_STR(bindings("alice"), "sip:a@h2|100|500|1;sip:a@h1|100|-1|1");
	/* a stale "*" (same Call-ID, CSeq not higher) is refused */
	ul_time_offset = 100 - 50; /* past cseq_delay, before expiry */
	CHECK_INT(save(reg("c", 1, CT("*") "Expires: 0\r\n"), 0), -1);
	CHECK_INT(sent.code, 400);
	CHECK_HAS(sent.extra, "Invalid CSeq number");
	ul_time_offset = 0;
	/* the real one removes everything (3); the reply lists nothing */
	CHECK_INT(save(reg("c", 3, CT("*") "Expires: 0\r\n"), 0), 3);
	CHECK_INT(sent.code, 200);
	CHECK_STR(sent.extra, "");
	CHECK_STR(bindings("alice"), "");
	CHECK_INT(stats_get(stats_find("usrloc", "location-users")), 0);
	stop();
}

TEST(cseq_ordering)
{
	start();
	save(reg("c", 10, CT("<sip:a@h1>") "Expires: 100\r\n"), 0);
	/* lower CSeq, same Call-ID: refused as Kamailio does */
	CHECK_INT(save(reg("c", 9, CT("<sip:a@h1>") "Expires: 200\r\n"), 0),
		  -1);
	CHECK_INT(sent.code, 400);
	CHECK_STR(sent.reason, "Bad Request");
	CHECK_HAS(sent.extra, "P-Registrar-Error: Invalid CSeq number\r\n");
	CHECK_STR(bindings("alice"), "sip:a@h1|100|-1|10");
	/* the same CSeq soon after: a retransmission, 200 and unchanged */
	CHECK_INT(save(reg("c", 10, CT("<sip:a@h1>") "Expires: 200\r\n"), 0),
		  1);
	CHECK_INT(sent.code, 200);
	CHECK_STR(bindings("alice"), "sip:a@h1|100|-1|10");
	/* the same CSeq later is stale */
	ul_time_offset = 30;
	CHECK_INT(save(reg("c", 10, CT("<sip:a@h1>") "Expires: 200\r\n"), 0),
		  -1);
	ul_time_offset = 0;
	/* another Call-ID (a rebooted phone) may use any CSeq */
	CHECK_INT(save(reg("d", 1, CT("<sip:a@h1>") "Expires: 200\r\n"), 0), 2);
	CHECK_STR(bindings("alice"), "sip:a@h1|200|-1|1");
	/* all or nothing: one stale contact refuses the whole REGISTER */
	CHECK_INT(save(reg("d", 5, CT("<sip:a@h1>") "Expires: 200\r\n"), 0), 2);
	CHECK_INT(
	    save(reg("d", 3, CT("<sip:a@h2>, <sip:a@h1>") "Expires: 300\r\n"),
		 0),
	    -1);
	CHECK_STR(bindings("alice"), "sip:a@h1|200|-1|5");
	stop();
}

TEST(max_contacts)
{
	start();
	set_param(M, "max_contacts", 2);
	CHECK_INT(
	    save(reg("c", 1, CT("<sip:a@h1>, <sip:a@h2>, <sip:a@h3>")), 0), -2);
	CHECK_INT(sent.code, 503);
	CHECK_STR(sent.reason, "Service Unavailable");
	CHECK_HAS(sent.extra,
		  "P-Registrar-Error: Too many registered contacts");
	CHECK_STR(bindings("alice"), "");
	CHECK_INT(save(reg("c", 2, CT("<sip:a@h1>, <sip:a@h2>")), 0), 1);
	CHECK_INT(save(reg("c", 3, CT("<sip:a@h3>")), 0), -2);
	/* replacing one keeps the count */
	CHECK_INT(save(reg("c", 4, CT("<sip:a@h1>;expires=0, <sip:a@h3>")), 0),
		  1);
	CHECK(strstr(bindings("alice"), "h3") != NULL);
	CHECK(strstr(bindings("alice"), "h1") == NULL);
	set_param(M, "retry_after", 30);
	CHECK_INT(save(reg("c", 5, CT("<sip:a@h4>")), 0), -2);
	CHECK_HAS(sent.extra, "Retry-After: 30\r\n");
	set_param(M, "retry_after", 0);
	set_param(M, "max_contacts", 0);
	stop();
}

TEST(save_flags)
{
	start();
	/* 0x02: no reply */
	CHECK_INT(save(reg("c", 1, CT("<sip:a@h1>")), 0x02), 1);
	CHECK_INT(sent.count, 0);
	/* 0x04: one contact per AOR */
	CHECK_INT(save(reg("c", 2, CT("<sip:a@h2>")), 0x04), 1);
	CHECK_STR(bindings("alice"), "sip:a@h2|3600|-1|2");
	/* 0x01: memory only */
	save(reg("c", 3, CT("<sip:a@h3>")), 0x01);
	CHECK_INT(binding("alice", "sip:a@h3")->flags & UL_FL_MEM, UL_FL_MEM);
	CHECK_INT(binding("alice", "sip:a@h2")->flags & UL_FL_MEM, 0);
	/* bad flags */
	CHECK_INT(save(reg("c", 4, CT("<sip:a@h4>")), 0x100), -1);
	stop();
}

TEST(bad_requests)
{
	tmsg_t t;

	start();
	/* To without a user */
	tmsg_parse(&t, "REGISTER sip:example.com SIP/2.0\r\n"
		       "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK1\r\n"
		       "From: <sip:alice@example.com>;tag=f1\r\n"
		       "To: <sip:example.com>\r\n"
		       "Call-ID: x\r\nCSeq: 1 REGISTER\r\n"
		       "Contact: <sip:a@h>\r\nContent-Length: 0\r\n\r\n");
	CHECK_INT(kcall(&t, M, "save", NULL, "location", 0L), -1);
	CHECK_INT(sent.code, 400);
	CHECK_HAS(sent.extra, "No username in To URI");
	tmsg_free(&t);
	/* a Contact that does not parse */
	CHECK_INT(save(reg("c", 1, CT("<sip:a@h>;q=2")), 0), -1);
	CHECK_INT(sent.code, 400);
	CHECK_HAS(sent.extra, "Contact parse error");
	/* save() on a reply does nothing */
	tmsg_parse(&t, "SIP/2.0 200 OK\r\n"
		       "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK1\r\n"
		       "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\n"
		       "Call-ID: x\r\nCSeq: 1 REGISTER\r\n"
		       "Content-Length: 0\r\n\r\n");
	CHECK_INT(kcall(&t, M, "save", NULL, "location", 0L), -1);
	CHECK_INT(sent.count, 0);
	tmsg_free(&t);
	/* an invalid table name */
	tmsg_parse(&t, reg("c", 1, CT("<sip:a@h>")));
	CHECK_INT(kcall(&t, M, "save", NULL, "no such", 0L), -1);
	tmsg_free(&t);
	stop();
}

TEST(path)
{
	start();
	/* stored; echoed only with Supported: path (path_mode 1) */
	CHECK_INT(
	    save(
		reg("c", 1,
		    CT("<sip:a@10.0.0.5:5070>") "Path: "
						"<sip:edge1.example.com;lr>\r\n"
						"Path: "
						"<sip:edge2.example.com;lr>"
						"\r\n"),
		0),
	    1);
	CHECK_STRV(binding("alice", "sip:a@10.0.0.5:5070")->path,
		   "<sip:edge1.example.com;lr>,<sip:edge2.example.com;lr>");
	CHECK_HASNT(sent.extra, "Path:");
	CHECK_INT(
	    save(reg("c", 2,
		     CT("<sip:a@10.0.0.5:5070>") "Supported: path, outbound\r\n"
						 "Path: "
						 "<sip:edge1.example.com;lr>"
						 "\r\n"),
		 0),
	    2);
	CHECK_HAS(sent.extra, "\r\nPath: <sip:edge1.example.com;lr>\r\n");
	/* strict: 420 without Supported: path */
	set_param(M, "path_mode", 2);
	CHECK_INT(save(reg("c", 3,
			   CT("<sip:a@10.0.0.5:5070>") "Path: "
						       "<sip:edge1.example.com;"
						       "lr>\r\n"),
		       0),
		  -1);
	CHECK_INT(sent.code, 420);
	CHECK_HAS(sent.extra, "Unsupported: path\r\n");
	set_param(M, "path_mode", 1);
	stop();
}

/* An INVITE to the given R-URI. */
static const char *invite(const char *ruri, const char *method,
			  const char *totag)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf),
		 "%s %s SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 192.0.2.20:5060;branch=z9hG4bKi1\r\n"
		 "From: <sip:bob@example.com>;tag=b1\r\n"
		 "To: <sip:alice@example.com>%s%s\r\n"
		 "Call-ID: i1\r\nCSeq: 1 %s\r\n"
		 "Content-Length: 0\r\n\r\n",
		 method, ruri, totag ? ";tag=" : "", totag ? totag : "",
		 method);
	return buf;
}

TEST(lookup)
{
	tmsg_t t;
	osp_branch_t *b;

	start();
	/* not registered */
	tmsg_parse(&t, invite("sip:alice@example.com", "INVITE", NULL));
	CHECK_INT(kcall(&t, M, "lookup", NULL, "location"), -1);
	CHECK_INT(kcall(&t, M, "registered", NULL, "location"), -1);
	tmsg_free(&t);
	save(reg("c", 1,
		 CT("<sip:alice@10.0.0.1:5060>;q=0.5")
		     CT("<sip:alice@10.0.0.2:5060>;q=1;received=\"sip:"
			"203.0.113.9:40000\"")
			 CT("<sip:alice@10.0.0.3:5060>") "Path: "
							 "<sip:edge.example."
							 "com;lr>\r\n"),
	     0);
	tmsg_parse(&t, invite("sip:Alice@example.com", "INVITE", NULL));
	CHECK_INT(kcall(&t, M, "registered", NULL, "location"), 1);
	CHECK_INT(kcall(&t, M, "lookup", NULL, "location"), 1);
	/* R-URI: highest q; $du: the first Path hop beats received */
	CHECK_STRV(sip_cur_uri(&t.msg), "sip:alice@10.0.0.2:5060");
	CHECK_STRV(t.msg.dst_uri, "sip:edge.example.com;lr");
	CHECK_STRV(t.msg.path_vec, "<sip:edge.example.com;lr>");
	CHECK_INT(t.msg.ruri_q, 1000);
	/* the others as branches, by q */
	CHECK_INT(dset_count(&t.msg), 2);
	b = dset_get(&t.msg, 0);
	CHECK_STRV(b->uri, "sip:alice@10.0.0.1:5060");
	CHECK_INT(b->q, 500);
	CHECK(b->ruid.len > 0);
	b = dset_get(&t.msg, 1);
	CHECK_STRV(b->uri, "sip:alice@10.0.0.3:5060");
	CHECK_INT(b->q, -1);
	tmsg_free(&t);

	/* lookup_uri on another AOR; append_branches 0 */
	set_param(M, "append_branches", 0);
	tmsg_parse(&t, invite("sip:carol@example.com", "INVITE", NULL));
	CHECK_INT(kcall(&t, M, "lookup_uri", NULL, "location",
			"sip:alice@example.com"),
		  1);
	CHECK_INT(dset_count(&t.msg), 0);
	tmsg_free(&t);
	set_param(M, "append_branches", 1);

	/* lookup_to_dset: every contact as a branch, R-URI unchanged */
	tmsg_parse(&t, invite("sip:alice@example.com", "INVITE", NULL));
	CHECK_INT(kcall(&t, M, "lookup_to_dset", NULL, "location",
			"sip:alice@example.com"),
		  1);
	CHECK_STRV(sip_cur_uri(&t.msg), "sip:alice@example.com");
	CHECK_INT(dset_count(&t.msg), 3);
	tmsg_free(&t);

	/* lapsed contacts are not found even before the timer runs */
	ul_time_offset = 4000;
	tmsg_parse(&t, invite("sip:alice@example.com", "INVITE", NULL));
	CHECK_INT(kcall(&t, M, "lookup", NULL, "location"), -1);
	tmsg_free(&t);
	ul_time_offset = 0;
	stop();
}

TEST(lookup_received_and_methods)
{
	tmsg_t t;
	char err[128];
	pv_spec_t *sp;
	ksr_xval_t v;

	set_sparam(M, "received_avp", "$avp(RECEIVED)");
	set_param(M, "method_filtering", 1);
	start();
	/* received_avp (as nathelper's fix_nated_register sets it) */
	tmsg_parse(&t,
		   reg("c", 1,
		       CT("<sip:alice@10.1.1.1:5060>") "Allow: INVITE, ACK, "
						       "BYE, CANCEL\r\n"));
	sp = pv_spec_parse(STR_LIT("$avp(RECEIVED)"), err, sizeof(err));
	CHECK(sp != NULL);
	ksr_xval_str(&v, STR_LIT("sip:203.0.113.5:41000;transport=tcp"));
	CHECK_INT(pv_set(&t.ctx, sp, &v), 0);
	CHECK_INT(kcall(&t, M, "save", NULL, "location", 0L), 1);
	CHECK_HAS(sent.extra,
		  ";received=\"sip:203.0.113.5:41000;transport=tcp\"");
	tmsg_free(&t);
	pv_spec_free(sp);
	CHECK_INT(binding("alice", "sip:alice@10.1.1.1:5060")->methods,
		  SIP_METHOD_INVITE | SIP_METHOD_ACK | SIP_METHOD_BYE |
		      SIP_METHOD_CANCEL);

	tmsg_parse(&t, invite("sip:alice@example.com", "INVITE", NULL));
	CHECK_INT(kcall(&t, M, "lookup", NULL, "location"), 1);
	CHECK_STRV(t.msg.dst_uri, "sip:203.0.113.5:41000;transport=tcp");
	tmsg_free(&t);
	/* MESSAGE is not in Allow: -2 */
	tmsg_parse(&t, invite("sip:alice@example.com", "MESSAGE", NULL));
	CHECK_INT(kcall(&t, M, "lookup", NULL, "location"), -2);
	tmsg_free(&t);
	/* within a dialog (To tag) the filter does not apply */
	tmsg_parse(&t, invite("sip:alice@example.com", "MESSAGE", "x1"));
	CHECK_INT(kcall(&t, M, "lookup", NULL, "location"), 1);
	tmsg_free(&t);
	set_param(M, "method_filtering", 0);
	stop();
}

TEST(unregister_and_ulc)
{
	tmsg_t t;
	ksr_xval_t x;
	char err[128], ruid[64];
	pv_spec_t *sp;

	start();
	save(reg("c", 1,
		 CT("<sip:alice@10.0.0.1>;q=0.9, <sip:alice@10.0.0.2>") "Expire"
									"s: "
									"100\r"
									"\n"),
	     0);
	tmsg_parse(&t, invite("sip:x@example.com", "INVITE", NULL));
	CHECK_INT(kcall(&t, M, "reg_fetch_contacts", NULL, "location",
			"sip:alice@example.com", "caller"),
		  1);
	kcall(&t, M, "ulc_rget", &x, "caller", "count");
	CHECK_XINT(x, 2);
	kcall(&t, M, "ulc_rget", &x, "caller", "aor");
	CHECK_XSTR(x, "alice");
	kcall(&t, M, "ulc_cget", &x, "caller", "addr", 1L);
	CHECK_XSTR(x, "sip:alice@10.0.0.2");
	kcall(&t, M, "ulc_cget", &x, "caller", "q", 0L);
	CHECK_XINT(x, 900);
	kcall(&t, M, "ulc_cget", &x, "caller", "addr", 5L);
	CHECK_XNULL(x);
	/* the same through $ulc */
	sp =
	    pv_spec_parse(STR_LIT("$(ulc(caller=>addr)[1])"), err, sizeof(err));
	CHECK(sp != NULL);
	CHECK_INT(pv_get(&t.ctx, sp, &x), 0);
	CHECK_XSTR(x, "sip:alice@10.0.0.2");
	pv_spec_free(sp);
	sp = pv_spec_parse(STR_LIT("$ulc(caller=>callid)"), err, sizeof(err));
	CHECK(sp != NULL);
	pv_get(&t.ctx, sp, &x);
	CHECK_XSTR(x, "c");
	pv_spec_free(sp);
	CHECK(pv_spec_parse(STR_LIT("$ulc(caller=>bogus)"), err, sizeof(err)) ==
	      NULL);
	kcall(&t, M, "ulc_cget", &x, "caller", "ruid", 1L);
	CHECK_INT(x.type, KSR_STR);
	str_to_buf(x.s, ruid, sizeof(ruid));
	CHECK_INT(kcall(&t, M, "reg_free_contacts", NULL, "caller"), 1);
	kcall(&t, M, "ulc_rget", &x, "caller", "count");
	CHECK_XINT(x, 0);
	CHECK_INT(kcall(&t, M, "reg_fetch_contacts", NULL, "location",
			"sip:nobody@example.com", "caller"),
		  -1);

	/* unregister one binding by ruid, then all */
	CHECK_INT(kcall(&t, M, "unregister_ruid", NULL, "location",
			"sip:alice@example.com", "no-such-ruid"),
		  -3);
	CHECK_INT(kcall(&t, M, "unregister_ruid", NULL, "location", "", ruid),
		  1);
	CHECK_STR(bindings("alice"), "sip:alice@10.0.0.1|100|900|1");
	CHECK_INT(kcall(&t, M, "unregister", NULL, "location",
			"sip:alice@example.com"),
		  1);
	CHECK_STR(bindings("alice"), "");
	CHECK_INT(kcall(&t, M, "unregister", NULL, "location", "not a uri"),
		  -1);
	tmsg_free(&t);
	stop();
}

TEST(q_override_and_instance)
{
	tmsg_t t;

	start();
	tmsg_parse(&t, reg("c", 1,
			   CT("<sip:alice@10.0.0.1>;q=0.1;+sip.instance=\""
			      "<urn:uuid:abc>\";reg-id=1")));
	CHECK_INT(kcall(&t, M, "set_q_override", NULL, "0.25"), 1);
	CHECK_INT(kcall(&t, M, "set_q_override", NULL, "1.5"), -1);
	CHECK_INT(kcall(&t, M, "save", NULL, "location", 0L), 1);
	CHECK_HAS(sent.extra, ";q=0.25;expires=3600;+sip.instance=\""
			      "<urn:uuid:abc>\";reg-id=1\r\n");
	tmsg_free(&t);
	/* the same instance from a new address replaces the binding */
	save(reg("c", 2,
		 CT("<sip:alice@10.0.0.9>;+sip.instance=\""
		    "<urn:uuid:abc>\";reg-id=1")),
	     0);
	CHECK_STR(bindings("alice"), "sip:alice@10.0.0.9|3600|-1|2");
	stop();
}

TEST_LIST(TEST_ENTRY(register_and_reply), TEST_ENTRY(expires_rules),
	  TEST_ENTRY(star_and_query), TEST_ENTRY(cseq_ordering),
	  TEST_ENTRY(max_contacts), TEST_ENTRY(save_flags),
	  TEST_ENTRY(bad_requests), TEST_ENTRY(path), TEST_ENTRY(lookup),
	  TEST_ENTRY(lookup_received_and_methods),
	  TEST_ENTRY(unregister_and_ulc), TEST_ENTRY(q_override_and_instance), )
