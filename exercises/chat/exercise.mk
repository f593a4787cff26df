EX_TITLE = TCP chat: a server and a client on the broadcast channel
EX_STARS = 3
EX_STUDENT_FILES = chat_server.c chat_client.c
# The server (part A) and the client (part B) are graded on their own, each a
# column of the gradebook (name:file:suites): tests of the suites chat_server*
# drive only the server, chat_client* only the client, each against the kit's
# harness (a scripted client or server). A part handed in alone is graded
# with the reference's file for the other; a part missing, not compiling or
# refused costs only its own points.
EX_PARTS = chat_server:chat_server.c:chat_server* chat_client:chat_client.c:chat_client*
# The message codec and the shared line; the programs' main functions are the kit's too.
EX_KIT_FILES = kit/chat_message.c kit/chat_line.c
EX_PROGRAMS = chat-server:kit/chat_server_main.c chat-client:kit/chat_client_main.c
# The server's tasks are joined by a broadcast channel and told to stop by a oneshot.
EX_DEPENDS = broadcast oneshot
EX_LIBS = cjson
EX_POINTS_DEFAULT = 1
# The server (★★★) weighs more than the client (★★).
EX_POINTS = chat_server/*:2 chat_server_hidden/*:2
# The tests start the programs and talk to them over loopback: the grader's
# system-call filter lets these tests use sockets, pipes and child processes
# (grader/README.md says what that opens).
EX_SANDBOX = net
