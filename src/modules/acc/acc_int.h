/* acc_int.h - shared by the files of the acc module.
 *
 * An accounting record is Kamailio's fixed set (method, From tag, To tag,
 * Call-ID, status code and reason, time) followed by the "extra" values,
 * each a pseudo-variable evaluated on the request (log_extra, db_extra:
 * "name=$pv;name=$pv"). acc.c builds records and writes the log line;
 * acc_db.c writes them to SQLite tables (acc, missed_calls). */
#ifndef OSP_ACC_INT_H
#define OSP_ACC_INT_H

#include <stddef.h>
#include <time.h>

#include "core/str.h"
#include "kemi/kemi.h"
#include "modules/pv/pv.h"

#define ACC_EXTRA_MAX 64 /* Kamailio's default acc_extra_size */

/* A parsed log_extra / db_extra list. */
typedef struct acc_extras {
	int n;
	char *names[ACC_EXTRA_MAX];	 /* heap */
	pv_spec_t *specs[ACC_EXTRA_MAX]; /* heap */
} acc_extras_t;

/* Parse "name=$pv;name=$pv" (blanks around the parts allowed). With
 * `columns`, every name must also be a plain SQL identifier (it becomes a
 * column name). 0, or -1 with err filled. On failure *x holds nothing to
 * free. */
int acc_extras_parse(const char *text, int columns, acc_extras_t *x, char *err,
		     size_t errlen);
void acc_extras_free(acc_extras_t *x);

/* 1 when s is a plain SQL identifier ([A-Za-z_][A-Za-z0-9_]*, < 64). */
int acc_is_identifier(const char *s);

/* One record. Strings point into the request, the reply event or the
 * arena of ctx->msg; empty ones have len 0. */
typedef struct acc_rec {
	str_t method, from_tag, to_tag, callid;
	str_t code_s; /* "200", or empty (a script comment without code) */
	int code;
	str_t reason;
	time_t ts;
	int n_extra;
	str_t extra[ACC_EXTRA_MAX];
} acc_rec_t;

/* Evaluate the extras of x on ctx->msg into r->extra (copied into the
 * message arena; a null value is empty, a number is printed in decimal). */
void acc_rec_extras(ksr_ctx_t *ctx, const acc_extras_t *x, acc_rec_t *r);

/* The log line: "<text>timestamp=T;method=M;from_tag=...;to_tag=...;
 * call_id=...;code=C;reason=R;name=value..." (Kamailio's format), into
 * buf (NUL-terminated, truncated to cap). Returns the length. */
size_t acc_log_format(const char *text, const acc_rec_t *r,
		      const acc_extras_t *x, char *buf, size_t cap);

/* ---- acc_db.c ---- */

/* Column names of the fixed fields (modparams acc_*_column). */
typedef struct acc_db_cols {
	const char *method, *from_tag, *to_tag, *callid, *sip_code, *sip_reason,
	    *time;
} acc_db_cols_t;

/* Open url, create the tables acc_table and mc_table when missing (with
 * Kamailio's schema and versions) and add the extra columns they lack.
 * 0, or -1 with err filled. */
int acc_db_open(const char *url, const char *acc_table, const char *mc_table,
		const acc_db_cols_t *cols, const acc_extras_t *extras,
		char *err, size_t errlen);
/* Create `table` (the acc schema plus the extra columns) when missing:
 * for tables named at run time by KSR.acc.acc_db_request. 0 or -1. */
int acc_db_ensure(const char *table);
/* Queue one row for `table`: copied now, written by a worker between two
 * messages (never under the caller's locks), or at once when no worker
 * can take it. 0 or -1 (memory). */
int acc_db_queue(const char *table, const acc_rec_t *r);
/* Write what is queued (worker jobs call it; destroy too). */
void acc_db_flush(void);
/* 1 when a database is open. */
int acc_db_ready(void);
void acc_db_close(void);

#endif
