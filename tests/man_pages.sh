#!/usr/bin/env bash
# The man pages say what --help says: for each tool and subcommand, every
# option, every rule id and every example line of --help is in its page
# (rendered by man), and the NAME line is the command's own description.
# Each page has EXIT STATUS and EXAMPLES sections, one example a line.
#   man_pages.sh BUILD_DIR
set -euo pipefail
build=$1
elfpatch=$build/src/elfpatch/percpu-elfpatch
load=$build/src/loader/percpu-load
fail=0
check_page() { # check_page PAGE HELP_COMMAND...
  local page=$1
  shift
  local file=$build/man/$page.1
  [ -f "$file" ] || { echo "$page: no man page at $file"; fail=1; return; }
  local help text
  help=$("$@" --help)
  text=$(LC_ALL=C MANWIDTH=1000 man -l "$file" 2>/dev/null | col -b | tr -s ' ')
  local first=${help%%$'\n'*}
  first=${first#*: }
  [[ $text == *"$page - $first"* ]] || { echo "$page: NAME is not '$first'"; fail=1; }
  # Sections a man page has: EXIT STATUS for every command; each example of
  # --help on a line of its own under EXAMPLES (not run together).
  grep -q '^EXIT STATUS$' <<<"$text" || { echo "$page: no EXIT STATUS section"; fail=1; }
  grep -q '^EXAMPLES$' <<<"$text" || { echo "$page: no EXAMPLES section"; fail=1; }
  local ex
  while IFS= read -r ex; do
    grep -qxF -- " $ex" <<<"$text" || { echo "$page: example '$ex' is not a line of its own"; fail=1; }
  done < <(sed -n 's/^  \(percpu-[a-z-]* .*\)$/\1/p' <<<"$help" | tr -s ' ')
  local tok
  while IFS= read -r tok; do
    [[ $text == *"$tok"* ]] || { echo "$page: '$tok' from --help is not in the page"; fail=1; }
  done < <(
    grep -o -- '--[a-z][a-z0-9-]*' <<<"$help" | sort -u
    sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p' <<<"$help"             # rules, subcommands
    sed -n 's/^  \(percpu-[a-z-]* .*\)$/\1/p' <<<"$help" | tr -s ' ' # examples
  )
}
check_page percpu-elfpatch "$elfpatch"
for sub in patch check layout link; do
  check_page "percpu-elfpatch-$sub" "$elfpatch" "$sub"
done
check_page percpu-load "$load"
[ "$fail" = 0 ] || exit 1
echo "man pages ok"
