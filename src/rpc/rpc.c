/* rpc.c - JSON-RPC 2.0 dispatch: the command registry, parameter helpers and
 * rpc_handle(), which turns one request text into one response text.
 *
 * rpc_handle() is transport-neutral (the UNIX socket server uses it, an HTTP
 * front end could too) and reentrant; what it runs is serialised only by its
 * caller. Batches (a JSON array of requests) are supported as the JSON-RPC
 * 2.0 specification describes them. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/osp.h"
#include "rpc/rpc.h"

/* ---- registry ---------------------------------------------------------- */

/* Pointers to the entries of the registered tables (static storage owned by
 * their modules), in registration order. Lookups take the read lock, so a
 * late rpc_register (an engine loaded after start) is safe. */
static pthread_rwlock_t reg_lock = PTHREAD_RWLOCK_INITIALIZER;
static const rpc_export_t **reg;
static size_t reg_n, reg_cap;

static const rpc_export_t *find_locked(const char *name)
{
	for (size_t i = 0; i < reg_n; i++) {
		if (strcmp(reg[i]->name, name) == 0)
			return reg[i];
	}
	return NULL;
}

/* Register every entry of a NULL-name terminated table. All or nothing: a
 * name already registered (or repeated in the table), or an entry without
 * a function, rejects the whole table with -OSP_EINVAL. */
int rpc_register(const rpc_export_t *table)
{
	size_t n = 0, i, j;
	int rc = 0;

	if (!table)
		return -OSP_EINVAL;
	while (table[n].name)
		n++;
	pthread_rwlock_wrlock(&reg_lock);
	for (i = 0; i < n; i++) {
		if (!table[i].fn || find_locked(table[i].name)) {
			LOG_ERR("rpc command %s: %s", table[i].name,
				table[i].fn ? "already registered"
					    : "has no function");
			rc = -OSP_EINVAL;
			goto out;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(table[i].name, table[j].name) == 0) {
				LOG_ERR("rpc command %s: twice in one table",
					table[i].name);
				rc = -OSP_EINVAL;
				goto out;
			}
		}
	}
	if (reg_n + n > reg_cap) {
		size_t cap = reg_cap ? reg_cap : 64;
		const rpc_export_t **r;

		while (cap < reg_n + n)
			cap *= 2;
		r = realloc(reg, cap * sizeof(*r));
		if (!r) {
			rc = -OSP_ENOMEM;
			goto out;
		}
		reg = r;
		reg_cap = cap;
	}
	for (i = 0; i < n; i++)
		reg[reg_n++] = &table[i];
out:
	pthread_rwlock_unlock(&reg_lock);
	return rc;
}

/* The entry lives in its module's static table, so it stays valid after the
 * lock is released. */
const rpc_export_t *rpc_find(const char *name)
{
	const rpc_export_t *e;

	if (!name)
		return NULL;
	pthread_rwlock_rdlock(&reg_lock);
	e = find_locked(name);
	pthread_rwlock_unlock(&reg_lock);
	return e;
}

/* fn runs under the read lock: it must not call rpc_register. */
void rpc_foreach(void (*fn)(const rpc_export_t *e, void *arg), void *arg)
{
	pthread_rwlock_rdlock(&reg_lock);
	for (size_t i = 0; i < reg_n; i++)
		fn(reg[i], arg);
	pthread_rwlock_unlock(&reg_lock);
}

/* ---- helpers for commands ---------------------------------------------- */

json_t *rpc_fail(rpc_error_t *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
	}
	return NULL;
}

/* The i-th positional parameter, or NULL with *err set. Parameters are
 * numbered from 1 in messages, as an operator counts them on the command
 * line. */
static json_t *param_at(json_t *params, size_t i, rpc_error_t *err)
{
	if (json_is_object(params)) {
		rpc_fail(err, RPC_E_INVALID_PARAMS,
			 "named parameters are not supported by this command, "
			 "pass them by position");
		return NULL;
	}
	if (!json_is_array(params) || i >= json_array_size(params)) {
		rpc_fail(err, RPC_E_INVALID_PARAMS, "missing parameter %zu",
			 i + 1);
		return NULL;
	}
	return json_array_get(params, i);
}

const char *rpc_param_str(json_t *params, size_t i, rpc_error_t *err)
{
	char buf[32];
	json_t *v = param_at(params, i, err);

	if (!v)
		return NULL;
	if (json_is_string(v))
		return json_string_value(v);
	if (!json_is_integer(v)) {
		rpc_fail(err, RPC_E_INVALID_PARAMS,
			 "parameter %zu must be a string", i + 1);
		return NULL;
	}
	/* Replace the integer by its text in place so that the string is
	 * owned by params, like any other string parameter. */
	snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
		 json_integer_value(v));
	if (json_array_set_new(params, i, json_string(buf)) != 0) {
		rpc_fail(err, RPC_E_INTERNAL, "out of memory");
		return NULL;
	}
	return json_string_value(json_array_get(params, i));
}

int rpc_param_int(json_t *params, size_t i, long *out, rpc_error_t *err)
{
	json_t *v = param_at(params, i, err);
	json_int_t iv;

	if (!v)
		return -1;
	if (json_is_integer(v)) {
		iv = json_integer_value(v);
		if (iv < LONG_MIN || iv > LONG_MAX)
			goto range;
		*out = (long)iv;
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		long l;

		/* whole decimal integers only: "3", "-12"; not "", " 3",
		 * "3x" or "0x10" */
		if ((*s < '0' || *s > '9') && *s != '-')
			goto type;
		errno = 0;
		l = strtol(s, &end, 10);
		if (end == s || *end != '\0')
			goto type;
		if (errno == ERANGE)
			goto range;
		*out = l;
		return 0;
	}
type:
	rpc_fail(err, RPC_E_INVALID_PARAMS, "parameter %zu must be an integer",
		 i + 1);
	return -1;
range:
	rpc_fail(err, RPC_E_INVALID_PARAMS, "parameter %zu is out of range",
		 i + 1);
	return -1;
}

/* ---- dispatch ---------------------------------------------------------- */

/* A response object; id is borrowed (NULL means null) and the reference to
 * result is taken. Returns NULL only when out of memory. */
static json_t *make_response(json_t *id, json_t *result)
{
	json_t *r = json_object();

	if (!r) {
		json_decref(result);
		return NULL;
	}
	if (json_object_set_new(r, "jsonrpc", json_string("2.0"))) {
		json_decref(result);
		goto fail;
	}
	/* json_object_set_new consumes its value even when it fails */
	if (json_object_set_new(r, "result", result) ||
	    json_object_set(r, "id", id ? id : json_null()))
		goto fail;
	return r;
fail:
	json_decref(r);
	return NULL;
}

/* Replace each byte that does not start a well-formed UTF-8 sequence by
 * '?', so that an error message quoting the request (or cut in the middle
 * of a character by truncation) can still be sent as a JSON string. */
static void utf8_clean(char *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t n, k;

	while (*p) {
		if (*p < 0x80) {
			p++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf)
			n = 1;
		else if (*p >= 0xe0 && *p <= 0xef)
			n = 2;
		else if (*p >= 0xf0 && *p <= 0xf4)
			n = 3;
		else
			n = 0;
		for (k = 1; k <= n; k++) {
			if ((p[k] & 0xc0) != 0x80)
				break;
		}
		if (n == 0 || k <= n) {
			*p++ = '?';
			continue;
		}
		p += n + 1;
	}
}

static json_t *make_error(json_t *id, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* An error response; id is borrowed (NULL means null). Returns NULL only
 * when out of memory. */
static json_t *make_error(json_t *id, int code, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	json_t *r;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	utf8_clean(msg);
	r = json_pack("{s:s, s:{s:i, s:s}, s:O}", "jsonrpc", "2.0", "error",
		      "code", code, "message", msg, "id",
		      id ? id : json_null());
	if (!r) /* msg still refused (overlong or surrogate encodings) */
		r = json_pack("{s:s, s:{s:i, s:s}, s:O}", "jsonrpc", "2.0",
			      "error", "code", code, "message",
			      "(message not valid UTF-8)", "id",
			      id ? id : json_null());
	return r;
}

/* Handle one request object. Returns 0 with *resp set, or *resp NULL for a
 * notification; -1 when out of memory. Invalid requests are answered even
 * without an id (with id null), as the specification asks; a valid
 * notification is executed and never answered, whatever its outcome. */
static int handle_one(json_t *req, json_t **resp)
{
	json_t *id = NULL, *ver, *method, *params, *result;
	const rpc_export_t *e;
	const char *name;
	rpc_error_t err;
	int answer = 1;

	*resp = NULL;
	if (!json_is_object(req)) {
		*resp = make_error(NULL, RPC_E_INVALID_REQUEST,
				   "Invalid Request: not an object");
		goto out;
	}
	id = json_object_get(req, "id");
	if (id && !json_is_string(id) && !json_is_number(id) &&
	    !json_is_null(id)) {
		*resp = make_error(NULL, RPC_E_INVALID_REQUEST,
				   "Invalid Request: id must be a string, a "
				   "number or null");
		goto out;
	}
	ver = json_object_get(req, "jsonrpc");
	if (!json_is_string(ver) || strcmp(json_string_value(ver), "2.0")) {
		*resp = make_error(id, RPC_E_INVALID_REQUEST,
				   "Invalid Request: \"jsonrpc\" must be "
				   "\"2.0\"");
		goto out;
	}
	method = json_object_get(req, "method");
	if (!json_is_string(method)) {
		*resp = make_error(id, RPC_E_INVALID_REQUEST,
				   "Invalid Request: \"method\" must be a "
				   "string");
		goto out;
	}
	params = json_object_get(req, "params");
	if (json_is_null(params))
		params = NULL; /* lenient: treated as absent */
	if (params && !json_is_array(params) && !json_is_object(params)) {
		*resp = make_error(id, RPC_E_INVALID_REQUEST,
				   "Invalid Request: \"params\" must be an "
				   "array or an object");
		goto out;
	}
	/* from here on the request is valid: a notification gets nothing */
	answer = id != NULL;
	name = json_string_value(method);
	e = rpc_find(name);
	if (!e) {
		LOG_DBG("rpc: unknown method %.128s", name);
		if (answer)
			*resp = make_error(id, RPC_E_METHOD_NOT_FOUND,
					   "Method not found: %.256s", name);
		goto out;
	}
	LOG_DBG("rpc: %s%s", name, answer ? "" : " (notification)");
	memset(&err, 0, sizeof(err));
	result = e->fn(params, &err);
	if (!answer) {
		json_decref(result);
		goto out;
	}
	if (result) {
		*resp = make_response(id, result);
	} else if (err.code) {
		*resp = make_error(id, err.code, "%s",
				   err.message[0] ? err.message : "error");
	} else {
		LOG_ERR("rpc command %s failed without an error", name);
		*resp = make_error(id, RPC_E_INTERNAL, "Internal error");
	}
out:
	/* a missing answer that was due can only be a failed allocation */
	return answer && !*resp ? -1 : 0;
}

/* A batch: each element is handled on its own; the answers are collected
 * in an array, and a batch made only of notifications gets no answer. An
 * empty batch is one invalid request. */
static int handle_batch(json_t *batch, json_t **resp)
{
	json_t *out, *r;
	size_t i;

	*resp = NULL;
	if (json_array_size(batch) == 0) {
		*resp = make_error(NULL, RPC_E_INVALID_REQUEST,
				   "Invalid Request: empty batch");
		return *resp ? 0 : -1;
	}
	out = json_array();
	if (!out)
		return -1;
	for (i = 0; i < json_array_size(batch); i++) {
		if (handle_one(json_array_get(batch, i), &r) < 0 ||
		    (r && json_array_append_new(out, r) != 0)) {
			json_decref(out);
			return -1;
		}
	}
	if (json_array_size(out) == 0)
		json_decref(out);
	else
		*resp = out;
	return 0;
}

/* Last resort when even building an error failed: a fixed text. */
static char *oom_response(void)
{
	static const char text[] = "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":"
				   "-32603,\"message\":\"Internal error: out "
				   "of memory\"},\"id\":null}";

	return strdup(text);
}

char *rpc_handle(const char *req, size_t len)
{
	json_error_t jerr;
	json_t *root, *resp = NULL;
	char *text;
	int rc;

	root = req ? json_loadb(req, len, JSON_DECODE_ANY, &jerr) : NULL;
	if (!root) {
		if (!req)
			snprintf(jerr.text, sizeof(jerr.text), "no input");
		/* no id can be trusted from text that does not parse */
		resp = make_error(
		    NULL, RPC_E_PARSE, "Parse error: %s at line %d column %d",
		    jerr.text, req ? jerr.line : 0, req ? jerr.column : 0);
		rc = resp ? 0 : -1;
	} else if (json_is_array(root)) {
		rc = handle_batch(root, &resp);
	} else {
		rc = handle_one(root, &resp);
	}
	json_decref(root);
	if (rc < 0)
		return oom_response();
	if (!resp)
		return NULL;
	text = json_dumps(resp, JSON_COMPACT);
	json_decref(resp);
	return text ? text : oom_response();
}
