/* kt_gate.c - a gate is two latches: "a thread got here" and "let it go". */
#include "kt_gate.h"

void kt_gate_hold(kt_gate *gate) {
    if (atomic_exchange(&gate->used, true))
        return; /* used once already: later callers pass */
    atomic_store(&gate->held, true);
    kt_latch_count(&gate->reached);
    kt_latch_wait(&gate->opened, 1);
}

void kt_gate_hook(void *gate) {
    kt_gate_hold(gate);
}

void kt_gate_pass(kt_gate *gate) {
    if (!atomic_exchange(&gate->used, true))
        kt_latch_count(&gate->reached); /* nobody was held: end the test's wait */
}

void kt_gate_wait_reached(kt_gate *gate) {
    kt_latch_wait(&gate->reached, 1);
}

void kt_gate_open(kt_gate *gate) {
    kt_latch_count(&gate->opened);
}

bool kt_gate_was_held(kt_gate *gate) {
    return atomic_load(&gate->held);
}
