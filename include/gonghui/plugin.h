/**
 * @file plugin.h
 * @brief gonghui native plugin API.
 *
 * The one header a native plugin includes. A plugin is a shared object
 * (`NAME.so`) in the plugin path that exports one function,
 * gh_plugin_init(). The host calls it once, when a script first does
 * `plugin.load 'NAME'` or `require 'NAME'`, and hands it a table of
 * function pointers (#gh_api) through which the plugin declares its
 * functions. Scripts then call those functions with plain Lua values; the
 * host converts them, calls the C function through libffi, and converts the
 * result back. A plugin never sees the Lua C API, a Lua value or a pointer
 * into the host's data.
 *
 * A minimal plugin:
 *
 * @code
 *   #include <gonghui/plugin.h>
 *
 *   static int64_t add(int64_t a, int64_t b) { return a + b; }
 *
 *   GH_PLUGIN_EXPORT int gh_plugin_init(const gh_api *api, gh_plugin *p, char **errmsg) {
 *       if (gh_plugin_begin(api, p, "sum", "1.0") != 0)
 *           return GH_PLUGIN_ERROR;
 *       return api->function(p, "add", "i64(i64,i64)", GH_FN(add));
 *   }
 * @endcode
 *
 * and from Lua: `local sum = plugin.load 'sum'; print(sum.add(1, 2))`.
 *
 * @section versions Versions
 *
 * The table starts with its major and minor version and its size, and only
 * ever grows at its end: a plugin built against API 1.2 works with any host
 * of API 1.x, x >= 2. A new major version may change anything after the
 * fixed prefix (#gh_api.major, #gh_api.minor, #gh_api.size,
 * #gh_api.begin), which stays the same in every version, so that a plugin
 * built for another major can still be told so. The host refuses, with a
 * message naming both versions and before the plugin registers anything:
 *   - a plugin built for a different major version;
 *   - a plugin built for a newer minor version than the host's (it may use
 *     routines the host does not have).
 *
 * @section lifecycle Life cycle
 *
 * @verbatim
 *   dlopen(RTLD_NOW|RTLD_LOCAL) --> gh_plugin_init --> gh_plugin_begin -->
 *       api->function ... --> init returns 0 --> loaded (functions callable)
 *                                                   |
 *                         end of the Lua state: unload hook, dlclose
 *
 *   any failure on the way (no entry point, begin refused or not called,
 *   init returning non-zero, a bad registration): the unload hook if one
 *   was set, every registration undone, dlclose; the script gets the
 *   reason as an error. A plugin is never left half-loaded.
 * @endverbatim
 *
 * A plugin is loaded at most once per Lua state (later loads return the
 * same functions) and unloaded when the state closes.
 *
 * @section signatures Signatures
 *
 * A function is declared with a signature string `RET(ARG,ARG,...)`, for
 * example `"bool(str)"`, `"i64(str,f64)"`, `"str(str,err)"`, `"void()"`.
 * Spaces are allowed around names; at most #GH_MAX_ARGS arguments.
 *
 * | type  | C argument                           | C result           | Lua value          |
 * |-------|--------------------------------------|--------------------|--------------------|
 * | void  | (not an argument)                    | void               | no value           |
 * | bool  | bool                                 | bool               | boolean            |
 * | i32   | int32_t                              | int32_t            | integer in range   |
 * | i64   | int64_t                              | int64_t            | integer            |
 * | u32   | uint32_t                             | uint32_t           | integer in range   |
 * | u64   | uint64_t                             | uint64_t           | integer >= 0 (1)   |
 * | f64   | double                               | double             | number             |
 * | str   | const char * (borrowed, 2)           | char * (3)         | string             |
 * | bytes | const void *, size_t (two arguments) | #gh_bytes (3)      | string             |
 * | err   | #gh_err * (last argument only, 4)    | (not a result)     | (no argument)      |
 *
 * (1) A u64 result above 2^63-1 becomes a float in Lua.
 * (2) A `str` argument is valid only during the call, NUL-terminated, and
 *     has no NUL inside (the host refuses such strings: use `bytes`).
 * (3) A string or bytes result must be allocated with #gh_api.alloc (or
 *     #gh_api.strdup, #gh_api.mprintf); the host copies it into Lua and frees
 *     it. NULL (or a #gh_bytes with data NULL) becomes `nil`.
 * (4) The error-out convention: a function whose last argument is `err`
 *     receives a #gh_err pointer. Calling #gh_api.error on it makes the call
 *     fail: the host frees the result (if a string or bytes), and the script
 *     gets a Lua error `PLUGIN.FUNCTION: MESSAGE`. Lua does not pass this
 *     argument: `"str(str,err)"` is called as `f(s)`.
 *
 * Lua arguments are checked before the call: their number must match
 * exactly, and each must have the type above; otherwise the script gets an
 * error naming the plugin, the function, the argument number and the type
 * expected. No Lua error is ever raised while a plugin function runs.
 *
 * @section memory Memory
 *
 * Memory a plugin allocates through #gh_api.alloc counts against the run's
 * memory limit (`gonghui run --memory`); allocations can therefore fail
 * (return NULL) and plugins must handle that.
 *
 * @section records Records (API 1.1)
 *
 * A plugin function declared with an `err` argument, and a C event handler,
 * may read and write records with #gh_api.get, #gh_api.put, #gh_api.del and
 * #gh_api.scan. They act exactly as the script's own `db` calls at that
 * point would: inside the script's `db.atomic` transaction when the call
 * happens in one (and inside the publishing transaction, for a handler), so
 * what a plugin writes commits or rolls back with the script's work; with
 * the same checks of types, required fields and unique indexes; and with the
 * same change events for collections defined with `events = true`.
 * Collections whose names start with `_` (gonghui's own) are refused.
 *
 * Records travel as MessagePack: a record is a map from field names to
 * values (absent optional fields are left out), a key is one MessagePack
 * value (an integer or a string). Records read can be had as JSON text
 * instead (#GH_REC_JSON), for plugins without a MessagePack decoder.
 *
 * When a record routine fails (a unique value already taken, a wrong type,
 * no such collection), the message is set on the call's `err` as by
 * #gh_api.error and the routine returns #GH_PLUGIN_ERROR: the call fails
 * with that message whatever the function does next, so the function should
 * return at once. Later record routines of the same call are refused.
 *
 * @section threads Threads
 *
 * The host calls a plugin from one thread at a time. The table is valid
 * from gh_plugin_init until the plugin is unloaded; a plugin may keep the
 * pointer in a static variable to use it inside its functions.
 */
#ifndef GONGHUI_PLUGIN_H
#define GONGHUI_PLUGIN_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup version API version
 * @{ */
#define GH_API_MAJOR 1 /**< changes when the table changes incompatibly */
#define GH_API_MINOR 4 /**< grows when routines are added at the end of the table */
/** @} */

/** The largest number of Lua-visible arguments of a plugin function. */
#define GH_MAX_ARGS 16

/** @defgroup results Result codes of the API routines
 * @{ */
#define GH_PLUGIN_OK 0 /**< success */
#define GH_PLUGIN_ERROR (-1)
/**< failure; the host has the reason and shows it (the plugin returns it
 * from gh_plugin_init as it is) */
/** @} */

/** Marks the entry point as exported (plugins are best built with
 * -fvisibility=hidden so that nothing else is). */
#define GH_PLUGIN_EXPORT __attribute__((visibility("default")))

/** A printf-like routine: checks the format against the arguments. */
#define GH_PRINTF(f, a) __attribute__((format(printf, f, a)))

/** The host's record of the plugin being loaded (opaque). Borrowed: valid
 * until the plugin is unloaded. */
typedef struct gh_plugin gh_plugin;

/** The error-out argument of a function declared with `err` (opaque).
 * Borrowed: valid only during that call. */
typedef struct gh_err gh_err;

/** A `bytes` result: `data` allocated with #gh_api.alloc (the host frees
 * it), `len` bytes long. `data == NULL` is `nil` in Lua. */
typedef struct gh_bytes {
    void *data;
    size_t len;
} gh_bytes;

/** An event handed to a handler subscribed with #gh_api.subscribe.
 * Borrowed: every pointer is valid only during the handler's call. New
 * fields may be added at the end (the host makes the struct). */
typedef struct gh_event {
    const char *topic; /**< the topic (not NUL-terminated: use topic_len) */
    size_t topic_len;
    const void *payload; /**< the payload as one MessagePack value */
    size_t payload_len;
    int64_t seq;  /**< its sequence number in the log; 0 for bus.emit */
    int64_t time; /**< milliseconds since 1970 (UTC); 0 for bus.emit */
} gh_event;

/** An event handler: ud is the pointer given to #gh_api.subscribe. To fail
 * (and roll back the transaction of the publish), call #gh_api.error on
 * err. */
typedef void (*gh_handler)(void *ud, const gh_event *ev, gh_err *err);

/** Flags of the record routines (API 1.1). */
#define GH_REC_JSON 1u /**< records read are handed out as JSON text (an object), not MessagePack */

/** Modes of #gh_api.put (API 1.1). */
enum gh_put_mode {
    GH_REC_INSERT = 0, /**< a new record: fails if its key is taken */
    GH_REC_PUT = 1,    /**< inserts, or replaces the whole record with that key */
    GH_REC_UPDATE = 2  /**< changes the fields given (the key field names the record);
                        * fails if there is no such record */
};

/** A callback of #gh_api.scan: rec is one record (a MessagePack map, or JSON
 * text with #GH_REC_JSON), borrowed for the call. Return 0 to go on, any
 * other value to stop the scan there. It may call the record routines. */
typedef int (*gh_scan_fn)(void *ud, const void *rec, size_t len);

/** Any plugin function, as handed to #gh_api.function (cast with GH_FN). */
typedef void (*gh_fn)(void);
#define GH_FN(f) ((gh_fn)(void (*)(void))(f))

/** The table of API routines handed to gh_plugin_init.
 *
 * Append-only: new routines go at the end, with a new #GH_API_MINOR. A
 * plugin that wants to run on older hosts checks `api->minor` (or
 * `api->size`) before it uses a routine added later. */
typedef struct gh_api {
    /* ---- the fixed prefix: the same in every major version ---- */
    uint32_t major; /**< the host's #GH_API_MAJOR */
    uint32_t minor; /**< the host's #GH_API_MINOR */
    size_t size;    /**< sizeof(gh_api) in the host */

    /** Tells the host which API the plugin was built for; call it through
     * gh_plugin_begin() as the first thing in gh_plugin_init.
     * @param[in] p the plugin (from gh_plugin_init)
     * @param[in] major, minor, size the plugin's #GH_API_MAJOR,
     *            #GH_API_MINOR and sizeof(gh_api)
     * @param[in] name the plugin's name, for messages (copied); it must be
     *            the file's name without `.so`
     * @param[in] version the plugin's own version (copied)
     * @return #GH_PLUGIN_OK, or #GH_PLUGIN_ERROR if the plugin was built for
     *         another major or a newer minor version, or the name does not
     *         match: the plugin must then return #GH_PLUGIN_ERROR at once
     *         (the host has the message). A plugin that does not call it
     *         is refused. */
    int (*begin)(gh_plugin *p, uint32_t major, uint32_t minor, size_t size, const char *name,
                 const char *version);

    /* ---- API 1.0 ---- */

    /** Declares a function scripts may call.
     * @param[in] p the plugin
     * @param[in] name the name Lua sees: letters, digits and `_`, not
     *            starting with a digit; unique within the plugin (copied)
     * @param[in] signature its types, see @ref signatures (copied)
     * @param[in] fn the C function, cast with GH_FN; its real prototype
     *            must match the signature exactly
     * @return #GH_PLUGIN_OK, or #GH_PLUGIN_ERROR for a bad name, a duplicate
     *         name, or a malformed signature or unknown type in it: the load
     *         then fails with that reason even if gh_plugin_init returns 0.
     * @note Only during gh_plugin_init. The libffi call interface is
     *       prepared here, once. */
    int (*function)(gh_plugin *p, const char *name, const char *signature, gh_fn fn);

    /** Allocates n bytes (n > 0) counted against the run's memory limit.
     * @return the block, or NULL if there is no memory left or the limit
     *         is reached. Caller frees with #gh_api.free, or hands it to the
     *         host as a `str`/`bytes` result. */
    void *(*alloc)(size_t n);

    /** Resizes a block from #gh_api.alloc (ptr NULL: like alloc).
     * @return the new block, or NULL (the old one is then still valid). */
    void *(*realloc)(void *ptr, size_t n);

    /** Frees a block from #gh_api.alloc; NULL is a no-op. */
    void (*free)(void *ptr);

    /** A copy of s in a block from #gh_api.alloc, or NULL if out of
     * memory. Caller frees with #gh_api.free (or returns it as `str`). */
    char *(*strdup)(const char *s);

    /** printf into a block from #gh_api.alloc, or NULL if out of memory.
     * Caller frees with #gh_api.free (or returns it as `str`, or puts it in
     * *errmsg of gh_plugin_init). */
    char *(*mprintf)(const char *fmt, ...)GH_PRINTF(1, 2);

    /** Makes the current call fail with a message (printf format); the
     * script gets `PLUGIN.FUNCTION: message` as a Lua error once the
     * function has returned. Only the first message of a call is kept. The
     * function still returns normally (any value; a string or bytes
     * result is freed by the host).
     * @param[in] err the `err` argument the function received */
    void (*error)(gh_err *err, const char *fmt, ...) GH_PRINTF(2, 3);

    /** Registers fn to be called once, just before the plugin is unloaded
     * (the end of the Lua state, or a load that fails after this call),
     * to free what the plugin holds. At most one per plugin; a later call
     * replaces it. Only during gh_plugin_init.
     * @return #GH_PLUGIN_OK */
    int (*on_unload)(gh_plugin *p, void (*fn)(void *ud), void *ud);

    /** Subscribes a C handler to the events whose topic matches pattern
     * (`award.*`, `member.**`: the patterns of `bus.on`). The handler is
     * called through the same dispatch as Lua's bus.on handlers, inside the
     * publishing transaction, after those registered before the plugin was
     * loaded; an error it reports rolls the transaction back and becomes
     * the Lua error of the publish.
     * @param[in] p the plugin
     * @param[in] pattern the topic pattern (copied)
     * @param[in] fn the handler
     * @param[in] ud handed to fn as it is (borrowed: the plugin's)
     * @return #GH_PLUGIN_OK, or #GH_PLUGIN_ERROR for a malformed pattern
     *         (the load then fails with the reason).
     * @note Only during gh_plugin_init. */
    int (*subscribe)(gh_plugin *p, const char *pattern, gh_handler fn, void *ud);

    /* ---- API 1.1: records (see @ref records) and the run's clock ---- */

    /** Reads the record with key `key` of a collection.
     * @param[in] err the `err` argument of the running call or handler
     * @param[in] collection its name
     * @param[in] key, key_len the key as one MessagePack value (borrowed)
     * @param[in] flags 0, or #GH_REC_JSON for JSON text
     * @param[out] out the record (a MessagePack map or JSON text) in a block
     *             from #gh_api.alloc that the caller frees with #gh_api.free;
     *             data NULL when there is none
     * @return 1 when the record exists, 0 when it does not, #GH_PLUGIN_ERROR
     *         on failure (the call fails with the message). */
    int (*get)(gh_err *err, const char *collection, const void *key, size_t key_len, unsigned flags,
               gh_bytes *out);

    /** Writes a record: `rec` is a MessagePack map of field names to values
     * (borrowed), checked against the collection's definition.
     * @param[in] mode a #gh_put_mode
     * @return #GH_PLUGIN_OK, or #GH_PLUGIN_ERROR (a refused record, a taken
     *         key or unique value, no record to update: the call fails with
     *         the message, which names the field and value). */
    int (*put)(gh_err *err, const char *collection, const void *rec, size_t len, int mode);

    /** Deletes the record with key `key` (one MessagePack value, borrowed).
     * @return 1 if it was deleted, 0 if there was none, #GH_PLUGIN_ERROR. */
    int (*del)(gh_err *err, const char *collection, const void *key, size_t key_len);

    /** Calls fn for each record a scan finds, in order. `spec` is NULL (every
     * record, in key order) or a MessagePack map with the keys of Lua's
     * `coll:scan{...}` (README: field conditions, `index`, `eq`, `prefix`,
     * `from`, `to`, `reverse`, `limit`, `offset`), borrowed.
     * @param[in] flags 0, or #GH_REC_JSON
     * @return the number of records handed to fn (the one that stopped the
     *         scan included), or #GH_PLUGIN_ERROR. */
    int64_t (*scan)(gh_err *err, const char *collection, const void *spec, size_t spec_len,
                    unsigned flags, gh_scan_fn fn, void *ud);

    /** The time the running script sees, in seconds since 1970 (UTC): its
     * start, or `gonghui run --now`, plus the time it has run since (what
     * `os.time()` returns to the script). Use it instead of time() so that
     * a run replayed with --now gives the same results.
     * @param[in] err the running call's `err`, or NULL (then the time of the
     *            innermost running call, or the system clock outside calls) */
    int64_t (*now)(gh_err *err);

    /** Whether the running script may have a file written at `path`: scripts
     * write only inside the run's output folder (`gonghui run --out`), and a
     * plugin that writes files for a script must ask first. Calls made by
     * gonghui itself (export, the REPL) may write anywhere.
     * @param[in] err the running call's `err`
     * @param[in] path the file to be written, as the script gave it
     * @return #GH_PLUGIN_OK, or #GH_PLUGIN_ERROR with the call failing with
     *         a message naming the path and the output folder. */
    int (*may_write)(gh_err *err, const char *path);

    /** (minor 2) Whether the running script may read the file at `path`:
     * scripts read only in the folders their run names (the script's
     * folder, scripts/lib, `gonghui run --in DIR`, the output folder), never
     * inside a database folder. A plugin that reads files for a script must
     * ask first. Calls made by gonghui itself (import) may read anywhere.
     * @param[in] err the running call's `err`
     * @param[in] path the file to be read, as the script gave it
     * @return #GH_PLUGIN_OK, or #GH_PLUGIN_ERROR with the call failing with
     *         a message naming the path and the folders. */
    int (*may_read)(gh_err *err, const char *path);

    /** (minor 3) The day number of a date of the (proleptic) Gregorian
     * calendar: days since 1970-01-01, negative before it. The host's one
     * copy of the date arithmetic, so that a plugin need not carry its own.
     * @param[in] y, m, d a real date (see #gh_api.date_day); not checked
     * @return the day number */
    int64_t (*day_number)(int64_t y, int m, int d);

    /** (minor 3) The Gregorian date of a day number (the inverse of
     * #gh_api.day_number).
     * @param[in] day days since 1970-01-01
     * @param[out] y, m, d the date */
    void (*day_date)(int64_t day, int *y, int *m, int *d);

    /** (minor 3) The days of a month of the Gregorian calendar.
     * @param[in] y the year
     * @param[in] m the month, 1 to 12
     * @return 28 to 31, or 0 when m is not a month */
    int (*month_days)(int64_t y, int m);

    /** (minor 3) Reads a date as gonghui stores one, 'YYYY-MM-DD' (a real
     * date: the month has that day), into its day number: what a plugin
     * function taking a date from a script needs.
     * @param[in] err the running call's `err`
     * @param[in] s the text (NUL-terminated)
     * @param[out] day its day number, set only on success
     * @return #GH_PLUGIN_OK, or #GH_PLUGIN_ERROR with the call failing with
     *         a message quoting the text: "expects a date YYYY-MM-DD, got
     *         '...'" or "'...' is not a real date". */
    int (*date_day)(gh_err *err, const char *s, int64_t *day);

    /** (minor 4) Text as a file can hold it, by the host's one UTF-8
     * cleaner (what `gonghui export` writes for text stored before the host
     * refused bytes that are not UTF-8): a plugin writing a file (a
     * workbook's XML) calls it on each piece of text it is handed.
     * @param[in] s, n the text
     * @param[out] out when the text is not valid UTF-8: a NUL-terminated
     *             copy in which each such byte is U+FFFD (a question mark in
     *             a box), from #gh_api.alloc (free it with #gh_api.free);
     *             untouched otherwise
     * @param[out] out_n the copy's length in bytes
     * @return 0 when the text is valid UTF-8 (nothing to clean), 1 when
     *         *out holds the cleaned copy, -1 when out of memory */
    int (*utf8_clean)(const char *s, size_t n, char **out, size_t *out_n);
} gh_api;

/** The entry point every plugin exports (with #GH_PLUGIN_EXPORT).
 * @param[in] api the API table, valid until the plugin is unloaded
 * @param[in] p the plugin's handle for the routines that take one
 * @param[out] errmsg on failure, the plugin may set *errmsg to a message
 *             from #gh_api.mprintf or #gh_api.strdup (the host frees it and
 *             shows it to the script)
 * @return #GH_PLUGIN_OK, or any other value to refuse loading. */
GH_PLUGIN_EXPORT int gh_plugin_init(const gh_api *api, gh_plugin *p, char **errmsg);

/** The first call of every gh_plugin_init: tells the host the API version
 * the plugin was built for. See #gh_api.begin. */
static inline int gh_plugin_begin(const gh_api *api, gh_plugin *p, const char *name,
                                  const char *version) {
    return api->begin(p, GH_API_MAJOR, GH_API_MINOR, sizeof(gh_api), name, version);
}

#ifdef __cplusplus
}
#endif

#endif /* GONGHUI_PLUGIN_H */
