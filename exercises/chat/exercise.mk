EX_TITLE = TCP chat: a server and a client on the broadcast channel
EX_STARS = 3
EX_STUDENT_FILES = chat_server.c chat_client.c
EX_KIT_FILES = kit/chat_message.c
EX_DEPENDS = broadcast
EX_LIBS = cjson
EX_POINTS_DEFAULT = 1
