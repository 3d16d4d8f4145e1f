// Confinement of job inputs at the time they are used. The coordinator
// checks a spec's paths against its data roots when the job is submitted,
// but what a path means can change afterwards (a symlink that dangled at
// submit time, a directory swapped for a link) and some paths are only
// known later (the images a CSV lists). So flyp-worker checks every input
// file it opens, after opening it: the file's real path (the kernel's, from
// /proc/self/fd) must lie inside one of the roots. Checking the opened file,
// not the name, leaves no window between check and use.
//
// Inputs are what a spec points at: checkpoints, vocabularies, dataset
// files and folders, the files a dataset lists, class-name and template
// files. The worker's own files (its spec, its output folder, the
// coordinator's CA) are not inputs.
//
// The roots come from FLYP_DATA_ROOTS (common/env.h; the launchers pass the
// coordinator's data roots); with none set, nothing is confined (a
// standalone flyp-worker reads what its user can).
//
// Thread safety: SetInputRoots may be called at any time; the checks read a
// consistent snapshot of the roots from any thread.
#pragma once

#include <fcntl.h>

#include <string>
#include <vector>

#include "common/file_util.h"
#include "common/status.h"

namespace flyp {

// Replaces the roots, each resolved to its real path (INVALID_ARGUMENT
// naming a root that is not an existing directory; the roots are unchanged
// then). An empty list turns confinement off.
Status SetInputRoots(const std::vector<std::string>& roots);
// The resolved roots; empty when confinement is off.
std::vector<std::string> InputRoots();
// Sets the roots from FLYP_DATA_ROOTS (':'-separated); OK when unset.
Status SetInputRootsFromEnv();

// OK when confinement is off or the file open as `fd` (opened from `path`)
// lies inside a root; otherwise PERMISSION_DENIED
//   "'<path>' resolves to '<real path>', outside the data roots (<roots>)".
Status CheckInputFd(int fd, const std::string& path);

// The readers of common/file_util.h with CheckInputFd applied.
StatusOr<std::string> ReadInputFile(const std::string& path, size_t max_bytes);
StatusOr<std::string> ReadMaybeGzipInputFile(const std::string& path, size_t max_bytes);
StatusOr<std::string> ReadInputFilePrefix(const std::string& path, size_t max_bytes);

// Opens `path` (a file, or a directory with O_DIRECTORY in `flags`) and
// checks it. Errors as file_util's (NOT_FOUND, PERMISSION_DENIED, ...).
StatusOr<UniqueFd> OpenInput(const std::string& path, int flags = O_RDONLY);

}  // namespace flyp
