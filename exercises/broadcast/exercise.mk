EX_TITLE = Broadcast channel: every receiver gets every message
EX_STARS = 4
EX_STUDENT_FILES = broadcast.c
EX_KIND = channel
# The receive future and blocking receive built on the student's poll function.
EX_KIT_FILES = kit/broadcast_recv_future.c
EX_DEPENDS =
EX_POINTS_DEFAULT = 1
EX_POINTS = broadcast_hidden/stress_*:3 broadcast_hidden/race_*:2
EX_BONUS = broadcast/lag_* broadcast_hidden/lag_*
