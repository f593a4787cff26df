# The mpsc exercise: an unbounded multi-producer single-consumer channel.
EX_TITLE = Unbounded multi-producer single-consumer channel
EX_STARS = 2
EX_STUDENT_FILES = mpsc.c
EX_KIND = channel
# The queue the channel keeps its messages in, and the receive future and
# blocking receive built on the student's poll function.
EX_KIT_FILES = kit/mpsc_queue.c kit/mpsc_recv_future.c
# The queue's slots are the channel's memory: the tests count them with the
# student's own blocks, so a queue never freed is a leak (runtime/tools/build.mk).
EX_COUNTED_KIT_FILES = kit/mpsc_queue.c
EX_DEPENDS =
EX_POINTS_DEFAULT = 1
EX_POINTS = mpsc/stress_*:2 mpsc_hidden/*random*:2
EX_BONUS =
