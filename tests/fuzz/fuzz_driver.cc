// A bounded random-mutation fuzzing driver for gcc builds (CI has no clang):
// it links with a target that defines libFuzzer's entry point
//
//   extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
//
// (the target aborts on a broken invariant; the same file builds with
// clang -fsanitize=fuzzer, docs/development.md), and runs it on
//
//   1. every file of the corpus folders, as they are (a replay: the crash
//      inputs found so far are committed there), then
//   2. a fixed number of mutants of them, from a fixed seed, so a run is
//      repeatable: bit flips, random and "interesting" bytes, inserted,
//      deleted and repeated ranges, splices of two corpus entries, and the
//      tokens of a libFuzzer-format dictionary (-dict=FILE).
//
// Usage (the flags are libFuzzer's, a subset):
//   fuzz_TARGET [-runs=N] [-seed=S] [-max_len=L] [-timeout=SECONDS]
//               [-dict=FILE] [-artifact_prefix=DIR/] CORPUS_DIR_OR_FILE...
//
// When an input kills the process (a fatal signal, an abort, a sanitizer
// report) it is written to <artifact_prefix>crash-input on the way out. An
// input running longer than -timeout seconds is a hang: SIGALRM saves it
// the same way and exits 70. Exit 0 when every input ran.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

// libFuzzer dictionary lines: name="token" or "token", with \\, \" and \xNN
// escapes; '#' starts a comment.
std::vector<std::string> ReadDictionary(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "fuzz: cannot read dictionary '%s'\n", path.c_str());
    std::exit(2);
  }
  std::string line;
  while (std::getline(in, line)) {
    const size_t q = line.find('"');
    if (line.empty() || line[0] == '#' || q == std::string::npos) continue;
    std::string tok;
    for (size_t i = q + 1; i < line.size() && line[i] != '"'; ++i) {
      if (line[i] != '\\' || i + 1 >= line.size()) {
        tok += line[i];
      } else if (line[i + 1] == 'x' && i + 3 < line.size()) {
        tok += static_cast<char>(std::strtol(line.substr(i + 2, 2).c_str(), nullptr, 16));
        i += 3;
      } else {
        tok += line[++i];
      }
    }
    if (!tok.empty()) out.push_back(tok);
  }
  return out;
}

class Mutator {
 public:
  Mutator(uint64_t seed, const std::vector<std::string>& corpus, const std::vector<std::string>& dict,
          size_t max_len)
      : rng_(seed), corpus_(corpus), dict_(dict), max_len_(max_len) {}

  // One to eight mutations of a corpus entry, mostly few (one in half the
  // mutants): a mutant near a valid input gets past the syntax and into the
  // checks behind it.
  std::string Next() {
    std::string s = corpus_[Below(corpus_.size())];
    size_t n = 1;
    while (n < 8 && Below(2)) ++n;
    for (size_t i = 0; i < n; ++i) MutateOnce(&s);
    if (s.size() > max_len_) s.resize(max_len_);
    return s;
  }

 private:
  size_t Below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng_() % n); }

  void MutateOnce(std::string* s) {
    static const char kInteresting[] = {'\0', '\x01', '\x7f', '\x80', '\xff', '\n', '\r', '\t', ' ', ':', ',',
                                        '{',  '}',    '[',    ']',    '"',    '\'', '\\', '&',  '*', '!', '#',
                                        '-',  '0',    '9',    '.',    'e',    '%',  '|',  '>',  '?'};
    const size_t pos = Below(s->size() + 1);
    switch (Below(9)) {
      case 0:  // flip a bit
        if (!s->empty()) (*s)[pos % s->size()] ^= static_cast<char>(1u << Below(8));
        break;
      case 1:  // a random byte
        if (!s->empty()) (*s)[pos % s->size()] = static_cast<char>(Below(256));
        break;
      case 2:  // an interesting byte, replaced or inserted
        if (!s->empty() && Below(2)) {
          (*s)[pos % s->size()] = kInteresting[Below(sizeof(kInteresting))];
        } else {
          s->insert(pos, 1, kInteresting[Below(sizeof(kInteresting))]);
        }
        break;
      case 3: {  // delete a range
        const size_t len = 1 + Below(std::min<size_t>(64, s->size() + 1));
        if (pos < s->size()) s->erase(pos, len);
        break;
      }
      case 4: {  // repeat a range
        if (s->empty()) break;
        const size_t from = Below(s->size());
        const size_t len = 1 + Below(std::min<size_t>(256, s->size() - from));
        const std::string piece = s->substr(from, len);
        const size_t times = 1 + Below(Below(2) ? 4 : 200);
        for (size_t t = 0; t < times && s->size() < max_len_; ++t) s->insert(pos, piece);
        break;
      }
      case 5: {  // splice in a piece of another entry
        const std::string& other = corpus_[Below(corpus_.size())];
        if (other.empty()) break;
        const size_t from = Below(other.size());
        s->insert(pos, other.substr(from, 1 + Below(other.size() - from)));
        break;
      }
      case 6:  // a dictionary token
        if (!dict_.empty()) s->insert(pos, dict_[Below(dict_.size())]);
        break;
      case 7: {  // a dictionary token over existing bytes
        if (dict_.empty() || s->empty()) break;
        const std::string& tok = dict_[Below(dict_.size())];
        s->replace(pos % s->size(), std::min(tok.size(), s->size() - pos % s->size()), tok);
        break;
      }
      case 8: {  // a number where digits are
        const size_t at = s->find_first_of("0123456789", pos);
        if (at == std::string::npos) break;
        static const char* const kNumbers[] = {"0",
                                               "-1",
                                               "2147483648",
                                               "9223372036854775807",
                                               "18446744073709551616",
                                               "1e309",
                                               "-0",
                                               "4294967295",
                                               "65536",
                                               "1e-400",
                                               "nan"};
        const size_t end = s->find_first_not_of("0123456789", at);
        s->replace(at, (end == std::string::npos ? s->size() : end) - at,
                   kNumbers[Below(std::size(kNumbers))]);
        break;
      }
    }
  }

  std::mt19937_64 rng_;
  const std::vector<std::string>& corpus_;
  const std::vector<std::string>& dict_;
  size_t max_len_;
};

// The input running now, written out by the handlers when the process dies
// (open/write/close only: async-signal-safe). Writing every input to disk
// before it runs cost more than running it.
char g_crash_file[4096];
const std::string* g_current = nullptr;
struct sigaction g_previous[NSIG];

void SaveCurrentInput() {
  if (g_current == nullptr) return;
  const int fd = ::open(g_crash_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  size_t done = 0;
  while (done < g_current->size()) {
    const ssize_t n = ::write(fd, g_current->data() + done, g_current->size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  static const char kMsg[] = "fuzz: the input that ran is in ";
  (void)!::write(2, kMsg, sizeof(kMsg) - 1);
  (void)!::write(2, g_crash_file, std::strlen(g_crash_file));
  (void)!::write(2, "\n", 1);
}

// A fatal signal: save the input, then let the previous handler (the
// default, or a sanitizer's report) have it.
void OnFatalSignal(int sig) {
  SaveCurrentInput();
  g_current = nullptr;
  ::sigaction(sig, &g_previous[sig], nullptr);
  // A fault re-executes the faulting instruction on return; others are raised again.
  if (sig != SIGSEGV && sig != SIGBUS && sig != SIGFPE && sig != SIGILL) ::raise(sig);
}

void OnAlarm(int) {
  static const char kMsg[] = "fuzz: an input ran past -timeout (a hang)\n";
  (void)!::write(2, kMsg, sizeof(kMsg) - 1);
  SaveCurrentInput();
  ::_exit(70);
}

void InstallHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnFatalSignal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) ::sigaction(sig, &sa, &g_previous[sig]);
  ::signal(SIGALRM, OnAlarm);
}

void RunOne(const std::string& input, unsigned timeout_s) {
  g_current = &input;
  ::alarm(timeout_s);
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  ::alarm(0);
  g_current = nullptr;
}

}  // namespace

// Sanitizers report and exit without a signal: their death callback saves
// the input too.
extern "C" void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

int main(int argc, char** argv) {
  uint64_t runs = 10000, seed = 1;
  size_t max_len = 64 * 1024;
  unsigned timeout_s = 10;
  std::string prefix = "./";
  std::vector<std::string> dict;
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const char* flag) -> const char* {
      const size_t n = std::strlen(flag);
      return a.compare(0, n, flag) == 0 ? a.c_str() + n : nullptr;
    };
    if (const char* v = value("-runs=")) {
      runs = std::strtoull(v, nullptr, 10);
    } else if (const char* v = value("-seed=")) {
      seed = std::strtoull(v, nullptr, 10);
    } else if (const char* v = value("-max_len=")) {
      max_len = std::strtoull(v, nullptr, 10);
    } else if (const char* v = value("-timeout=")) {
      timeout_s = static_cast<unsigned>(std::strtoul(v, nullptr, 10));
    } else if (const char* v = value("-dict=")) {
      dict = ReadDictionary(v);
    } else if (const char* v = value("-artifact_prefix=")) {
      prefix = v;
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "fuzz: unknown flag '%s' (see tests/fuzz/fuzz_driver.cc)\n", a.c_str());
      return 2;
    } else {
      inputs.emplace_back(a);
    }
  }
  const std::string crash_file = prefix + "crash-input";
  if (crash_file.size() >= sizeof(g_crash_file)) {
    std::fprintf(stderr, "fuzz: -artifact_prefix is too long\n");
    return 2;
  }
  std::memcpy(g_crash_file, crash_file.c_str(), crash_file.size() + 1);
  InstallHandlers();
  if (__sanitizer_set_death_callback != nullptr) __sanitizer_set_death_callback(SaveCurrentInput);
  std::vector<std::string> corpus;
  for (const fs::path& p : inputs) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<fs::path> files;
      for (const auto& e : fs::directory_iterator(p)) {
        if (e.is_regular_file()) files.push_back(e.path());
      }
      std::sort(files.begin(), files.end());  // a repeatable order
      for (const fs::path& f : files) corpus.push_back(ReadAll(f));
    } else if (fs::is_regular_file(p, ec)) {
      corpus.push_back(ReadAll(p));
    } else {
      std::fprintf(stderr, "fuzz: '%s' is neither a corpus folder nor a file\n", p.c_str());
      return 2;
    }
  }
  if (corpus.empty()) {
    std::fprintf(stderr, "fuzz: the corpus is empty\n");
    return 2;
  }
  for (const std::string& c : corpus) RunOne(c, timeout_s);
  Mutator mutator(seed, corpus, dict, max_len);
  for (uint64_t i = 0; i < runs; ++i) RunOne(mutator.Next(), timeout_s);
  std::printf("fuzz: %zu corpus inputs and %llu mutants (seed %llu) ran without a crash or a hang\n",
              corpus.size(), static_cast<unsigned long long>(runs), static_cast<unsigned long long>(seed));
  return 0;
}
