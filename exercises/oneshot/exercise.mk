# The oneshot exercise: one value, one sender, one receiver future.
EX_TITLE = Oneshot channel: one value, one sender, one receiver future
EX_STARS = 3
EX_STUDENT_FILES = oneshot.c
# The receive future and blocking receive built on the student's poll function.
EX_KIT_FILES = kit/oneshot_recv_future.c
EX_DEPENDS =
# The benchmark (only) sends its requests on an mpsc channel.
EX_BENCH_DEPENDS = mpsc
EX_POINTS_DEFAULT = 1
EX_POINTS = oneshot_hidden/stress_*:2
EX_BONUS =
