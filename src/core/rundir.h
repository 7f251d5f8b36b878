/* rundir.h - the runtime directory and the default control socket path.
 *
 * Header-only on purpose: ospreyctl is built from tools/ospreyctl.c alone
 * and must find the socket exactly where the server puts it, so both use
 * these functions.
 *
 * The rule, evaluated the same way by the server and the client:
 *  1. /run/osprey when it is a directory we may write into (a systemd
 *     RuntimeDirectory=osprey, or an earlier root start);
 *  2. /run/osprey when running as root (the server creates it);
 *  3. /tmp/osprey-<uid> otherwise (created 0700 by the server).
 * Call these at start: the result is kept in a per-file static buffer. */
#ifndef OSP_RUNDIR_H
#define OSP_RUNDIR_H

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define OSP_RUN_DIR_SYSTEM  "/run/osprey"
#define OSP_RPC_SOCKET_NAME "osprey_ctl.sock"

static inline const char *osp_default_run_dir(void)
{
	static char dir[64];
	struct stat st;

	if (stat(OSP_RUN_DIR_SYSTEM, &st) == 0 && S_ISDIR(st.st_mode) &&
	    access(OSP_RUN_DIR_SYSTEM, W_OK | X_OK) == 0)
		return OSP_RUN_DIR_SYSTEM;
	if (geteuid() == 0)
		return OSP_RUN_DIR_SYSTEM;
	snprintf(dir, sizeof(dir), "/tmp/osprey-%u", (unsigned)getuid());
	return dir;
}

/* The default control socket: <run dir>/osprey_ctl.sock. */
static inline const char *osp_default_rpc_socket(void)
{
	static char path[96];

	snprintf(path, sizeof(path), "%s/%s", osp_default_run_dir(),
		 OSP_RPC_SOCKET_NAME);
	return path;
}

#endif
