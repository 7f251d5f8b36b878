/* test_rtpengine.c - the rtpengine module: bencode round trips and
 * malformed input; ng commands built from INVITEs, replies, ACKs and BYEs
 * with Kamailio's flag strings; the ng transport, instance selection by
 * weight, failover, disabling and rechecking against fake ng servers on
 * loopback (threads answering, staying silent, answering late or with
 * errors); the KSR functions and the RPC commands. */
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>

#include "core/timer.h"
#include "modules/rtpengine/bencode.h"
#include "modules/rtpengine/rtpengine_int.h"
#include "test_mods_util.h"

extern osp_module_t osp_mod_rtpengine;
#define M (&osp_mod_rtpengine)

/* ---- bencode ---- */

static arena_t *new_arena(void)
{
	arena_t *a = malloc(sizeof(*a));

	CHECK(a != NULL);
	arena_init(a);
	return a;
}

static void free_arena(arena_t *a)
{
	arena_destroy(a);
	free(a);
}

static const char *enc(arena_t *a, const benc_t *v)
{
	str_t out;

	CHECK_INT(benc_encode(a, v, &out), 0);
	CHECK_INT(out.len, benc_encoded_len(v));
	return arena_strndup(a, out.s, out.len);
}

TEST(bencode_build_encode)
{
	arena_t *a = new_arena();
	benc_t *d = benc_new_dict(a), *l = benc_new_list(a), *inner;

	CHECK_INT(benc_dict_add_cstr(a, d, "command", "offer"), 0);
	CHECK_INT(benc_dict_add_int(a, d, "TOS", 184), 0);
	CHECK_INT(benc_dict_add_int(a, d, "neg", -42), 0);
	CHECK_INT(benc_list_add(l, benc_new_cstr(a, "origin")), 0);
	CHECK_INT(benc_list_add(l, benc_new_cstr(a, "")), 0);
	CHECK_INT(benc_list_add(l, benc_new_int(a, 0)), 0);
	CHECK_INT(benc_dict_add(d, STR_LIT("replace"), l), 0);
	inner = benc_new_dict(a);
	CHECK_INT(benc_dict_add(d, STR_LIT("empty"), inner), 0);
	CHECK_STR(enc(a, d), "d7:command5:offer3:TOSi184e3:negi-42e"
			     "7:replacel6:origin0:i0ee5:emptydee");
	/* a NULL value (failed constructor) and a wrong container */
	CHECK_INT(benc_list_add(l, NULL), -OSP_ENOMEM);
	CHECK_INT(benc_list_add(d, benc_new_int(a, 1)), -OSP_EINVAL);
	CHECK_INT(benc_dict_add(l, STR_LIT("k"), benc_new_int(a, 1)),
		  -OSP_EINVAL);
	free_arena(a);
}

TEST(bencode_round_trip)
{
	static const char *const inputs[] = {
	    "i0e",
	    "i-1e",
	    "i9223372036854775807e",
	    "i-9223372036854775808e",
	    "0:",
	    "4:spam",
	    "le",
	    "de",
	    "l4:spami42el1:ad1:bleeee",
	    ("d3:sdp12:v=0\r\no=- 1\r\n6:result2:ok5:flagsl13:trust-"
	     "addressee"),
	    "d1:bi1e1:ai2ee", /* key order is kept, not sorted */
	};
	arena_t *a = new_arena();

	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		benc_t *v = NULL;

		CHECK_INT(benc_decode(a, str_from(inputs[i]), &v), 0);
		CHECK_STR(enc(a, v), inputs[i]);
	}
	/* binary strings: NUL and high bytes survive */
	{
		static const char bin[] = "5:a\0b\xff\n";
		benc_t *v = NULL;
		str_t out;

		CHECK_INT(benc_decode(a, (str_t){bin, sizeof(bin) - 1}, &v), 0);
		CHECK_INT(v->type, BENC_STR);
		CHECK_INT(v->s.len, 5);
		CHECK(memcmp(v->s.s, "a\0b\xff\n", 5) == 0);
		CHECK_INT(benc_encode(a, v, &out), 0);
		CHECK_INT(out.len, sizeof(bin) - 1);
		CHECK(memcmp(out.s, bin, out.len) == 0);
	}
	free_arena(a);
}

TEST(bencode_decode_tree)
{
	arena_t *a = new_arena();
	benc_t *d = NULL;
	const benc_t *l;
	str_t s;

	CHECK_INT(benc_decode(a,
			      STR_LIT("d6:result2:ok5:callsl2:c12:c2e"
				      "7:createdi1700000000e4:dictd1:xi1eee"),
			      &d),
		  0);
	CHECK_INT(d->type, BENC_DICT);
	CHECK_INT(d->n, 4);
	CHECK(benc_dict_str_is(d, "result", "ok"));
	CHECK(!benc_dict_str_is(d, "result", "error"));
	l = benc_dict_get(d, "calls");
	CHECK(l && l->type == BENC_LIST && l->n == 2);
	CHECK_STRV(l->child->s, "c1");
	CHECK_STRV(l->child->next->s, "c2");
	CHECK_INT(benc_dict_get_int(d, "created", -1), 1700000000);
	CHECK_INT(benc_dict_get_int(d, "result", -7), -7); /* not an int */
	CHECK_INT(benc_dict_get_int(d, "missing", -7), -7);
	CHECK_INT(benc_dict_get_str(d, "calls", &s), -1); /* not a string */
	CHECK_INT(benc_dict_get_int(benc_dict_get(d, "dict"), "x", 0), 1);
	CHECK(benc_dict_get(l, "x") == NULL); /* a list has no keys */
	free_arena(a);
}

TEST(bencode_malformed)
{
	static const char *const bad[] = {
	    "",
	    "x",
	    "i",
	    "ie",
	    "i-e",
	    "i-0e",
	    "i01e",
	    "i12",
	    "i1x2e",
	    "i9223372036854775808e",
	    "i-9223372036854775809e",
	    "3:ab",
	    "01:a",
	    "-1:a",
	    ":a",
	    "5",
	    "99999999999999999999999:a",
	    "l",
	    "l4:spam",
	    "d",
	    "d3:key",
	    "d3:keye",
	    "di1ei2ee",
	    "dle1:ae",
	    "4:spamX",
	    "i1ei2e",
	    "lee",
	};
	arena_t *a = new_arena();
	char deep[2 * (BENC_MAX_DEPTH + 2) + 1];
	int i;
	benc_t *v;

	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		v = NULL;
		if (benc_decode(a, str_from(bad[k]), &v) != -OSP_EPARSE)
			UNIT_FAIL("'%s' was accepted", bad[k]);
	}
	CHECK_INT(benc_decode(a, STR_NULL, &v), -OSP_EPARSE);
	/* nesting: the limit is accepted, one more level is not */
	for (i = 0; i <= BENC_MAX_DEPTH; i++)
		deep[i] = 'l';
	for (int j = 0; j <= BENC_MAX_DEPTH; j++)
		deep[i++] = 'e';
	deep[i] = '\0';
	CHECK_INT(benc_decode(a, str_from(deep), &v), 0);
	for (i = 0; i <= BENC_MAX_DEPTH + 1; i++)
		deep[i] = 'l';
	for (int j = 0; j <= BENC_MAX_DEPTH + 1; j++)
		deep[i++] = 'e';
	deep[i] = '\0';
	CHECK_INT(benc_decode(a, str_from(deep), &v), -OSP_EPARSE);
	free_arena(a);
}

/* ---- ng commands from messages ---- */

#define SDP_A                                                                  \
	"v=0\r\n"                                                              \
	"o=alice 1 1 IN IP4 192.0.2.10\r\n"                                    \
	"s=-\r\n"                                                              \
	"c=IN IP4 192.0.2.10\r\n"                                              \
	"t=0 0\r\n"                                                            \
	"m=audio 30000 RTP/AVP 0 8\r\n"

#define SDP_B                                                                  \
	"v=0\r\n"                                                              \
	"o=bob 2 2 IN IP4 198.51.100.7\r\n"                                    \
	"s=-\r\n"                                                              \
	"c=IN IP4 198.51.100.7\r\n"                                            \
	"t=0 0\r\n"                                                            \
	"m=audio 40000 RTP/AVP 0\r\n"

#define INVITE                                                                 \
	"INVITE sip:bob@example.com SIP/2.0\r\n"                               \
	"Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKinv1\r\n"              \
	"From: <sip:alice@example.com>;tag=ftag1\r\n"                          \
	"To: <sip:bob@example.com>\r\n"                                        \
	"Call-ID: call-1@example.com\r\n"                                      \
	"CSeq: 10 INVITE\r\n"                                                  \
	"Content-Type: application/sdp\r\n"                                    \
	"Content-Length: 96\r\n"                                               \
	"\r\n" SDP_A

#define OK200                                                                  \
	"SIP/2.0 200 OK\r\n"                                                   \
	"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKproxy1\r\n"             \
	"Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKinv1\r\n"              \
	"From: <sip:alice@example.com>;tag=ftag1\r\n"                          \
	"To: <sip:bob@example.com>;tag=ttag2\r\n"                              \
	"Call-ID: call-1@example.com\r\n"                                      \
	"CSeq: 10 INVITE\r\n"                                                  \
	"Content-Type: application/sdp\r\n"                                    \
	"Content-Length: 96\r\n"                                               \
	"\r\n" SDP_B

#define BYE                                                                    \
	"BYE sip:alice@192.0.2.10:5062 SIP/2.0\r\n"                            \
	"Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bKbye1\r\n"            \
	"From: <sip:bob@example.com>;tag=ttag2\r\n"                            \
	"To: <sip:alice@example.com>;tag=ftag1\r\n"                            \
	"Call-ID: call-1@example.com\r\n"                                      \
	"CSeq: 1 BYE\r\n"                                                      \
	"Content-Length: 0\r\n"                                                \
	"\r\n"

/* a late-offer call: INVITE without SDP, 200 with the offer, ACK with the
 * answer */
#define ACK_SDP                                                                \
	"ACK sip:bob@198.51.100.7 SIP/2.0\r\n"                                 \
	"Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKack1\r\n"              \
	"From: <sip:alice@example.com>;tag=ftag1\r\n"                          \
	"To: <sip:bob@example.com>;tag=ttag2\r\n"                              \
	"Call-ID: call-1@example.com\r\n"                                      \
	"CSeq: 10 ACK\r\n"                                                     \
	"Content-Type: application/sdp\r\n"                                    \
	"Content-Length: 96\r\n"                                               \
	"\r\n" SDP_A

static benc_t *build(tmsg_t *t, rtpe_op_t *op, const char *flags, int want,
		     str_t *callid, str_t *vb)
{
	benc_t *d = NULL, *back = NULL;
	str_t sdp = STR_NULL, cid, v, enc_s;

	rtpe_msg_sdp(&t->msg, &sdp);
	CHECK_INT(rtpe_build_cmd(&t->arena, &t->msg, op, str_from(flags), sdp,
				 &d, &cid, &v),
		  want);
	if (want)
		return NULL;
	/* what goes on the wire decodes to the same thing */
	CHECK_INT(benc_encode(&t->arena, d, &enc_s), 0);
	CHECK_INT(benc_decode(&t->arena, enc_s, &back), 0);
	if (callid)
		*callid = cid;
	if (vb)
		*vb = v;
	return back;
}

/* Members of a list as "a,b,c". */
static const char *list_str(tmsg_t *t, const benc_t *l)
{
	char *buf = arena_alloc(&t->arena, 512);
	size_t n = 0;

	CHECK(l && l->type == BENC_LIST);
	buf[0] = '\0';
	for (const benc_t *c = l->child; c; c = c->next)
		n += (size_t)snprintf(buf + n, 512 - n, "%s%.*s", n ? "," : "",
				      STR_FMT(c->s));
	return buf;
}

#define CHECK_KEY(d, key, want)                                                \
	do {                                                                   \
		str_t kv_;                                                     \
		if (benc_dict_get_str((d), (key), &kv_) < 0)                   \
			UNIT_FAIL("no string '%s'", (key));                    \
		CHECK_STRV(kv_, (want));                                       \
	} while (0)

TEST(cmd_offer_invite)
{
	tmsg_t t;
	rtpe_op_t op = RTPE_OP_OFFER;
	benc_t *d;
	str_t cid, vb;

	tmsg_parse(&t, INVITE);
	d = build(&t, &op,
		  "replace-origin replace-session-connection ICE=remove "
		  "RTP/AVP trust-address direction=pub direction=priv "
		  "via-branch=1 label=caller",
		  0, &cid, &vb);
	CHECK_INT(op, RTPE_OP_OFFER);
	CHECK_KEY(d, "command", "offer");
	CHECK_KEY(d, "call-id", "call-1@example.com");
	CHECK_KEY(d, "from-tag", "ftag1");
	CHECK(benc_dict_get(d, "to-tag") == NULL); /* no To tag yet */
	CHECK_KEY(d, "via-branch", "z9hG4bKinv1");
	CHECK_KEY(d, "sdp", SDP_A);
	CHECK_KEY(d, "ICE", "remove");
	CHECK_KEY(d, "label", "caller");
	CHECK_KEY(d, "transport protocol", "RTP/AVP");
	CHECK_STR(list_str(&t, benc_dict_get(d, "replace")),
		  "origin,session-connection");
	CHECK_STR(list_str(&t, benc_dict_get(d, "flags")), "trust-address");
	CHECK_STR(list_str(&t, benc_dict_get(d, "direction")), "pub,priv");
	CHECK_STR(list_str(&t, benc_dict_get(d, "received-from")),
		  "IP4,192.0.2.10");
	CHECK_STR(list_str(&t, benc_dict_get(d, "supports")), "load limit");
	CHECK_STRV(cid, "call-1@example.com");
	CHECK_STRV(vb, "z9hG4bKinv1");
	tmsg_free(&t);

	/* no flags: the bare minimum */
	tmsg_parse(&t, INVITE);
	op = RTPE_OP_OFFER;
	d = build(&t, &op, "", 0, NULL, &vb);
	CHECK_KEY(d, "command", "offer");
	CHECK(benc_dict_get(d, "flags") == NULL);
	CHECK(benc_dict_get(d, "replace") == NULL);
	CHECK(benc_dict_get(d, "received-from") == NULL);
	CHECK(benc_dict_get(d, "via-branch") == NULL);
	CHECK_INT(vb.len, 0);
	tmsg_free(&t);
}

TEST(cmd_answer_reply)
{
	tmsg_t t;
	rtpe_op_t op = RTPE_OP_ANSWER;
	benc_t *d;

	tmsg_parse(&t, OK200);
	/* auto: the second Via of a reply is the one of the request */
	d = build(&t, &op, "replace-origin via-branch=auto", 0, NULL, NULL);
	CHECK_KEY(d, "command", "answer");
	CHECK_KEY(d, "from-tag", "ftag1");
	CHECK_KEY(d, "to-tag", "ttag2");
	CHECK_KEY(d, "via-branch", "z9hG4bKinv1");
	CHECK_KEY(d, "sdp", SDP_B);
	tmsg_free(&t);

	/* an offer in a reply (late offer) comes from the To party */
	tmsg_parse(&t, OK200);
	op = RTPE_OP_OFFER;
	d = build(&t, &op, "", 0, NULL, NULL);
	CHECK_KEY(d, "from-tag", "ttag2");
	CHECK_KEY(d, "to-tag", "ftag1");
	tmsg_free(&t);

	/* and so does the answer in the ACK */
	tmsg_parse(&t, ACK_SDP);
	op = RTPE_OP_ANSWER;
	d = build(&t, &op, "", 0, NULL, NULL);
	CHECK_KEY(d, "command", "answer");
	CHECK_KEY(d, "from-tag", "ttag2");
	CHECK_KEY(d, "to-tag", "ftag1");
	tmsg_free(&t);

	/* an answer in a request without To tag cannot name the call */
	tmsg_parse(&t, INVITE);
	op = RTPE_OP_ANSWER;
	build(&t, &op, "", -OSP_EINVAL, NULL, NULL);
	tmsg_free(&t);

	/* force-answer turns the offer into an answer */
	tmsg_parse(&t, OK200);
	op = RTPE_OP_OFFER;
	d = build(&t, &op, "force-answer", 0, NULL, NULL);
	CHECK_INT(op, RTPE_OP_ANSWER);
	CHECK_KEY(d, "command", "answer");
	CHECK_KEY(d, "from-tag", "ftag1");
	tmsg_free(&t);
}

TEST(cmd_delete_bye)
{
	tmsg_t t;
	rtpe_op_t op = RTPE_OP_DELETE;
	benc_t *d;

	tmsg_parse(&t, BYE);
	d = build(&t, &op, "", 0, NULL, NULL);
	CHECK_KEY(d, "command", "delete");
	CHECK_KEY(d, "call-id", "call-1@example.com");
	CHECK_KEY(d, "from-tag", "ttag2");	   /* the BYE's From */
	CHECK(benc_dict_get(d, "to-tag") == NULL); /* whole call */
	CHECK(benc_dict_get(d, "sdp") == NULL);
	tmsg_free(&t);

	/* to-tag: delete only this dialogue; to-tag=X names it */
	tmsg_parse(&t, BYE);
	op = RTPE_OP_DELETE;
	d = build(&t, &op, "to-tag delete-delay=0", 0, NULL, NULL);
	CHECK_KEY(d, "to-tag", "ftag1");
	CHECK_INT(benc_dict_get_int(d, "delete delay", -1), 0);
	tmsg_free(&t);
	tmsg_parse(&t, BYE);
	op = RTPE_OP_DELETE;
	d = build(&t, &op, "to-tag=other", 0, NULL, NULL);
	CHECK_KEY(d, "to-tag", "other");
	tmsg_free(&t);

	/* a delete in a reply (486 to the INVITE) names the call by the
	 * caller's tag */
	tmsg_parse(&t, OK200);
	op = RTPE_OP_DELETE;
	d = build(&t, &op, "", 0, NULL, NULL);
	CHECK_KEY(d, "from-tag", "ftag1");
	tmsg_free(&t);

	/* force-answer is for offers only */
	tmsg_parse(&t, BYE);
	op = RTPE_OP_DELETE;
	build(&t, &op, "force-answer", -OSP_EINVAL, NULL, NULL);
	tmsg_free(&t);
}

TEST(cmd_flags_passthrough)
{
	tmsg_t t;
	rtpe_op_t op = RTPE_OP_OFFER;
	benc_t *d;
	const benc_t *codec;
	str_t cid;

	tmsg_parse(&t, INVITE);
	d = build(&t, &op,
		  "  SDES-off SDES-pad rtcp-mux-demux T.38=decode "
		  "codec-strip=PCMU codec-transcode=G722 transcode-opus "
		  "codec-mask=all TOS=184 DTLS=off SRTP AVPF "
		  "received-from=10.0.0.1 address-family=IP6 "
		  "call-id=other-call from-tag=f9 internal external "
		  "repacketize=30 asymmetric  ",
		  0, &cid, NULL);
	CHECK_STR(list_str(&t, benc_dict_get(d, "SDES")), "off,pad");
	CHECK_STR(list_str(&t, benc_dict_get(d, "rtcp-mux")), "demux");
	CHECK_STR(list_str(&t, benc_dict_get(d, "T.38")), "decode");
	codec = benc_dict_get(d, "codec");
	CHECK(codec && codec->type == BENC_DICT);
	CHECK_STR(list_str(&t, benc_dict_get(codec, "strip")), "PCMU");
	CHECK_STR(list_str(&t, benc_dict_get(codec, "transcode")), "G722,opus");
	CHECK_STR(list_str(&t, benc_dict_get(codec, "mask")), "all");
	CHECK_INT(benc_dict_get_int(d, "TOS", -1), 184);
	CHECK_INT(benc_dict_get_int(d, "repacketize", -1), 30);
	CHECK_KEY(d, "DTLS", "off");
	CHECK_KEY(d, "transport protocol", "RTP/SAVPF");
	CHECK_STR(list_str(&t, benc_dict_get(d, "received-from")),
		  "IP4,10.0.0.1");
	CHECK_KEY(d, "address-family", "IP6");
	CHECK_KEY(d, "call-id", "other-call");
	CHECK_STRV(cid, "other-call");
	CHECK_KEY(d, "from-tag", "f9");
	CHECK_STR(list_str(&t, benc_dict_get(d, "direction")),
		  "internal,external");
	CHECK_STR(list_str(&t, benc_dict_get(d, "flags")), "asymmetric");
	tmsg_free(&t);

	/* the explicit profiles */
	static const char *const prof[][2] = {
	    {"RTP/AVP", "RTP/AVP"},
	    {"RTP/SAVP", "RTP/SAVP"},
	    {"RTP/AVPF", "RTP/AVPF"},
	    {"RTP/SAVPF", "RTP/SAVPF"},
	    {"UDP/TLS/RTP/SAVP", "UDP/TLS/RTP/SAVP"},
	    {"UDP/TLS/RTP/SAVPF", "UDP/TLS/RTP/SAVPF"},
	    {"SRTP", "RTP/SAVP"},
	    {"SRTP RTP", "RTP/AVP"},
	    {"AVPF", "RTP/AVPF"},
	    {"RTP/SAVPF AVP", "RTP/SAVP"},
	    {"DTLS AVPF", "UDP/TLS/RTP/SAVPF"},
	};
	for (size_t i = 0; i < sizeof(prof) / sizeof(prof[0]); i++) {
		tmsg_parse(&t, INVITE);
		op = RTPE_OP_OFFER;
		d = build(&t, &op, prof[i][0], 0, NULL, NULL);
		CHECK_KEY(d, "transport protocol", prof[i][1]);
		tmsg_free(&t);
	}

	/* refused: values missing or wrong, branches Osprey cannot name */
	static const char *const bad[] = {
	    "via-branch=next",	"via-branch=extra",
	    "via-branch=bogus", "call-id",
	    "from-tag=",	"received-from=nope",
	    "repacketize=0",	"=x",
	    "via-branch=2",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tmsg_parse(&t, INVITE);
		op = RTPE_OP_OFFER;
		build(&t, &op, bad[i], -OSP_EINVAL, NULL, NULL);
		tmsg_free(&t);
	}
}

TEST(msg_sdp)
{
	tmsg_t t;
	str_t sdp;

	tmsg_parse(&t, INVITE);
	CHECK_INT(rtpe_msg_sdp(&t.msg, &sdp), 1);
	CHECK_STRV(sdp, SDP_A);
	/* the script's body wins */
	t.msg.new_body = STR_LIT(SDP_B);
	CHECK_INT(rtpe_msg_sdp(&t.msg, &sdp), 1);
	CHECK_STRV(sdp, SDP_B);
	tmsg_free(&t);

	tmsg_parse(&t, BYE); /* no body */
	CHECK_INT(rtpe_msg_sdp(&t.msg, &sdp), 0);
	tmsg_free(&t);

	tmsg_parse(&t, "MESSAGE sip:b@example.com SIP/2.0\r\n"
		       "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKm\r\n"
		       "From: <sip:a@example.com>;tag=1\r\n"
		       "To: <sip:b@example.com>\r\n"
		       "Call-ID: m1\r\n"
		       "CSeq: 1 MESSAGE\r\n"
		       "Content-Type: application/sdpx\r\n"
		       "Content-Length: 2\r\n\r\nhi");
	CHECK_INT(rtpe_msg_sdp(&t.msg, &sdp), 0);
	tmsg_free(&t);
	tmsg_parse(&t, "INVITE sip:b@example.com SIP/2.0\r\n"
		       "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKm\r\n"
		       "From: <sip:a@example.com>;tag=1\r\n"
		       "To: <sip:b@example.com>\r\n"
		       "Call-ID: m1\r\n"
		       "CSeq: 1 INVITE\r\n"
		       "Content-Type: Application/SDP; charset=utf-8\r\n"
		       "Content-Length: 4\r\n\r\nv=0\n");
	CHECK_INT(rtpe_msg_sdp(&t.msg, &sdp), 1);
	tmsg_free(&t);
}

/* ---- fake ng servers ---- */

enum {
	FAKE_OK,	 /* ok; an offer/answer gets FAKE_SDP; ping: pong */
	FAKE_SILENT,	 /* never answers */
	FAKE_LOAD_LIMIT, /* result "load limit" */
	FAKE_PORTS,	 /* error "Ran out of ports" */
	FAKE_ERROR,	 /* error "Unknown call-id" */
	FAKE_LATE,	 /* ignores the first copy, answers the second */
	FAKE_NOISE,	 /* first a datagram with another cookie */
	FAKE_GARBAGE,	 /* a reply that is not bencode */
};

#define FAKE_SDP "v=0\r\nc=IN IP4 127.0.0.9\r\nm=audio 45000 RTP/AVP 0\r\n"

typedef struct fake {
	int fd, port;
	int mode;     /* atomic */
	int requests; /* atomic: datagrams received */
	char last_cmd[32];
	char last_cookie[64];
	char last_body[4096];
	pthread_t th;
} fake_t;

static void *fake_run(void *arg)
{
	fake_t *f = arg;
	char buf[8192], out[8192];

	for (;;) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(f->fd, buf, sizeof(buf) - 1, 0,
				     (struct sockaddr *)&from, &fl);
		char *sp;
		int mode, seen, len = 0;
		arena_t *a;
		benc_t *d = NULL;
		str_t cmd = STR_NULL;

		if (n <= 0)
			continue;
		buf[n] = '\0';
		seen = __atomic_add_fetch(&f->requests, 1, __ATOMIC_SEQ_CST);
		mode = __atomic_load_n(&f->mode, __ATOMIC_SEQ_CST);
		sp = strchr(buf, ' ');
		if (!sp)
			continue;
		*sp = '\0';
		str_to_buf(str_from(buf), f->last_cookie,
			   sizeof(f->last_cookie));
		str_to_buf(str_from(sp + 1), f->last_body,
			   sizeof(f->last_body));
		a = new_arena();
		if (benc_decode(a, str_from(sp + 1), &d) == 0)
			benc_dict_get_str(d, "command", &cmd);
		str_to_buf(cmd, f->last_cmd, sizeof(f->last_cmd));
		free_arena(a);
		if (mode == FAKE_SILENT || (mode == FAKE_LATE && seen % 2))
			continue;
		if (mode == FAKE_NOISE) {
			len = snprintf(out, sizeof(out),
				       "other_cookie d6:result2:oke");
			sendto(f->fd, out, (size_t)len, 0,
			       (struct sockaddr *)&from, fl);
		}
		if (mode == FAKE_LOAD_LIMIT)
			len = snprintf(out, sizeof(out),
				       "%s d6:result10:load limite", buf);
		else if (mode == FAKE_PORTS)
			len = snprintf(out, sizeof(out),
				       "%s d6:result5:error12:error-reason"
				       "16:Ran out of portse",
				       buf);
		else if (mode == FAKE_ERROR)
			len = snprintf(out, sizeof(out),
				       "%s d6:result5:error12:error-reason"
				       "15:Unknown call-ide",
				       buf);
		else if (mode == FAKE_GARBAGE)
			len = snprintf(out, sizeof(out), "%s d6:result", buf);
		else if (strcmp(f->last_cmd, "ping") == 0)
			len = snprintf(out, sizeof(out), "%s d6:result4:ponge",
				       buf);
		else if (strcmp(f->last_cmd, "offer") == 0 ||
			 strcmp(f->last_cmd, "answer") == 0)
			len = snprintf(out, sizeof(out),
				       "%s d3:sdp%zu:%s6:result2:oke", buf,
				       strlen(FAKE_SDP), FAKE_SDP);
		else
			len = snprintf(out, sizeof(out), "%s d6:result2:oke",
				       buf);
		sendto(f->fd, out, (size_t)len, 0, (struct sockaddr *)&from,
		       fl);
	}
	return NULL;
}

static void fake_start(fake_t *f, int mode)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);

	memset(f, 0, sizeof(*f));
	f->mode = mode;
	f->fd = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK(f->fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(bind(f->fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	CHECK(getsockname(f->fd, (struct sockaddr *)&sin, &sl) == 0);
	f->port = ntohs(sin.sin_port);
	CHECK(pthread_create(&f->th, NULL, fake_run, f) == 0);
}

static void fake_mode(fake_t *f, int mode)
{
	__atomic_store_n(&f->mode, mode, __ATOMIC_SEQ_CST);
}

static int fake_requests(fake_t *f)
{
	return __atomic_load_n(&f->requests, __ATOMIC_SEQ_CST);
}

/* A UDP port nobody listens on (bound then closed). */
static int closed_port(void)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM, 0), port;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	CHECK(getsockname(fd, (struct sockaddr *)&sin, &sl) == 0);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static uint64_t fake_now = 5000000;

static uint64_t fake_clock(void)
{
	return fake_now;
}

static void sock_add(const char *fmt, ...)
{
	char spec[512], err[256] = "";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(spec, sizeof(spec), fmt, ap);
	va_end(ap);
	if (rtpe_sock_add(spec, err, sizeof(err)) != 0)
		UNIT_FAIL("rtpengine_sock '%s': %s", spec, err);
}

static void setup_timing(void)
{
	rtpe_set_clock(fake_clock);
	rtpe_tout_ms = 150;
	rtpe_retr = 2;
	rtpe_disable_tout = 60;
}

/* A Call-ID whose byte sum modulo 256 is `sum` (picks the instance). */
static str_t callid_with_sum(arena_t *a, unsigned sum)
{
	char *s = arena_alloc(a, 16);
	unsigned base = 'c' + 'i' + 'd' + '-';

	/* "cid-" plus two non-zero bytes that make the sum */
	memcpy(s, "cid-", 4);
	s[4] = 'A';
	s[5] = (char)((sum + 256 * 4 - base - 'A') % 256);
	if (s[5] == 0) {
		s[4] = 'B';
		s[5] = (char)255;
	}
	return (str_t){s, 6};
}

static benc_t *ping_dict(arena_t *a)
{
	benc_t *d = benc_new_dict(a);

	CHECK_INT(benc_dict_add_cstr(a, d, "command", "query"), 0);
	return d;
}

TEST(sock_syntax)
{
	char err[256];
	int p = closed_port();

	sock_add("udp:127.0.0.1:%d", p);
	sock_add("udp:localhost:%d=3 udp6:[::1]:%d", p, p);
	sock_add(" 2 == udp:127.0.0.1:%d=2   udp6:::1:%d ", p, p);
	sock_add("2 == udp:127.0.0.1:%d", p);
	CHECK_INT(rtpe_node_count(), 6);
	CHECK_INT(rtpe_set_find(0)->count, 3);
	CHECK_INT(rtpe_set_find(2)->count, 3);
	CHECK(rtpe_set_find(1) == NULL);
	{
		char want[64];

		snprintf(want, sizeof(want), "udp:localhost:%d", p);
		CHECK_STR(rtpe_node_at(1)->url, want); /* the weight is cut */
	}
	CHECK_INT(rtpe_node_at(1)->weight, 3);
	CHECK_INT(rtpe_node_at(3)->weight, 2);
	CHECK_INT(rtpe_node_at(3)->set_id, 2);
	CHECK_INT(rtpe_node_at(2)->addr.sa.sa_family, AF_INET6);
	CHECK_INT(rtpe_node_at(4)->addr.sa.sa_family, AF_INET6);
	CHECK_INT(ntohs(rtpe_node_at(4)->addr.in6.sin6_port), p);
	CHECK(strchr(rtpe_node_at(1)->url, '=') == NULL);
	/* an empty definition is ignored, bad ones are refused */
	CHECK_INT(rtpe_sock_add("   ", err, sizeof(err)), 0);
	CHECK_INT(rtpe_sock_add("tcp:127.0.0.1:1", err, sizeof(err)), -1);
	CHECK_INT(rtpe_sock_add("x == udp:127.0.0.1:1", err, sizeof(err)), -1);
	CHECK_INT(rtpe_sock_add("3 == ", err, sizeof(err)), -1);
	CHECK_INT(rtpe_sock_add("udp:127.0.0.1:1=x", err, sizeof(err)), -1);
	CHECK_INT(rtpe_sock_add("udp:no.such.host.invalid:1", err, sizeof(err)),
		  -1);
	CHECK_INT(rtpe_node_count(), 6);
	rtpe_nodes_reset();
	CHECK_INT(rtpe_node_count(), 0);
	CHECK(rtpe_sets() == NULL);
}

TEST(transport_cookie_retry)
{
	fake_t f;
	arena_t *a = new_arena();
	str_t reply;

	setup_timing();
	fake_start(&f, FAKE_OK);
	sock_add("udp:127.0.0.1:%d", f.port);
	CHECK_INT(rtpe_node_ping(rtpe_node_at(0), a), 0);
	CHECK_STR(f.last_cmd, "ping");
	CHECK_STR(f.last_body, "d7:command4:pinge");
	/* the reply is matched by cookie: other datagrams are skipped */
	fake_mode(&f, FAKE_NOISE);
	CHECK_INT(rtpe_node_send(rtpe_node_at(0), a,
				 STR_LIT("d7:command5:querye"), &reply),
		  0);
	CHECK_STRV(reply, "d6:result2:oke");
	/* a lost datagram is sent again with the same cookie */
	fake_mode(&f, FAKE_LATE);
	{
		int before = fake_requests(&f);
		char first[64];

		CHECK_INT(rtpe_node_send(rtpe_node_at(0), a,
					 STR_LIT("d7:command5:querye"), &reply),
			  0);
		CHECK_INT(fake_requests(&f) - before, 2);
		snprintf(first, sizeof(first), "%s", f.last_cookie);
		CHECK(strlen(first) > 0);
	}
	/* silence: rtpe_retr attempts of rtpe_tout_ms, then -OSP_EIO */
	fake_mode(&f, FAKE_SILENT);
	{
		int before = fake_requests(&f);
		uint64_t t0 = osp_now_ms();

		CHECK_INT(rtpe_node_send(rtpe_node_at(0), a,
					 STR_LIT("d7:command5:querye"), &reply),
			  -OSP_EIO);
		CHECK_INT(fake_requests(&f) - before, 2);
		CHECK(osp_now_ms() - t0 >= 280);
		CHECK(osp_now_ms() - t0 < 2000);
	}
	free_arena(a);
}

TEST(failover_silent_and_refused)
{
	fake_t live, dead;
	arena_t *a = new_arena();
	benc_t *reply;
	rtpe_node_t *used = NULL;
	str_t cid;
	int refused = closed_port();

	setup_timing();
	fake_start(&live, FAKE_OK);
	fake_start(&dead, FAKE_SILENT);
	/* three equal instances: silent, refused, live */
	sock_add("udp:127.0.0.1:%d udp:127.0.0.1:%d udp:127.0.0.1:%d",
		 dead.port, refused, live.port);
	/* sum 0 picks the first (silent) one */
	cid = callid_with_sum(a, 0);
	CHECK_INT(rtpe_ng_call(rtpe_set_find(0), RTPE_OP_QUERY, ping_dict(a),
			       cid, STR_NULL, a, &reply, &used),
		  0);
	CHECK(used == rtpe_node_at(2));
	CHECK(benc_dict_str_is(reply, "result", "ok"));
	CHECK_INT(dead.requests, 2); /* rtpe_retr attempts */
	CHECK(rtpe_node_is_disabled(rtpe_node_at(0)));
	CHECK(!rtpe_node_is_permanent(rtpe_node_at(0)));
	/* the refused one was disabled too, after one attempt */
	CHECK(rtpe_node_is_disabled(rtpe_node_at(1)));
	CHECK(!rtpe_node_is_disabled(rtpe_node_at(2)));
	/* the call stays where it is */
	CHECK(rtpe_map_get(cid, STR_NULL) == rtpe_node_at(2));

	/* while disabled, new calls go straight to the live one */
	dead.requests = 0;
	cid = callid_with_sum(a, 3);
	CHECK_INT(rtpe_ng_call(rtpe_set_find(0), RTPE_OP_QUERY, ping_dict(a),
			       cid, STR_NULL, a, &reply, &used),
		  0);
	CHECK(used == rtpe_node_at(2));
	CHECK_INT(dead.requests, 0);

	/* after rtpengine_disable_tout the silent one is pinged again: it
	 * answers now, so it is enabled and takes its share */
	fake_mode(&dead, FAKE_OK);
	fake_now += 61000;
	cid = callid_with_sum(a, 0);
	rtpe_map_clear();
	CHECK_INT(rtpe_ng_call(rtpe_set_find(0), RTPE_OP_QUERY, ping_dict(a),
			       cid, STR_NULL, a, &reply, &used),
		  0);
	CHECK(!rtpe_node_is_disabled(rtpe_node_at(0)));
	CHECK(rtpe_node_is_disabled(rtpe_node_at(1))); /* still refused */
	CHECK(used == rtpe_node_at(0));
	CHECK_STR(dead.last_cmd, "query");
	free_arena(a);
}

TEST(failover_all_dead)
{
	fake_t dead;
	arena_t *a = new_arena();
	benc_t *reply;

	setup_timing();
	fake_start(&dead, FAKE_SILENT);
	sock_add("udp:127.0.0.1:%d udp:127.0.0.1:%d", dead.port, closed_port());
	CHECK_INT(rtpe_ng_call(rtpe_set_find(0), RTPE_OP_QUERY, ping_dict(a),
			       STR_LIT("c1"), STR_NULL, a, &reply, NULL),
		  -OSP_EIO);
	CHECK(rtpe_node_is_disabled(rtpe_node_at(0)));
	CHECK(rtpe_node_is_disabled(rtpe_node_at(1)));
	/* nothing is tried while they are disabled */
	dead.requests = 0;
	CHECK_INT(rtpe_ng_call(rtpe_set_find(0), RTPE_OP_QUERY, ping_dict(a),
			       STR_LIT("c2"), STR_NULL, a, &reply, NULL),
		  -OSP_EIO);
	CHECK_INT(dead.requests, 0);
	/* aggressive_redetection pings them all when none is left */
	rtpe_aggressive = 1;
	fake_mode(&dead, FAKE_OK);
	CHECK_INT(rtpe_ng_call(rtpe_set_find(0), RTPE_OP_QUERY, ping_dict(a),
			       STR_LIT("c3"), STR_NULL, a, &reply, NULL),
		  0);
	CHECK(!rtpe_node_is_disabled(rtpe_node_at(0)));
	free_arena(a);
}

TEST(failover_limits_and_errors)
{
	fake_t f1, f2;
	arena_t *a = new_arena();
	benc_t *reply;
	rtpe_node_t *used;
	str_t cid;

	setup_timing();
	fake_start(&f1, FAKE_LOAD_LIMIT);
	fake_start(&f2, FAKE_OK);
	sock_add("udp:127.0.0.1:%d udp:127.0.0.1:%d", f1.port, f2.port);
	cid = callid_with_sum(a, 0); /* first instance first */
	CHECK_INT(rtpe_ng_call(rtpe_set_find(0), RTPE_OP_QUERY, ping_dict(a),
			       cid, STR_NULL, a, &reply, &used),
		  0);
	CHECK(used == rtpe_node_at(1));
	/* at its limit is not dead */
	CHECK(!rtpe_node_is_disabled(rtpe_node_at(0)));
	rtpe_map_clear();
	fake_mode(&f1, FAKE_PORTS);
	CHECK_INT(rtpe_ng_call(rtpe_set_find(0), RTPE_OP_QUERY, ping_dict(a),
			       cid, STR_NULL, a, &reply, &used),
		  0);
	CHECK(used == rtpe_node_at(1));
	/* a plain error answer is final: no other instance is asked */
	rtpe_map_clear();
	fake_mode(&f1, FAKE_ERROR);
	f2.requests = 0;
	CHECK_INT(rtpe_ng_call(rtpe_set_find(0), RTPE_OP_QUERY, ping_dict(a),
			       cid, STR_NULL, a, &reply, &used),
		  -OSP_EINVAL);
	CHECK_INT(f2.requests, 0);
	fake_mode(&f1, FAKE_GARBAGE);
	CHECK_INT(rtpe_ng_call(rtpe_set_find(0), RTPE_OP_QUERY, ping_dict(a),
			       cid, STR_NULL, a, &reply, &used),
		  -OSP_EPARSE);
	/* queried_nodes_limit 1: only the first is asked */
	fake_mode(&f1, FAKE_LOAD_LIMIT);
	rtpe_queried_limit = 1;
	CHECK_INT(rtpe_ng_call(rtpe_set_find(0), RTPE_OP_QUERY, ping_dict(a),
			       cid, STR_NULL, a, &reply, &used),
		  -OSP_EIO);
	free_arena(a);
}

TEST(selection_weights_and_map)
{
	fake_t f1, f2;
	arena_t *a = new_arena();
	int hits[2] = {0, 0};

	setup_timing();
	fake_start(&f1, FAKE_OK);
	fake_start(&f2, FAKE_OK);
	sock_add("udp:127.0.0.1:%d=3 udp:127.0.0.1:%d=1", f1.port, f2.port);
	/* sum % 4: 0..2 the first, 3 the second */
	for (unsigned s = 0; s < 256; s++) {
		rtpe_node_t *n =
		    rtpe_select(rtpe_set_find(0), callid_with_sum(a, s),
				STR_NULL, NULL, 0, a);

		CHECK(n != NULL);
		hits[n->index]++;
		CHECK_INT(n->index, s % 4 == 3 ? 1 : 0);
	}
	CHECK_INT(hits[0], 192);
	CHECK_INT(hits[1], 64);

	/* a known call stays on its instance whatever the hash says */
	str_t cid = callid_with_sum(a, 0);
	CHECK_INT(rtpe_map_put(cid, STR_NULL, rtpe_node_at(1)), 0);
	CHECK(rtpe_select(rtpe_set_find(0), cid, STR_NULL, NULL, 0, a) ==
	      rtpe_node_at(1));
	/* ... unless it was tried already (failover must not move it) */
	rtpe_node_t *tried[1] = {rtpe_node_at(1)};
	CHECK(rtpe_select(rtpe_set_find(0), cid, STR_NULL, tried, 1, a) ==
	      NULL);
	/* ... or is disabled */
	rtpe_node_disable(rtpe_node_at(1));
	CHECK(rtpe_select(rtpe_set_find(0), cid, STR_NULL, NULL, 0, a) == NULL);
	/* branches: viabranch keys; an empty one matches any branch */
	CHECK_INT(rtpe_map_put(STR_LIT("k"), STR_LIT("b1"), rtpe_node_at(0)),
		  0);
	CHECK_INT(rtpe_map_put(STR_LIT("k"), STR_LIT("b2"), rtpe_node_at(1)),
		  0);
	CHECK(rtpe_map_get(STR_LIT("k"), STR_LIT("b2")) == rtpe_node_at(1));
	CHECK(rtpe_map_get(STR_LIT("k"), STR_LIT("b3")) == NULL);
	CHECK(rtpe_map_get(STR_LIT("k"), STR_NULL) != NULL);
	CHECK_INT(rtpe_map_count(), 3);
	rtpe_map_del(STR_LIT("k"), STR_LIT("b1"));
	CHECK(rtpe_map_get(STR_LIT("k"), STR_LIT("b1")) == NULL);
	rtpe_map_del(STR_LIT("k"), STR_NULL);
	CHECK(rtpe_map_get(STR_LIT("k"), STR_LIT("b2")) == NULL);
	CHECK_INT(rtpe_map_count(), 1);
	/* entries expire after hash_table_tout */
	rtpe_hash_tout = 10;
	CHECK_INT(rtpe_map_put(STR_LIT("e"), STR_NULL, rtpe_node_at(0)), 0);
	fake_now += 10001;
	CHECK(rtpe_map_get(STR_LIT("e"), STR_NULL) == NULL);
	rtpe_map_expire();
	CHECK_INT(rtpe_map_count(), 1); /* cid, put with an hour to live */
	fake_now += 3600 * 1000;
	rtpe_map_expire();
	CHECK_INT(rtpe_map_count(), 0);
	free_arena(a);
}

TEST(permanent_disable)
{
	fake_t f1, f2;
	arena_t *a = new_arena();
	benc_t *reply;
	rtpe_node_t *used;

	setup_timing();
	fake_start(&f1, FAKE_OK);
	fake_start(&f2, FAKE_OK);
	sock_add("udp:127.0.0.1:%d udp:127.0.0.1:%d", f1.port, f2.port);
	CHECK_INT(rtpe_node_enable(rtpe_node_at(0), 0, a), 0);
	CHECK(rtpe_node_is_permanent(rtpe_node_at(0)));
	fake_now += 3600 * 1000;
	f1.requests = 0;
	for (unsigned s = 0; s < 8; s++) {
		CHECK_INT(rtpe_ng_call(rtpe_set_find(0), RTPE_OP_QUERY,
				       ping_dict(a), callid_with_sum(a, s),
				       STR_NULL, a, &reply, &used),
			  0);
		CHECK(used == rtpe_node_at(1));
	}
	CHECK_INT(f1.requests, 0); /* never rechecked */
	/* enabling pings it first */
	CHECK_INT(rtpe_node_enable(rtpe_node_at(0), 1, a), 1);
	CHECK_INT(f1.requests, 1);
	CHECK(!rtpe_node_is_disabled(rtpe_node_at(0)));
	/* a failing ping leaves it temporarily disabled */
	fake_mode(&f1, FAKE_SILENT);
	CHECK_INT(rtpe_node_enable(rtpe_node_at(0), 1, a), 0);
	CHECK(rtpe_node_is_disabled(rtpe_node_at(0)));
	CHECK(!rtpe_node_is_permanent(rtpe_node_at(0)));
	free_arena(a);
}

/* ---- KSR functions ---- */

static int kc(tmsg_t *t, const char *fn, ...)
{
	const ksr_export_t *e = kfind(M, fn);
	ksr_arg_t args[KSR_PARAMS_MAX];
	ksr_xval_t x;
	va_list ap;

	memset(args, 0, sizeof(args));
	va_start(ap, fn);
	for (int i = 0; i < KSR_PARAMS_MAX && e->ptypes[i]; i++) {
		if (e->ptypes[i] == KSR_INT)
			args[i].n = va_arg(ap, long);
		else
			args[i].s = str_from(va_arg(ap, const char *));
	}
	va_end(ap);
	return e->fn(&t->ctx, args, &x);
}

#define INVITE_NOSDP                                                           \
	"INVITE sip:bob@example.com SIP/2.0\r\n"                               \
	"Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKinv2\r\n"              \
	"From: <sip:alice@example.com>;tag=ftag1\r\n"                          \
	"To: <sip:bob@example.com>\r\n"                                        \
	"Call-ID: call-2@example.com\r\n"                                      \
	"CSeq: 20 INVITE\r\n"                                                  \
	"Content-Length: 0\r\n"                                                \
	"\r\n"

#define OK200_LATE                                                             \
	"SIP/2.0 200 OK\r\n"                                                   \
	"Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKinv2\r\n"              \
	"From: <sip:alice@example.com>;tag=ftag1\r\n"                          \
	"To: <sip:bob@example.com>;tag=ttag2\r\n"                              \
	"Call-ID: call-2@example.com\r\n"                                      \
	"CSeq: 20 INVITE\r\n"                                                  \
	"Content-Type: application/sdp\r\n"                                    \
	"Content-Length: 96\r\n"                                               \
	"\r\n" SDP_B

TEST(ksr_offer_answer_delete)
{
	fake_t f;
	tmsg_t t;

	setup_timing();
	fake_start(&f, FAKE_OK);
	sock_add("udp:127.0.0.1:%d", f.port);

	tmsg_parse(&t, INVITE);
	CHECK_INT(kc(&t, "rtpengine_offer", "replace-origin"), 1);
	CHECK_STR(f.last_cmd, "offer");
	CHECK_STRV(t.msg.new_body, FAKE_SDP);
	{
		const char *out = tmsg_build(&t);

		CHECK_HAS(out, "m=audio 45000 RTP/AVP 0");
		CHECK_HAS(out, "Content-Length: 50\r\n");
		CHECK_HASNT(out, "30000");
	}
	tmsg_free(&t);

	/* manage: the 200 to that INVITE is an answer */
	tmsg_parse(&t, OK200);
	CHECK_INT(kc(&t, "rtpengine_manage", ""), 1);
	CHECK_STR(f.last_cmd, "answer");
	CHECK_STRV(t.msg.new_body, FAKE_SDP);
	tmsg_free(&t);

	tmsg_parse(&t, BYE);
	CHECK_INT(kc(&t, "rtpengine_manage0"), 1);
	CHECK_STR(f.last_cmd, "delete");
	tmsg_free(&t);

	/* late offer: INVITE without SDP -> manage does nothing (-1), the
	 * 200 with SDP is the offer, the ACK with SDP the answer */
	tmsg_parse(&t, INVITE_NOSDP);
	f.last_cmd[0] = '\0';
	CHECK_INT(kc(&t, "rtpengine_manage", ""), -1);
	CHECK_STR(f.last_cmd, "");
	tmsg_free(&t);
	tmsg_parse(&t, OK200_LATE);
	CHECK_INT(kc(&t, "rtpengine_manage", ""), 1);
	CHECK_STR(f.last_cmd, "offer");
	CHECK(strstr(f.last_body, "8:from-tag5:ttag2") != NULL);
	tmsg_free(&t);
	tmsg_parse(&t, ACK_SDP);
	CHECK_INT(kc(&t, "rtpengine_manage", ""), 1);
	CHECK_STR(f.last_cmd, "answer");
	tmsg_free(&t);

	/* an error reply deletes */
	tmsg_parse(&t, "SIP/2.0 486 Busy Here\r\n"
		       "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKinv1\r\n"
		       "From: <sip:alice@example.com>;tag=ftag1\r\n"
		       "To: <sip:bob@example.com>;tag=ttag3\r\n"
		       "Call-ID: call-1@example.com\r\n"
		       "CSeq: 10 INVITE\r\n"
		       "Content-Length: 0\r\n\r\n");
	CHECK_INT(kc(&t, "rtpengine_manage", ""), 1);
	CHECK_STR(f.last_cmd, "delete");
	tmsg_free(&t);

	/* other methods: nothing to do */
	tmsg_parse(&t, "OPTIONS sip:b@example.com SIP/2.0\r\n"
		       "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKo\r\n"
		       "From: <sip:a@example.com>;tag=1\r\n"
		       "To: <sip:b@example.com>\r\n"
		       "Call-ID: o1\r\n"
		       "CSeq: 1 OPTIONS\r\n"
		       "Content-Length: 0\r\n\r\n");
	CHECK_INT(kc(&t, "rtpengine_manage", ""), -1);
	/* an offer without SDP fails */
	CHECK_INT(kc(&t, "rtpengine_offer0"), -1);
	CHECK_INT(kc(&t, "rtpengine_query0"), 1);
	CHECK_STR(f.last_cmd, "query");
	tmsg_free(&t);

	/* a failure route deletes the INVITE's session */
	tmsg_parse(&t, INVITE);
	t.ctx.route = KSR_ROUTE_FAILURE;
	CHECK_INT(kc(&t, "rtpengine_manage", ""), 1);
	CHECK_STR(f.last_cmd, "delete");
	/* the branch-failure route leaves it to the failure route */
	t.ctx.route = KSR_ROUTE_BRANCH_FAILURE;
	f.last_cmd[0] = '\0';
	CHECK_INT(kc(&t, "rtpengine_manage", ""), 1);
	CHECK_STR(f.last_cmd, "");
	tmsg_free(&t);

	/* an error answer: -1 and the body is left alone */
	fake_mode(&f, FAKE_ERROR);
	tmsg_parse(&t, INVITE);
	CHECK_INT(kc(&t, "rtpengine_offer", ""), -1);
	CHECK(t.msg.new_body.s == NULL);
	tmsg_free(&t);
}

TEST(ksr_sets)
{
	fake_t f0, f1, f2;
	tmsg_t t;

	setup_timing();
	fake_start(&f0, FAKE_OK);
	fake_start(&f1, FAKE_OK);
	fake_start(&f2, FAKE_OK);
	sock_add("udp:127.0.0.1:%d", f0.port);
	sock_add("1 == udp:127.0.0.1:%d", f1.port);
	sock_add("2 == udp:127.0.0.1:%d", f2.port);

	tmsg_parse(&t, BYE);
	CHECK_INT(kc(&t, "set_rtpengine_set", 7L), -1);
	CHECK_INT(kc(&t, "set_rtpengine_set", 1L), 1);
	CHECK_INT(kc(&t, "rtpengine_delete0"), 1);
	CHECK_INT(f1.requests, 1);
	CHECK_INT(f0.requests, 0);
	tmsg_free(&t);
	/* the next message is back on the default set */
	tmsg_parse(&t, BYE);
	CHECK_INT(kc(&t, "rtpengine_delete", "to-tag"), 1);
	CHECK_INT(f0.requests, 1);
	tmsg_free(&t);

	/* two sets chained: the offer goes 1 then 2, the SDP of the first
	 * answer feeds the second */
	tmsg_parse(&t, INVITE);
	CHECK_INT(kc(&t, "set_rtpengine_set2", 1L, 2L), 1);
	CHECK_INT(kc(&t, "rtpengine_offer", ""), 1);
	CHECK_INT(f1.requests, 2);
	CHECK_INT(f2.requests, 1);
	CHECK(strstr(f2.last_body, "45000") != NULL);
	CHECK_STRV(t.msg.new_body, FAKE_SDP);
	tmsg_free(&t);

	/* setid_default picks another default */
	rtpe_setid_default = 2;
	tmsg_parse(&t, BYE);
	CHECK_INT(kc(&t, "rtpengine_query0"), 1);
	CHECK_INT(f2.requests, 2);
	tmsg_free(&t);
	rtpe_setid_default = 9;
	tmsg_parse(&t, BYE);
	CHECK_INT(kc(&t, "rtpengine_query0"), -1);
	tmsg_free(&t);
}

/* ---- RPC ---- */

static json_t *rpc_call(const char *name, json_t *params, rpc_error_t *err)
{
	json_t *r;

	memset(err, 0, sizeof(*err));
	for (const rpc_export_t *e = M->rpc; e->name; e++)
		if (strcmp(e->name, name) == 0) {
			r = e->fn(params, err);
			json_decref(params);
			return r;
		}
	UNIT_FAIL("no RPC %s", name);
	return NULL;
}

TEST(rpc_commands)
{
	fake_t live, dead;
	rpc_error_t err;
	json_t *r;
	char url[64];

	setup_timing();
	fake_start(&live, FAKE_OK);
	fake_start(&dead, FAKE_SILENT);
	sock_add("udp:127.0.0.1:%d=2", live.port);
	sock_add("1 == udp:127.0.0.1:%d", dead.port);

	r = rpc_call("rtpengine.show", json_pack("[s]", "all"), &err);
	CHECK(r && json_array_size(r) == 2);
	snprintf(url, sizeof(url), "udp:127.0.0.1:%d", live.port);
	CHECK_STR(
	    json_string_value(json_object_get(json_array_get(r, 0), "url")),
	    url);
	CHECK_INT(
	    json_integer_value(json_object_get(json_array_get(r, 0), "weight")),
	    2);
	CHECK_INT(
	    json_integer_value(json_object_get(json_array_get(r, 1), "set")),
	    1);
	CHECK_INT(json_integer_value(
		      json_object_get(json_array_get(r, 1), "disabled")),
		  0);
	json_decref(r);

	/* ping all: the silent one fails and is disabled */
	r = rpc_call("rtpengine.ping", json_pack("[s]", "all"), &err);
	CHECK(r != NULL);
	CHECK_STR(json_string_value(json_object_get(r, "status")), "fail");
	json_decref(r);
	CHECK(rtpe_node_is_disabled(rtpe_node_at(1)));
	r = rpc_call("rtpengine.ping", json_pack("[s]", url), &err);
	CHECK_STR(json_string_value(json_object_get(r, "status")), "success");
	json_decref(r);
	r = rpc_call("rtpengine.show", json_pack("[]"), &err);
	CHECK_INT(json_integer_value(
		      json_object_get(json_array_get(r, 1), "disabled")),
		  1);
	CHECK_INT(json_integer_value(
		      json_object_get(json_array_get(r, 1), "recheck_ticks")),
		  60);
	json_decref(r);

	/* disable permanently, enable again */
	r = rpc_call("rtpengine.enable", json_pack("[s, i]", url, 0), &err);
	CHECK_STR(json_string_value(json_object_get(r, "status")), "disable");
	json_decref(r);
	r = rpc_call("rtpengine.show", json_pack("[s]", url), &err);
	CHECK(json_array_size(r) == 1);
	CHECK_STR(json_string_value(
		      json_object_get(json_array_get(r, 0), "disabled")),
		  "1(permanent)");
	json_decref(r);
	r = rpc_call("rtpengine.enable", json_pack("[s, s]", url, "1"), &err);
	CHECK_STR(json_string_value(json_object_get(r, "status")), "enable");
	json_decref(r);
	CHECK(!rtpe_node_is_disabled(rtpe_node_at(0)));
	r = rpc_call("rtpengine.enable", json_pack("[s, i]", "all", 1), &err);
	CHECK_STR(json_string_value(json_object_get(r, "status")), "fail");
	json_decref(r);

	/* unknown instance, missing parameter */
	r = rpc_call("rtpengine.show", json_pack("[s]", "udp:1.2.3.4:5"), &err);
	CHECK(r == NULL);
	CHECK_INT(err.code, 404);
	r = rpc_call("rtpengine.enable", json_pack("[s]", url), &err);
	CHECK(r == NULL);
	CHECK_INT(err.code, RPC_E_INVALID_PARAMS);

	rtpe_map_put(STR_LIT("x"), STR_NULL, rtpe_node_at(0));
	r = rpc_call("rtpengine.get_hash_total", NULL, &err);
	CHECK_INT(json_integer_value(r), 1);
	json_decref(r);
}

TEST_LIST(TEST_ENTRY(bencode_build_encode), TEST_ENTRY(bencode_round_trip),
	  TEST_ENTRY(bencode_decode_tree), TEST_ENTRY(bencode_malformed),
	  TEST_ENTRY(cmd_offer_invite), TEST_ENTRY(cmd_answer_reply),
	  TEST_ENTRY(cmd_delete_bye), TEST_ENTRY(cmd_flags_passthrough),
	  TEST_ENTRY(msg_sdp), TEST_ENTRY(sock_syntax),
	  TEST_ENTRY(transport_cookie_retry),
	  TEST_ENTRY(failover_silent_and_refused),
	  TEST_ENTRY(failover_all_dead), TEST_ENTRY(failover_limits_and_errors),
	  TEST_ENTRY(selection_weights_and_map), TEST_ENTRY(permanent_disable),
	  TEST_ENTRY(ksr_offer_answer_delete), TEST_ENTRY(ksr_sets),
	  TEST_ENTRY(rpc_commands), )
