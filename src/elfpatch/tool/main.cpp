//===- main.cpp - percpu-elfpatch: command-line set-up ----------------------===//
//
// The only translation unit that includes CLI11 (it is slow to compile); the
// subcommands' work is in their own files (Commands.h).
//===----------------------------------------------------------------------===//
#include "Commands.h"

#include "percpu/elfpatch/Check.h"

#include <CLI/CLI.hpp>

#include <iostream>

using namespace percpu::elfpatch;
using namespace percpu::elfpatch::tool;

namespace {

std::string rulesHelp()
{
    std::string s = "Rules (IDs for --disable and all output formats).  The module loader\n"
                    "(pcpu_dlopen, percpu-load) reports its refusals with the same IDs: those\n"
                    "marked [check, load] by both, [load] by the loader only, [patch, link] by\n"
                    "the commands that write objects (these three not for --disable):\n";
    for (const RuleInfo &r : allRules()) {
        std::string tag = r.scope == kLoadRule    ? " [load]"
                          : r.scope == kCheckRule ? ""
                          : r.scope == kWriteRule ? " [patch, link]"
                                                  : " [check, load]";
        s += "  " + std::string(r.id) + std::string(std::max<size_t>(2, 24 - std::string(r.id).size()), ' ') +
             r.summary + tag + "\n";
    }
    return s;
}

// --cacheline: a cache line is a power of two bytes.
const CLI::Validator powerOfTwo(
    [](std::string &v) -> std::string {
        uint64_t x = 0;
        if (llvm::StringRef(v).getAsInteger(0, x) || x == 0 || (x & (x - 1)) != 0)
            return "expected a power of two (such as 64 or 128), not " + v;
        return "";
    },
    "POWER_OF_TWO");

// --abi: which object model; kernel modules are recognised on their own.
void addAbi(CLI::App *sub, std::string &abi)
{
    sub->add_option("--abi", abi,
                    "Object model: kernel (Linux kernel modules: %gs/tpidr_el1-relative per-CPU "
                    "access, the 8 KiB module reserve), user (this project's), or auto (kernel for "
                    "objects with .modinfo, .gnu.linkonce.this_module or __ksymtab*)")
        ->check(CLI::IsMember({"auto", "user", "kernel"}))
        ->capture_default_str();
}

void setupPatch(CLI::App &app, PatchCommand &c, std::function<void()> &run, int &rc)
{
    CLI::App *sub = app.add_subcommand(
        "patch", "Merge an object's per-CPU sections into one .data..percpu section in canonical "
                 "order, with a layout record");
    sub->footer("The output links with ld.lld and GNU ld and behaves like the input. Objects without\n"
                "per-CPU data, and objects already patched, are copied unchanged.\n"
                "--indirect also rewrites every per-CPU address computation to load the address\n"
                "from an 8-byte slot (x86-64: lea -> mov from a literal; AArch64: adrp+add ->\n"
                "adrp+ldr), so the module's block may be placed anywhere in the address space.\n"
                "An access that cannot be rewritten is a direct-access error; nothing is written.\n\n"
                "Example:\n  percpu-elfpatch patch plugin.o -o plugin.patched.o\n"
                "  percpu-elfpatch patch --indirect plugin.o -o plugin.far.o\n\n"
                "Exit status: 0 written, 1 a rule failed (nothing written), 2 unreadable input.");
    sub->add_option("input", c.input, "Relocatable object (.o) to patch")->required()->check(CLI::ExistingFile);
    sub->add_option("-o,--output", c.output, "Where to write the patched object")->required();
    sub->add_flag("--indirect", c.indirect, "Make per-CPU references reach a block placed anywhere");
    sub->add_flag("-v,--verbose", c.verbose, "Say what was done");
    addAbi(sub, c.abi);
    sub->callback([&] { run = [&] { rc = runPatch(c); }; });
}

void setupCheck(CLI::App &app, CheckCommand &c, std::function<void()> &run, int &rc)
{
    CLI::App *sub = app.add_subcommand(
        "check", "Check per-CPU layout rules over objects and linked programs, for CI");
    sub->footer(rulesHelp() +
                "\nAll files are checked together, so cross-object rules (kind-mismatch,\n"
                "type-mismatch with -g, the block-budget total) see every definition and reference.\n"
                "Kernel modules (.modinfo, .gnu.linkonce.this_module or __ksymtab*; or --abi kernel)\n"
                "follow the kernel's model: %gs/tpidr_el1-relative accesses are per-CPU accesses,\n"
                "vmlinux's per-CPU variables come from --kernel-symbols, and block-budget defaults\n"
                "to the 8 KiB module reserve (PERCPU_MODULE_RESERVE) for each module and for all\n"
                "of them together.\n"
                "Text output: file:(section+0xOFF): error: message [rule-id]\n\n"
                "Examples:\n"
                "  percpu-elfpatch check build/*.o build/host\n"
                "  percpu-elfpatch check --format sarif -o percpu.sarif --max-block 8K plugins/*.o\n"
                "  percpu-elfpatch layout --format json plugin.o > base.json\n"
                "  percpu-elfpatch check --baseline base.json --max-growth 10% plugin.o\n"
                "  percpu-elfpatch check --kernel-symbols System.map --format sarif $(find . -name '*.ko')\n\n"
                "Exit status: 0 clean (warnings and notes do not fail), 1 a rule reported an error,\n"
                "2 an input could not be read or bad usage.\n"
                "--disable malformed skips inputs that are not valid objects instead; a missing or\n"
                "unreadable input always exits 2.");
    sub->add_option("files", c.inputs, "Objects (.o) and linked programs")->required();
    sub->add_option("--format", c.format, "Output format")
        ->check(CLI::IsMember({"text", "json", "sarif"}))
        ->capture_default_str();
    sub->add_option("--disable", c.disable, "Turn a rule off (repeatable, or comma-separated)")
        ->allow_extra_args(false)
        ->delimiter(',');
    sub->add_option("--cacheline", c.cacheline, "Cache-line size for `misaligned` (a power of two)")
        ->check(powerOfTwo)
        ->capture_default_str();
    sub->add_option("--max-block", c.maxBlock,
                    "Per-CPU bytes allowed per module and for all modules together (e.g. 8K)");
    sub->add_option("--baseline", c.baseline, "Layout JSON (from `layout --format json`) to compare with")
        ->check(CLI::ExistingFile);
    sub->add_option("--max-growth", c.maxGrowth,
                    "With --baseline: allowed block growth, in bytes or percent (e.g. 64, 10%)");
    addAbi(sub, c.abi);
    sub->add_option("--kernel-symbols", c.kernelSymbols,
                    "vmlinux's symbols: System.map, a vmlinux, or Module.symvers with System.map "
                    "(repeatable); tells which undefined symbols of kernel modules are per-CPU")
        ->allow_extra_args(false)
        ->check(CLI::ExistingFile);
    sub->add_option("-o,--output", c.output,
                    "Write the report (in --format) to this file instead of standard output; "
                    "with json or sarif, standard output still gets the diagnostics as text");
    sub->add_option("--error-limit", c.errorLimit,
                    "Errors shown as text before 'N more errors' (0: all; json and sarif have all)")
        ->capture_default_str();
    sub->callback([&] { run = [&] { rc = runCheck(c); }; });
}

void setupLayout(CLI::App &app, LayoutCommand &c, std::function<void()> &run, int &rc)
{
    CLI::App *sub = app.add_subcommand("layout", "Print the per-CPU block map of an object or program");
    sub->footer("Each variable with its section (group), offset, size, alignment, the padding before\n"
                "it and the cache lines it occupies; totals per CPU and for --cpus CPUs; and a\n"
                "reordering that would remove padding, when one exists.\n"
                "The JSON form is the baseline format of `check --baseline`. The SVG form draws\n"
                "the block one cache line per row, as people read a pahole dump: variables by\n"
                "group, padding hatched, and lines where two variables used by different\n"
                "functions meet (false-sharing candidates) framed in red.\n"
                "For a kernel module (chosen automatically, or --abi kernel) the totals are the\n"
                "kernel's allocation from its 8 KiB module reserve.\n\n"
                "Examples:\n  percpu-elfpatch layout --cpus 64 plugin.o\n"
                "  percpu-elfpatch layout --format svg drivers/net/foo.ko > foo-percpu.svg\n\n"
                "Exit status: 0 printed, 2 an unreadable input, a failed write or bad usage.");
    sub->add_option("files", c.inputs, "Objects and linked programs (one with --format svg)")
        ->required()
        ->check(CLI::ExistingFile);
    sub->add_option("--format", c.format, "Output format (svg: the block drawn as cache lines)")
        ->check(CLI::IsMember({"text", "json", "svg"}))
        ->capture_default_str();
    sub->add_option("--cpus", c.cpus, "CPUs to total the block for (default: this machine's)");
    sub->add_option("--cacheline", c.cacheline, "Cache-line size (a power of two)")
        ->check(powerOfTwo)
        ->capture_default_str();
    addAbi(sub, c.abi);
    sub->callback([&] { run = [&] { rc = runLayout(c); }; });
}

void setupLink(CLI::App &app, LinkCommand &c, std::function<void()> &run, int &rc)
{
    CLI::App *sub = app.add_subcommand(
        "link", "Combine objects into one module with `ld.lld -r`, then patch it");
    sub->footer("ld.lld is taken from --ld, else PATH, else LLVM's bin directory.\n\n"
                "Examples:\n  percpu-elfpatch link -o plugin.o a.o b.o c.o\n"
                "  percpu-elfpatch link --shared -o libcounters.so a.o b.o\n"
                "  percpu-elfpatch link --shared -- cc -shared -o libx.so a.o b.o $(pkg-config --libs percpu-library)\n\n"
                "Exit status: 0 written, 1 a rule failed (nothing written), 2 an unreadable or\n"
                "wrong input, ld.lld missing or failing, or bad usage.\n\n"
                "Environment:\n"
                "  PATH   searched for ld.lld when --ld is not given\n"
                "  CC     the compiler driver `link --shared -o` links with (default: cc)");
    sub->add_option("inputs", c.inputs, "Objects to combine")->check(CLI::ExistingFile);
    sub->add_option("-o,--output", c.output, "Module object (or, with --shared, shared object) to write");
    sub->add_option("--ld", c.ld, "The ld.lld to use");
    sub->add_flag("--indirect", c.indirect, "Also make per-CPU references indirect (see patch)");
    sub->add_flag("--shared", c.shared,
                  "Link a shared library or plugin with per-CPU variables: each object is patched\n"
                  "--indirect (into a temporary copy) and linked with -shared, percpu-shared.ld,\n"
                  "the start-up object and libpercpu.so.  With `-- COMMAND...`, runs that link\n"
                  "command with its objects and the members of its static archives (.a) patched\n"
                  "instead, in response files (@FILE) too (what percpu_add_library() does)");
    sub->callback([&] {
        run = [&] {
            if (c.shared) {
                rc = runLinkShared(c);
                return;
            }
            if (c.inputs.empty() || c.output.empty() || !c.command.empty()) {
                llvm::errs() << "percpu-elfpatch link: error: expected -o OUTPUT and the objects to combine"
                       << (c.command.empty() ? "" : " (a command after -- needs --shared)") << "\n";
                rc = kExitInput;
                return;
            }
            rc = runLink(c);
        };
    });
}

} // namespace

int main(int argc, char **argv)
{
    CLI::App app{"percpu-elfpatch: patch, check and map the per-CPU data of ELF objects", "percpu-elfpatch"};
    app.set_version_flag("--version", std::string("percpu-elfpatch ") + toolVersion());
    app.require_subcommand(1);
    app.footer("Run `percpu-elfpatch SUBCOMMAND --help` (or `man percpu-elfpatch-SUBCOMMAND`) for each\n"
               "subcommand's options and examples.\n\n"
               "Examples:\n"
               "  percpu-elfpatch check --format sarif -o percpu.sarif plugins/*.o\n"
               "  percpu-elfpatch link -o plugin.o a.o b.o\n\n"
               "Exit status: 0 success, 1 a rule failed, 2 an input could not be read, a write\n"
               "failed, or bad usage (a mistyped subcommand gets the nearest one).");
    int rc = kExitOk;
    std::function<void()> run;
    PatchCommand patch;
    CheckCommand check;
    LayoutCommand layout;
    LinkCommand link;
    setupPatch(app, patch, run, rc);
    setupCheck(app, check, run, rc);
    setupLayout(app, layout, run, rc);
    setupLink(app, link, run, rc);
    // A mistyped subcommand gets the nearest one, as git does.
    if (argc > 1 && argv[1][0] != '-') {
        const llvm::StringRef given(argv[1]);
        std::string nearest;
        unsigned best = ~0u;
        bool known = false;
        for (const CLI::App *sub : app.get_subcommands([](CLI::App *) { return true; })) {
            known |= given == sub->get_name();
            unsigned d = given.edit_distance(sub->get_name());
            if (d < best)
                best = d, nearest = sub->get_name();
        }
        if (!known) {
            std::cerr << "percpu-elfpatch: error: '" << argv[1] << "' is not a subcommand";
            if (best <= 2)
                std::cerr << "; did you mean '" << nearest << "'?";
            std::cerr << "\nRun 'percpu-elfpatch --help' for the subcommands.\n";
            return kExitInput;
        }
    }
    // `link --shared -- COMMAND...`: what follows -- is a command line of
    // its own, not more objects.
    if (argc > 2 && llvm::StringRef(argv[1]) == "link")
        for (int i = 2; i < argc; ++i)
            if (llvm::StringRef(argv[i]) == "--") {
                link.command.assign(argv + i + 1, argv + argc);
                if (link.command.empty())
                    link.command.push_back(""); // "--" with nothing after: an error below
                argc = i;
                break;
            }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError &e) {
        int r = app.exit(e);
        return r == 0 ? kExitOk : kExitInput;
    }
    if (run)
        run();
    // A report that did not reach its reader is a failure, whatever it said.
    if (!flushStandardOutput("percpu-elfpatch"))
        return kExitInput;
    return rc;
}
