#include "common/exception_edge.h"

#include <cstdio>
#include <exception>
#include <string>

#include "common/logging.h"

namespace flyp {
namespace {

std::string What(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}

}  // namespace

int CatchAtMain(const char* program, int exit_code, const std::function<int()>& body) {
  try {
    return body();
  } catch (...) {
    const std::string what = What(std::current_exception());
    std::fprintf(stderr, "%s: internal error: %s\n", program, what.c_str());
    return exit_code;
  }
}

bool CatchAtThread(const char* what, const std::function<void()>& body) {
  try {
    body();
    return true;
  } catch (...) {
    FLYP_LOG(ERROR) << what << ": internal error: " << What(std::current_exception());
    return false;
  }
}

}  // namespace flyp
