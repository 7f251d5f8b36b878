/* rtpe_cmd.c - ng commands from SIP messages and Kamailio's flag strings.
 *
 * The flags string is a list of space-separated items, each a token or a
 * key=value pair. Most map one to one onto ng keys: a bare token goes to
 * the "flags" list (trust-address, asymmetric, ...), a key=value pair
 * becomes a dictionary entry (ICE=remove, address-family=IP6, label=x).
 * Some are collected into their own lists (replace-*, direction=,
 * internal/external, SDES-*, rtcp-mux-*, T.38=, codec-*=, received-from=),
 * the transport flags (RTP, SRTP, AVP, AVPF, DTLS, RTP/AVP, ...) combine
 * into "transport protocol", and a few steer the module itself (call-id=,
 * from-tag=, to-tag[=], via-branch=, force-answer, directional). The same
 * mapping as Kamailio's rtpengine module. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/osp.h"
#include "modules/rtpengine/rtpengine_int.h"

/* codec sub-lists of the "codec" dictionary: flag prefix, ng key */
static const struct {
	const char *flag, *alt, *key;
} codec_keys[] = {
    {"transcode", "codec-transcode", "transcode"},
    {"codec-strip", NULL, "strip"},
    {"codec-offer", NULL, "offer"},
    {"codec-mask", NULL, "mask"},
    {"codec-set", NULL, "set"},
    {"codec-except", NULL, "except"},
    {"codec-accept", NULL, "accept"},
    {"codec-consume", NULL, "consume"},
};
#define N_CODEC_KEYS (sizeof(codec_keys) / sizeof(codec_keys[0]))

/* "transport protocol" values by the bits SRTP 0x1, AVPF 0x2, DTLS 0x4;
 * 0x100 says one was asked for. */
static const char *const transports[8] = {
    "RTP/AVP",		"RTP/SAVP", "RTP/AVPF",		 "RTP/SAVPF",
    "UDP/TLS/RTP/SAVP", NULL,	    "UDP/TLS/RTP/SAVPF", NULL,
};

typedef struct ngf {
	arena_t *a;
	benc_t *dict, *flags, *direction, *replace, *rtcp_mux, *sdes, *t38,
	    *received_from, *codec;
	benc_t *codec_list[N_CODEC_KEYS];
	int via; /* 0, 1, 2, 3 auto, -1 extra, -2 next, -3 auto-next,
		  * -4 auto-extra (Kamailio's codes) */
	int to;	 /* send the To tag */
	int transport;
	int directional;
	str_t call_id, from_tag, to_tag;
} ngf_t;

/* key is prefix with a value ("replace=origin"), or prefix-rest with the
 * rest as the value ("replace-origin"). */
static int key_val_prefix(str_t key, str_t val, const char *prefix, str_t *out)
{
	size_t pl = strlen(prefix);

	if (str_eq_cstr(key, prefix)) {
		if (!val.s || !val.len)
			return 0;
		*out = val;
		return 1;
	}
	if (key.len <= pl + 1 || memcmp(key.s, prefix, pl) != 0 ||
	    key.s[pl] != '-')
		return 0;
	out->s = key.s + pl + 1;
	out->len = key.len - pl - 1;
	return 1;
}

static int list_add(ngf_t *f, benc_t *list, str_t s)
{
	return benc_list_add(list, benc_new_str(f->a, s));
}

static int parse_via_value(str_t v)
{
	if (v.len && (v.s[0] == '1' || v.s[0] == '2'))
		return v.s[0] - '0';
	if (str_eq_cstr(v, "auto"))
		return 3;
	if (str_eq_cstr(v, "extra"))
		return -1;
	if (str_eq_cstr(v, "next"))
		return -2;
	if (str_eq_cstr(v, "auto-next") || str_eq_cstr(v, "next-auto"))
		return -3;
	if (str_eq_cstr(v, "auto-extra") || str_eq_cstr(v, "extra-auto"))
		return -4;
	return 0;
}

static long atol_str(str_t v)
{
	char buf[24];

	str_to_buf(v, buf, sizeof(buf));
	return strtol(buf, NULL, 10);
}

/* One flag item. Returns 0 or -1 with *why set. */
static int parse_item(ngf_t *f, rtpe_op_t *op, str_t key, str_t val,
		      const char **why)
{
	str_t s;
	int rc = 0;

	*why = "out of memory";
	if (key_val_prefix(key, val, "replace", &s))
		return list_add(f, f->replace, s) < 0 ? -1 : 0;
	if (key_val_prefix(key, val, "received-from", &s)) {
		char ip[64];
		unsigned char buf[16];

		str_to_buf(s, ip, sizeof(ip));
		if (inet_pton(AF_INET, ip, buf) == 1)
			rc = list_add(f, f->received_from, STR_LIT("IP4"));
		else if (inet_pton(AF_INET6, ip, buf) == 1)
			rc = list_add(f, f->received_from, STR_LIT("IP6"));
		else {
			*why = "not an IP address";
			return -1;
		}
		if (rc == 0)
			rc = list_add(f, f->received_from, s);
		return rc < 0 ? -1 : 0;
	}
	if (key_val_prefix(key, val, "SDES", &s))
		return list_add(f, f->sdes, s) < 0 ? -1 : 0;
	if (key_val_prefix(key, val, "T38", &s) ||
	    key_val_prefix(key, val, "T.38", &s))
		return list_add(f, f->t38, s) < 0 ? -1 : 0;
	if (key_val_prefix(key, val, "rtcp-mux", &s))
		return list_add(f, f->rtcp_mux, s) < 0 ? -1 : 0;
	for (size_t i = 0; i < N_CODEC_KEYS; i++) {
		if (!key_val_prefix(key, val, codec_keys[i].flag, &s) &&
		    !(codec_keys[i].alt &&
		      key_val_prefix(key, val, codec_keys[i].alt, &s)))
			continue;
		if (!f->codec_list[i]) {
			f->codec_list[i] = benc_new_list(f->a);
			if (benc_dict_add(f->codec, str_from(codec_keys[i].key),
					  f->codec_list[i]) < 0)
				return -1;
		}
		return list_add(f, f->codec_list[i], s) < 0 ? -1 : 0;
	}

	/* single tokens without a value */
	if (!val.s) {
		if (str_eq_cstr(key, "RTP")) {
			f->transport = (f->transport | 0x100) & ~0x001;
			return 0;
		}
		if (str_eq_cstr(key, "AVP")) {
			f->transport = (f->transport | 0x100) & ~0x002;
			return 0;
		}
		if (str_eq_cstr(key, "SRTP")) {
			f->transport |= 0x101;
			return 0;
		}
		if (str_eq_cstr(key, "AVPF")) {
			f->transport |= 0x102;
			return 0;
		}
		if (str_eq_cstr(key, "DTLS")) {
			f->transport |= 0x104;
			return 0;
		}
		for (int t = 0; t < 8; t++)
			if (transports[t] && str_eq_cstr(key, transports[t])) {
				f->transport = 0x100 | t;
				return 0;
			}
		if (str_eq_cstr(key, "internal") ||
		    str_eq_cstr(key, "external"))
			return list_add(f, f->direction, key) < 0 ? -1 : 0;
		if (str_eq_cstr(key, "directional")) {
			f->directional = 1;
			return 0;
		}
		if (str_eq_cstr(key, "force-answer")) {
			if (*op != RTPE_OP_OFFER) {
				*why = "force-answer in a command that is "
				       "not an offer";
				return -1;
			}
			*op = RTPE_OP_ANSWER;
			return 0;
		}
	}
	if (str_eq_cstr(key, "to-tag")) {
		if (val.s)
			f->to_tag = val;
		f->to = 1;
		return 0;
	}
	if (str_eq_cstr(key, "call-id") || str_eq_cstr(key, "from-tag") ||
	    str_eq_cstr(key, "via-branch") || str_eq_cstr(key, "direction") ||
	    str_eq_cstr(key, "TOS") || str_eq_cstr(key, "repacketize") ||
	    str_eq_cstr(key, "delete-delay")) {
		if (!val.s || !val.len) {
			*why = "missing value";
			return -1;
		}
		if (str_eq_cstr(key, "call-id")) {
			f->call_id = val;
		} else if (str_eq_cstr(key, "from-tag")) {
			f->from_tag = val;
			f->directional = 1;
		} else if (str_eq_cstr(key, "via-branch")) {
			f->via = parse_via_value(val);
			if (!f->via) {
				*why = "invalid value";
				return -1;
			}
		} else if (str_eq_cstr(key, "direction")) {
			return list_add(f, f->direction, val) < 0 ? -1 : 0;
		} else if (str_eq_cstr(key, "TOS")) {
			return benc_dict_add_int(f->a, f->dict, "TOS",
						 atol_str(val)) < 0
				   ? -1
				   : 0;
		} else if (str_eq_cstr(key, "repacketize")) {
			long ms = atol_str(val);

			if (ms <= 0) {
				*why = "invalid value";
				return -1;
			}
			return benc_dict_add_int(f->a, f->dict, "repacketize",
						 ms) < 0
				   ? -1
				   : 0;
		} else {
			return benc_dict_add_int(f->a, f->dict, "delete delay",
						 atol_str(val)) < 0
				   ? -1
				   : 0;
		}
		return 0;
	}
	/* anything else passes through */
	if (!val.s)
		return list_add(f, f->flags, key) < 0 ? -1 : 0;
	return benc_dict_add(f->dict, key, benc_new_str(f->a, val)) < 0 ? -1
									: 0;
}

static int parse_flags(ngf_t *f, rtpe_op_t *op, str_t flags)
{
	const char *p = flags.s, *end = flags.s + flags.len;

	while (p < end) {
		str_t key, val = STR_NULL;
		const char *t, *eq, *why;

		while (p < end && *p == ' ')
			p++;
		if (p >= end)
			break;
		t = p;
		while (p < end && *p != ' ')
			p++;
		eq = memchr(t, '=', (size_t)(p - t));
		key.s = t;
		key.len = eq ? (size_t)(eq - t) : (size_t)(p - t);
		if (eq) {
			val.s = eq + 1;
			val.len = (size_t)(p - eq - 1);
		}
		if (!key.len) {
			LOG_ERR("rtpengine: flag '%.*s' has no name",
				(int)(p - t), t);
			return -OSP_EINVAL;
		}
		if (parse_item(f, op, key, val, &why) < 0) {
			LOG_ERR("rtpengine: flag '%.*s': %s", (int)(p - t), t,
				why);
			return -OSP_EINVAL;
		}
	}
	return 0;
}

/* The via-branch the flags asked for (Kamailio's "1", "2", "auto", ...);
 * "extra" and "next" need an extra_id_pv or tm's next branch id, which
 * Osprey does not offer. */
static int via_branch(sip_msg_t *msg, int via, str_t *out)
{
	sip_via_t *v;

	if (via == 3)
		via = msg->kind == SIP_REPLY ? 2 : 1;
	else if (via == -3)
		via = msg->kind == SIP_REPLY ? 1 : -2;
	else if (via == -4)
		via = msg->kind == SIP_REPLY ? 1 : -1;
	if (via < 0) {
		LOG_ERR("rtpengine: via-branch=%s is not supported",
			via == -1 ? "extra" : "next");
		return -OSP_EINVAL;
	}
	v = via == 1 ? sip_get_via1(msg) : sip_get_via2(msg);
	if (!v || !v->branch.len) {
		LOG_ERR("rtpengine: no branch in Via %d", via);
		return -OSP_EINVAL;
	}
	*out = v->branch;
	return 0;
}

int rtpe_build_cmd(arena_t *a, sip_msg_t *msg, rtpe_op_t *op, str_t flags,
		   str_t sdp, benc_t **dict, str_t *callid, str_t *viabranch)
{
	ngf_t f;
	sip_nameaddr_t *from, *to;
	str_t vb = STR_NULL;
	benc_t *sup;
	int rc, swap;

	memset(&f, 0, sizeof(f));
	f.a = a;
	f.call_id = sip_get_callid(msg);
	from = sip_get_from(msg);
	to = sip_get_to(msg);
	if (from)
		f.from_tag = from->tag;
	if (to)
		f.to_tag = to->tag;
	f.dict = benc_new_dict(a);
	f.flags = benc_new_list(a);
	f.direction = benc_new_list(a);
	f.replace = benc_new_list(a);
	f.rtcp_mux = benc_new_list(a);
	f.sdes = benc_new_list(a);
	f.t38 = benc_new_list(a);
	f.received_from = benc_new_list(a);
	f.codec = benc_new_dict(a);
	sup = benc_new_list(a);
	if (!f.dict || !f.flags || !f.direction || !f.replace || !f.rtcp_mux ||
	    !f.sdes || !f.t38 || !f.received_from || !f.codec || !sup)
		return -OSP_ENOMEM;
	f.to = *op != RTPE_OP_DELETE;

	rc = benc_dict_add(f.dict, STR_LIT("supports"), sup);
	if (!rc)
		rc = list_add(&f, sup, STR_LIT("load limit"));
	if (!rc && (*op == RTPE_OP_OFFER || *op == RTPE_OP_ANSWER))
		rc = benc_dict_add_str(a, f.dict, "sdp", sdp);
	if (rc < 0)
		return rc;
	if (flags.len && (rc = parse_flags(&f, op, flags)) < 0)
		return rc;
	if (!f.call_id.len) {
		LOG_ERR("rtpengine: no Call-ID");
		return -OSP_EINVAL;
	}
	if (!f.from_tag.len) {
		LOG_ERR("rtpengine: no From tag");
		return -OSP_EINVAL;
	}

	/* the lists, when the flags filled them */
	if (f.direction->n)
		rc |= benc_dict_add(f.dict, STR_LIT("direction"), f.direction);
	if (f.flags->n)
		rc |= benc_dict_add(f.dict, STR_LIT("flags"), f.flags);
	if (f.replace->n)
		rc |= benc_dict_add(f.dict, STR_LIT("replace"), f.replace);
	if (f.codec->n)
		rc |= benc_dict_add(f.dict, STR_LIT("codec"), f.codec);
	if (f.transport & 0x100) {
		const char *tp = transports[f.transport & 0x7];

		if (!tp)
			tp = transports[f.transport & 0x3];
		rc |= benc_dict_add_cstr(a, f.dict, "transport protocol", tp);
	}
	if (f.rtcp_mux->n)
		rc |= benc_dict_add(f.dict, STR_LIT("rtcp-mux"), f.rtcp_mux);
	if (f.sdes->n)
		rc |= benc_dict_add(f.dict, STR_LIT("SDES"), f.sdes);
	if (f.t38->n)
		rc |= benc_dict_add(f.dict, STR_LIT("T.38"), f.t38);
	/* like Kamailio: with flags, the SIP source address always goes
	 * along (it matters with SIP-source-address) */
	if (flags.len && !f.received_from->n) {
		char ip[64] = "";
		sa_family_t fam = msg->rcv.src.sa.sa_family;

		if (fam == AF_INET)
			inet_ntop(AF_INET, &msg->rcv.src.in4.sin_addr, ip,
				  sizeof(ip));
		else if (fam == AF_INET6)
			inet_ntop(AF_INET6, &msg->rcv.src.in6.sin6_addr, ip,
				  sizeof(ip));
		if (ip[0]) {
			rc |= list_add(&f, f.received_from,
				       fam == AF_INET ? STR_LIT("IP4")
						      : STR_LIT("IP6"));
			rc |= list_add(
			    &f, f.received_from,
			    str_from(arena_strndup(a, ip, strlen(ip))));
		}
	}
	if (f.received_from->n)
		rc |= benc_dict_add(f.dict, STR_LIT("received-from"),
				    f.received_from);
	if (rc)
		return -OSP_ENOMEM;

	rc = benc_dict_add_str(a, f.dict, "call-id", f.call_id);
	if (rc < 0)
		return rc;
	if (f.via && (rc = via_branch(msg, f.via, &vb)) < 0)
		return rc;
	if (vb.len && (rc = benc_dict_add_str(a, f.dict, "via-branch", vb)) < 0)
		return rc;

	/* the tags: from-tag names the party the SDP comes from. A request
	 * other than an answer comes from the From party, as do deletes and
	 * answers in replies (they name the call by its creator); an answer
	 * in a request (ACK, PRACK) and an offer in a reply come from the To
	 * party, so the tags are swapped, and a To tag is needed */
	swap = !((msg->kind == SIP_REQUEST && *op != RTPE_OP_ANSWER) ||
		 (msg->kind == SIP_REPLY &&
		  (*op == RTPE_OP_DELETE || *op == RTPE_OP_ANSWER)) ||
		 f.directional);
	if (!swap) {
		rc = benc_dict_add_str(a, f.dict, "from-tag", f.from_tag);
		if (!rc && f.to && f.to_tag.len)
			rc = benc_dict_add_str(a, f.dict, "to-tag", f.to_tag);
	} else {
		if (!f.to_tag.len) {
			LOG_ERR("rtpengine: %s needs a To tag",
				rtpe_op_name(*op));
			return -OSP_EINVAL;
		}
		rc = benc_dict_add_str(a, f.dict, "from-tag", f.to_tag);
		if (!rc)
			rc = benc_dict_add_str(a, f.dict, "to-tag", f.from_tag);
	}
	if (!rc)
		rc =
		    benc_dict_add_cstr(a, f.dict, "command", rtpe_op_name(*op));
	if (rc < 0)
		return rc;
	*dict = f.dict;
	*callid = f.call_id;
	*viabranch = vb;
	return 0;
}

int rtpe_msg_sdp(sip_msg_t *msg, str_t *sdp)
{
	sip_hdr_t *ct = sip_hdr_first(msg, SIP_HDR_CTYPE);
	str_t body = msg->new_body.s ? msg->new_body : msg->body;

	if (!body.len)
		return 0;
	if (ct) {
		str_t v = str_trim(ct->value);
		static const char sdp_type[] = "application/sdp";
		size_t n = sizeof(sdp_type) - 1;

		if (v.len < n || strncasecmp(v.s, sdp_type, n) != 0 ||
		    (v.len > n && v.s[n] != ';' && v.s[n] != ' ' &&
		     v.s[n] != '\t'))
			return 0;
	}
	*sdp = body;
	return 1;
}
