# The oneshot exercise: one message, one sender, one receiver.
EX_TITLE = Oneshot channel: one message, one sender, one receiver
EX_STARS = 3
EX_STUDENT_FILES = oneshot.c
EX_KIND = channel
# The receive future and blocking receive built on the student's poll function.
EX_KIT_FILES = kit/oneshot_recv_future.c
EX_DEPENDS =
# The benchmark (only) sends its requests on an mpsc channel.
EX_BENCH_DEPENDS = mpsc
EX_POINTS_DEFAULT = 1
EX_POINTS = oneshot_hidden/stress_*:2
EX_BONUS =
