#ifndef FLOTILLA_CLUAJIT_SHIM_H
#define FLOTILLA_CLUAJIT_SHIM_H
#include <lua.h>
#include <lualib.h>
#include <lauxlib.h>
#include <luajit.h>
#include <time.h>

/* A script's budget, checked by a count hook every 1,000 VM instructions (the JIT compiler is off, so the hook
   sees every instruction): instructions, memory in KiB and a monotonic deadline. Kept in the VM's registry. */
struct flotilla_lua_budget {
    long units_left;
    int kib_limit;
    double deadline;
    int stopped;   /* 1 instructions, 2 memory, 3 deadline */
};

static inline double flotilla_lua_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static inline struct flotilla_lua_budget *flotilla_lua_budget_of(lua_State *L) {
    lua_getfield(L, LUA_REGISTRYINDEX, "flotilla.budget");
    struct flotilla_lua_budget *b = (struct flotilla_lua_budget *)lua_touserdata(L, -1);
    lua_pop(L, 1);
    return b;
}

static inline void flotilla_lua_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    struct flotilla_lua_budget *b = flotilla_lua_budget_of(L);
    if (b == NULL) return;
    if (--b->units_left < 0) { b->stopped = 1; luaL_error(L, "the script ran past its instruction budget"); }
    if (lua_gc(L, LUA_GCCOUNT, 0) > b->kib_limit) { b->stopped = 2; luaL_error(L, "the script used more than its memory budget"); }
    if (flotilla_lua_now() > b->deadline) { b->stopped = 3; luaL_error(L, "the script ran past its deadline"); }
}

static inline void flotilla_lua_set_budget(lua_State *L, long thousands_of_instructions, int kib, double seconds) {
    struct flotilla_lua_budget *b = (struct flotilla_lua_budget *)lua_newuserdata(L, sizeof(struct flotilla_lua_budget));
    b->units_left = thousands_of_instructions;
    b->kib_limit = kib;
    b->deadline = flotilla_lua_now() + seconds;
    b->stopped = 0;
    lua_setfield(L, LUA_REGISTRYINDEX, "flotilla.budget");
    luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
    lua_sethook(L, flotilla_lua_hook, LUA_MASKCOUNT, 1000);
}

static inline int flotilla_lua_stop_reason(lua_State *L) {
    struct flotilla_lua_budget *b = flotilla_lua_budget_of(L);
    return b == NULL ? 0 : b->stopped;
}

/* The C API's macros, as functions Swift can call. */
static inline void flotilla_lua_pop(lua_State *L, int n) { lua_pop(L, n); }
static inline void flotilla_lua_newtable(lua_State *L) { lua_newtable(L); }
static inline const char *flotilla_lua_tostring(lua_State *L, int i, size_t *len) { return lua_tolstring(L, i, len); }
static inline void flotilla_lua_setglobal(lua_State *L, const char *name) { lua_setglobal(L, name); }
static inline void flotilla_lua_getglobal(lua_State *L, const char *name) { lua_getglobal(L, name); }
static inline int flotilla_lua_isnil(lua_State *L, int i) { return lua_isnil(L, i); }
static inline void flotilla_lua_open(lua_State *L, lua_CFunction f, const char *name) {
    lua_pushcfunction(L, f);
    lua_pushstring(L, name);
    lua_call(L, 1, 0);
}
#endif
