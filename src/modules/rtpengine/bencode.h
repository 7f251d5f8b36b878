/* bencode.h - the bencode data format of rtpengine's "ng" control protocol.
 *
 * Four kinds of values: byte strings ("4:spam"), integers ("i42e"), lists
 * ("l...e") and dictionaries ("d<key><value>...e", keys are byte strings).
 * Values form a tree of benc_t nodes allocated from an arena; nothing is
 * freed on its own, the arena is. Strings are views: benc_new_str() does
 * not copy, and a decoded tree points into the decoded input, so both must
 * outlive the tree.
 *
 * Dictionary members keep the order they were added or decoded in (the
 * ng protocol does not need sorted keys); a lookup returns the first
 * member with the key. */
#ifndef OSP_RTPE_BENCODE_H
#define OSP_RTPE_BENCODE_H

#include "core/arena.h"
#include "core/str.h"

typedef enum benc_type {
	BENC_STR = 1,
	BENC_INT,
	BENC_LIST,
	BENC_DICT,
} benc_type_t;

typedef struct benc {
	benc_type_t type;
	str_t key;	    /* member of a dictionary: its key */
	str_t s;	    /* BENC_STR */
	long long i;	    /* BENC_INT */
	struct benc *child; /* BENC_LIST / BENC_DICT: first member */
	struct benc *last;  /* last member, for appending */
	struct benc *next;  /* next member of the parent */
	size_t n;	    /* number of members */
} benc_t;

/* Nesting accepted by the decoder: deeper input is refused rather than
 * recursed into (the input comes from the network). */
#define BENC_MAX_DEPTH 32

/* Constructors; NULL only when the arena is out of memory. */
benc_t *benc_new_str(arena_t *a, str_t s);
benc_t *benc_new_cstr(arena_t *a, const char *s);
benc_t *benc_new_int(arena_t *a, long long i);
benc_t *benc_new_list(arena_t *a);
benc_t *benc_new_dict(arena_t *a);

/* Append v to a list / a dictionary (under key, not copied). v may be NULL
 * (a failed constructor): then -OSP_ENOMEM, so that callers can chain
 * constructors and check once. 0 on success, -OSP_EINVAL when the
 * container has the wrong type. A node belongs to one container only. */
int benc_list_add(benc_t *list, benc_t *v);
int benc_dict_add(benc_t *dict, str_t key, benc_t *v);

/* Shorthands for dictionaries with C string keys. The value string is not
 * copied either. */
int benc_dict_add_str(arena_t *a, benc_t *dict, const char *key, str_t val);
int benc_dict_add_cstr(arena_t *a, benc_t *dict, const char *key,
		       const char *val);
int benc_dict_add_int(arena_t *a, benc_t *dict, const char *key, long long val);

/* Size of the encoding of v in bytes. */
size_t benc_encoded_len(const benc_t *v);
/* Encode v into the arena (not NUL-terminated). 0 or -OSP_ENOMEM. */
int benc_encode(arena_t *a, const benc_t *v, str_t *out);

/* Decode exactly one value that fills all of in. 0, or -OSP_EPARSE for
 * malformed input (bad length or integer, missing 'e', non-string key,
 * nesting beyond BENC_MAX_DEPTH, trailing bytes), -OSP_ENOMEM. */
int benc_decode(arena_t *a, str_t in, benc_t **out);

/* Lookups; NULL / -1 / dflt when d is not a dictionary, the key is
 * missing or the member has another type. */
const benc_t *benc_dict_get(const benc_t *d, const char *key);
int benc_dict_get_str(const benc_t *d, const char *key, str_t *out);
long long benc_dict_get_int(const benc_t *d, const char *key, long long dflt);
/* 1 when d[key] is the string val, else 0. */
int benc_dict_str_is(const benc_t *d, const char *key, const char *val);

#endif
