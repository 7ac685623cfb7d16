// Functions and a variable for percpu-load --call: one returns 0, one lets
// an exception escape, and plain_data is not code.
#include <stdexcept>

extern "C" {
int plain_data = 5;
int returns_zero(void) { return plain_data - 5; }
int throws_out(void) { throw std::logic_error("escaped from the module"); }
}
