/* Compiled, not run, as strict C99 and as C++: the public headers must
 * stand alone and declare the API with the documented types. */
#include "coroutine_chan.h"
#include "coroutine_wait.h"
#include "coroutine.h"

static void body(void *arg)
{
    (void)arg;
}

int main(void)
{
    coroutine fn = body;
    sp_ctx (*create)(coroutine, void *) = create_ctx;
    sp_ctx (*create_sized)(coroutine, void *, size_t) = create_ctx_sized;
    void (*destroy)(sp_ctx) = destroy_ctx;
    bool (*finished)(sp_ctx) = is_ctx_finished;
    void (*switcher)(sp_ctx) = switch_ctx;
    void (*yielder)(void) = yield_ctx;
    size_t (*id)(void) = get_ctx_id;
    size_t (*id_of)(sp_ctx) = get_ctx_id_of;
    sp_ctx (*self)(void) = get_ctx_ptr;
    size_t (*used)(sp_ctx) = get_ctx_stack_used;
    int (*trace)(const char *) = trace_ctx;
    size_t (*frame)(sp_ctx, struct ctx_slot *, size_t) = get_ctx_frame;
    void (*detach)(sp_ctx) = detach_ctx;
    int64_t (*now)(void) = co_now;
    int (*sleeper)(int64_t) = co_sleep;
    int (*waiter)(int, int, int64_t) = co_wait_fd;
    ssize_t (*reader)(int, void *, size_t, int64_t) = co_read;
    ssize_t (*writer)(int, const void *, size_t, int64_t) = co_write;
    ssize_t (*readv)(int, const struct iovec *, int, int64_t) = co_readv;
    ssize_t (*writev)(int, struct iovec *, int, int64_t) = co_writev;
    ssize_t (*recv)(int, void *, size_t, int, int64_t) = co_recv;
    ssize_t (*send)(int, const void *, size_t, int, int64_t) = co_send;
    int (*closer)(int) = co_close;
    int (*accepter)(int, struct sockaddr *, socklen_t *, int64_t) = co_accept;
    int (*connecter)(int, const struct sockaddr *, socklen_t, int64_t) = co_connect;
    int (*listener)(const char *, int, int) = co_listen;
    int (*port)(int) = co_port;
    int (*dialer)(const char *, int, int64_t) = co_dial;
    void (*canceller)(sp_ctx) = co_cancel;
    bool (*cancelled)(void) = co_cancelled;
    int (*joiner)(sp_ctx, int64_t) = co_join;
    int (*signaller)(const int *, int, int64_t) = co_wait_signal;
    int64_t times = CO_USEC + CO_MSEC + CO_SEC + (CO_FOREVER > 0) + CO_READABLE + CO_WRITABLE +
                    CO_REUSEPORT;
    co_chan *(*chan)(size_t, size_t) = co_chan_create;
    int (*selector)(struct co_case *, int, int64_t) = co_select;
    int (*lock)(co_mutex *, int64_t) = co_mutex_lock;
    int (*cond_wait)(co_cond *, co_mutex *, int64_t) = co_cond_wait;
    int (*acquire)(co_sem *, int64_t) = co_sem_acquire;
    void (*add)(co_wg *, int) = co_wg_add;
    struct co_case one_case = {NULL, CO_SEND, NULL, 0};
    struct ctx_slot slots[CTX_FRAME_MAX];
    size_t capacity = STACK_CAPACITY + STACK_CAPACITY_PAGES + COROUTINE_VERSION_MAJOR;
    const char *version = COROUTINE_VERSION;
    (void)fn, (void)create, (void)create_sized, (void)destroy, (void)finished;
    (void)switcher, (void)yielder, (void)id, (void)id_of, (void)self, (void)used,
        (void)trace, (void)frame, (void)slots, (void)version;
    (void)detach, (void)now, (void)sleeper, (void)waiter, (void)reader, (void)writer, (void)readv,
        (void)writev, (void)recv, (void)send, (void)closer, (void)accepter, (void)connecter,
        (void)listener, (void)port, (void)dialer, (void)canceller, (void)cancelled, (void)joiner,
        (void)signaller;
    (void)chan, (void)selector, (void)lock, (void)cond_wait, (void)acquire, (void)add,
        (void)one_case;
    return capacity == 0 || times == 0;
}
