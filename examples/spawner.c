/* spawner.c - coroutines that create coroutines.
 *
 * create_ctx works from inside a coroutine too. Each worker here starts
 * two children until a depth is reached, then waits, yielding, until its
 * children are done, and destroys them: a small tree of coroutines, all
 * in one rotation, all on one thread.
 */
#include <stdio.h>

#include "coroutine.h"

struct task {
    int depth;
    size_t parent;          /* the id of who created it */
};

static void worker(void *arg)
{
    struct task *t = (struct task *)arg;   /* C++ wants the cast */
    size_t me = get_ctx_id();
    printf("%*scoroutine %zu (child of %zu) starts\n", 2 * t->depth, "", me, t->parent);
    if (t->depth < 2) {
        struct task child = {t->depth + 1, me};
        sp_ctx kids[2] = {create_ctx(worker, &child), create_ctx(worker, &child)};
        while (!is_ctx_finished(kids[0]) || !is_ctx_finished(kids[1]))
            yield_ctx();
        destroy_ctx(kids[0]);
        destroy_ctx(kids[1]);
    }
    printf("%*scoroutine %zu ends\n", 2 * t->depth, "", me);
}

int main(void)
{
    struct task root = {0, 0};
    sp_ctx first = create_ctx(worker, &root);
    while (!is_ctx_finished(first))
        yield_ctx();
    destroy_ctx(first);
    printf("main: the tree is done\n");
    return 0;
}
