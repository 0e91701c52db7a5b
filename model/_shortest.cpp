// The shortest round-trip digits of a double, by C++17's std::to_chars (the library's own
// implementation, where it defines __cpp_lib_to_chars: libstdc++ since GCC 11; elsewhere
// this returns -1, the engine's CSV_TEXT is false and Arrow writes the case log). Kept
// apart from the engine's C (model/_engine.pyx) because only C++ has it; see _shortest.h.
#include <charconv>

#include "_shortest.h"

extern "C" int microgov_shortest(double value, char *out) {
#if defined(__cpp_lib_to_chars)
    std::to_chars_result result = std::to_chars(out, out + 32, value, std::chars_format::scientific);
    if (result.ec != std::errc()) {
        return -1;
    }
    return static_cast<int>(result.ptr - out);
#else
    (void)value;
    (void)out;
    return -1;
#endif
}
