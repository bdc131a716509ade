/*
 * nats.c — the `nats` plugin: a small JetStream face (libnats, Debian
 * libnats-dev) for the federation shipper and receiver
 * (scripts/lib/federation.lua; README "Beyond one machine").
 *
 * Why a plugin and not the core: the core links no network library (the
 * design's rule: heavy dependencies live in plugins), a build without
 * libnats simply has no `nats` plugin (federation commands say so), and
 * everything the shipper does in the database goes through the same Lua
 * `bus` and `db` calls as any consumer (the durable consumer's cursor, the
 * receiver's idempotency record in the transaction of the received event).
 *
 * What Lua sees (handles are small integers; no pointer leaves the plugin):
 *
 *   h = nats.connect(opts)                 opts: "key=value" lines (servers,
 *                                          name, creds, tls_ca, tls_cert,
 *                                          tls_key, tls, timeout_ms); a user
 *                                          and password or a token come from
 *                                          $GONGHUI_NATS_USER, _PASSWORD, _TOKEN
 *   nats.close(h)
 *   created = nats.stream(h, name, subjects, replicas, dup_window_ms)
 *   nats.publish(h, subject, msg_id, data) asynchronous; Nats-Msg-Id = msg_id
 *   n = nats.complete(h, timeout_ms)       waits for every ack since the last
 *                                          call; fails if any publish failed
 *                                          or was not acked in time
 *   packed = nats.fetch(h, stream, durable, filter, batch, timeout_ms, ack_wait_ms)
 *                                          pull consumer `durable` on `stream`;
 *                                          messages are held until nats.ack;
 *                                          (an empty stream waits timeout_ms)
 *   n = nats.ack(h)                        acks the held messages, flushes
 *   nats.drop_held(h)                      forgets them unacked (redelivered later)
 *   info = nats.stream_info(h, stream)     "msgs=N\nfirst_seq=N\nlast_seq=N\n" or ""
 *   info = nats.consumer_info(h, stream, durable)
 *                                          "pending=N\nack_pending=N\ndelivered=N\n" or ""
 *   id = nats.last_msg_id(h, stream, subject)   Nats-Msg-Id of the last message, or ""
 *   nats.delete_consumer(h, stream, durable)    true if there was one
 *   nats.sleep(ms)
 *
 * fetch's result: per message, string.pack('<s4s4s4I8I8', subject, msg_id,
 * data, stream_seq, num_delivered).
 *
 * Invariants:
 *  1. A message fetched is acked only by nats.ack, which the receiver calls
 *     after its transaction committed: a crash before leaves it unacked, so
 *     JetStream delivers it again (after the consumer's ack wait).
 *  2. nats.complete returns only when every publish since the last call was
 *     acked by the stream; otherwise it fails, and the shipper leaves its
 *     cursor where it was (the next try publishes the same ids again, which
 *     JetStream drops within its duplicate window).
 *  3. Every libnats object is released by close, by the unload hook, or on
 *     the error path that made it.
 */
#include <gonghui/plugin.h>

#include <nats/nats.h>

#include <dlfcn.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const gh_api *api;

#define MAX_CONNS 16
#define MAX_SUBS 256

typedef struct pull_sub {
    char *stream, *durable;
    natsSubscription *sub;
} pull_sub;

typedef struct conn {
    int used;
    natsConnection *nc;
    jsCtx *js;
    pthread_mutex_t mu; /* guards failed/first_err: acks arrive on libnats's threads */
    int64_t failed, published;
    char first_err[256];
    pull_sub subs[MAX_SUBS];
    int nsubs;
    natsMsg **held;
    int nheld, capheld;
} conn;

static conn conns[MAX_CONNS];

static conn *get_conn(int64_t h, gh_err *err) {
    if (h < 1 || h > MAX_CONNS || !conns[h - 1].used) {
        api->error(err, "no open connection %lld (nats.connect gives one)", (long long)h);
        return NULL;
    }
    return &conns[h - 1];
}

static void say(gh_err *err, const char *what, natsStatus s, jsErrCode jerr) {
    const char *last = nats_GetLastError(NULL);
    if (jerr) {
        api->error(err, "%s: %s (JetStream error %d)", what,
                   last && *last ? last : natsStatus_GetText(s), (int)jerr);
    } else {
        api->error(err, "%s: %s", what, last && *last ? last : natsStatus_GetText(s));
    }
}

/* A JetStream answer meaning "there is none" (a stream, a consumer, a
 * message), which libnats reports either way. */
static int not_found(natsStatus s, jsErrCode jerr) {
    return s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr || jerr == JSConsumerNotFoundErr ||
           jerr == JSNoMessageFoundErr;
}

static void on_pub_error(jsCtx *js, jsPubAckErr *pae, void *closure) {
    conn *c = closure;
    (void)js;
    pthread_mutex_lock(&c->mu);
    if (c->failed++ == 0) {
        snprintf(c->first_err, sizeof c->first_err, "%s",
                 pae->ErrText ? pae->ErrText : natsStatus_GetText(pae->Err));
    }
    pthread_mutex_unlock(&c->mu);
}

static void drop_held(conn *c) {
    for (int i = 0; i < c->nheld; i++) {
        natsMsg_Destroy(c->held[i]);
    }
    c->nheld = 0;
}

static void conn_free(conn *c) {
    if (!c->used) {
        return;
    }
    drop_held(c);
    free(c->held);
    for (int i = 0; i < c->nsubs; i++) {
        natsSubscription_Destroy(c->subs[i].sub);
        free(c->subs[i].stream);
        free(c->subs[i].durable);
    }
    jsCtx_Destroy(c->js);
    natsConnection_Destroy(c->nc);
    pthread_mutex_destroy(&c->mu);
    memset(c, 0, sizeof *c);
}

/* ---- connect ------------------------------------------------------------------------------ */

/* The value of `key` in "key=value" lines, copied into out; 1 if present. */
static int opt(const char *opts, const char *key, char *out, size_t n) {
    size_t kl = strlen(key);
    for (const char *p = opts; p && *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
            size_t vl = len - kl - 1;
            if (vl >= n) {
                vl = n - 1;
            }
            memcpy(out, p + kl + 1, vl);
            out[vl] = 0;
            return 1;
        }
        p = e ? e + 1 : NULL;
    }
    return 0;
}

static int64_t nats_connect(const char *opts, gh_err *err) {
    natsOptions *o = NULL;
    natsStatus s;
    char v[4096], v2[4096];
    const char *servers[32];
    int nservers = 0, slot = -1;
    for (int i = 0; i < MAX_CONNS; i++) {
        if (!conns[i].used) {
            slot = i;
            break;
        }
    }
    if (slot < 0) {
        api->error(err, "at most %d connections at once", MAX_CONNS);
        return 0;
    }
    conn *c = &conns[slot];
    if ((s = natsOptions_Create(&o)) != NATS_OK) {
        say(err, "connect", s, 0);
        return 0;
    }
    char list[4096] = "nats://127.0.0.1:4222";
    opt(opts, "servers", list, sizeof list);
    for (char *tok = strtok(list, ","); tok && nservers < 32; tok = strtok(NULL, ",")) {
        while (*tok == ' ') {
            tok++;
        }
        servers[nservers++] = tok;
    }
    s = natsOptions_SetServers(o, servers, nservers);
    if (s == NATS_OK && opt(opts, "name", v, sizeof v)) {
        s = natsOptions_SetName(o, v);
    }
    if (s == NATS_OK && opt(opts, "creds", v, sizeof v)) {
        s = natsOptions_SetUserCredentialsFromFiles(o, v, NULL);
    }
    /* a user and password, or a token: from the environment, so that they
     * never pass through a script's parameters or a run record */
    const char *user = getenv("GONGHUI_NATS_USER"), *pass = getenv("GONGHUI_NATS_PASSWORD"),
               *token = getenv("GONGHUI_NATS_TOKEN");
    if (s == NATS_OK && user && *user) {
        s = natsOptions_SetUserInfo(o, user, pass ? pass : "");
    }
    if (s == NATS_OK && token && *token) {
        s = natsOptions_SetToken(o, token);
    }
    if (s == NATS_OK && opt(opts, "tls", v, sizeof v) && strcmp(v, "1") == 0) {
        s = natsOptions_SetSecure(o, true);
    }
    if (s == NATS_OK && opt(opts, "tls_ca", v, sizeof v)) {
        s = natsOptions_SetSecure(o, true);
        if (s == NATS_OK) {
            s = natsOptions_LoadCATrustedCertificates(o, v);
        }
    }
    if (s == NATS_OK && opt(opts, "tls_cert", v, sizeof v)) {
        if (!opt(opts, "tls_key", v2, sizeof v2)) {
            natsOptions_Destroy(o);
            api->error(err, "connect: tls_cert needs tls_key (the certificate's private key)");
            return 0;
        }
        s = natsOptions_SetSecure(o, true);
        if (s == NATS_OK) {
            s = natsOptions_LoadCertificatesChain(o, v, v2);
        }
    }
    if (s == NATS_OK && opt(opts, "timeout_ms", v, sizeof v)) {
        s = natsOptions_SetTimeout(o, atoll(v));
    }
    /* a node of a cluster going away: reconnect to another, for ever, quickly */
    if (s == NATS_OK) {
        s = natsOptions_SetMaxReconnect(o, -1);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetReconnectWait(o, 100);
    }
    if (s != NATS_OK) {
        say(err, "connect: options", s, 0);
        natsOptions_Destroy(o);
        return 0;
    }
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    c->used = 1;
    s = natsConnection_Connect(&c->nc, o);
    natsOptions_Destroy(o);
    if (s != NATS_OK) {
        say(err, "connect", s, 0);
        conn_free(c);
        return 0;
    }
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.PublishAsync.ErrHandler = on_pub_error;
    jo.PublishAsync.ErrHandlerClosure = c;
    jo.PublishAsync.MaxPending = 4096;
    if ((s = natsConnection_JetStream(&c->js, c->nc, &jo)) != NATS_OK) {
        say(err, "connect: JetStream", s, 0);
        conn_free(c);
        return 0;
    }
    return slot + 1;
}

static void nats_close(int64_t h) {
    if (h >= 1 && h <= MAX_CONNS) {
        conn_free(&conns[h - 1]);
    }
}

/* ---- streams and publishing ------------------------------------------------------------------ */

static bool nats_stream(int64_t h, const char *name, const char *subjects, int64_t replicas,
                        int64_t dup_ms, gh_err *err) {
    conn *c = get_conn(h, err);
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    if (!c) {
        return false;
    }
    natsStatus s = js_GetStreamInfo(&si, c->js, name, NULL, &jerr);
    if (s == NATS_OK) {
        jsStreamInfo_Destroy(si);
        return false;
    }
    if (!not_found(s, jerr)) {
        say(err, "stream info", s, jerr);
        return false;
    }
    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    const char *subj[1] = {subjects};
    sc.Name = name;
    sc.Subjects = subj;
    sc.SubjectsLen = 1;
    sc.Storage = js_FileStorage;
    sc.Replicas = replicas > 0 ? replicas : 1;
    sc.Duplicates = dup_ms > 0 ? dup_ms * 1000000 : 0; /* nanoseconds */
    jerr = 0;
    s = js_AddStream(&si, c->js, &sc, NULL, &jerr);
    if (s != NATS_OK) {
        say(err, "add stream", s, jerr);
        return false;
    }
    jsStreamInfo_Destroy(si);
    return true;
}

static bool nats_publish(int64_t h, const char *subject, const char *msg_id, const void *data,
                         size_t len, gh_err *err) {
    conn *c = get_conn(h, err);
    if (!c) {
        return false;
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = msg_id;
    natsStatus s = js_PublishAsync(c->js, subject, data, (int)len, &po);
    if (s != NATS_OK) {
        say(err, "publish", s, 0);
        return false;
    }
    c->published++;
    return true;
}

static int64_t nats_complete(int64_t h, int64_t timeout_ms, gh_err *err) {
    conn *c = get_conn(h, err);
    if (!c) {
        return 0;
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = timeout_ms > 0 ? timeout_ms : 10000;
    natsStatus s = js_PublishAsyncComplete(c->js, &po);
    int64_t n = c->published;
    c->published = 0;
    if (s != NATS_OK) {
        natsMsgList pending;
        if (js_PublishAsyncGetPendingList(&pending, c->js) == NATS_OK) {
            natsMsgList_Destroy(&pending); /* they go again, with their ids, next time */
        }
        pthread_mutex_lock(&c->mu);
        c->failed = 0;
        pthread_mutex_unlock(&c->mu);
        say(err, "waiting for the stream's acks", s, 0);
        return 0;
    }
    pthread_mutex_lock(&c->mu);
    int64_t failed = c->failed;
    char first[256];
    snprintf(first, sizeof first, "%s", c->first_err);
    c->failed = 0;
    pthread_mutex_unlock(&c->mu);
    if (failed) {
        api->error(err, "%lld of %lld publishes failed; the first: %s", (long long)failed,
                   (long long)n, first);
        return 0;
    }
    return n;
}

/* ---- pulling ------------------------------------------------------------------------------------ */

static pull_sub *find_sub(conn *c, const char *stream, const char *durable) {
    for (int i = 0; i < c->nsubs; i++) {
        if (strcmp(c->subs[i].stream, stream) == 0 && strcmp(c->subs[i].durable, durable) == 0) {
            return &c->subs[i];
        }
    }
    return NULL;
}

static void forget_sub(conn *c, const char *stream, const char *durable) {
    pull_sub *p = find_sub(c, stream, durable);
    if (p) {
        natsSubscription_Destroy(p->sub);
        free(p->stream);
        free(p->durable);
        *p = c->subs[--c->nsubs];
    }
}

static int put_u32(unsigned char **p, uint32_t v) {
    memcpy(*p, &v, 4); /* little-endian hosts only (amd64, arm64): string.unpack '<' */
    *p += 4;
    return 0;
}

static gh_bytes nats_fetch(int64_t h, const char *stream, const char *durable, const char *filter,
                           int64_t batch, int64_t timeout_ms, int64_t ack_wait_ms, gh_err *err) {
    gh_bytes out = {NULL, 0};
    conn *c = get_conn(h, err);
    natsStatus s;
    jsErrCode jerr = 0;
    if (!c) {
        return out;
    }
    if (c->nheld) {
        api->error(err, "fetch: %d messages fetched before are not acked yet (nats.ack first)",
                   c->nheld);
        return out;
    }
    pull_sub *p = find_sub(c, stream, durable);
    if (!p) {
        if (c->nsubs == MAX_SUBS) {
            api->error(err, "fetch: at most %d pull consumers per connection", MAX_SUBS);
            return out;
        }
        jsOptions jo;
        jsSubOptions so;
        jsOptions_Init(&jo);
        jsSubOptions_Init(&so);
        so.Stream = stream;
        so.Config.AckPolicy = js_AckExplicit;
        so.Config.DeliverPolicy = js_DeliverAll;
        so.Config.AckWait = (ack_wait_ms > 0 ? ack_wait_ms : 30000) * 1000000;
        so.Config.MaxAckPending = 100000;
        natsSubscription *sub = NULL;
        s = js_PullSubscribe(&sub, c->js, filter, durable, &jo, &so, &jerr);
        if (s != NATS_OK) {
            say(err, "pull consumer", s, jerr);
            return out;
        }
        p = &c->subs[c->nsubs++];
        p->sub = sub;
        p->stream = strdup(stream);
        p->durable = strdup(durable);
        if (!p->stream || !p->durable) {
            forget_sub(c, stream, durable);
            api->error(err, "out of memory");
            return out;
        }
    }
    natsMsgList list = {0};
    /* libnats first asks for what is there now and returns it; only an
     * empty stream waits timeout_ms (the receiver keeps that short: a
     * NoWait request with an expiry waited the whole expiry on libnats 3.4
     * and nats-server 2.9, measured) */
    s = natsSubscription_Fetch(&list, p->sub, (int)(batch > 0 ? batch : 100),
                               timeout_ms > 0 ? timeout_ms : 20, &jerr);
    if (s == NATS_TIMEOUT || s == NATS_NOT_FOUND) {
        natsMsgList_Destroy(&list);
        out.data = api->alloc(1);
        return out; /* "" : nothing now */
    }
    if (s != NATS_OK) {
        natsMsgList_Destroy(&list);
        say(err, "fetch", s, jerr);
        return out;
    }
    size_t need = 0;
    for (int i = 0; i < list.Count; i++) {
        const char *id = NULL;
        natsMsgHeader_Get(list.Msgs[i], "Nats-Msg-Id", &id);
        need += 12 + 16 + strlen(natsMsg_GetSubject(list.Msgs[i])) + (id ? strlen(id) : 0) +
                (size_t)natsMsg_GetDataLength(list.Msgs[i]);
    }
    if (c->capheld < list.Count) {
        natsMsg **m = realloc(c->held, (size_t)list.Count * sizeof *m);
        if (!m) {
            natsMsgList_Destroy(&list);
            api->error(err, "out of memory");
            return out;
        }
        c->held = m;
        c->capheld = list.Count;
    }
    unsigned char *buf = api->alloc(need + 1), *q = buf;
    if (!buf) {
        natsMsgList_Destroy(&list);
        api->error(err, "out of memory");
        return out;
    }
    for (int i = 0; i < list.Count; i++) {
        natsMsg *m = list.Msgs[i];
        const char *id = NULL, *subj = natsMsg_GetSubject(m);
        jsMsgMetaData *meta = NULL;
        uint64_t sseq = 0, ndel = 0;
        natsMsgHeader_Get(m, "Nats-Msg-Id", &id);
        if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
            sseq = meta->Sequence.Stream;
            ndel = meta->NumDelivered;
            jsMsgMetaData_Destroy(meta);
        }
        uint32_t sl = (uint32_t)strlen(subj), il = id ? (uint32_t)strlen(id) : 0,
                 dl = (uint32_t)natsMsg_GetDataLength(m);
        put_u32(&q, sl);
        memcpy(q, subj, sl);
        q += sl;
        put_u32(&q, il);
        if (il) {
            memcpy(q, id, il);
        }
        q += il;
        put_u32(&q, dl);
        if (dl) {
            memcpy(q, natsMsg_GetData(m), dl);
        }
        q += dl;
        memcpy(q, &sseq, 8);
        q += 8;
        memcpy(q, &ndel, 8);
        q += 8;
        c->held[c->nheld++] = m;
        list.Msgs[i] = NULL; /* held now: natsMsgList_Destroy leaves it */
    }
    natsMsgList_Destroy(&list);
    out.data = buf;
    out.len = (size_t)(q - buf);
    return out;
}

static int64_t nats_ack(int64_t h, gh_err *err) {
    conn *c = get_conn(h, err);
    if (!c) {
        return 0;
    }
    int n = c->nheld;
    natsStatus s = NATS_OK;
    for (int i = 0; i < c->nheld && s == NATS_OK; i++) {
        s = natsMsg_Ack(c->held[i], NULL);
    }
    drop_held(c);
    if (s == NATS_OK) {
        s = natsConnection_FlushTimeout(c->nc, 10000);
    }
    if (s != NATS_OK) {
        /* unacked ones come again after the ack wait: the receiver skips them */
        say(err, "ack", s, 0);
        return 0;
    }
    return n;
}

static void nats_drop_held(int64_t h) {
    if (h >= 1 && h <= MAX_CONNS && conns[h - 1].used) {
        drop_held(&conns[h - 1]);
    }
}

/* ---- state ------------------------------------------------------------------------------------------ */

static char *nats_stream_info(int64_t h, const char *stream, gh_err *err) {
    conn *c = get_conn(h, err);
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    if (!c) {
        return NULL;
    }
    natsStatus s = js_GetStreamInfo(&si, c->js, stream, NULL, &jerr);
    if (not_found(s, jerr)) {
        return api->strdup("");
    }
    if (s != NATS_OK) {
        say(err, "stream info", s, jerr);
        return NULL;
    }
    char *r =
        api->mprintf("msgs=%llu\nfirst_seq=%llu\nlast_seq=%llu\nreplicas=%lld\n",
                     (unsigned long long)si->State.Msgs, (unsigned long long)si->State.FirstSeq,
                     (unsigned long long)si->State.LastSeq, (long long)si->Config->Replicas);
    jsStreamInfo_Destroy(si);
    return r;
}

static char *nats_consumer_info(int64_t h, const char *stream, const char *durable, gh_err *err) {
    conn *c = get_conn(h, err);
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    if (!c) {
        return NULL;
    }
    natsStatus s = js_GetConsumerInfo(&ci, c->js, stream, durable, NULL, &jerr);
    if (not_found(s, jerr)) {
        return api->strdup("");
    }
    if (s != NATS_OK) {
        say(err, "consumer info", s, jerr);
        return NULL;
    }
    char *r = api->mprintf("pending=%llu\nack_pending=%lld\ndelivered=%llu\n",
                           (unsigned long long)ci->NumPending, (long long)ci->NumAckPending,
                           (unsigned long long)ci->Delivered.Stream);
    jsConsumerInfo_Destroy(ci);
    return r;
}

static char *nats_last_msg_id(int64_t h, const char *stream, const char *subject, gh_err *err) {
    conn *c = get_conn(h, err);
    natsMsg *m = NULL;
    jsErrCode jerr = 0;
    if (!c) {
        return NULL;
    }
    natsStatus s = js_GetLastMsg(&m, c->js, stream, subject, NULL, &jerr);
    if (not_found(s, jerr)) {
        return api->strdup("");
    }
    if (s != NATS_OK) {
        say(err, "last message", s, jerr);
        return NULL;
    }
    const char *id = NULL;
    natsMsgHeader_Get(m, "Nats-Msg-Id", &id);
    char *r = api->strdup(id ? id : "");
    natsMsg_Destroy(m);
    return r;
}

static bool nats_delete_consumer(int64_t h, const char *stream, const char *durable, gh_err *err) {
    conn *c = get_conn(h, err);
    jsErrCode jerr = 0;
    if (!c) {
        return false;
    }
    forget_sub(c, stream, durable);
    natsStatus s = js_DeleteConsumer(c->js, stream, durable, NULL, &jerr);
    if (not_found(s, jerr)) {
        return false;
    }
    if (s != NATS_OK) {
        say(err, "delete consumer", s, jerr);
        return false;
    }
    return true;
}

static void nats_sleep(int64_t ms) {
    if (ms > 0) {
        nats_Sleep(ms > 60000 ? 60000 : ms);
    }
}

static void on_unload(void *ud) {
    (void)ud;
    for (int i = 0; i < MAX_CONNS; i++) {
        conn_free(&conns[i]);
    }
    /* libnats stays: its threads (and OpenSSL's exit handler, with TLS) run
     * until the process ends, so this .so and libnats are pinned
     * (RTLD_NODELETE, in init) rather than closed: nats_Close here freed
     * OpenSSL's state that its exit handler then freed again */
}

GH_PLUGIN_EXPORT int gh_plugin_init(const gh_api *a, gh_plugin *p, char **errmsg) {
    api = a;
    if (gh_plugin_begin(a, p, "nats", "1.0") != GH_PLUGIN_OK) {
        return GH_PLUGIN_ERROR;
    }
    Dl_info self;
    if (!dladdr((void *)gh_plugin_init, &self) || !self.dli_fname ||
        !dlopen(self.dli_fname, RTLD_NOW | RTLD_NODELETE | RTLD_NOLOAD)) {
        *errmsg = a->mprintf("the nats plugin could not pin itself in memory");
        return GH_PLUGIN_ERROR;
    }
    if (nats_Open(-1) != NATS_OK) {
        *errmsg = a->mprintf("the NATS library could not start");
        return GH_PLUGIN_ERROR;
    }
    if (a->on_unload(p, on_unload, NULL) ||
        a->function(p, "connect", "i64(str,err)", GH_FN(nats_connect)) ||
        a->function(p, "close", "void(i64)", GH_FN(nats_close)) ||
        a->function(p, "stream", "bool(i64,str,str,i64,i64,err)", GH_FN(nats_stream)) ||
        a->function(p, "publish", "bool(i64,str,str,bytes,err)", GH_FN(nats_publish)) ||
        a->function(p, "complete", "i64(i64,i64,err)", GH_FN(nats_complete)) ||
        a->function(p, "fetch", "bytes(i64,str,str,str,i64,i64,i64,err)", GH_FN(nats_fetch)) ||
        a->function(p, "ack", "i64(i64,err)", GH_FN(nats_ack)) ||
        a->function(p, "drop_held", "void(i64)", GH_FN(nats_drop_held)) ||
        a->function(p, "stream_info", "str(i64,str,err)", GH_FN(nats_stream_info)) ||
        a->function(p, "consumer_info", "str(i64,str,str,err)", GH_FN(nats_consumer_info)) ||
        a->function(p, "last_msg_id", "str(i64,str,str,err)", GH_FN(nats_last_msg_id)) ||
        a->function(p, "delete_consumer", "bool(i64,str,str,err)", GH_FN(nats_delete_consumer)) ||
        a->function(p, "sleep", "void(i64)", GH_FN(nats_sleep))) {
        return GH_PLUGIN_ERROR;
    }
    return GH_PLUGIN_OK;
}
