/* thread_obj.c - per-thread objects released at thread exit (see
 * thread_obj.h). */
#include <pthread.h>

#include "core/log.h"
#include "core/osp.h"
#include "core/thread_obj.h"

typedef struct thread_obj {
	void (*fn)(void *obj);
	void *obj;
} thread_obj_t;

static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t key;
static int key_ok;
static _Thread_local thread_obj_t objs[OSP_THREAD_OBJ_MAX];
static _Thread_local int n_objs;

/* Runs at thread exit on the ending thread (arg: its objs, unused beyond
 * being non-NULL). A function that registers another object has it run in
 * the same loop. */
static void release_all(void *arg)
{
	while (n_objs > 0) {
		thread_obj_t o = objs[--n_objs];

		o.fn(o.obj);
	}
	OSP_UNUSED(arg);
}

static void key_make(void)
{
	key_ok = pthread_key_create(&key, release_all) == 0;
}

int osp_thread_atexit(void (*fn)(void *obj), void *obj)
{
	static int warned;

	pthread_once(&key_once, key_make);
	if (!key_ok || n_objs == OSP_THREAD_OBJ_MAX) {
		if (!__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED))
			LOG_ERR("cannot register a per-thread object for "
				"release at thread exit (%s)",
				key_ok ? "list full" : "no thread key");
		return key_ok ? -OSP_ETOOBIG : -OSP_EIO;
	}
	/* a non-NULL value is what makes the key's destructor run */
	if (!n_objs && pthread_setspecific(key, objs) != 0)
		return -OSP_EIO;
	objs[n_objs].fn = fn;
	objs[n_objs].obj = obj;
	n_objs++;
	return 0;
}

int osp_thread_forget(const void *obj)
{
	for (int i = n_objs - 1; i >= 0; i--) {
		if (objs[i].obj != obj)
			continue;
		for (int j = i + 1; j < n_objs; j++)
			objs[j - 1] = objs[j];
		n_objs--;
		return 1;
	}
	return 0;
}
