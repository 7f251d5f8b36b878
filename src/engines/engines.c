/* engines.c - the compiled-in script engines. */
#include <string.h>

#include "engines/engine.h"

extern const osp_engine_t osp_engine_lua;
extern const osp_engine_t osp_engine_python;
extern const osp_engine_t osp_engine_jsdt;
extern const osp_engine_t osp_engine_native;

static const osp_engine_t *engines[] = {
	&osp_engine_lua,
	&osp_engine_python,
	&osp_engine_jsdt,
	&osp_engine_native,
	NULL,
};

const osp_engine_t *engine_find(const char *name)
{
	for (int i = 0; engines[i]; i++)
		if (strcmp(engines[i]->name, name) == 0)
			return engines[i];
	return NULL;
}

const osp_engine_t *engine_by_ext(const char *path)
{
	const char *dot = strrchr(path, '.');

	if (!dot)
		return NULL;
	for (int i = 0; engines[i]; i++)
		if (strcmp(engines[i]->ext, dot) == 0)
			return engines[i];
	return NULL;
}
