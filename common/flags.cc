#include "common/flags.h"

#include <algorithm>
#include <map>
#include <ostream>
#include <set>
#include <sstream>

#include "common/edit_distance.h"
#include "common/numbers.h"

namespace flyp {
namespace {

constexpr size_t kHelpWidth = 100;     // wrap help text here
constexpr size_t kFlagColumn = 30;     // where a flag's description starts
constexpr size_t kCommandColumn = 18;  // where a command's summary starts
const char kHelpDescription[] = "show this help";

// ---------------------------------------------------------------- text ---

// `text` wrapped at kHelpWidth, every line after the first indented by
// `indent` (the first starts at column `first_column`).
std::string Wrap(const std::string& text, size_t indent, size_t first_column) {
  std::string out;
  size_t column = first_column;
  std::istringstream words(text);
  std::string word;
  bool first = true;
  while (words >> word) {
    if (!first && column + 1 + word.size() > kHelpWidth) {
      out += "\n" + std::string(indent, ' ');
      column = indent;
    } else if (!first) {
      out += ' ';
      ++column;
    }
    out += word;
    column += word.size();
    first = false;
  }
  return out;
}

// Paragraphs (separated by blank lines) wrapped; lines starting with
// spaces are kept as they are (examples).
std::string WrapParagraphs(const std::string& text) {
  std::string out, para;
  std::istringstream lines(text);
  auto flush = [&] {
    if (!para.empty()) out += Wrap(para, 0, 0) + "\n";
    para.clear();
  };
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) {
      flush();
      out += "\n";
    } else if (line[0] == ' ') {
      flush();
      out += line + "\n";
    } else {
      para += (para.empty() ? "" : " ") + line;
    }
  }
  flush();
  return out;
}

std::string FlagLabel(const FlagSet::Flag& f) {
  std::string s = f.short_name ? std::string("-") + f.short_name + ", " : "    ";
  s += "--" + f.name;
  if (!f.value_name.empty()) s += " " + f.value_name;
  return s;
}

std::string FlagHelp(const FlagSet::Flag& f) {
  const bool says_so = f.help.find("repeatable") != std::string::npos;
  return f.help + (f.repeatable && !says_so ? " (repeatable)" : "");
}

void AppendRow(std::string* out, const std::string& label, const std::string& help,
               size_t column = kFlagColumn) {
  std::string line = "  " + label;
  if (line.size() + 2 > column) {
    *out += line + "\n" + std::string(column, ' ');
  } else {
    *out += line + std::string(column - line.size(), ' ');
  }
  *out += Wrap(help, column, column) + "\n";
}

std::string FlagRows(const FlagSet& fs) {
  std::string out;
  for (const auto& f : fs.flags()) AppendRow(&out, FlagLabel(f), FlagHelp(f));
  return out;
}

std::string ArgumentsSynopsis(const FlagSet& fs) {
  std::string out;
  for (const auto& a : fs.arguments()) {
    const std::string n = a.name + (a.variadic ? "..." : "");
    out += " " + (a.optional ? "[" + n + "]" : n);
  }
  return out;
}

// ----------------------------------------------------------- lookups ---

const Command* FindCommand(const std::vector<Command>& level, const std::string& name) {
  for (const auto& c : level) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::vector<std::string> CommandNames(const std::vector<Command>& level) {
  std::vector<std::string> names;
  for (const auto& c : level) names.push_back(c.name);
  return names;
}

std::string JoinPath(const Program& p, const std::vector<const Command*>& chain) {
  std::string s = p.name;
  for (const Command* c : chain) s += " " + c->name;
  return s;
}

FlagSet Globals(const Program& p) {
  FlagSet g;
  if (p.global_flags) p.global_flags(g);
  return g;
}

// The command's own flags (setup run on a throwaway set when `bind` is null).
FlagSet CommandFlags(const Command& c, Command::Runner* bind = nullptr) {
  FlagSet fs;
  if (c.setup) {
    Command::Runner r = c.setup(fs);
    if (bind != nullptr) *bind = std::move(r);
  }
  return fs;
}

bool IsHelp(const std::string& a) { return a == "-h" || a == "--help"; }

}  // namespace

// ------------------------------------------------------------ FlagSet ---

FlagSet& FlagSet::String(const std::string& name, std::string* out, const std::string& value_name,
                         const std::string& help) {
  return Custom(name, value_name, help, [out](const std::string& v) {
    *out = v;
    return Status::Ok();
  });
}

namespace {

// A setter storing `parse(value, "--name")`, whose error names the flag.
template <typename T, typename Parse>
FlagSet::Setter Parsed(const std::string& name, T* out, Parse parse) {
  return [out, name, parse](const std::string& v) -> Status {
    FLYP_ASSIGN_OR_RETURN(*out, parse(v, "--" + name));
    return Status::Ok();
  };
}

}  // namespace

FlagSet& FlagSet::Int(const std::string& name, int* out, const std::string& value_name,
                      const std::string& help) {
  return Custom(name, value_name, help, Parsed(name, out, [](std::string_view v, const std::string& what) {
                  return ParseInt32(v, what);
                }));
}

FlagSet& FlagSet::Int64(const std::string& name, int64_t* out, const std::string& value_name,
                        const std::string& help) {
  return Custom(name, value_name, help, Parsed(name, out, [](std::string_view v, const std::string& what) {
                  return ParseInt64(v, what);
                }));
}

FlagSet& FlagSet::Double(const std::string& name, double* out, const std::string& value_name,
                         const std::string& help) {
  return Custom(name, value_name, help, Parsed(name, out, [](std::string_view v, const std::string& what) {
                  return ParseDouble(v, what);
                }));
}

FlagSet& FlagSet::Switch(const std::string& name, bool* out, const std::string& help) {
  return Custom(name, "", help, [out, name](const std::string& v) -> Status {
    if (v == "true") {
      *out = true;
    } else if (v == "false") {
      *out = false;
    } else {
      return InvalidArgumentError("--" + name + ": expected true or false, got '" + v + "'");
    }
    return Status::Ok();
  });
}

FlagSet& FlagSet::Strings(const std::string& name, std::vector<std::string>* out,
                          const std::string& value_name, const std::string& help) {
  return Custom(
      name, value_name, help,
      [out](const std::string& v) {
        out->push_back(v);
        return Status::Ok();
      },
      /*repeatable=*/true);
}

FlagSet& FlagSet::Custom(const std::string& name, const std::string& value_name, const std::string& help,
                         Setter set, bool repeatable) {
  Flag f;
  f.name = name;
  f.value_name = value_name;
  f.help = help;
  f.repeatable = repeatable;
  f.set = std::move(set);
  flags_.push_back(std::move(f));
  return *this;
}

FlagSet& FlagSet::Short(char c) {
  if (!flags_.empty()) flags_.back().short_name = c;
  return *this;
}

FlagSet& FlagSet::Arg(const std::string& name, std::string* out, const std::string& help) {
  args_.push_back({name, help, false, false, [out](const std::string& v) {
                     *out = v;
                     return Status::Ok();
                   }});
  return *this;
}

FlagSet& FlagSet::OptionalArg(const std::string& name, std::string* out, const std::string& help) {
  Arg(name, out, help);
  args_.back().optional = true;
  return *this;
}

FlagSet& FlagSet::Args(const std::string& name, std::vector<std::string>* out, const std::string& help,
                       bool at_least_one) {
  args_.push_back({name, help, !at_least_one, true, [out](const std::string& v) {
                     out->push_back(v);
                     return Status::Ok();
                   }});
  return *this;
}

const FlagSet::Flag* FlagSet::FindLong(const std::string& name) const {
  for (const auto& f : flags_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

const FlagSet::Flag* FlagSet::FindShort(char c) const {
  for (const auto& f : flags_) {
    if (c != 0 && f.short_name == c) return &f;
  }
  return nullptr;
}

void FlagSet::AddAll(const FlagSet& other) {
  for (const auto& f : other.flags_) flags_.push_back(f);
}

// ------------------------------------------------------------ parsing ---

namespace {

// "--name" of an argument "--name=value" / "-x".
std::string FlagName(const std::string& a) {
  const size_t eq = a.find('=');
  return eq == std::string::npos ? a : a.substr(0, eq);
}

const FlagSet::Flag* Lookup(const FlagSet& fs, const std::string& a) {
  const std::string name = FlagName(a);
  if (name.rfind("--", 0) == 0) return fs.FindLong(name.substr(2));
  if (name.size() == 2) return fs.FindShort(name[1]);
  return nullptr;
}

std::string Suggest(const FlagSet& fs, const std::string& a) {
  std::string name = FlagName(a);
  while (!name.empty() && name[0] == '-') name.erase(0, 1);
  std::vector<std::string> names = {"help"};
  for (const auto& f : fs.flags()) names.push_back(f.name);
  const std::string guess = ClosestMatch(name, names);
  return guess.empty() ? "" : "; did you mean --" + guess + "?";
}

}  // namespace

Status ParseFlagSet(const FlagSet& fs, const std::vector<std::string>& args) {
  std::vector<std::string> positional;
  bool only_positional = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (only_positional || a.size() < 2 || a[0] != '-') {
      positional.push_back(a);
      continue;
    }
    if (a == "--") {
      only_positional = true;
      continue;
    }
    const FlagSet::Flag* f = Lookup(fs, a);
    if (f == nullptr) return InvalidArgumentError("unknown flag " + FlagName(a) + Suggest(fs, a));
    const size_t eq = a.find('=');
    std::string value;
    if (f->value_name.empty()) {
      value = eq == std::string::npos ? "true" : a.substr(eq + 1);
    } else if (eq != std::string::npos) {
      value = a.substr(eq + 1);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return InvalidArgumentError(FlagName(a) + " needs a value (" + f->value_name + ")");
    }
    FLYP_RETURN_IF_ERROR(f->set(value));
  }
  const auto& want = fs.arguments();
  size_t next = 0;    // the argument the next positional fills
  size_t filled = 0;  // positionals given to want[next] (a variadic one takes many)
  for (const std::string& v : positional) {
    if (next >= want.size()) return InvalidArgumentError("unexpected argument '" + v + "'");
    FLYP_RETURN_IF_ERROR(want[next].set(v));
    if (want[next].variadic) {
      ++filled;
    } else {
      ++next;
    }
  }
  for (size_t k = next; k < want.size(); ++k) {
    const bool given = k == next && filled > 0;
    if (!want[k].optional && !given) return InvalidArgumentError("missing " + want[k].name);
  }
  return Status::Ok();
}

namespace {

class Parser {
 public:
  Parser(const Program& p, std::ostream& out, std::ostream& err) : p_(p), out_(out), err_(err) {}

  int Run(const std::vector<std::string>& args) {
    if (args.size() == 1 && args[0] == "--help-markdown") {
      out_ << MarkdownReference(p_);
      return 0;
    }
    FlagSet globals = Globals(p_);
    // Where "--" is: nothing after it is a flag (or a help request).
    const size_t end = std::find(args.begin(), args.end(), "--") - args.begin();
    const bool help = std::any_of(args.begin(), args.begin() + end, IsHelp);
    if (!help && !p_.version.empty() &&
        std::find(args.begin(), args.begin() + end, "--version") != args.begin() + end) {
      out_ << p_.name << " " << p_.version << "\n";
      return 0;
    }

    // The command path: the first arguments that are not flags (or the
    // values of global flags).
    std::vector<const Command*> chain;
    size_t i = 0;
    std::vector<std::string> before;  // global flags given before the command
    const std::vector<Command>* level = &p_.commands;
    while (i < end && !level->empty()) {
      const std::string& a = args[i];
      if (IsHelp(a)) {
        ++i;
        continue;
      }
      if (a.size() > 1 && a[0] == '-') {
        const FlagSet::Flag* f = Lookup(globals, a);
        if (f == nullptr) {
          if (chain.empty() && !p_.default_command.empty() && !help) {
            chain.push_back(FindCommand(p_.commands, p_.default_command));
            break;
          }
          if (help) {
            ++i;
            continue;
          }
          return Usage(chain, "unknown flag " + FlagName(a) + Suggest(globals, a));
        }
        before.push_back(a);
        if (!f->value_name.empty() && a.find('=') == std::string::npos && i + 1 < end) {
          before.push_back(args[++i]);
        }
        ++i;
        continue;
      }
      const Command* c = FindCommand(*level, a);
      if (c == nullptr) {
        if (help) break;
        if (!chain.empty() && chain.back()->setup) break;  // an argument of the command
        const std::string guess = ClosestMatch(a, CommandNames(*level));
        err_ << JoinPath(p_, chain) << ": unknown command '" << a << "'"
             << (guess.empty() ? "" : "; did you mean " + guess + "?") << "\nRun '" << JoinPath(p_, chain)
             << " --help' for the commands.\n";
        return p_.usage_exit;
      }
      chain.push_back(c);
      ++i;
      level = &c->subcommands;
    }
    if (help) {
      std::vector<std::string> path;
      for (const Command* c : chain) path.push_back(c->name);
      out_ << HelpText(p_, path);
      return 0;
    }

    // Global flags before the command.
    if (int rc = Apply(globals, before, chain); rc != 0) return rc;

    Command::Runner runner;
    FlagSet fs;
    if (p_.commands.empty()) {
      if (p_.setup) runner = p_.setup(fs);
    } else {
      if (chain.empty()) {
        err_ << HelpText(p_);
        return p_.usage_exit;
      }
      const Command* c = chain.back();
      if (!c->subcommands.empty() && !c->setup) {
        err_ << HelpText(p_, PathOf(chain));
        return p_.usage_exit;
      }
      fs = CommandFlags(*c, &runner);
    }
    fs.AddAll(globals);
    std::vector<std::string> rest(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
    if (int rc = Apply(fs, rest, chain); rc != 0) return rc;
    return runner ? runner() : 0;
  }

 private:
  static std::vector<std::string> PathOf(const std::vector<const Command*>& chain) {
    std::vector<std::string> path;
    for (const Command* c : chain) path.push_back(c->name);
    return path;
  }

  int Usage(const std::vector<const Command*>& chain, const std::string& problem) {
    const std::string path = JoinPath(p_, chain);
    err_ << path << ": " << problem << "\nRun '" << path << " --help' for usage.\n";
    return p_.usage_exit;
  }

  // Applies flags and positional arguments to `fs`; 0 or the usage exit code.
  int Apply(const FlagSet& fs, const std::vector<std::string>& args,
            const std::vector<const Command*>& chain) {
    Status s = ParseFlagSet(fs, args);
    return s.ok() ? 0 : Usage(chain, s.message());
  }

  const Program& p_;
  std::ostream& out_;
  std::ostream& err_;
};

}  // namespace

int RunProgram(const Program& program, const std::vector<std::string>& args, std::ostream& out,
               std::ostream& err) {
  return Parser(program, out, err).Run(args);
}

// --------------------------------------------------------------- help ---

std::string HelpText(const Program& p, const std::vector<std::string>& path) {
  std::vector<const Command*> chain;
  const std::vector<Command>* level = &p.commands;
  for (const std::string& name : path) {
    const Command* c = FindCommand(*level, name);
    if (c == nullptr) break;
    chain.push_back(c);
    level = &c->subcommands;
  }
  const FlagSet globals = Globals(p);
  std::string out;
  const std::string prog = JoinPath(p, chain);
  FlagSet help_flag;
  bool dummy = false;
  help_flag.Switch("help", &dummy, kHelpDescription).Short('h');
  if (!p.version.empty() && chain.empty()) {
    help_flag.Switch("version", &dummy, "print the version and exit");
  }

  if (chain.empty() && !p.commands.empty()) {
    out += p.name + ": " + p.summary + "\n\nUsage:\n  " + p.name +
           (globals.flags().empty() ? "" : " [global flags]") + " COMMAND [flags] [arguments]\n";
    if (!p.default_command.empty()) {
      const Command* d = FindCommand(p.commands, p.default_command);
      if (d != nullptr) {
        FlagSet fs = CommandFlags(*d);
        out += "  " + p.name + " [flags]" + ArgumentsSynopsis(fs) + "   (the same as: " + p.name + " " +
               d->name + " ...)\n";
      }
    }
    if (!p.description.empty()) out += "\n" + WrapParagraphs(p.description);
    out += "\nCommands:\n";
    for (const auto& c : p.commands) {
      std::string summary = c.summary;
      if (!c.subcommands.empty()) {
        std::string subs;
        for (const auto& s : c.subcommands) subs += (subs.empty() ? "" : ", ") + s.name;
        summary += " (" + subs + ")";
      }
      AppendRow(&out, c.name, summary, kCommandColumn);
    }
    out += "\n" +
           std::string(globals.flags().empty() ? "Flags" : "Global flags (before or after the command)") +
           ":\n" + FlagRows(globals) + FlagRows(help_flag);
    if (!p.help_footer.empty()) out += "\n" + p.help_footer;
    out += "\nRun '" + p.name + " COMMAND --help' for a command's flags.\n";
    return out;
  }
  if (chain.empty()) {  // a program without commands
    FlagSet fs;
    if (p.setup) p.setup(fs);
    out += p.name + ": " + p.summary + "\n\nUsage:\n  " + p.name + " [flags]" + ArgumentsSynopsis(fs) + "\n";
    if (!p.description.empty()) out += "\n" + WrapParagraphs(p.description);
    out += "\nFlags:\n" + FlagRows(fs) + FlagRows(globals) + FlagRows(help_flag);
    if (!p.help_footer.empty()) out += "\n" + p.help_footer;
    return out;
  }
  const Command& c = *chain.back();
  if (!c.subcommands.empty() && !c.setup) {
    out += prog + ": " + c.summary + "\n\nUsage:\n  " + prog + " COMMAND [flags] [arguments]\n";
    if (!c.description.empty()) out += "\n" + WrapParagraphs(c.description);
    out += "\nCommands:\n";
    for (const auto& s : c.subcommands) AppendRow(&out, s.name, s.summary, kCommandColumn);
    out += "\nRun '" + prog + " COMMAND --help' for a command's flags.\n";
    return out;
  }
  FlagSet fs = CommandFlags(c);
  out += "Usage:\n  " + prog + " [flags]" + ArgumentsSynopsis(fs) + "\n\n" + Wrap(c.summary, 0, 0) + "\n";
  if (!c.description.empty()) out += "\n" + WrapParagraphs(c.description);
  if (!fs.arguments().empty()) {
    out += "\nArguments:\n";
    for (const auto& a : fs.arguments()) AppendRow(&out, a.name, a.help);
  }
  out += "\nFlags:\n" + FlagRows(fs) + FlagRows(help_flag);
  if (!globals.flags().empty()) out += "\nGlobal flags:\n" + FlagRows(globals);
  return out;
}

// ----------------------------------------------------------- markdown ---

namespace {

std::string Cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string MarkdownFlags(const FlagSet& fs) {
  if (fs.flags().empty()) return "";
  std::string out = "| flag | description |\n|---|---|\n";
  for (const auto& f : fs.flags()) {
    std::string label = "`--" + f.name + (f.value_name.empty() ? "" : " " + f.value_name) + "`";
    if (f.short_name) label = "`-" + std::string(1, f.short_name) + "`, " + label;
    out += "| " + Cell(label) + " | " + Cell(FlagHelp(f)) + " |\n";
  }
  return out;
}

std::string MarkdownArgs(const FlagSet& fs) {
  if (fs.arguments().empty()) return "";
  std::string out = "| argument | description |\n|---|---|\n";
  for (const auto& a : fs.arguments()) {
    out += "| `" + Cell(a.name + (a.variadic ? "..." : "")) + "` | " + Cell(a.help) +
           (a.optional ? " (optional)" : "") + " |\n";
  }
  return out;
}

// Markdown paragraphs: indented lines become a code block.
std::string MarkdownText(const std::string& text) {
  std::string out;
  bool code = false;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const bool indented = !line.empty() && line[0] == ' ';
    if (indented && !code) {
      out += "```\n";
      code = true;
    } else if (!indented && code) {
      out += "```\n";
      code = false;
    }
    if (indented) {
      size_t strip = std::min<size_t>(2, line.find_first_not_of(' '));
      out += line.substr(strip) + "\n";
    } else {
      out += line + "\n";
    }
  }
  if (code) out += "```\n";
  return out;
}

void MarkdownCommand(const Program& p, const std::vector<const Command*>& chain, const FlagSet& globals,
                     std::string* out) {
  const Command& c = *chain.back();
  const std::string prog = JoinPath(p, chain);
  *out += "\n### `" + prog + "`\n\n" + c.summary + "\n";
  if (!c.subcommands.empty() && !c.setup) {
    *out += "\n| command | what |\n|---|---|\n";
    for (const auto& s : c.subcommands) *out += "| `" + s.name + "` | " + Cell(s.summary) + " |\n";
  } else {
    FlagSet fs = CommandFlags(c);
    *out += "\n```\n" + prog + " [flags]" + ArgumentsSynopsis(fs) + "\n```\n";
    if (!c.description.empty()) *out += "\n" + MarkdownText(c.description);
    if (!fs.arguments().empty()) *out += "\n" + MarkdownArgs(fs);
    if (!fs.flags().empty()) *out += "\n" + MarkdownFlags(fs);
  }
  for (const auto& s : c.subcommands) {
    std::vector<const Command*> sub = chain;
    sub.push_back(&s);
    MarkdownCommand(p, sub, globals, out);
  }
}

}  // namespace

std::string MarkdownReference(const Program& p) {
  const FlagSet globals = Globals(p);
  std::string out = "## " + p.name + "\n\n" + p.summary + "\n";
  if (!p.description.empty()) out += "\n" + MarkdownText(p.description);
  if (p.commands.empty()) {
    FlagSet fs;
    if (p.setup) p.setup(fs);
    out += "\n```\n" + p.name + " [flags]" + ArgumentsSynopsis(fs) + "\n```\n";
    fs.AddAll(globals);
    if (!fs.arguments().empty()) out += "\n" + MarkdownArgs(fs);
    out += "\n" + MarkdownFlags(fs);
    return out;
  }
  out += "\n| command | what |\n|---|---|\n";
  for (const auto& c : p.commands) out += "| `" + c.name + "` | " + Cell(c.summary) + " |\n";
  if (!globals.flags().empty()) {
    out += "\nGlobal flags, accepted before or after the command:\n\n" + MarkdownFlags(globals);
  }
  for (const auto& c : p.commands) MarkdownCommand(p, {&c}, globals, &out);
  return out;
}

// ---------------------------------------------------------- completion ---

namespace {

struct CompletionLevel {
  std::string path;  // "", "submit", "config", "config use-context"
  std::vector<std::string> words;
  bool files = false;  // the command takes arguments: complete file names too
  bool group = false;  // a group: the next word is a subcommand
};

std::string Identifier(const std::string& name) {
  std::string out = "_";
  for (char c : name) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

// Every completion context of the program, and every flag that takes a value.
std::vector<CompletionLevel> Levels(const Program& p, std::set<std::string>* value_flags) {
  const FlagSet globals = Globals(p);
  std::vector<std::string> global_words;
  for (const auto& f : globals.flags()) {
    global_words.push_back("--" + f.name);
    if (!f.value_name.empty()) {
      value_flags->insert("--" + f.name);
      if (f.short_name) value_flags->insert(std::string("-") + f.short_name);
    }
  }
  global_words.push_back("--help");
  std::vector<CompletionLevel> levels;
  std::function<void(const Command&, const std::string&)> add = [&](const Command& c,
                                                                    const std::string& path) {
    CompletionLevel l;
    l.path = path;
    if (!c.subcommands.empty() && !c.setup) {
      l.group = true;
      for (const auto& s : c.subcommands) l.words.push_back(s.name);
    } else {
      FlagSet fs = CommandFlags(c);
      for (const auto& f : fs.flags()) {
        l.words.push_back("--" + f.name);
        if (!f.value_name.empty()) {
          value_flags->insert("--" + f.name);
          if (f.short_name) value_flags->insert(std::string("-") + f.short_name);
        }
      }
      l.files = !fs.arguments().empty();
    }
    l.words.insert(l.words.end(), global_words.begin(), global_words.end());
    levels.push_back(l);
    for (const auto& s : c.subcommands) add(s, path + " " + s.name);
  };
  CompletionLevel top;
  top.group = !p.commands.empty();
  for (const auto& c : p.commands) top.words.push_back(c.name);
  if (p.commands.empty()) {
    FlagSet fs;
    if (p.setup) p.setup(fs);
    for (const auto& f : fs.flags()) {
      top.words.push_back("--" + f.name);
      if (!f.value_name.empty()) value_flags->insert("--" + f.name);
    }
  }
  top.words.insert(top.words.end(), global_words.begin(), global_words.end());
  levels.push_back(top);
  for (const auto& c : p.commands) add(c, c.name);
  return levels;
}

std::string Joined(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

std::string Joined(const std::set<std::string>& words) {
  return Joined(std::vector<std::string>(words.begin(), words.end()));
}

// The shell `case` arms that extend the command path by one word when the
// path so far is a group.
std::string GroupArms(const std::vector<CompletionLevel>& levels) {
  std::string out;
  for (const auto& l : levels) {
    if (!l.group) continue;
    out += "      \"" + l.path + "\") cmd_path=\"" + (l.path.empty() ? "" : l.path + " ") + "$w\" ;;\n";
  }
  return out;
}

}  // namespace

std::string BashCompletion(const Program& p) {
  std::set<std::string> value_flags;
  const std::vector<CompletionLevel> levels = Levels(p, &value_flags);
  const std::string fn = Identifier(p.name);
  std::string out = "# bash completion for " + p.name + " (generated by `" + p.name +
                    " completion bash`)\n"
                    "# Load it with: source <(" +
                    p.name + " completion bash)\n" + fn +
                    "() {\n"
                    "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
                    "  local value_flags=\" " +
                    Joined(value_flags) +
                    " \"\n"
                    "  if [[ $value_flags == *\" $prev \"* && $cur != -* ]]; then\n"
                    "    COMPREPLY=($(compgen -f -- \"$cur\"))\n"
                    "    return\n"
                    "  fi\n"
                    "  local cmd_path=\"\" w i\n"
                    "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
                    "    w=${COMP_WORDS[i]}\n"
                    "    if [[ $w == -* ]]; then\n"
                    "      [[ $w != *=* && $value_flags == *\" $w \"* ]] && ((i++))\n"
                    "      continue\n"
                    "    fi\n"
                    "    case \"$cmd_path\" in\n" +
                    GroupArms(levels) +
                    "      *) break ;;\n"
                    "    esac\n"
                    "  done\n"
                    "  local words=\"\" files=0\n"
                    "  case \"$cmd_path\" in\n";
  for (const auto& l : levels) {
    out +=
        "    \"" + l.path + "\") words=\"" + Joined(l.words) + "\"" + (l.files ? "; files=1" : "") + " ;;\n";
  }
  out +=
      "  esac\n"
      "  COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
      "  if [[ $files == 1 && $cur != -* ]]; then COMPREPLY+=($(compgen -f -- \"$cur\")); fi\n"
      "}\n"
      "complete -F " +
      fn + " " + p.name + "\n";
  return out;
}

std::string ZshCompletion(const Program& p) {
  std::set<std::string> value_flags;
  const std::vector<CompletionLevel> levels = Levels(p, &value_flags);
  const std::string fn = Identifier(p.name);
  std::string out = "#compdef " + p.name + "\n# zsh completion for " + p.name + " (generated by `" + p.name +
                    " completion zsh`)\n"
                    "# Put it on $fpath as _" +
                    p.name + ", or load it with: source <(" + p.name + " completion zsh)\n" + fn +
                    "() {\n"
                    "  local -a value_flags=(" +
                    Joined(value_flags) +
                    ")\n"
                    "  local cur=${words[CURRENT]} prev=${words[CURRENT-1]}\n"
                    "  if (( ${value_flags[(Ie)$prev]} )) && [[ $cur != -* ]]; then\n"
                    "    _files\n"
                    "    return\n"
                    "  fi\n"
                    "  local cmd_path=\"\" w i\n"
                    "  for ((i = 2; i < CURRENT; i++)); do\n"
                    "    w=${words[i]}\n"
                    "    if [[ $w == -* ]]; then\n"
                    "      [[ $w != *=* ]] && (( ${value_flags[(Ie)$w]} )) && ((i++))\n"
                    "      continue\n"
                    "    fi\n"
                    "    case \"$cmd_path\" in\n" +
                    GroupArms(levels) +
                    "      *) break ;;\n"
                    "    esac\n"
                    "  done\n"
                    "  case \"$cmd_path\" in\n";
  for (const auto& l : levels) {
    out += "    \"" + l.path + "\") compadd -- " + Joined(l.words) + (l.files ? "; _files" : "") + " ;;\n";
  }
  out += "  esac\n}\nif [[ ${zsh_eval_context[-1]} == loadautofunc ]]; then\n  " + fn +
         " \"$@\"\nelse\n  compdef " + fn + " " + p.name + "\nfi\n";
  return out;
}

}  // namespace flyp
