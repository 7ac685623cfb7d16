//===- Commands.h - percpu-elfpatch subcommands ----------------------------===//
//
// Each subcommand has an options struct and a run function here, and its
// command-line set-up in main.cpp (the one translation unit that includes
// CLI11).  Exit statuses: 0 success/clean, 1 a rule failed, 2 an input could
// not be read or the usage is wrong.
//===----------------------------------------------------------------------===//
#ifndef PERCPU_ELFPATCH_TOOL_COMMANDS_H
#define PERCPU_ELFPATCH_TOOL_COMMANDS_H

#include "percpu/elfpatch/Check.h"
#include "percpu/elfpatch/Object.h"

#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace percpu::elfpatch::tool {

enum Exit { kExitOk = 0, kExitRule = 1, kExitInput = 2 };

// --format's values; the options structs hold the spelling the command line
// gave (CLI11 checks it), each run function turns it into this once.
enum class Format { Text, Json, Sarif, Svg };
Format parseFormat(const std::string &text);

struct PatchCommand {
    std::string input;
    std::string name;       // what diagnostics call the input (empty: input)
    std::string output;
    bool indirect = false;
    bool verbose = false;
    std::string abi = "auto";
};
int runPatch(const PatchCommand &c);

struct CheckCommand {
    std::vector<std::string> inputs;
    std::string format = "text";
    std::vector<std::string> disable;
    uint64_t cacheline = 64;
    std::string maxBlock;   // bytes, with optional K/M suffix
    std::string baseline;
    std::string maxGrowth;  // bytes or N%
    std::string abi = "auto";
    std::vector<std::string> kernelSymbols;
    std::string output;     // empty: standard output
    unsigned errorLimit = 20; // text shown on standard output; 0: all
};
int runCheck(const CheckCommand &c);

struct LayoutCommand {
    std::vector<std::string> inputs;
    std::string format = "text";
    unsigned cpus = 0;      // 0: this machine's possible CPUs
    uint64_t cacheline = 64;
    std::string abi = "auto";
};
int runLayout(const LayoutCommand &c);

struct LinkCommand {
    std::vector<std::string> inputs;
    std::string output;
    std::string ld;         // empty: ld.lld on PATH, then LLVM's
    bool indirect = false;
    bool shared = false;    // link a shared object (library or plugin)
    std::vector<std::string> command; // --shared: the link command, after --
};
int runLink(const LinkCommand &c);
int runLinkShared(const LinkCommand &c);

// Shared helpers (Common.cpp).
struct LoadedFile {
    std::shared_ptr<llvm::MemoryBuffer> buffer; // an archive's, shared by its members
    ObjectFile object;
};
// The objects of `path`: the file itself, or each member of an archive (ar
// and thin archives: `.a`), named "libx.a(member.o)".  Diagnostics go to
// `sink`; *cannotRead as for loadFile.  Members that are not valid objects
// are diagnosed one by one; the others are returned.
std::vector<LoadedFile> loadInput(const std::string &path, std::vector<Diagnostic> &sink,
                                  bool &cannotRead, bool &bad);
// Reads and parses `path`; prints the diagnostic (or hands it to `sink`) and
// returns nullopt on error.  Diagnostics call the file `name` when it is
// given (a temporary file stands for the user's inputs).  *cannotRead, when given, says whether the file
// itself could not be read (missing, a directory, no permission), as
// opposed to its contents being malformed.
std::optional<LoadedFile> loadFile(const std::string &path, std::vector<Diagnostic> *sink = nullptr,
                                   bool *cannotRead = nullptr, const std::string &name = "");
// Writes `bytes` to `path`: a regular file (through symbolic links, as cp
// follows them) is replaced by a rename from a temporary file, so a failure
// leaves no partial output; a device, terminal or pipe (/dev/null,
// /dev/stdout) is written through, never replaced.  Prints an error and
// returns false on any failure.
bool writeFileAtomically(const std::string &path, llvm::ArrayRef<uint8_t> bytes);
// Flushes standard output; false, with a message naming `tool`, when a
// write failed (a full disk, /dev/full, a closed pipe).
bool flushStandardOutput(const char *tool);
// Parses "4096", "64K", "2M".
std::optional<uint64_t> parseBytes(const std::string &text);
const char *toolVersion();
// "auto", "user" or "kernel" (the CLI checks the spelling).
Abi parseAbi(const std::string &text);

} // namespace percpu::elfpatch::tool

#endif
