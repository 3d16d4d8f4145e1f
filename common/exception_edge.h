// The last line of defence at the edges where an exception could otherwise
// reach std::terminate: main() of every binary and every thread body.
// Errors are Status values everywhere (common/status.h); exceptions come
// only from LibTorch and the standard library (std::bad_alloc, a throwing
// std::filesystem overload), are caught where they are expected and turned
// into a Status naming the path or the cause. What still escapes lands
// here and becomes a message and an exit code (or a log line), never an
// abort with a core dump.
//
// Thread safety: the functions are reentrant.
#pragma once

#include <functional>

namespace flyp {

// Runs `body` (the rest of main) and returns its exit code; an exception
// that escapes it is printed as "<program>: internal error: <what>" on
// stderr and `exit_code` is returned instead.
int CatchAtMain(const char* program, int exit_code, const std::function<int()>& body);

// Runs a thread's `body`; an exception that escapes it is logged at ERROR
// ("<what>: internal error: ...") and swallowed. Returns false then.
bool CatchAtThread(const char* what, const std::function<void()>& body);

}  // namespace flyp
