/*
 * rt.h - the kit's async runtime in one include.
 *
 * Read the headers in this order: rt_poll.h, rt_waker.h, rt_context.h,
 * rt_future.h, rt_async.h, rt_block_on.h, rt_executor.h, then
 * rt_diagnose.h, rt_watchdog.h and rt_shake.h for when things go wrong,
 * and rt_todo.h for the stubs. For I/O and time: rt_io.h, rt_reactor.h,
 * rt_tcp.h, rt_line_reader.h, rt_stdin.h and rt_time.h. README.md tells
 * how it fits together.
 */
#ifndef RT_H
#define RT_H

#include "rt_async.h"
#include "rt_block_on.h"
#include "rt_context.h"
#include "rt_diagnose.h"
#include "rt_executor.h"
#include "rt_future.h"
#include "rt_io.h"
#include "rt_line_reader.h"
#include "rt_poll.h"
#include "rt_reactor.h"
#include "rt_shake.h"
#include "rt_stdin.h"
#include "rt_tcp.h"
#include "rt_time.h"
#include "rt_todo.h"
#include "rt_waker.h"
#include "rt_watchdog.h"

#endif
