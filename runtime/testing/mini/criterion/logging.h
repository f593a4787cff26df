/* The stand-in's logging.h: cr_log_* live in criterion.h here. */
#include "criterion.h"
