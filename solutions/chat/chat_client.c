/*
 * chat_client.c - the chat client (part B): a session of two tasks.
 *
 * The rules are in chat_client.h; read it first, then the README's hints.
 * chat_client_run is written for you: it makes an executor, runs the
 * session future on this thread (rt_block_on) and cleans up. Yours are the
 * session (session_poll: input -> server) and the reader task
 * (reader_poll and reader_drop: server -> output).
 *
 *     input --lines--> [session] --{"ClientMessage":..}--> server
 *     server --{"Chat":..} / {"User":..}--> [reader task] --<alice>: hi--> output
 *
 * When the reader task ends (the server closed the connection), it drops
 * its `ended` sender: the session sees its oneshot receiver READY, even in
 * the middle of waiting for input, and ends too.
 */
#include "chat_client.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat_message.h"
#include "oneshot.h"
#include "rt.h"
#include "rt_line_reader.h"
#include "rt_tcp.h"

static void *chat_alloc(size_t size) {
    void *p = calloc(1, size);
    if (p == NULL) {
        fprintf(stderr, "chat-client: out of memory\n");
        abort();
    }
    return p;
}

/* The task that prints what the server sends. */
typedef struct reader_task {
    rt_future base;
    rt_async co;
    rt_tcp_read_half *read_half; /* NULL until the session connects */
    rt_line_reader *lines;       /* NULL until the session connects */
    oneshot_sender *ended;       /* dropped when this task ends: the session then ends */
    FILE *output, *errors;
    /* Across awaits: */
    const char *line;
    size_t len;
    rt_io_result result;
} reader_task;

/* The session: asks the name, connects, then sends what is typed. */
typedef struct session {
    rt_future base;
    rt_async co;
    const chat_client_config *config;
    size_t max_line;
    rt_executor *executor;
    rt_line_reader *input; /* lines typed */
    rt_tcp_connect_future connect;
    rt_tcp_write_half *write_half;
    /* The reader task, made with the session but not spawned: the session
     * gives it the read half and spawns it once connected (and then sets
     * this to NULL: the executor owns it). */
    reader_task *reader;
    bool reader_started;
    oneshot_receiver *reader_ended; /* READY once the reader task has ended */
    char *user;
    chat_client_result outcome; /* how it ended, once READY */
    rt_io_result io;
    /* Across awaits: */
    const char *line;
    size_t len;
    rt_io_result result;
    char *out; /* the line being sent, with its '\n' */
    rt_write_all_future write;
} session;

/* ---- the reader task: server -> output ---- */
//# BEGIN SOLUTION

/* Prints one line from the server, if it is a Chat or a User message. */
//@slide chat-reader-print
static void reader_print(reader_task *t) {
    chat_message message;
    chat_parse_result parsed = chat_message_parse(t->line, t->len, &message);
    if (parsed != CHAT_PARSE_OK) {
        fprintf(t->errors, "chat-client: ignored a line from the server: %s\n",
                chat_parse_result_str(parsed));
        return;
    }
    if (message.kind == CHAT_MESSAGE_CHAT)
        fprintf(t->output, "<%s>: %s\n", message.user, message.content);
    else if (message.kind == CHAT_MESSAGE_USER)
        fprintf(t->output, "<%s> joined the chat\n", message.user);
    fflush(t->output);
    chat_message_clear(&message);
}
//@end
//# END SOLUTION

static rt_poll reader_poll(rt_future *self, rt_context *cx) {
    reader_task *t = (reader_task *)self;
    //# BEGIN SOLUTION
    //@slide chat-reader-poll
    RT_ASYNC_BEGIN(&t->co);
    for (;;) {
        RT_AWAIT_POLL(&t->co, cx,
                      rt_line_reader_poll_line(t->lines, cx, &t->line, &t->len, &t->result));
        if (t->result == RT_IO_OK)
            reader_print(t);
        else if (t->result != RT_IO_LINE_TOO_LONG)
            RT_ASYNC_RETURN(&t->co); /* closed or reset: reader_drop tells the session */
    }
    RT_ASYNC_END(&t->co);
    //@end
    //# STUB
    //> (void)t;
    //> (void)cx;
    //> TODO("print each Chat line as <user>: content and each User line as <user> joined the "
    //>      "chat; end when the server closes the connection");
    //# END SOLUTION
}

static void reader_drop(rt_future *self) {
    reader_task *t = (reader_task *)self;
    //# BEGIN SOLUTION
    oneshot_sender_drop(t->ended); /* the session ends */
    if (t->lines != NULL)
        rt_line_reader_drop(t->lines);
    if (t->read_half != NULL)
        rt_tcp_read_half_drop(t->read_half);
    free(t);
    //# STUB
    //> (void)t;
    //> TODO("free what the reader task holds; dropping its `ended` sender ends the session");
    //# END SOLUTION
}

/* ---- the session: input -> server ---- */
//# BEGIN SOLUTION

/* True (and the outcome set) once the reader task has ended; else its waker is stored. */
//@slide chat-session-reader-ended
static bool session_reader_ended(session *s, rt_context *cx) {
    void *nothing;
    oneshot_recv_result ended;
    if (oneshot_receiver_poll_recv(s->reader_ended, cx, &nothing, &ended) == RT_PENDING)
        return false;
    s->outcome = CHAT_CLIENT_SERVER_CLOSED;
    s->io = RT_IO_OK;
    return true;
}
//@end

/*
 * Encodes `message`, adds the newline, and prepares s->write to send it.
 * False (nothing to send) when a string is not valid UTF-8.
 */
static bool session_prepare(session *s, const chat_message *message) {
    size_t len;
    char *json = chat_message_encode(message, &len);
    if (json == NULL)
        return false;
    free(s->out);
    s->out = chat_alloc(len + 1);
    memcpy(s->out, json, len);
    s->out[len] = '\n';
    free(json);
    rt_write_all_future_init(&s->write, rt_tcp_write_half_writer(s->write_half), s->out, len + 1);
    return true;
}

//# END SOLUTION

/* Ends the session with `outcome`. */
#define SESSION_END(s, how, io_result)                                                             \
    do {                                                                                           \
        (s)->outcome = (how);                                                                      \
        (s)->io = (io_result);                                                                     \
        RT_ASYNC_RETURN(&(s)->co);                                                                 \
    } while (0)

static rt_poll session_poll(rt_future *self, rt_context *cx) {
    session *s = (session *)self;
    FILE *errors = s->config->errors ? s->config->errors : stderr;
    //# BEGIN SOLUTION
    //@slide chat-session-top
    /* At every poll: has the reader task ended? (select! on the two halves.)
     * Polling it stores this poll's waker there too, so that its end wakes
     * the session whatever else the session waits for. */
    if (s->reader_started && session_reader_ended(s, cx))
        return RT_READY;
    //@end
    RT_ASYNC_BEGIN(&s->co);
    /* The name: given, or the first non-empty valid line typed. */
    if (s->config->user != NULL) {
        s->user = strdup(s->config->user);
    }
    while (s->user == NULL) {
        fputs("Enter your username\n", errors); /* the course client's prompt */
        fflush(errors);
        RT_AWAIT_POLL(&s->co, cx,
                      rt_line_reader_poll_line(s->input, cx, &s->line, &s->len, &s->result));
        if (s->result == RT_IO_EOF)
            SESSION_END(s, CHAT_CLIENT_NO_USER, RT_IO_OK);
        if (s->result == RT_IO_OK && s->len > 0 && chat_text_is_valid(s->line, s->len))
            s->user = strndup(s->line, s->len);
        else if (s->result == RT_IO_OK && s->len > 0)
            fputs("chat-client: a name must be valid UTF-8\n", errors);
        else if (s->result != RT_IO_OK && s->result != RT_IO_LINE_TOO_LONG)
            SESSION_END(s, CHAT_CLIENT_IO_FAILED, s->result);
    }

    RT_AWAIT(&s->co, cx, &s->connect.base);
    if (s->connect.result != RT_IO_OK)
        SESSION_END(s, CHAT_CLIENT_CONNECT_FAILED, s->connect.result);
    /* Split: the reader task reads, the session writes. */
    rt_tcp_stream_into_split(s->connect.stream, &s->reader->read_half, &s->write_half);
    if (rt_line_reader_new(rt_tcp_read_half_reader(s->reader->read_half), s->max_line,
                           &s->reader->lines) != RT_IO_OK)
        SESSION_END(s, CHAT_CLIENT_IO_FAILED, RT_IO_NO_MEMORY);
    //@slide chat-session-spawn
    rt_join_handle_drop(rt_spawn(s->executor, &s->reader->base, "chat reader"));
    s->reader = NULL;
    s->reader_started = true;
    /* From now on every poll checks the reader's end first; this one too,
     * before it waits for anything. */
    if (session_reader_ended(s, cx))
        return RT_READY;
    //@end

    /* Who we are, first. */
    if (!session_prepare(s, &(chat_message){.kind = CHAT_MESSAGE_USER, .user = s->user}))
        SESSION_END(s, CHAT_CLIENT_NO_USER, RT_IO_OK); /* not UTF-8: cannot happen */
    RT_AWAIT(&s->co, cx, &s->write.base);
    if (s->write.result != RT_IO_OK)
        SESSION_END(s, CHAT_CLIENT_SERVER_CLOSED, RT_IO_OK);

    //@slide chat-session-lines
    /* Then every line typed, in order, until the input ends. */
    for (;;) {
        RT_AWAIT_POLL(&s->co, cx,
                      rt_line_reader_poll_line(s->input, cx, &s->line, &s->len, &s->result));
        if (s->result == RT_IO_EOF)
            SESSION_END(s, CHAT_CLIENT_INPUT_ENDED, RT_IO_OK);
        if (s->result == RT_IO_LINE_TOO_LONG) {
            fputs("chat-client: that line is too long; not sent\n", errors);
            continue;
        }
        if (s->result != RT_IO_OK)
            SESSION_END(s, CHAT_CLIENT_IO_FAILED, s->result);
        if (!chat_text_is_valid(s->line, s->len)) {
            fputs("chat-client: that line is not valid UTF-8; not sent\n", errors);
            continue;
        }
        /* The line reader ends the line with a NUL: it is a C string. */
        if (!session_prepare(s, &(chat_message){.kind = CHAT_MESSAGE_CLIENT_MESSAGE,
                                                .content = (char *)s->line}))
            continue;
        RT_AWAIT(&s->co, cx, &s->write.base);
        if (s->write.result != RT_IO_OK)
            SESSION_END(s, CHAT_CLIENT_SERVER_CLOSED, RT_IO_OK);
    }
    //@end
    RT_ASYNC_END(&s->co);
    //# STUB
    //> /*
    //>  * TODO, in order:
    //>  *  0. at the top of every poll once the reader runs: reader_ended READY? the
    //>  *     server closed: set s->outcome and return RT_READY;
    //>  *  1. the name: s->config->user, or the first non-empty valid line of s->input;
    //>  *  2. await s->connect; on an error end with CHAT_CLIENT_CONNECT_FAILED;
    //>  *  3. split the stream: the read half and a line reader to s->reader, the write
    //>  *     half to s->write_half; spawn s->reader and set it to NULL;
    //>  *  4. send {"User":name} and '\n' (an rt_write_all_future), then
    //>  *  5. every line typed: {"ClientMessage":line} and '\n'; the end of input ends the
    //>  *     session with CHAT_CLIENT_INPUT_ENDED. SESSION_END(...) ends it.
    //>  */
    //> (void)s;
    //> (void)cx;
    //> (void)errors;
    //> TODO("get the user name (given, or the first line typed), connect, start the reader "
    //>      "task, send the User line, then send each typed line as a ClientMessage");
    //# END SOLUTION
}

chat_client_result chat_client_run(const chat_client_config *config, rt_io_result *io) {
    session *s = chat_alloc(sizeof *s);
    s->base = (rt_future){.poll = session_poll, .name = "chat session"};
    s->config = config;
    s->outcome = CHAT_CLIENT_IO_FAILED;
    s->max_line = config->max_line ? config->max_line : 64 * 1024;
    if (rt_line_reader_new(config->input, s->max_line, &s->input) != RT_IO_OK) {
        free(s);
        if (io != NULL)
            *io = RT_IO_NO_MEMORY;
        return CHAT_CLIENT_IO_FAILED;
    }
    rt_tcp_connect_future_init(&s->connect, config->host ? config->host : "127.0.0.1",
                               config->port ? config->port : 8000);
    s->executor = rt_executor_new(1);
    reader_task *r = chat_alloc(sizeof *r);
    r->base = (rt_future){.poll = reader_poll, .drop = reader_drop, .name = "chat reader"};
    r->output = config->output ? config->output : stdout;
    r->errors = config->errors ? config->errors : stderr;
    oneshot_channel(NULL, &r->ended, &s->reader_ended);
    s->reader = r;

    rt_block_on(&s->base);

    /* The reader task (if it still runs) is cancelled, so dropped, here. */
    rt_executor_shutdown(s->executor);
    if (s->reader != NULL)
        rt_future_drop(&s->reader->base); /* never started */
    oneshot_receiver_drop(s->reader_ended);
    if (s->write_half != NULL)
        rt_tcp_write_half_drop(s->write_half);
    else if (s->connect.result == RT_IO_OK && s->connect.stream != NULL)
        rt_tcp_stream_drop(s->connect.stream); /* connected, but never split */
    rt_future_drop(&s->connect.base);
    rt_line_reader_drop(s->input);
    chat_client_result outcome = s->outcome;
    if (io != NULL)
        *io = s->io;
    free(s->out);
    free(s->user);
    free(s);
    return outcome;
}
