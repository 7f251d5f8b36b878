/* ht_rpc.c - htable.* control commands, shaped like Kamailio's:
 *
 *   htable.get T K        {"item": {name, value, flags, expire}}
 *   htable.dump T         [{entry, size, slot: [{name, value, type}]}]
 *   htable.sets T K V, htable.seti T K N, htable.setex T K SECS,
 *   htable.setxs T K V SECS, htable.setxi T K N SECS,
 *   htable.delete T K, htable.flush T, htable.reload T     -> null
 *   htable.listTables     [{name, dbtable, dbmode, expire, updateexpire,
 *                           size, dmqreplicate}]
 *   htable.stats          [{name, slots, all, min, max}]
 *
 * A missing table is error 500 "No such htable", as in Kamailio. Items are
 * read under their slot's lock, one slot at a time. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/osp.h"
#include "ht_int.h"

static ht_table_t *rpc_table(json_t *params, rpc_error_t *err)
{
	const char *name = rpc_param_str(params, 0, err);
	ht_table_t *t;

	if (!name)
		return NULL;
	t = ht_find(str_from(name));
	if (!t)
		rpc_fail(err, 500, "No such htable");
	return t;
}

static json_t *item_value(const ht_item_t *it)
{
	return it->is_str ? json_stringn(it->s, it->slen) : json_integer(it->n);
}

/* Wall-clock text of a monotonic expiry, "NEVER" when there is none. */
static void expire_text(const ht_item_t *it, uint64_t now, char *buf,
			size_t cap)
{
	time_t when;
	struct tm tm;

	if (!it->expire) {
		snprintf(buf, cap, "NEVER");
		return;
	}
	when = time(NULL) + (time_t)((it->expire - now) / 1000);
	localtime_r(&when, &tm);
	strftime(buf, cap, "%Y-%m-%d %H:%M:%S", &tm);
}

static json_t *rpc_get(json_t *params, rpc_error_t *err)
{
	ht_table_t *t = rpc_table(params, err);
	const char *k;
	json_t *item = NULL;
	ht_slot_t *s;
	uint32_t h;
	uint64_t now;
	str_t key;
	char exp[32];

	if (!t || !(k = rpc_param_str(params, 1, err)))
		return NULL;
	key = str_from(k);
	h = ht_hash(key.s, key.len);
	s = ht_slot_of(t, h);
	ht_slot_lock(s);
	now = ht_now();
	for (ht_item_t *it = s->first; it; it = it->next) {
		if (it->hash != h || it->klen != key.len ||
		    memcmp(it->key, key.s, key.len) != 0 ||
		    !ht_item_live(it, now))
			continue;
		expire_text(it, now, exp, sizeof(exp));
		item = json_pack("{s:s, s:o, s:i, s:s}", "name", it->key,
				 "value", item_value(it), "flags",
				 it->is_str ? 2 : 0, "expire", exp);
		break;
	}
	ht_slot_unlock(s);
	if (!item)
		return rpc_fail(err, 500, "Key name doesn't exist in htable.");
	return json_pack("{s:o}", "item", item);
}

static json_t *rpc_dump(json_t *params, rpc_error_t *err)
{
	ht_table_t *t = rpc_table(params, err);
	json_t *out;

	if (!t)
		return NULL;
	out = json_array();
	for (unsigned i = 0; out && i < t->nslots; i++) {
		ht_slot_t *s = &t->slots[i];
		json_t *slot = NULL;
		uint64_t now;
		int n = 0;

		ht_slot_lock(s);
		now = ht_now();
		for (ht_item_t *it = s->first; it; it = it->next) {
			if (!ht_item_live(it, now))
				continue;
			if (!slot)
				slot = json_array();
			json_array_append_new(
			    slot, json_pack("{s:s, s:o, s:s}", "name", it->key,
					    "value", item_value(it), "type",
					    it->is_str ? "str" : "int"));
			n++;
		}
		ht_slot_unlock(s);
		if (slot)
			json_array_append_new(
			    out, json_pack("{s:i, s:i, s:o}", "entry", (int)i,
					   "size", n, "slot", slot));
	}
	if (!out)
		return rpc_fail(err, RPC_E_INTERNAL, "out of memory");
	return out;
}

static json_t *set_common(json_t *params, rpc_error_t *err, int is_int,
			  int with_exp)
{
	ht_table_t *t = rpc_table(params, err);
	const char *k, *sv = NULL;
	ksr_xval_t v = {KSR_INT, 0, STR_NULL};
	long exp = 0;

	if (!t || !(k = rpc_param_str(params, 1, err)))
		return NULL;
	if (is_int) {
		if (rpc_param_int(params, 2, &v.n, err) < 0)
			return NULL;
	} else {
		if (!(sv = rpc_param_str(params, 2, err)))
			return NULL;
		v = (ksr_xval_t){KSR_STR, 0, str_from(sv)};
	}
	if (with_exp && rpc_param_int(params, 3, &exp, err) < 0)
		return NULL;
	if (ht_set(t, str_from(k), &v, exp) < 0)
		return rpc_fail(err, 500, "Failed to set the item");
	return json_null();
}

static json_t *rpc_sets(json_t *params, rpc_error_t *err)
{
	return set_common(params, err, 0, 0);
}

static json_t *rpc_seti(json_t *params, rpc_error_t *err)
{
	return set_common(params, err, 1, 0);
}

static json_t *rpc_setxs(json_t *params, rpc_error_t *err)
{
	return set_common(params, err, 0, 1);
}

static json_t *rpc_setxi(json_t *params, rpc_error_t *err)
{
	return set_common(params, err, 1, 1);
}

static json_t *rpc_setex(json_t *params, rpc_error_t *err)
{
	ht_table_t *t = rpc_table(params, err);
	const char *k;
	long exp;

	if (!t || !(k = rpc_param_str(params, 1, err)) ||
	    rpc_param_int(params, 2, &exp, err) < 0)
		return NULL;
	ht_set_expire(t, str_from(k), exp);
	return json_null();
}

static json_t *rpc_delete(json_t *params, rpc_error_t *err)
{
	ht_table_t *t = rpc_table(params, err);
	const char *k;

	if (!t || !(k = rpc_param_str(params, 1, err)))
		return NULL;
	ht_del(t, str_from(k));
	return json_null();
}

static json_t *rpc_flush(json_t *params, rpc_error_t *err)
{
	ht_table_t *t = rpc_table(params, err);

	if (!t)
		return NULL;
	ht_reset(t);
	return json_null();
}

static json_t *rpc_reload(json_t *params, rpc_error_t *err)
{
	ht_table_t *t = rpc_table(params, err);
	char why[256];

	if (!t)
		return NULL;
	if (!t->dbtable)
		return rpc_fail(err, 500, "No dbtable for htable %s", t->name);
	if (ht_db_load(t, why, sizeof(why)) < 0)
		return rpc_fail(err, 500, "Reload failed: %s", why);
	t->db_loaded = 1;
	return json_null();
}

static json_t *rpc_list(json_t *params, rpc_error_t *err)
{
	json_t *out = json_array();

	for (ht_table_t *t = ht_tables; out && t; t = t->next)
		json_array_append_new(
		    out,
		    json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:i}", "name",
			      t->name, "dbtable", t->dbtable ? t->dbtable : "",
			      "dbmode", t->dbmode, "expire", (int)t->autoexpire,
			      "updateexpire", t->updateexpire, "size",
			      (int)t->nslots, "dmqreplicate", t->dmqreplicate));
	if (!out)
		return rpc_fail(err, RPC_E_INTERNAL, "out of memory");
	return out;
}

static json_t *rpc_stats(json_t *params, rpc_error_t *err)
{
	json_t *out = json_array();

	for (ht_table_t *t = ht_tables; out && t; t = t->next) {
		unsigned min = ~0u, max = 0, all = 0;

		for (unsigned i = 0; i < t->nslots; i++) {
			unsigned c;

			ht_slot_lock(&t->slots[i]);
			c = t->slots[i].count;
			ht_slot_unlock(&t->slots[i]);
			all += c;
			min = c < min ? c : min;
			max = c > max ? c : max;
		}
		json_array_append_new(
		    out, json_pack("{s:s, s:i, s:i, s:i, s:i}", "name", t->name,
				   "slots", (int)t->nslots, "all", (int)all,
				   "min", (int)min, "max", (int)max));
	}
	if (!out)
		return rpc_fail(err, RPC_E_INTERNAL, "out of memory");
	return out;
}

const rpc_export_t ht_rpc_exports[] = {
    {"htable.get", rpc_get, "Get one key from a hash table: TABLE KEY"},
    {"htable.dump", rpc_dump, "Dump the contents of a hash table: TABLE"},
    {"htable.sets", rpc_sets, "Set a key to a string value: TABLE KEY VALUE"},
    {"htable.seti", rpc_seti, "Set a key to an integer value: TABLE KEY VALUE"},
    {"htable.setxs", rpc_setxs,
     "Set a string value with expiry: TABLE KEY VALUE SECONDS"},
    {"htable.setxi", rpc_setxi,
     "Set an integer value with expiry: TABLE KEY VALUE SECONDS"},
    {"htable.setex", rpc_setex, "Set the expiry of a key: TABLE KEY SECONDS"},
    {"htable.delete", rpc_delete, "Delete one key: TABLE KEY"},
    {"htable.flush", rpc_flush, "Remove every item of a table: TABLE"},
    {"htable.reload", rpc_reload,
     "Reload a table from its database table: TABLE"},
    {"htable.listTables", rpc_list, "List the hash tables"},
    {"htable.stats", rpc_stats,
     "Slots, items, min and max items per slot of each table"},
    {NULL, NULL, NULL},
};
