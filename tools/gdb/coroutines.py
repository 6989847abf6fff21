"""gdb commands for Coroutine Playground.

    (gdb) source tools/gdb/coroutines.py
    (gdb) info coroutines        the coroutines of the current thread, and
                                 what each waiting one waits for
    (gdb) coroutine bt ID        the backtrace of one, without resuming it

'coroutine bt' puts the registers saved in the coroutine's frame into the
selected thread for the time of a 'bt', then puts the real ones back: the
frame is the one drawn at the top of src/<os>_<arch>/asm.s, as the
library itself describes it ('platform_frame').
"""

import time

import gdb

CTX_LIVE = 0x4C495645
CTX_FINISHED = 0x46494E49
STACK_GUARD = 64 * 1024

# What gdb calls the stack pointer and the program counter, per target.
# The frame itself is read from the library: 'platform_frame', the
# target's description of its saved frame (src/<os>_<arch>/platform.c),
# whose offsets are checked against the assembly when it is compiled.
POINTERS = {"i386:x86-64": ("rsp", "rip"), "aarch64": ("sp", "pc"), "riscv:rv64": ("sp", "pc")}
RESUME = ("rip", "x30", "ra")            # the slot a context resumes at
REGISTERS = set(["rbp", "rbx", "r12", "r13", "r14", "r15"] +
                ["x%d" % i for i in range(19, 31)] + ["s%d" % i for i in range(12)] + ["ra"])


def frame_layout():
    arch = gdb.selected_frame().architecture().name()
    if arch not in POINTERS:
        raise gdb.GdbError("coroutines: no registers known for %s" % arch)
    slots = gdb.parse_and_eval("platform_frame")
    layout = {"sp": POINTERS[arch][0], "pc": POINTERS[arch][1], "regs": {}}
    i = 0
    while int(slots[i]["name"]) != 0:     # the last slot: no name, the size
        name, offset = slots[i]["name"].string(), int(slots[i]["offset"])
        if name in RESUME:
            layout["resume"] = offset
        if name in REGISTERS:
            layout["regs"][name] = offset
        i += 1
    layout["size"] = int(slots[i]["offset"])
    return layout


def read_word(address):
    pointer = gdb.lookup_type("unsigned long").pointer()
    return int(gdb.Value(address).cast(pointer).dereference())


def contexts():
    """Every coroutine of the current thread, from the registry 'g_ctx'."""
    registry = gdb.parse_and_eval("g_ctx")
    for i in range(int(registry["len"])):
        yield registry["items"][i]


def state_of(ctx, running):
    if int(ctx) == running:
        return "running"
    state = int(ctx["state"]) & 0xFFFFFFFF
    if state == CTX_FINISHED:
        return "finished"
    if state != CTX_LIVE:
        return "destroyed?"
    if bool(ctx["wait"]["waiting"]):
        return "waiting"
    resume = read_word(int(ctx["sp"]) + frame_layout()["resume"])
    start = int(gdb.parse_and_eval("&_asm_ctx_start").cast(gdb.lookup_type("unsigned long")))
    return "not started" if resume == start else "suspended"


CO_FOREVER = (1 << 63) - 1


def waits_for(ctx):
    """What a waiting coroutine waits for: a descriptor and direction,
    another coroutine, a deadline (from now, by this machine's monotonic
    clock, which is the program's when it runs here)."""
    wait = ctx["wait"]
    if not bool(wait["waiting"]):
        return ""
    what = []
    if int(wait["fd"]) >= 0:
        what.append("fd %d %s" % (int(wait["fd"]),
                                  "writable" if int(wait["what"]) == 2 else "readable"))
    if int(wait["joining"]) != 0:
        what.append("coroutine %d to finish" % int(wait["joining"]["id"]))
    elif int(wait["work"]) != 0:
        what.append("work offloaded to a worker thread")
    elif int(wait["nodes"]) != 0:
        what.append("a channel or lock")
    deadline = int(wait["deadline"])
    if deadline != CO_FOREVER:
        left = deadline - time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        what.append("deadline in %.1f ms" % (left / 1e6) if left >= 0 else
                    "deadline passed %.1f ms ago" % (-left / 1e6))
    elif not what:
        what.append("nothing (forever)")
    return ", ".join(what)


def function_name(ctx):
    block = gdb.block_for_pc(int(ctx["fn"]))
    while block is not None and block.function is None:
        block = block.superblock
    return block.function.name if block is not None else hex(int(ctx["fn"]))


def deepest_from_memory(bottom, top):
    """The lowest word that is not zero, read from the stack itself: where
    no function can be called (a core file, a kernel that refuses gdb's
    inferior calls). Untouched stack reads as zeros."""
    inferior = gdb.selected_inferior()
    block = 64 * 1024
    for start in range(bottom, top, block):
        data = bytes(inferior.read_memory(start, min(block, top - start)))
        stripped = data.lstrip(b"\0")
        if stripped:
            first = start + (len(data) - len(stripped)) // 8 * 8
            return top - first
    return 0


def high_water(ctx, bottom, top):
    try:
        return int(gdb.parse_and_eval("get_ctx_stack_used((sp_ctx)%d)" % int(ctx["handle"])))
    except gdb.error:
        try:
            return deepest_from_memory(bottom, top)
        except gdb.error:
            return None


def name_of(ctx):
    """Its name (set_ctx_name), quoted, then a space; or nothing."""
    try:
        name = ctx["name"].string()
    except gdb.error:
        return ""
    return '"%s" ' % name if name else ""


class InfoCoroutines(gdb.Command):
    """List the coroutines of the current thread: id, state, function, stack
range, bytes of stack in use now and at the deepest so far, and for a
waiting one what it waits for."""

    def __init__(self):
        super().__init__("info coroutines", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        running = int(gdb.parse_and_eval("ctx_current"))
        sp_now = int(gdb.parse_and_eval("$sp"))
        print("%4s  %-11s  %-20s  %-31s  %8s  %8s" %
              ("id", "state", "function", "stack", "in use", "deepest"))
        for ctx in contexts():
            state = state_of(ctx, running)
            base, size = int(ctx["stack"]["base"]), int(ctx["stack"]["size"])
            if base == 0:
                stack = in_use = deepest = "-"
            else:
                top = base + size
                stack = "%#x-%#x" % (base + STACK_GUARD, top)
                in_use = top - (sp_now if state == "running" else int(ctx["sp"]))
                deepest = high_water(ctx, base + STACK_GUARD, top)
                deepest = "-" if deepest is None else deepest
            print(("%4d  %-11s  %-20s  %-31s  %8s  %8s  %s%s" %
                   (int(ctx["id"]), state, function_name(ctx), stack, in_use, deepest,
                    name_of(ctx), waits_for(ctx))).rstrip())


class CoroutineBacktrace(gdb.Command):
    """coroutine bt ID: the backtrace of coroutine ID, without resuming it."""

    def __init__(self):
        super().__init__("coroutine", gdb.COMMAND_STACK, prefix=True)

    def invoke(self, arg, from_tty):
        words = arg.split()
        if len(words) != 2 or words[0] != "bt":
            raise gdb.GdbError("usage: coroutine bt ID")
        wanted = int(words[1])
        running = int(gdb.parse_and_eval("ctx_current"))
        for ctx in contexts():
            if int(ctx["id"]) != wanted:
                continue
            state = state_of(ctx, running)
            if state == "running":
                gdb.execute("bt")
            elif state in ("suspended", "not started", "waiting"):
                backtrace_of_frame(int(ctx["sp"]))
            else:
                raise gdb.GdbError("coroutine %d is %s: it has no stack" % (wanted, state))
            return
        raise gdb.GdbError("no coroutine %d in this thread" % wanted)


def backtrace_of_frame(sp):
    layout = frame_layout()
    gdb.newest_frame().select()
    names = [layout["sp"], layout["pc"]] + list(layout["regs"])
    saved = {name: int(gdb.parse_and_eval("$" + name)) for name in names}
    try:
        for name, offset in layout["regs"].items():
            gdb.execute("set $%s = %d" % (name, read_word(sp + offset)), to_string=True)
        gdb.execute("set $%s = %d" % (layout["pc"], read_word(sp + layout["resume"])),
                    to_string=True)
        gdb.execute("set $%s = %d" % (layout["sp"], sp + layout["size"]), to_string=True)
        gdb.execute("bt")
    finally:
        gdb.newest_frame().select()
        for name, value in saved.items():
            gdb.execute("set $%s = %d" % (name, value), to_string=True)


InfoCoroutines()
CoroutineBacktrace()
