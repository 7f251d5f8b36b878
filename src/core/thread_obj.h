/* thread_obj.h - per-thread objects released when their thread ends.
 *
 * Several parts keep one object per worker thread (a crypto context, a
 * resolver channel, receive buffers, iterator state) behind a
 * _Thread_local pointer, so that the hot path reads only that pointer. The
 * object must still be released when the thread ends (LeakSanitizer sees
 * it otherwise, and a reload's threads come and go). One process-wide
 * pthread key does that for all of them: the owner registers the object
 * once, when it creates it, with the function that releases it.
 *
 *   static _Thread_local EVP_MD_CTX *ctx;
 *   if (!ctx && (ctx = EVP_MD_CTX_new()))
 *           osp_thread_atexit(release_ctx, ctx);
 *
 * At thread exit the registered functions run on that thread, newest
 * first; they may still use the thread's _Thread_local variables (to clear
 * the owner's pointer, for instance). An object released earlier by its
 * owner is first taken off the list with osp_thread_forget. The list is
 * short and fixed (OSP_THREAD_OBJ_MAX a thread); registering one more fails
 * with -OSP_ETOOBIG and the object is then only leaked at thread exit. */
#ifndef OSP_CORE_THREAD_OBJ_H
#define OSP_CORE_THREAD_OBJ_H

#define OSP_THREAD_OBJ_MAX 16

/* Release obj with fn(obj) when the calling thread ends. 0, or
 * -OSP_ETOOBIG / -OSP_EIO (logged once). */
int osp_thread_atexit(void (*fn)(void *obj), void *obj);

/* Take obj off the calling thread's list (its owner releases it now). 1
 * when it was there, 0 otherwise. */
int osp_thread_forget(const void *obj);

#endif
