// A module whose static constructor throws: the load fails (init-failed,
// with the exception), the host goes on.
#include <stdexcept>

namespace {
struct Boom {
    Boom() { throw std::runtime_error("boom at load"); }
};
Boom boom;
} // namespace

extern "C" int never_called(void) { return 0; }
