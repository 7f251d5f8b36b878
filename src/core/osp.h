/* osp.h - project-wide constants and error codes. */
#ifndef OSP_OSP_H
#define OSP_OSP_H

#define OSP_NAME "osprey"
#ifndef OSP_VERSION
#define OSP_VERSION "0.1.0"
#endif

/* Error codes: functions return 0 (or a positive count) on success and one
 * of these, negated, on failure. */
enum {
	OSP_OK = 0,
	OSP_ENOMEM = 1,  /* allocation failed */
	OSP_EPARSE = 2,  /* malformed input */
	OSP_EINVAL = 3,  /* bad argument */
	OSP_ENOTFOUND = 4,
	OSP_EIO = 5,     /* socket or file error */
	OSP_ETOOBIG = 6, /* size limit exceeded */
	OSP_EAGAIN = 7,  /* incomplete input, call again with more */
	OSP_ESCRIPT = 8, /* script error */
};

#define OSP_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define OSP_UNUSED(x) (void)(x)

#endif
