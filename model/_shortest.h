/* The shortest decimal digits of a double that read back as the same double (the case log's
   CSV text, model/_csv_text.pxi); defined in model/_shortest.cpp. */
#ifndef MICROGOV_SHORTEST_H
#define MICROGOV_SHORTEST_H
#ifdef __cplusplus
extern "C" {
#endif
/* Writes ``value`` (finite) as ``d[.ddd]e±x`` — the fewest significant digits that read back
   as ``value``, the nearest such when several are as short — into ``out`` (at least 32
   bytes); returns the length, or -1 where the C++ library has no std::to_chars for doubles. */
int microgov_shortest(double value, char *out);
#ifdef __cplusplus
}
#endif
#endif
