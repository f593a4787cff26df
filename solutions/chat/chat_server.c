/*
 * chat_server.c - the chat server (part A): two tasks per connection, one broadcast channel.
 *
 * The rules are in chat_server.h; read it first, then the README's hints.
 * The accept loop is written for you (it is the course's main); yours are
 * the two tasks of a connection: the incoming task (incoming_poll and
 * incoming_drop) and the outgoing task (outgoing_poll and outgoing_drop).
 *
 *     client --lines--> [incoming task] --broadcast_send--> (channel)
 *     (channel) --broadcast_receiver_poll_recv--> [outgoing task] --lines--> client
 *
 * Each task is an async poll function (rt_async.h): everything that lives
 * across an await is a field of its struct, and its drop function must free
 * whatever the task holds at any await, because stopping the server is
 * dropping every task wherever it waits.
 */
#include "chat_server.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broadcast.h"
#include "chat_line.h"
#include "chat_message.h"
#include "oneshot.h"
#include "rt_line_reader.h"
#include "rt_tcp.h"
#include "rt_time.h"

/* How many bytes of lines the outgoing task gathers into one write, at most. */
#define OUTGOING_BATCH 16384

static void *chat_alloc(size_t size) {
    void *p = calloc(1, size);
    if (p == NULL) {
        fprintf(stderr, "chat-server: out of memory\n");
        abort();
    }
    return p;
}

/* ---- the tasks' state ---- */

/*
 * The outgoing task of a connection: writes what the channel delivers.
 * The incoming task holds the sending side of `hangup`; when it ends, that
 * sender is dropped and this task's receive of `hangup` becomes READY.
 */
//@slide chat-outgoing-state
typedef struct outgoing_task {
    rt_future base;
    rt_async co;
    rt_tcp_write_half *write_half;
    broadcast_receiver *receiver; /* NULL until the incoming task subscribes it */
    oneshot_receiver *hangup;     /* READY when the incoming task has ended */
    FILE *log;
    char who[128]; /* "127.0.0.1:40112 (alice)", for log lines */
    /* Across awaits: */
    void *message;
    broadcast_recv_result result;
    uint64_t missed;
    char *buf; /* lines gathered for one write, each with its '\n' */
    size_t len, cap;
    bool writing; /* `write` is under way */
    rt_write_all_future write;
} outgoing_task;
//@end

/* The incoming task of a connection: reads its lines and broadcasts. */
//@slide chat-incoming-state
typedef struct incoming_task {
    rt_future base;
    rt_async co;
    rt_executor *executor;
    rt_tcp_read_half *read_half;
    rt_line_reader *lines;
    broadcast_sender *sender;
    oneshot_sender *hangup; /* dropped when this task ends: the outgoing task then ends */
    /* The connection's outgoing task, made with it but not spawned: this
     * task subscribes it and spawns it once the user is known (and then
     * sets this to NULL: the executor owns it). */
    outgoing_task *outgoing;
    FILE *log;
    char peer[64];
    char name[80]; /* scratch for a task name */
    char *user;    /* the name the first line gave */
    /* Across awaits: */
    const char *line;
    size_t len;
    rt_io_result result;
} incoming_task;
//@end

/* The task that accepts connections (given). */
typedef struct server_task {
    rt_future base;
    rt_async co;
    rt_executor *executor;
    rt_tcp_listener *listener;
    broadcast_sender *sender; /* every connection gets a clone */
    size_t max_line;
    FILE *log;
    rt_tcp_accept_future accept;
    rt_sleep_future pause;
} server_task;

/* ---- the outgoing task ---- */
//# BEGIN SOLUTION

/* Appends one line and its newline to the task's buffer. */
static void outgoing_append(outgoing_task *t, const chat_line *line) {
    size_t need = t->len + chat_line_length(line) + 1;
    if (need > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < need)
            cap *= 2;
        char *buf = realloc(t->buf, cap);
        if (buf == NULL) {
            fprintf(stderr, "chat-server: out of memory\n");
            abort();
        }
        t->buf = buf;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, chat_line_text(line), chat_line_length(line));
    t->len += chat_line_length(line);
    t->buf[t->len++] = '\n';
}

/*
 * What one READY receive gave: a line is gathered, a lag is logged.
 * Returns false when the channel is closed.
 */
//@slide chat-outgoing-take
static bool outgoing_take(outgoing_task *t) {
    switch (t->result) {
    case BROADCAST_RECV_MESSAGE:
        outgoing_append(t, t->message);
        chat_line_free(t->message);
        return true;
    case BROADCAST_RECV_LAGGED:
        fprintf(t->log, "chat-server: %s: too slow, skipped %llu messages\n", t->who,
                (unsigned long long)t->missed);
        return true;
    case BROADCAST_RECV_CLOSED:
        return false;
    }
    return false;
}
//@end
//# END SOLUTION

static rt_poll outgoing_poll(rt_future *self, rt_context *cx) {
    outgoing_task *t = (outgoing_task *)self;
    //# BEGIN SOLUTION
    //@slide chat-outgoing-recv
    /* At every poll, whatever the task waits for: has the connection's
     * incoming task ended? (tokio::select! between `hangup` and the rest.) */
    void *nothing;
    oneshot_recv_result hung_up;
    if (oneshot_receiver_poll_recv(t->hangup, cx, &nothing, &hung_up) == RT_READY)
        return RT_READY;
    RT_ASYNC_BEGIN(&t->co);
    for (;;) {
        /* Wait for one message, then take what else is there already, so
         * that a burst of lines costs one write. */
        RT_AWAIT_POLL(
            &t->co, cx,
            broadcast_receiver_poll_recv(t->receiver, cx, &t->message, &t->result, &t->missed));
        t->len = 0;
        if (!outgoing_take(t))
            RT_ASYNC_RETURN(&t->co);
        while (t->len < OUTGOING_BATCH &&
               broadcast_receiver_poll_recv(t->receiver, cx, &t->message, &t->result, &t->missed) ==
                   RT_READY)
            if (!outgoing_take(t))
                break; /* closed: write what was gathered first */
        if (t->len == 0)
            continue; /* only a lag */
        //@end
        //@slide chat-outgoing-write
        rt_write_all_future_init(&t->write, rt_tcp_write_half_writer(t->write_half), t->buf,
                                 t->len);
        t->writing = true;
        RT_AWAIT(&t->co, cx, &t->write.base);
        t->writing = false;
        if (t->write.result != RT_IO_OK)
            RT_ASYNC_RETURN(&t->co); /* the client is gone */
        if (t->result == BROADCAST_RECV_CLOSED)
            RT_ASYNC_RETURN(&t->co);
        //@end
    }
    RT_ASYNC_END(&t->co);
    //# STUB
    //> /*
    //>  * TODO, in order (README hints 4 and 5):
    //>  *  1. at the top of every poll: the hangup receiver READY? then return RT_READY;
    //>  *  2. await the next message of t->receiver;
    //>  *  3. a message: copy its text and a '\n' to t->buf, free the line (chat_line_free);
    //>  *     a lag: log how many were skipped; closed: the task ends;
    //>  *  4. await an rt_write_all_future of t->buf; an error ends the task; go to 2.
    //>  */
    //> (void)t;
    //> (void)cx;
    //> TODO("end when the incoming task has ended (hangup); else wait for a broadcast message "
    //>      "and write it to the connection with its newline; skip (and log) a lag");
    //# END SOLUTION
}

static void outgoing_drop(rt_future *self) {
    outgoing_task *t = (outgoing_task *)self;
    //# BEGIN SOLUTION
    //@slide chat-outgoing-drop
    if (t->writing)
        rt_future_drop(&t->write.base);
    oneshot_receiver_drop(t->hangup);
    if (t->receiver != NULL)
        broadcast_receiver_drop(t->receiver);
    rt_tcp_write_half_drop(t->write_half);
    free(t->buf);
    free(t);
    //@end
    //# STUB
    //> (void)t;
    //> TODO("free everything the outgoing task holds, wherever it was waiting");
    //# END SOLUTION
}

/* ---- the incoming task ---- */
//# BEGIN SOLUTION

/*
 * Encodes `message` once and broadcasts it as a chat_line to every
 * subscriber (none: the line is freed at once).
 */
//@slide chat-broadcast-message
static void broadcast_message(broadcast_sender *sender, const chat_message *message) {
    size_t len;
    char *json = chat_message_encode(message, &len);
    if (json == NULL)
        return; /* not UTF-8: cannot happen for strings that were parsed */
    void *returned;
    size_t reached;
    if (broadcast_send(sender, chat_line_new(json, len), &returned, &reached) ==
        BROADCAST_SEND_NO_RECEIVERS)
        chat_line_free(returned);
}
//@end

/* Reads the first line: true when it was a User message (t->user is set). */
static bool incoming_accept_user(incoming_task *t) {
    if (t->result != RT_IO_OK) {
        fprintf(t->log, "chat-server: %s: %s before saying who it is: closing\n", t->peer,
                t->result == RT_IO_LINE_TOO_LONG ? "a line too long" : rt_io_result_str(t->result));
        return false;
    }
    chat_message message;
    chat_parse_result parsed = chat_message_parse(t->line, t->len, &message);
    if (parsed != CHAT_PARSE_OK || message.kind != CHAT_MESSAGE_USER) {
        fprintf(t->log, "chat-server: %s: the first line is not a User message (%s): closing\n",
                t->peer, parsed != CHAT_PARSE_OK ? chat_parse_result_str(parsed) : "another kind");
        if (parsed == CHAT_PARSE_OK)
            chat_message_clear(&message);
        return false;
    }
    t->user = message.user; /* the task keeps the name */
    message.user = NULL;
    chat_message_clear(&message);
    return true;
}

/* One line after the first. */
//@slide chat-incoming-handle
static void incoming_handle(incoming_task *t) {
    chat_message message;
    chat_parse_result parsed = chat_message_parse(t->line, t->len, &message);
    if (parsed != CHAT_PARSE_OK) {
        fprintf(t->log, "chat-server: %s (%s): ignored a malformed line: %s\n", t->peer, t->user,
                chat_parse_result_str(parsed));
        return;
    }
    if (message.kind == CHAT_MESSAGE_CLIENT_MESSAGE) {
        chat_message chat = {
            .kind = CHAT_MESSAGE_CHAT, .user = t->user, .content = message.content};
        broadcast_message(t->sender, &chat);
    } else {
        fprintf(t->log, "chat-server: %s (%s): ignored a %s message from a client\n", t->peer,
                t->user, message.kind == CHAT_MESSAGE_CHAT ? "Chat" : "second User");
    }
    chat_message_clear(&message);
}
//@end
//# END SOLUTION

static rt_poll incoming_poll(rt_future *self, rt_context *cx) {
    incoming_task *t = (incoming_task *)self;
    //# BEGIN SOLUTION
    //@slide chat-incoming-poll
    RT_ASYNC_BEGIN(&t->co);
    RT_AWAIT_POLL(&t->co, cx,
                  rt_line_reader_poll_line(t->lines, cx, &t->line, &t->len, &t->result));
    if (!incoming_accept_user(t))
        RT_ASYNC_RETURN(&t->co);
    /* Subscribe first, so that the newcomer sees its own join. */
    snprintf(t->outgoing->who, sizeof t->outgoing->who, "%s (%s)", t->peer, t->user);
    t->outgoing->receiver = broadcast_sender_subscribe(t->sender);
    snprintf(t->name, sizeof t->name, "outgoing %s", t->peer);
    rt_join_handle_drop(rt_spawn(t->executor, &t->outgoing->base, t->name));
    t->outgoing = NULL;
    broadcast_message(t->sender, &(chat_message){.kind = CHAT_MESSAGE_USER, .user = t->user});
    for (;;) {
        RT_AWAIT_POLL(&t->co, cx,
                      rt_line_reader_poll_line(t->lines, cx, &t->line, &t->len, &t->result));
        if (t->result == RT_IO_OK) {
            incoming_handle(t);
        } else {
            if (t->result == RT_IO_LINE_TOO_LONG)
                fprintf(t->log, "chat-server: %s (%s): a line longer than the limit: closing\n",
                        t->peer, t->user);
            RT_ASYNC_RETURN(&t->co); /* closed, reset or too long: the connection ends */
        }
    }
    RT_ASYNC_END(&t->co);
    //@end
    //# STUB
    //> /*
    //>  * TODO, in order (README hints 1 to 3):
    //>  *  1. await the first line; it must parse as a User message: else log and end;
    //>  *  2. keep the name in t->user;
    //>  *  3. subscribe t->outgoing to the channel, spawn it, set t->outgoing to NULL;
    //>  *  4. broadcast the join: the User message, encoded, as a chat_line;
    //>  *  5. for every next line: a ClientMessage becomes a Chat with t->user, broadcast;
    //>  *     anything else is ignored (malformed: log it); too long, closed, reset: end.
    //>  */
    //> (void)t;
    //> (void)cx;
    //> TODO("read the first line: a User message, else log and end; subscribe and start the "
    //>      "outgoing task, broadcast the join, then broadcast each ClientMessage as a Chat");
    //# END SOLUTION
}

static void incoming_drop(rt_future *self) {
    incoming_task *t = (incoming_task *)self;
    //# BEGIN SOLUTION
    //@slide chat-incoming-drop
    if (t->hangup != NULL)
        oneshot_sender_drop(t->hangup); /* the outgoing task ends */
    if (t->outgoing != NULL)
        rt_future_drop(&t->outgoing->base); /* never started */
    rt_line_reader_drop(t->lines);
    rt_tcp_read_half_drop(t->read_half);
    broadcast_sender_drop(t->sender);
    free(t->user);
    free(t);
    //@end
    //# STUB
    //> (void)t;
    //> TODO("free everything the incoming task holds; dropping its hangup sender ends the "
    //>      "outgoing task");
    //# END SOLUTION
}

/* ---- accepting connections (given) ---- */

/*
 * Makes the two tasks of a new connection, joined by the `hangup` oneshot,
 * and spawns the incoming one; the incoming task holds the outgoing one
 * until it spawns it.
 */
//@slide chat-spawn-connection
static void server_spawn_connection(server_task *t, rt_tcp_stream *stream) {
    incoming_task *in = chat_alloc(sizeof *in);
    outgoing_task *out = chat_alloc(sizeof *out);
    in->base = (rt_future){.poll = incoming_poll, .drop = incoming_drop, .name = "chat incoming"};
    out->base = (rt_future){.poll = outgoing_poll, .drop = outgoing_drop, .name = "chat outgoing"};
    in->executor = t->executor;
    in->log = out->log = t->log;
    snprintf(in->peer, sizeof in->peer, "%s", rt_tcp_stream_peer(stream));
    snprintf(out->who, sizeof out->who, "%s", in->peer);
    rt_tcp_stream_into_split(stream, &in->read_half, &out->write_half);
    oneshot_channel(NULL, &in->hangup, &out->hangup);
    in->outgoing = out;
    in->sender = broadcast_sender_clone(t->sender);
    if (rt_line_reader_new(rt_tcp_read_half_reader(in->read_half), t->max_line, &in->lines) !=
        RT_IO_OK) {
        fprintf(stderr, "chat-server: out of memory\n");
        abort();
    }
    char name[96];
    snprintf(name, sizeof name, "incoming %s", in->peer);
    rt_join_handle_drop(rt_spawn(t->executor, &in->base, name));
}
//@end

static rt_poll server_poll(rt_future *self, rt_context *cx) {
    server_task *t = (server_task *)self;
    RT_ASYNC_BEGIN(&t->co);
    for (;;) {
        rt_tcp_accept_future_init(&t->accept, t->listener);
        RT_AWAIT(&t->co, cx, &t->accept.base);
        if (t->accept.result == RT_IO_OK) {
            server_spawn_connection(t, t->accept.stream);
            continue;
        }
        /* Out of descriptors, say: the listener stays ready, so pause
         * rather than spin, and try again. */
        fprintf(t->log, "chat-server: accept: %s\n", rt_io_result_str(t->accept.result));
        rt_sleep_future_init(&t->pause, RT_MILLISECONDS(100));
        RT_AWAIT(&t->co, cx, &t->pause.base);
    }
    RT_ASYNC_END(&t->co);
}

static void server_drop(rt_future *self) {
    server_task *t = (server_task *)self;
    rt_future_drop(&t->accept.base);
    rt_future_drop(&t->pause.base);
    rt_tcp_listener_drop(t->listener);
    broadcast_sender_drop(t->sender);
    free(t);
}

rt_io_result chat_server_start(rt_executor *executor, const chat_server_config *config,
                               uint16_t *port) {
    rt_tcp_listener *listener;
    rt_io_result result =
        rt_tcp_listener_bind(config->host ? config->host : "127.0.0.1", config->port, &listener);
    if (result != RT_IO_OK)
        return result;
    server_task *t = chat_alloc(sizeof *t);
    t->base = (rt_future){.poll = server_poll, .drop = server_drop, .name = "chat server"};
    t->executor = executor;
    t->listener = listener;
    t->max_line = config->max_line ? config->max_line : CHAT_MAX_LINE_DEFAULT;
    t->log = config->log ? config->log : stderr;
    //@slide chat-server-channel
    /* The channel's first receiver is not needed: every connection subscribes. */
    broadcast_receiver *unused;
    broadcast_channel(chat_line_free, chat_line_clone,
                      config->capacity ? config->capacity : CHAT_CAPACITY_DEFAULT, &t->sender,
                      &unused);
    broadcast_receiver_drop(unused);
    //@end
    /* Futures not yet started are dropped safely by server_drop. */
    rt_tcp_accept_future_init(&t->accept, listener);
    rt_sleep_future_init(&t->pause, 0);
    *port = rt_tcp_listener_port(listener);
    rt_join_handle_drop(rt_spawn(executor, &t->base, "chat server"));
    return RT_IO_OK;
}
